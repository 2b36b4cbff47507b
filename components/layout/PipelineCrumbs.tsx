import Link from 'next/link';

/** Projects / project / pipeline / page title — the trail every page under a pipeline shows. */
export function PipelineCrumbs({ project, pipeline, title }: { project: string; pipeline: string; title?: string }) {
  const projectHref = `/projects/${encodeURIComponent(project)}`;
  return (
    <nav className="crumbs">
      <Link href="/">Projects</Link> / <Link href={projectHref}>{project}</Link> /{' '}
      {title === undefined ? (
        <h1 className="inline">{pipeline}</h1>
      ) : (
        <>
          <Link href={`${projectHref}/pipelines/${encodeURIComponent(pipeline)}`}>{pipeline}</Link> / <h1 className="inline">{title}</h1>
        </>
      )}
    </nav>
  );
}
