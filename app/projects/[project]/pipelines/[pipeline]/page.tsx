import Link from 'next/link';
import { notFound } from 'next/navigation';
import { PipelineEditor } from '@/components/editor/PipelineEditor';
import { UserError } from '@/lib/errors';
import { getPipelines } from '@/lib/server/catalog';

export const dynamic = 'force-dynamic';

export default async function PipelinePage({ params }: { params: Promise<{ project: string; pipeline: string }> }) {
  const { project, pipeline } = await params;
  try {
    if (!(await getPipelines(project)).includes(pipeline)) notFound();
  } catch (e) {
    if (e instanceof UserError) notFound();
    throw e;
  }
  return (
    <main className="wide">
      <nav className="crumbs">
        <Link href="/">Projects</Link> / <Link href={`/projects/${encodeURIComponent(project)}`}>{project}</Link> / <h1 className="inline">{pipeline}</h1>
      </nav>
      <PipelineEditor project={project} pipeline={pipeline} />
    </main>
  );
}
