import Link from 'next/link';
import { NewProjectForm } from '@/components/projects/forms';
import { getProjects } from '@/lib/server/catalog';

export const dynamic = 'force-dynamic';

export default async function ProjectsPage() {
  const projects = await getProjects();
  return (
    <main>
      <nav className="crumbs">
        <Link href="/disk">Disk</Link> ·{' '}
        <Link href="/workers">Workers</Link> · <Link href="/settings">Settings</Link>
      </nav>
      <h1>Projects</h1>
      <NewProjectForm />
      {projects.length === 0 ? <p className="muted">No projects yet.</p> : null}
      <ul className="list" aria-label="Projects">
        {projects.map((p) => (
          <li key={p.name}>
            <Link href={`/projects/${encodeURIComponent(p.name)}`}>{p.name}</Link>{' '}
            <span className="muted">
              {p.pipelines.length} pipeline{p.pipelines.length === 1 ? '' : 's'}
            </span>
          </li>
        ))}
      </ul>
    </main>
  );
}
