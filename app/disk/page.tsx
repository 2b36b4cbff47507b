import Link from 'next/link';
import { DiskView } from '@/components/disk/DiskView';

export const dynamic = 'force-dynamic';

export default function DiskPage() {
  return (
    <main>
      <nav className="crumbs">
        <Link href="/">Projects</Link> / Disk
      </nav>
      <h1>Disk</h1>
      <DiskView />
    </main>
  );
}
