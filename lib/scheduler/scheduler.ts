import { type Store } from '../store/store';
import { type RunRow, type TriggerRow } from '../store/types';
import { type Clock, systemClock } from '../clock';
import { compileSchedule, decideFires, NEVER, previousFireAtOrBefore, type Schedule } from './schedule';

export interface SchedulerOptions {
  clock?: Clock;
  /** Under catch_up none, an execution reached this late still runs. */
  graceMs?: number;
  /** The longest the loop sleeps without looking (a safety net; wake-ups come from due times and changes). */
  maxSleepMs?: number;
  /** Told about every run the scheduler created (e.g. to kick an in-process worker). */
  onRunsCreated?: (runs: RunRow[]) => void;
  /** Called before each pass, e.g. to re-read triggers.yaml files edited by hand. */
  beforeTick?: () => Promise<void>;
  onError?: (e: unknown) => void;
}

export function scheduleOf(t: Pick<TriggerRow, 'schedule_interval' | 'start_time' | 'timezone'>): Schedule {
  return compileSchedule(t.schedule_interval ?? '', t.start_time, t.timezone);
}

/**
 * Fires time triggers. Each pass claims the due triggers (FOR UPDATE SKIP LOCKED: two schedulers
 * never decide the same trigger at once), decides with the pure catch-up rules, creates runs
 * (a unique key on trigger + execution date makes a second creation impossible) and advances the
 * trigger's cursor, all in one transaction. Between passes it sleeps until the next due time.
 */
export class Scheduler {
  private readonly clock: Clock;
  private stopped = false;
  private wakeController = new AbortController();
  private loop: Promise<void> | null = null;

  constructor(
    private readonly store: Store,
    private readonly options: SchedulerOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
  }

  /** One scheduling pass at the clock's now; returns the runs it created. */
  async tick(): Promise<RunRow[]> {
    const created: RunRow[] = [];
    // `all` catch-up decides in batches; keep going while triggers are still due.
    for (let pass = 0; pass < 50; pass++) {
      const now = this.clock.now();
      const { decided, runs } = await this.store.tx(async (c) => {
        const due = await this.store.triggers.claimDue(c, now);
        const runs: RunRow[] = [];
        for (const t of due) runs.push(...(await this.decide(c, t, now)));
        return { decided: due.length, runs };
      });
      created.push(...runs);
      if (decided === 0) break;
    }
    if (created.length > 0) this.options.onRunsCreated?.(created);
    return created;
  }

  private async decide(c: import('pg').PoolClient, t: TriggerRow, now: Date): Promise<RunRow[]> {
    let schedule: Schedule;
    try {
      schedule = scheduleOf(t);
    } catch (e) {
      await this.store.triggers.addEvent(c, { triggerId: t.id, at: now, executionDate: null, decision: 'invalid', message: `cannot schedule: ${e instanceof Error ? e.message : String(e)}` });
      await this.store.triggers.advance(c, t.id, t.cursor_execution_date, NEVER, now);
      return [];
    }
    const since = t.start_time ?? t.first_active_at ?? now;
    let cursor = t.cursor_execution_date;
    let policy = t.settings.catch_up;
    if (cursor === null && t.settings.create_initial_pipeline_run !== null && schedule.kind !== 'once') {
      // Mage's create_initial_pipeline_run decides the first decision: the execution already due
      // when the trigger appeared runs (true), or is passed over (false). An @once trigger runs
      // its one execution either way, as in Mage (it is the trigger's only run).
      const appeared = t.first_active_at ?? now;
      const initial = previousFireAtOrBefore(schedule, new Date(appeared.getTime() - 1));
      if (t.settings.create_initial_pipeline_run && policy === 'none') policy = 'latest';
      if (!t.settings.create_initial_pipeline_run && initial && initial.getTime() >= since.getTime()) {
        cursor = initial;
        await this.store.triggers.addEvent(c, {
          triggerId: t.id,
          at: now,
          executionDate: initial,
          decision: 'skipped_catch_up',
          message: `the execution of ${initial.toISOString()} was due before the trigger appeared (${appeared.toISOString()}): not run, as create_initial_pipeline_run is false`,
        });
      }
    }
    const d = decideFires({ schedule, policy, cursor, since, now, graceMs: this.options.graceMs });
    const newestSkipped = d.skipped[d.skipped.length - 1];
    if (newestSkipped) {
      const first = d.skipped[0]!;
      const count = d.skipped.length;
      await this.store.triggers.addEvent(c, {
        triggerId: t.id,
        at: now,
        executionDate: newestSkipped,
        decision: 'skipped_catch_up',
        message: `${count} missed execution${count === 1 ? '' : 's'} (${first.toISOString()}${count > 1 ? ` .. ${newestSkipped.toISOString()}` : ''}) not run: catch_up is ${t.settings.catch_up}`,
      });
    }
    const runs: RunRow[] = [];
    for (const executionDate of d.fire) {
      if (t.settings.skip_if_previous_running && (await this.store.runs.countActive(c, t.id)) > 0) {
        await this.store.triggers.addEvent(c, { triggerId: t.id, at: now, executionDate, decision: 'skipped_previous_running', message: 'skipped: a previous run of this trigger was still running (skip_if_previous_running)' });
        continue;
      }
      const run = await this.store.runs.create(
        { project: t.project, pipeline: t.pipeline, triggerId: t.id, kind: 'scheduled', executionDate, variables: t.variables, timeoutSeconds: t.settings.timeout },
        c,
      );
      if (!run) continue; // this execution already has its run
      runs.push(run);
      const late = now.getTime() - executionDate.getTime();
      await this.store.triggers.addEvent(c, { triggerId: t.id, at: now, executionDate, decision: 'fired', runId: run.id, message: `run created ${late} ms after its execution date` });
    }
    // No next fire time (an @once that fired): not looked at again, rather than due at once forever.
    await this.store.triggers.advance(c, t.id, d.cursor, d.next ?? NEVER, now);
    return runs;
  }

  /** Starts the loop: pass, then sleep until the next due time or a wake-up. */
  start(): void {
    if (this.loop) return;
    this.stopped = false;
    this.loop = (async () => {
      while (!this.stopped) {
        try {
          await this.options.beforeTick?.();
          await this.tick();
          const next = await this.store.triggers.nextCheck();
          const max = this.options.maxSleepMs ?? 60_000;
          const wait = next === null ? max : Math.min(max, next.getTime() - this.clock.now().getTime());
          if (wait > 0 && !this.stopped) await this.clock.sleep(wait, this.wakeController.signal);
        } catch (e) {
          this.options.onError?.(e);
          if (!this.stopped) await this.clock.sleep(1000, this.wakeController.signal);
        }
        if (this.wakeController.signal.aborted) this.wakeController = new AbortController();
      }
    })();
  }

  /** Look again now (a trigger was created, edited or resumed). */
  wake(): void {
    this.wakeController.abort();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.loop;
    this.loop = null;
  }
}
