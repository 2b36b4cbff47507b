/**
 * Grimoire's Prometheus metrics (`GET /metrics`), read from the metadata store at scrape time.
 *
 * Why from the store and not from counters in this process: runs are created by one server,
 * claimed by workers elsewhere and finished by whichever process drives them, so no process sees
 * the cluster's work. Every number here is computed by Postgres, in one snapshot, with Postgres's
 * own clock; every server therefore answers the same (scrape any one of them, or all of them and
 * take `max`), and a restarted server loses nothing. The price is a few aggregate queries per
 * scrape (each bounded by SCRAPE_STATEMENT_TIMEOUT_MS).
 *
 * Metrics (units are seconds; every labelled series that may be zero is always written, so an
 * alert on it never sees the series vanish):
 * - `grimoire_pipeline_runs{status}` gauge: pipeline runs by status (every PIPELINE_RUN_STATUSES).
 * - `grimoire_block_runs{status}` gauge: block runs by status (every BLOCK_RUN_STATUSES).
 * - `grimoire_block_duration_seconds{status}` histogram: finished block attempts (finished_at -
 *   started_at) by the attempt's status (completed, failed, cancelled).
 * - `grimoire_queue_depth{queue}` gauge: runs in status `initial`, by `pipeline_runs.queue`. It
 *   counts every waiting run, also one held back by a trigger's run limit or a backfill's
 *   concurrency. `default` and every queue an alive worker serves are written even when 0.
 * - `grimoire_queue_wait_seconds{queue}` histogram: created_at -> first claim by a worker, for the
 *   runs workers drive (not `editor`/`cli`, which run in the process that started them). The first
 *   claim sets started_at in the statement that writes the "claimed by worker" run event
 *   (RunRepository.claim), and later claims keep it, so started_at is that claim's time.
 * - `grimoire_scheduler_lateness_seconds` histogram: started_at - execution_date of `scheduled`
 *   runs: how long after its planned instant a scheduled run really started (the scheduler's
 *   delay plus the queue wait).
 * - `grimoire_workers{kind,status}` gauge: rows of the `workers` table (migration 6) by kind
 *   (worker|server|cli) and status (alive|draining|stopped|lost), plus `late`: an alive or
 *   draining row whose heartbeat is older than `lateAfterMs` (10 s, the store's LOST_AFTER_SECONDS)
 *   is counted as `late`, not by its stored status, because the process may be dead and not yet
 *   found lost. The age is counted from the database's start when that is later (a Postgres
 *   restart stops heartbeats for a while without any process dying), as the store's rule does.
 *
 * The histograms count every matching row in the store, not a recent window: a Prometheus
 * histogram is a set of counters, and windows belong to the query (`rate(..._bucket[5m])`).
 * Rows removed by retention make the counters drop, which Prometheus reads as a counter reset.
 * Durations are clamped at 0: start and end times may come from different machines' clocks.
 *
 * No process metrics (memory, event loop) of the answering server are included: they would
 * differ between servers, which this endpoint promises not to do, and collecting them needs
 * module-level state that lib/ does not keep.
 */
import type pg from 'pg';
import { AggregatorRegistry, Gauge, Registry, type PrometheusContentType } from 'prom-client';
import { z } from 'zod';
import { BLOCK_RUN_STATUSES, PIPELINE_RUN_STATUSES } from '../run/states';
import { LIVE_RUN_KINDS, rows, WORKER_KINDS, WORKER_STATUSES, type RunKind } from '../store/types';
import { LOST_AFTER_SECONDS } from '../store/worker-repository';

/** Upper bounds (seconds) of the block duration buckets: a tenth of a second to an hour. */
export const BLOCK_DURATION_BUCKETS: readonly number[] = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
/** Upper bounds (seconds) of the queue wait buckets: dispatch should take well under 100 ms. */
export const QUEUE_WAIT_BUCKETS: readonly number[] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];
/** Upper bounds (seconds) of the scheduler lateness buckets. */
export const SCHEDULER_LATENESS_BUCKETS: readonly number[] = [0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600];

/**
 * A heartbeat older than this (ms) makes an alive or draining worker count as `late`: the silence
 * after which the store may find it lost (worker-repository.ts), so `late` means "about to be lost
 * unless it holds its liveness lock".
 */
export const WORKER_LATE_AFTER_MS = LOST_AFTER_SECONDS * 1000;

/** Each query of a scrape may take this long (ms); Prometheus gives up on a scrape after 10 s by default. */
const SCRAPE_STATEMENT_TIMEOUT_MS = 10_000;

/** Attempt statuses that end an attempt (block_run_attempts.status): always written, even at 0. */
const FINISHED_ATTEMPT_STATUSES = ['completed', 'failed', 'cancelled'] as const;
const DEFAULT_QUEUE = 'default';
const SCHEDULED: RunKind = 'scheduled';
const LATE = 'late';

export interface MetricsOptions {
  /** See WORKER_LATE_AFTER_MS. */
  lateAfterMs?: number;
}

/** What `GET /metrics` answers: the Prometheus text exposition format (0.0.4) and its content type. */
export interface MetricsText {
  text: string;
  contentType: PrometheusContentType;
}

const countRow = z.object({ label: z.string(), n: z.number().int() });
const workerCountRow = z.object({ kind: z.string(), status: z.string(), n: z.number().int() });
/** One histogram bucket of one label value: `le` is the smallest bound >= the values, null above the last. */
const bucketRow = z.object({ label: z.string(), le: z.number().nullable(), n: z.number().int(), total: z.number() });

/**
 * The metrics of the whole cluster as the store holds them now, from one snapshot (REPEATABLE
 * READ, read-only) on one connection of `pool`, whose search_path must reach Grimoire's tables
 * (the Store's pool does). Throws what pg throws when the database cannot be reached or a query
 * passes SCRAPE_STATEMENT_TIMEOUT_MS, and a ZodError if a row is not of the expected shape.
 */
export async function collectMetrics(pool: pg.Pool, options: MetricsOptions = {}): Promise<MetricsText> {
  const client = await pool.connect();
  let failed = false;
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await client.query(`SET LOCAL statement_timeout = ${SCRAPE_STATEMENT_TIMEOUT_MS}`);
    const registry = await readMetrics(client, options.lateAfterMs ?? WORKER_LATE_AFTER_MS);
    // Read-only: nothing to commit.
    await client.query('ROLLBACK');
    return { text: await registry.metrics(), contentType: registry.contentType };
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    // After a failure the connection may be broken or inside an aborted transaction: it is
    // closed (which ends the transaction) rather than handed back to the pool.
    client.release(failed);
  }
}

async function readMetrics(c: pg.PoolClient, lateAfterMs: number): Promise<Registry> {
  // A registry per scrape: every value is read afresh from the store, so nothing may linger from
  // the last scrape (a status no row has any more) and no state is kept between requests.
  const gauges = new Registry();

  const runs = rows(countRow, (await c.query('SELECT status AS label, count(*)::int AS n FROM pipeline_runs GROUP BY status')).rows);
  countGauge(gauges, 'grimoire_pipeline_runs', 'Pipeline runs in the store, by status.', 'status', PIPELINE_RUN_STATUSES, runs);

  const blocks = rows(countRow, (await c.query('SELECT status AS label, count(*)::int AS n FROM block_runs GROUP BY status')).rows);
  countGauge(gauges, 'grimoire_block_runs', 'Block runs in the store, by status.', 'status', BLOCK_RUN_STATUSES, blocks);

  // Every queue a live worker serves is listed as well, so "nobody waits on heavy" reads as 0.
  const depth = rows(
    countRow,
    (
      await c.query(
        `SELECT q.label, count(r.id)::int AS n
           FROM (SELECT $1::text AS label
                 UNION SELECT queue FROM pipeline_runs WHERE status = 'initial'
                 UNION SELECT unnest(queues) FROM workers WHERE status = 'alive') q
           LEFT JOIN pipeline_runs r ON r.queue = q.label AND r.status = 'initial'
          GROUP BY q.label`,
        [DEFAULT_QUEUE],
      )
    ).rows,
  );
  countGauge(gauges, 'grimoire_queue_depth', 'Runs waiting for a worker (status initial), by queue.', 'queue', [DEFAULT_QUEUE], depth);

  const workers = rows(
    workerCountRow,
    (
      await c.query(
        `SELECT kind,
                CASE WHEN status IN ('alive', 'draining')
                      AND now() - GREATEST(heartbeat_at, pg_postmaster_start_time()) > make_interval(secs => $1)
                     THEN $2 ELSE status END AS status,
                count(*)::int AS n
           FROM workers GROUP BY 1, 2`,
        [lateAfterMs / 1000, LATE],
      )
    ).rows,
  );
  const workerGauge = new Gauge({
    name: 'grimoire_workers',
    help: `Processes that drive runs (workers table), by kind and status; late: alive or draining with no heartbeat for ${lateAfterMs / 1000} s.`,
    labelNames: ['kind', 'status'],
    registers: [gauges],
  });
  for (const kind of WORKER_KINDS) for (const status of [...WORKER_STATUSES, LATE]) workerGauge.set({ kind, status }, 0);
  for (const w of workers) workerGauge.set({ kind: w.kind, status: w.status }, w.n);

  const histograms = [
    await histogram(c, {
      name: 'grimoire_block_duration_seconds',
      help: 'Duration of finished block attempts (finished_at - started_at), by the attempt status.',
      label: 'status',
      always: FINISHED_ATTEMPT_STATUSES,
      buckets: BLOCK_DURATION_BUCKETS,
      observations: `SELECT status AS label, GREATEST(0, EXTRACT(EPOCH FROM finished_at - started_at))::float8 AS v
                       FROM block_run_attempts WHERE finished_at IS NOT NULL AND status <> 'running'`,
      params: [],
    }),
    await histogram(c, {
      name: 'grimoire_queue_wait_seconds',
      help: 'Time from a run being created to its first claim by a worker, by queue.',
      label: 'queue',
      always: [DEFAULT_QUEUE],
      buckets: QUEUE_WAIT_BUCKETS,
      observations: `SELECT queue AS label, GREATEST(0, EXTRACT(EPOCH FROM started_at - created_at))::float8 AS v
                       FROM pipeline_runs WHERE started_at IS NOT NULL AND kind <> ALL($2::text[])`,
      params: [LIVE_RUN_KINDS],
    }),
    await histogram(c, {
      name: 'grimoire_scheduler_lateness_seconds',
      help: 'How long after its execution date a scheduled run started (started_at - execution_date).',
      label: null,
      always: [''],
      buckets: SCHEDULER_LATENESS_BUCKETS,
      observations: `SELECT ''::text AS label, GREATEST(0, EXTRACT(EPOCH FROM started_at - execution_date))::float8 AS v
                       FROM pipeline_runs WHERE kind = $2 AND started_at IS NOT NULL`,
      params: [SCHEDULED],
    }),
  ];
  // prom-client's Histogram counts observe() calls made in this process; ours are counted by
  // Postgres over the whole cluster (bucket counts, not single values: a scrape must not fetch
  // every attempt ever made). AggregatorRegistry.aggregate is prom-client's documented way to
  // turn metrics counted elsewhere (in cluster workers, there) into a registry that it writes out,
  // so the text format, escaping and content type stay the library's.
  return Registry.merge([gauges, AggregatorRegistry.aggregate<PrometheusContentType>([histograms])]);
}

/** A gauge of counts by one label; every `always` value is written, at 0 when no row has it. */
function countGauge(registry: Registry, name: string, help: string, label: string, always: readonly string[], counts: readonly { label: string; n: number }[]): void {
  const gauge = new Gauge({ name, help, labelNames: [label], registers: [registry] });
  for (const value of always) gauge.set({ [label]: value }, 0);
  for (const c of counts) gauge.set({ [label]: c.label }, c.n);
}

interface HistogramSpec {
  name: string;
  help: string;
  /** The label the observations' `label` column fills, or null for a histogram without labels. */
  label: string | null;
  /** Label values written even when no observation has them (all buckets 0). */
  always: readonly string[];
  /** Upper bounds in seconds, ascending. */
  buckets: readonly number[];
  /** SQL yielding (label text, v float8 seconds); $1 is taken by the buckets, `params` are $2... */
  observations: string;
  params: readonly unknown[];
}

/** One series of a metric as prom-client's registries exchange them (`getMetricsAsJSON`). */
interface SeriesValue {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

interface HistogramFamily {
  name: string;
  help: string;
  type: 'histogram';
  aggregator: 'sum';
  values: SeriesValue[];
}

/**
 * A histogram counted in SQL: each observation goes to the smallest bound >= it (Prometheus's
 * `le`; none when above the last), then the counts are summed upwards into cumulative buckets,
 * `+Inf` equal to `_count`, as the exposition format requires.
 */
async function histogram(c: pg.PoolClient, spec: HistogramSpec): Promise<HistogramFamily> {
  const res = await c.query(
    `WITH obs AS (${spec.observations})
     SELECT o.label, k.le, count(*)::int AS n, sum(o.v) AS total
       FROM obs o CROSS JOIN LATERAL (SELECT min(t.b) AS le FROM unnest($1::float8[]) AS t(b) WHERE t.b >= o.v) k
      GROUP BY o.label, k.le`,
    [spec.buckets, ...spec.params],
  );
  const byLabel = new Map<string, { perBound: Map<number, number>; count: number; sum: number }>();
  for (const value of spec.always) byLabel.set(value, { perBound: new Map(), count: 0, sum: 0 });
  for (const r of rows(bucketRow, res.rows)) {
    const series = byLabel.get(r.label) ?? { perBound: new Map<number, number>(), count: 0, sum: 0 };
    if (r.le !== null) series.perBound.set(r.le, (series.perBound.get(r.le) ?? 0) + r.n);
    series.count += r.n;
    series.sum += r.total;
    byLabel.set(r.label, series);
  }
  const values: SeriesValue[] = [];
  for (const [labelValue, series] of [...byLabel].sort(([a], [b]) => a.localeCompare(b))) {
    const labels: Record<string, string> = spec.label === null ? {} : { [spec.label]: labelValue };
    let cumulative = 0;
    for (const le of spec.buckets) {
      cumulative += series.perBound.get(le) ?? 0;
      values.push({ metricName: `${spec.name}_bucket`, labels: { ...labels, le }, value: cumulative });
    }
    values.push({ metricName: `${spec.name}_bucket`, labels: { ...labels, le: '+Inf' }, value: series.count });
    values.push({ metricName: `${spec.name}_sum`, labels, value: series.sum });
    values.push({ metricName: `${spec.name}_count`, labels, value: series.count });
  }
  return { name: spec.name, help: spec.help, type: 'histogram', aggregator: 'sum', values };
}
