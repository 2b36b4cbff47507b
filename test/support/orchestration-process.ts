// The server's run side in its own process (scheduler + in-process worker, as `grimoire start`
// runs them), for tests that kill it mid-run: node --import tsx orchestration-process.ts <url> <schema> <projectsDir>
import { startOrchestration } from '../../lib/scheduler/orchestrator';

async function main() {
  const [url, schema, projectsDir] = process.argv.slice(2);
  if (!url || !schema || !projectsDir) throw new Error('usage: orchestration-process.ts <url> <schema> <projectsDir>');
  await startOrchestration({ url, schema, projectsDir, log: () => undefined });
  process.stdout.write(`ready ${process.pid}\n`);
}

void main();
