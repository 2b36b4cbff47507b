// The server's run side in its own process (scheduler + in-process worker, as `grimoire start`
// runs them), for tests that kill it mid-run: node --import tsx orchestration-process.ts <url> <schema> <projectsDir> [scheduler-only]
import { startOrchestration } from '../../lib/scheduler/orchestrator';

async function main() {
  const [url, schema, projectsDir, only] = process.argv.slice(2);
  if (!url || !schema || !projectsDir) throw new Error('usage: orchestration-process.ts <url> <schema> <projectsDir> [scheduler-only]');
  const roles = only === 'scheduler-only' ? { scheduler: true, worker: false } : { scheduler: true, worker: true };
  await startOrchestration({ url, schema, projectsDir, roles, log: () => undefined });
  process.stdout.write(`ready ${process.pid}\n`);
}

void main();
