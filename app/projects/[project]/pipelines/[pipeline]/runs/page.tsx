import { RunsList } from '@/components/runs/RunsList';
import { PipelineCrumbs } from '@/components/layout/PipelineCrumbs';
import { requirePipeline } from '@/lib/server/page-lookup';

export const dynamic = 'force-dynamic';

export default async function RunsPage({ params }: { params: Promise<{ project: string; pipeline: string }> }) {
  const { project, pipeline } = await params;
  await requirePipeline(project, pipeline);
  return (
    <main>
      <PipelineCrumbs project={project} pipeline={pipeline} title="Runs" />
      <RunsList project={project} pipeline={pipeline} />
    </main>
  );
}
