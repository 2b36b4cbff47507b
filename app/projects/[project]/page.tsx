import Link from 'next/link';
import { notFound } from 'next/navigation';
import { PipelineList } from '@/components/projects/PipelineList';
import { UserError } from '@/lib/errors';
import { getPipelines } from '@/lib/server/catalog';

export const dynamic = 'force-dynamic';

export default async function ProjectPage({ params }: { params: Promise<{ project: string }> }) {
  const { project } = await params;
  let pipelines: string[];
  try {
    pipelines = await getPipelines(project);
  } catch (e) {
    if (e instanceof UserError) notFound();
    throw e;
  }
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
