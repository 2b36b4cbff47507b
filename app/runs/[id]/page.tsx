import { RunView } from '@/components/runs/RunView';

export const dynamic = 'force-dynamic';

export default async function RunPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return (
    <main className="wide">
      <RunView id={id} />
    </main>
  );
}
