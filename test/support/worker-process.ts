// A worker in its own process, for tests that kill it mid-run: node --import tsx worker-process.ts <url> <schema> <projectsDir>
import { Store } from '../../lib/store/store';
import { Worker } from '../../lib/worker/worker';

async function main() {
  const [url, schema, projectsDir] = process.argv.slice(2);
  if (!url || !schema || !projectsDir) throw new Error('usage: worker-process.ts <url> <schema> <projectsDir>');
  const store = await Store.open({ url, schema });
  const worker = new Worker({ store, projectsDir, workerId: `child-${process.pid}` });
  await worker.start();
  process.stdout.write(`ready ${worker.id}\n`);
}

void main();
