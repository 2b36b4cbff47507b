import { PipelineEditor } from '@/components/editor/PipelineEditor';
import { PipelineCrumbs } from '@/components/layout/PipelineCrumbs';
import { requirePipeline } from '@/lib/server/page-lookup';

export const dynamic = 'force-dynamic';

export default async function PipelinePage({ params }: { params: Promise<{ project: string; pipeline: string }> }) {
  const { project, pipeline } = await params;
  await requirePipeline(project, pipeline);
  return (
    <main className="wide">
      <PipelineCrumbs project={project} pipeline={pipeline} />
      <PipelineEditor project={project} pipeline={pipeline} />
    </main>
  );
}
