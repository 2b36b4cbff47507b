import { RunReportView } from '@/components/runs/RunReportView';

export const dynamic = 'force-dynamic';

export default async function RunPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return (
    <main className="wide">
      <RunReportView id={id} />
    </main>
  );
}
