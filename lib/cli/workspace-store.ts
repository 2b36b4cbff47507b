import path from 'node:path';
import { AccessStore } from '../access/access-store';
import { openDatabase } from '../db/database';
import { Store } from '../store/store';

export interface WorkspaceStore {
  store: Store;
  access: AccessStore;
  close(): Promise<void>;
}

/**
 * The metadata store of a projects folder, for commands that manage it (`users`, `secrets`):
 * DATABASE_URL when set, else the folder's embedded PostgreSQL, joined when a server already runs
 * on it and started (and stopped again) otherwise.
 */
export async function openWorkspaceStore(projectsDir: string, options: { environment?: NodeJS.ProcessEnv; schema?: string } = {}): Promise<WorkspaceStore> {
  const database = await openDatabase(path.join(path.resolve(projectsDir), '.grimoire'), options.environment);
  let store: Store;
  try {
    store = await Store.open({ url: database.url, schema: options.schema });
  } catch (e) {
    await database.close();
    throw e;
  }
  return {
    store,
    access: new AccessStore(store.pool),
    close: async () => {
      await store.close();
      await database.close();
    },
  };
}

/** `--projects`, else GRIMOIRE_PROJECTS, else ./projects (CONTRACTS.md "Access"). */
export function projectsDirOf(flag: string | undefined, environment: NodeJS.ProcessEnv = process.env): string {
  return flag ?? environment.GRIMOIRE_PROJECTS ?? 'projects';
}
