import Link from 'next/link';
import { notFound } from 'next/navigation';
import { RunsList } from '@/components/runs/RunsList';
import { UserError } from '@/lib/errors';
import { getPipelines } from '@/lib/server/catalog';

export const dynamic = 'force-dynamic';

export default async function RunsPage({ params }: { params: Promise<{ project: string; pipeline: string }> }) {
  const { project, pipeline } = await params;
  try {
    if (!(await getPipelines(project)).includes(pipeline)) notFound();
  } catch (e) {
    if (e instanceof UserError) notFound();
    throw e;
  }
  return (
    <main>
      <nav className="crumbs">
        <Link href="/">Projects</Link> / <Link href={`/projects/${encodeURIComponent(project)}`}>{project}</Link> /{' '}
        <Link href={`/projects/${encodeURIComponent(project)}/pipelines/${encodeURIComponent(pipeline)}`}>{pipeline}</Link> / <h1 className="inline">Runs</h1>
      </nav>
      <RunsList project={project} pipeline={pipeline} />
    </main>
  );
}
