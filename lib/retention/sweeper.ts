/**
 * The retention sweeper: every project's settings applied (sweep-project.ts), by one server at a
 * time across every server on the database. The one is whoever takes a Postgres advisory lock
 * (session-level, on a connection held for the sweep); the others skip that round. The scheduler's
 * processes run it every `everyMs` (orchestrator.ts); `POST /api/disk/sweep` runs it at once.
 */
import type { PoolClient } from 'pg';
import { z } from 'zod';
import { type Clock, systemClock } from '../clock';
import { errorMessage } from '../errors';
import { listProjects } from '../project/load';
import { safeJoin } from '../project/paths';
import { addFreed, noneFreed, type ProjectSweep, type SweepAnswer } from '../protocol/disk-api';
import { type Db } from '../store/db';
import { RetentionRepository } from '../store/retention-repository';
import { readRetentionSettings, runFolders } from './project-files';
import { sweepProject, SweepStopped } from './sweep-project';

/** How often the scheduler's processes sweep by default: 10 minutes. */
export const DEFAULT_SWEEP_EVERY_MS = 10 * 60_000;

export interface SweeperOptions {
  store: Db;
  projectsDir: string;
  clock?: Clock;
  /** Milliseconds between sweeps of the loop (`start`); default 10 minutes. The first comes after min(everyMs, 60 s). */
  everyMs?: number;
  log?: (line: string) => void;
  /** Called once the lock is held, before anything is swept (tests hold a sweep here). */
  onLocked?: () => Promise<void>;
}

const lockAnswer = z.object({ got: z.boolean() });

/** The advisory-lock key of the sweep: one per store schema (the same on every server). */
export function sweepLockKey(schema: string): string {
  return `grimoire.retention.${schema}`;
}

/**
 * Applies every project's retention settings now (or, with `dryRun`, only counts). Projects whose
 * settings are wrong are left alone and listed with their errors. Throws SweepStopped when
 * `stopped` turns true between batches.
 */
export async function sweepProjects(options: { store: Db; projectsDir: string; now: Date; dryRun: boolean; stopped?: () => boolean }): Promise<ProjectSweep[]> {
  const repo = new RetentionRepository(options.store);
  const out: ProjectSweep[] = [];
  for (const project of await listProjects(options.projectsDir)) {
    let dir: string;
    try {
      dir = safeJoin(options.projectsDir, project);
    } catch (e) {
      out.push({ project, errors: [errorMessage(e)], pipelines: [], freed: noneFreed() });
      continue;
    }
    const settings = await readRetentionSettings(dir);
    if (!settings.ok) {
      out.push({ project, errors: settings.errors, pipelines: [], freed: noneFreed() });
      continue;
    }
    const s = settings.value;
    if (!s.runs_retention_period && !s.variables_retention_period && !s.logs_retention_period) continue;
    // Folders are measured only when a setting may remove them.
    const folders = s.runs_retention_period || s.variables_retention_period ? await runFolders(dir) : [];
    const byPipeline = await sweepProject({ repo, project, settings: s, folders, now: options.now, dryRun: options.dryRun, stopped: options.stopped });
    const pipelines = [...byPipeline].sort(([a], [b]) => a.localeCompare(b)).map(([pipeline, freed]) => ({ pipeline, freed }));
    out.push({ project, errors: [], pipelines, freed: pipelines.reduce((sum, p) => addFreed(sum, p.freed), noneFreed()) });
  }
  return out;
}

export class RetentionSweeper {
  private readonly clock: Clock;
  private stopped = false;
  private readonly wake = new AbortController();
  private loop: Promise<void> | null = null;

  constructor(private readonly options: SweeperOptions) {
    this.clock = options.clock ?? systemClock;
  }

  /** Milliseconds between the loop's sweeps. */
  get everyMs(): number {
    return this.options.everyMs ?? DEFAULT_SWEEP_EVERY_MS;
  }

  /**
   * One sweep now, if no other server is sweeping (then `swept` is false and nothing was done).
   * Errors of the database or the file system are thrown; what was freed before them stays freed.
   */
  async sweepOnce(): Promise<SweepAnswer> {
    const { store } = this.options;
    const at = this.clock.now();
    const key = sweepLockKey(store.schema);
    const client: PoolClient = await store.pool.connect();
    // The lock lives as long as this connection: once it breaks, another server may start, so this one stops.
    let lost = false;
    const onError = () => {
      lost = true;
    };
    client.on('error', onError);
    try {
      let got: boolean;
      try {
        got = lockAnswer.parse((await client.query('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS got', [key])).rows[0]).got;
      } catch (e) {
        // Unknown whether the lock was taken: the connection is closed rather than pooled.
        lost = true;
        throw e;
      }
      if (!got) return { swept: false, reason: 'another server is sweeping now', at: at.toISOString(), projects: [], freed: noneFreed() };
      try {
        await this.options.onLocked?.();
        const projects = await sweepProjects({ store, projectsDir: this.options.projectsDir, now: at, dryRun: false, stopped: () => lost || this.stopped });
        return { swept: true, reason: null, at: at.toISOString(), projects, freed: projects.reduce((sum, p) => addFreed(sum, p.freed), noneFreed()) };
      } finally {
        await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [key]).catch(() => {
          lost = true;
        });
      }
    } finally {
      client.removeListener('error', onError);
      // A connection that may still hold the lock is closed, never handed back to the pool.
      client.release(lost ? new Error('the sweep lock connection was lost') : undefined);
    }
  }

  /** Sweeps every `everyMs` until stopped; the first sweep comes after min(everyMs, 60 s). */
  start(): void {
    if (this.loop) return;
    const log = this.options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    this.loop = (async () => {
      let wait = Math.min(this.everyMs, 60_000);
      while (!this.stopped) {
        await this.clock.sleep(wait, this.wake.signal);
        wait = this.everyMs;
        if (this.stopped) break;
        try {
          const answer = await this.sweepOnce();
          const { runs, variables, logs } = answer.freed;
          if (runs.items + variables.items + logs.items > 0) log(`retention: removed ${runs.items} runs, ${variables.items} run output folders, ${logs.items} log lines (${runs.bytes + variables.bytes + logs.bytes} bytes)`);
          for (const p of answer.projects) if (p.errors.length > 0) log(`retention: project ${p.project} not swept: ${p.errors.join('; ')}`);
        } catch (e) {
          if (!(e instanceof SweepStopped)) log(`retention: ${errorMessage(e)}`);
        }
      }
    })();
  }

  /** Stops the loop, waiting for a sweep in progress to reach its next batch. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake.abort();
    await this.loop;
    this.loop = null;
  }
}
