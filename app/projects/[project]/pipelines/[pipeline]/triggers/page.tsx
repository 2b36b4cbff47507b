import { TriggersPanel } from '@/components/triggers/TriggersPanel';
import { PipelineCrumbs } from '@/components/layout/PipelineCrumbs';
import { requirePipeline } from '@/lib/server/page-lookup';

export const dynamic = 'force-dynamic';

export default async function TriggersPage({ params }: { params: Promise<{ project: string; pipeline: string }> }) {
  const { project, pipeline } = await params;
  await requirePipeline(project, pipeline);
  return (
    <main>
      <PipelineCrumbs project={project} pipeline={pipeline} title="Triggers" />
      <TriggersPanel project={project} pipeline={pipeline} />
    </main>
  );
}
