import { postgresUrl } from '../../lib/db/embedded-postgres';
import { Store } from '../../lib/store/store';
import { testPostgres, type TestPostgres } from './postgres';

/** A migrated metadata store in a fresh schema of the test Postgres (embedded or TEST_DATABASE_URL). */
export async function testStore(): Promise<{ pg: TestPostgres; store: Store; url: string; open: () => Promise<Store>; close: () => Promise<void> }> {
  const pg = await testPostgres();
  const url = postgresUrl(pg.coordinates);
  const opened: Store[] = [];
  const open = async () => {
    const s = await Store.open({ url, schema: pg.schema });
    opened.push(s);
    return s;
  };
  const store = await open();
  return {
    pg,
    store,
    url,
    open,
    close: async () => {
      for (const s of opened) await s.close().catch(() => undefined);
      await pg.close();
    },
  };
}
