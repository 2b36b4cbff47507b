import { randomUUID } from 'node:crypto';
import { holdPresence, type Presence } from '../store/presence';
import { Store } from '../store/store';

/** The run history `grimoire run` records into, and the lock that says this process is alive. */
export interface RunHistory {
  store: Store;
  liveness: Presence;
  close(): Promise<void>;
}

/**
 * Opens the workspace's run history at `url` (the metadata store `grimoire start` uses, schema
 * `grimoire`) for one `grimoire run`, and takes this process's presence (a liveness lock and heartbeats, lib/store/presence.ts): if the process
 * dies mid-run, the next recovery marks its run failed instead of leaving it running. Throws
 * when the store cannot be reached or prepared.
 */
export async function openRunHistory(url: string): Promise<RunHistory> {
  // Two connections: the recorder writes one event after another, and nothing else uses it. The
  // queue never opens: the run has no job (runs.createLive), and runs its blocks trigger are
  // nested in this process (cli-runs.ts), not queued.
  const store = await Store.open({ url, poolSize: 2, queue: 'first-use' });
  let liveness: Presence;
  try {
    liveness = await holdPresence({ url, workers: store.workers, ownerId: `cli-${process.pid}-${randomUUID().slice(0, 8)}`, kind: 'cli' });
  } catch (e) {
    await store.close();
    throw e;
  }
  return {
    store,
    liveness,
    close: async () => {
      await liveness.release();
      await store.close();
    },
  };
}
