import { createHash } from 'node:crypto';
import { type Db } from './db';
import { rows, runCodeRow, type RunCodeRow } from './types';

/** A file a run executed: its project-relative path and its text as read when the run started. */
export interface PinnedFile {
  path: string;
  content: string;
}

/** sha256 hex of a file's text (UTF-8): the key its content is stored under, once. */
export function codeHash(content: string): string {
  return createHash('sha256').update(content, 'utf8').digest('hex');
}

/**
 * The exact code each run ran: every block file it executed and the pipeline's metadata.yaml,
 * stored once per content (a run that changes nothing adds no text, only its list of hashes).
 */
export class CodeRepository {
  constructor(private readonly db: Db) {}

  /**
   * Pins `files` to `runId`. A run keeps the code it was first pinned with: pinning again (a
   * resumed run) changes nothing, so the record says what the run started with.
   */
  async pin(runId: string, files: readonly PinnedFile[]): Promise<void> {
    if (files.length === 0) return;
    const hashes = files.map((f) => codeHash(f.content));
    // One statement, so one round trip and atomic: the blobs' foreign keys are checked at its end,
    // when the blobs it inserts are there.
    await this.db.pool.query(
      `WITH blobs AS (INSERT INTO code_blobs (hash, content) SELECT * FROM unnest($2::text[], $3::text[]) ON CONFLICT (hash) DO NOTHING)
       INSERT INTO run_code (run_id, path, hash) SELECT $1, * FROM unnest($4::text[], $2::text[]) ON CONFLICT (run_id, path) DO NOTHING`,
      [runId, hashes, files.map((f) => f.content), files.map((f) => f.path)],
    );
  }

  /** The files a run pinned, by path, with their text; empty for a run from before pinning. */
  async ofRun(runId: string): Promise<RunCodeRow[]> {
    const res = await this.db.pool.query(
      `SELECT r.path, r.hash, b.content FROM run_code r JOIN code_blobs b ON b.hash = r.hash WHERE r.run_id = $1 ORDER BY r.path`,
      [runId],
    );
    return rows(runCodeRow, res.rows);
  }
}
