import Link from 'next/link';
import { PipelineList } from '@/components/projects/PipelineList';
import { pipelinesOrNotFound } from '@/lib/server/page-lookup';

export const dynamic = 'force-dynamic';

export default async function ProjectPage({ params }: { params: Promise<{ project: string }> }) {
  const { project } = await params;
  const pipelines = await pipelinesOrNotFound(project);
  return (
    <main>
      <nav className="crumbs">
        <Link href="/">Projects</Link> / {project}
      </nav>
      <h1>Pipelines</h1>
      <PipelineList project={project} pipelines={pipelines} />
    </main>
  );
}
