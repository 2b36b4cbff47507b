import Link from 'next/link';
import { notFound } from 'next/navigation';
import { PipelineRunner } from '@/components/pipeline/PipelineRunner';
import { UserError } from '@/lib/errors';
import { formatIssue } from '@/lib/pipeline/issues';
import { getPipeline, type PipelineView } from '@/lib/server/catalog';

export const dynamic = 'force-dynamic';

export default async function PipelinePage({ params }: { params: Promise<{ project: string; pipeline: string }> }) {
  const { project, pipeline } = await params;
  let view: PipelineView;
  try {
    view = await getPipeline(project, pipeline);
  } catch (e) {
    if (e instanceof UserError) notFound();
    throw e;
  }
  return (
    <main>
      <nav className="crumbs">
        <Link href="/">Projects</Link> / <Link href={`/projects/${encodeURIComponent(project)}`}>{project}</Link> / {pipeline}
      </nav>
      <h1>{view.uuid}</h1>
      {view.ok ? (
        <PipelineRunner
          project={project}
          pipeline={pipeline}
          blocks={view.blocks.map((b) => ({ uuid: b.uuid, type: b.type, language: b.language, upstream: b.upstream, file: b.file }))}
        />
      ) : (
        <section aria-label="Pipeline problems" className="issues">
          <p>This pipeline cannot run until these are fixed:</p>
          <ul>
            {view.issues.map((i) => (
              <li key={formatIssue(i)}>{formatIssue(i)}</li>
            ))}
          </ul>
        </section>
      )}
    </main>
  );
}
