import Link from 'next/link';
import { WorkersTable } from '@/components/workers/WorkersTable';

export const dynamic = 'force-dynamic';

export default function WorkersPage() {
  return (
    <main className="wide">
      <nav className="crumbs">
        <Link href="/">Projects</Link> / Workers
      </nav>
      <h1>Workers</h1>
      <WorkersTable />
    </main>
  );
}
