import Link from 'next/link';
import { SettingsView } from '@/components/access/SettingsView';

export const dynamic = 'force-dynamic';

export default function SettingsPage() {
  return (
    <main>
      <nav className="crumbs">
        <Link href="/">Projects</Link> / Settings
      </nav>
      <h1>Settings</h1>
      <SettingsView />
    </main>
  );
}
