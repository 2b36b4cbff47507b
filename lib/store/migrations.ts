/**
 * The metadata store's schema, as versioned migrations applied in order and recorded in
 * `schema_migrations`. A migration is never edited once released: add the next one instead.
 * Stored strings (statuses, kinds, decisions) are public and never change meaning.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'runs, block runs, attempts, events, logs, triggers, backfills',
    sql: `
CREATE TABLE triggers (
  id                    text PRIMARY KEY,
  project               text NOT NULL,
  pipeline              text NOT NULL,
  name                  text NOT NULL,
  schedule_type         text NOT NULL,             -- time | api
  schedule_interval     text,
  start_time            timestamptz,
  timezone              text NOT NULL DEFAULT 'UTC',
  status                text NOT NULL,             -- active | inactive
  variables             jsonb NOT NULL DEFAULT '{}',
  settings              jsonb NOT NULL DEFAULT '{}',
  sla_seconds           double precision,
  token_hash            text,                      -- sha256 of the API token; the token is shown once
  token_created_at      timestamptz,
  in_file               boolean NOT NULL DEFAULT true, -- false once removed from triggers.yaml (runs keep it)
  definition_error      text,                      -- why triggers.yaml could not be read, if it could not
  first_active_at       timestamptz,               -- when the scheduler first saw it active
  cursor_execution_date timestamptz,               -- the latest execution date decided (fired or skipped)
  next_check_at         timestamptz,               -- when the scheduler looks at it next
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now(),
  UNIQUE (project, pipeline, name)
);
CREATE INDEX triggers_due ON triggers (next_check_at) WHERE schedule_type = 'time' AND status = 'active' AND in_file;

CREATE TABLE backfills (
  id               text PRIMARY KEY,
  project          text NOT NULL,
  pipeline         text NOT NULL,
  name             text NOT NULL,
  start_datetime   timestamptz NOT NULL,
  end_datetime     timestamptz NOT NULL,
  interval_unit    text NOT NULL,                  -- minute | hour | day | week | month
  interval_value   integer NOT NULL,
  concurrency      integer NOT NULL,
  variables        jsonb NOT NULL DEFAULT '{}',
  status           text NOT NULL,                  -- running | completed | failed | cancelled
  created_at       timestamptz NOT NULL DEFAULT now(),
  completed_at     timestamptz
);

CREATE TABLE pipeline_runs (
  id               text PRIMARY KEY,
  project          text NOT NULL,
  pipeline         text NOT NULL,
  trigger_id       text REFERENCES triggers(id),
  backfill_id      text REFERENCES backfills(id),
  kind             text NOT NULL,                  -- scheduled | api | manual | backfill
  execution_date   timestamptz NOT NULL,
  status           text NOT NULL,                  -- initial | running | completed | failed | cancelled
  variables        jsonb NOT NULL DEFAULT '{}',    -- run variables (trigger, API body, backfill interval)
  attempt          integer NOT NULL DEFAULT 0,     -- how many times a worker started it
  not_before       timestamptz NOT NULL DEFAULT now(),
  worker_id        text,
  cancel_requested boolean NOT NULL DEFAULT false,
  timeout_seconds  integer,
  error            text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  started_at       timestamptz,
  completed_at     timestamptz
);
-- A scheduled execution exists at most once: this, not timing, is what stops a double fire.
CREATE UNIQUE INDEX pipeline_runs_once_per_execution ON pipeline_runs (trigger_id, execution_date) WHERE kind = 'scheduled';
CREATE INDEX pipeline_runs_claimable ON pipeline_runs (not_before, created_at) WHERE status = 'initial';
CREATE INDEX pipeline_runs_by_pipeline ON pipeline_runs (project, pipeline, created_at DESC);
CREATE INDEX pipeline_runs_by_trigger ON pipeline_runs (trigger_id, execution_date DESC);
CREATE INDEX pipeline_runs_by_backfill ON pipeline_runs (backfill_id);

CREATE TABLE block_runs (
  id            bigserial PRIMARY KEY,
  run_id        text NOT NULL REFERENCES pipeline_runs(id) ON DELETE CASCADE,
  block_uuid    text NOT NULL,
  position      integer NOT NULL,
  status        text NOT NULL,                     -- Mage's block-run statuses
  attempts      integer NOT NULL DEFAULT 0,
  attempt_base  integer NOT NULL DEFAULT 0,        -- attempts before the last retry of the run (retry budget starts here)
  started_at    timestamptz,
  completed_at  timestamptz,
  row_count     bigint,
  error         jsonb,
  UNIQUE (run_id, block_uuid)
);

CREATE TABLE block_run_attempts (
  id            bigserial PRIMARY KEY,
  block_run_id  bigint NOT NULL REFERENCES block_runs(id) ON DELETE CASCADE,
  attempt       integer NOT NULL,
  status        text NOT NULL,                     -- running | completed | failed | cancelled
  started_at    timestamptz NOT NULL,
  finished_at   timestamptz,
  duration_ms   double precision,
  error         jsonb,
  UNIQUE (block_run_id, attempt)
);

-- Append-only history: every pipeline-run (block_uuid null) and block-run state transition with its time.
CREATE TABLE run_events (
  id          bigserial PRIMARY KEY,
  run_id      text NOT NULL REFERENCES pipeline_runs(id) ON DELETE CASCADE,
  block_uuid  text,
  status      text NOT NULL,
  attempt     integer,
  at          timestamptz NOT NULL,
  message     text
);
CREATE INDEX run_events_by_run ON run_events (run_id, id);

CREATE TABLE run_logs (
  id          bigserial PRIMARY KEY,
  run_id      text NOT NULL REFERENCES pipeline_runs(id) ON DELETE CASCADE,
  block_uuid  text NOT NULL,
  attempt     integer NOT NULL,
  at          timestamptz NOT NULL,
  stream      text NOT NULL,                       -- stdout | stderr | system
  text        text NOT NULL
);
CREATE INDEX run_logs_by_block ON run_logs (run_id, block_uuid, id);

-- What the scheduler decided for each trigger, so a page can say why a run did or did not start.
CREATE TABLE trigger_events (
  id              bigserial PRIMARY KEY,
  trigger_id      text NOT NULL REFERENCES triggers(id) ON DELETE CASCADE,
  at              timestamptz NOT NULL,
  execution_date  timestamptz,
  decision        text NOT NULL,                   -- fired | skipped_catch_up | skipped_previous_running | invalid
  run_id          text,
  message         text NOT NULL
);
CREATE INDEX trigger_events_by_trigger ON trigger_events (trigger_id, id DESC);
`,
  },
  {
    version: 2,
    name: 'notify run changes, so pages follow runs without polling',
    // Any process may change a run (a worker elsewhere); the database tells every listening server.
    // NOTIFY folds identical payloads within a transaction, so a batch of log lines rings once.
    sql: `
CREATE FUNCTION notify_pipeline_run_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify(TG_TABLE_SCHEMA || '_run_changes', json_build_object('run', NEW.id, 'project', NEW.project, 'pipeline', NEW.pipeline)::text);
  RETURN NULL;
END $$;
CREATE TRIGGER pipeline_runs_notify AFTER INSERT OR UPDATE ON pipeline_runs FOR EACH ROW EXECUTE FUNCTION notify_pipeline_run_change();

CREATE FUNCTION notify_block_run_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify(TG_TABLE_SCHEMA || '_run_changes', json_build_object('run', NEW.run_id)::text);
  RETURN NULL;
END $$;
CREATE TRIGGER block_runs_notify AFTER INSERT OR UPDATE ON block_runs FOR EACH ROW EXECUTE FUNCTION notify_block_run_change();

CREATE FUNCTION notify_run_logs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify(TG_TABLE_SCHEMA || '_run_changes', json_build_object('run', r.run_id, 'logs', true)::text)
     FROM (SELECT DISTINCT run_id FROM new_rows) r;
  RETURN NULL;
END $$;
CREATE TRIGGER run_logs_notify AFTER INSERT ON run_logs REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION notify_run_logs();
`,
  },
  {
    version: 3,
    name: 'users, sessions, API tokens, secrets and the audit log',
    // Only hashes of session ids and tokens are kept: a copy of the database signs nobody in.
    // A change to users, sessions or tokens rings the servers, which drop the sockets it ends.
    sql: `
CREATE TABLE users (
  id             text PRIMARY KEY,
  name           text NOT NULL UNIQUE,
  role           text NOT NULL,                    -- viewer | editor | owner
  password_hash  text NOT NULL,                    -- scrypt$N$r$p$salt$hash (lib/access/passwords.ts)
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sessions (
  id_hash           text PRIMARY KEY,              -- sha256 of the cookie's value
  user_id           text REFERENCES users(id) ON DELETE CASCADE,  -- null: signed in with the start token
  start_token_hash  text,                          -- the start token it was made with (null for users)
  created_at        timestamptz NOT NULL DEFAULT now(),
  expires_at        timestamptz NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE api_tokens (
  id            text PRIMARY KEY,
  user_id       text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name          text NOT NULL,
  token_hash    text NOT NULL UNIQUE,              -- sha256; the token is shown once
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_used_at  timestamptz
);

CREATE TABLE secrets (
  name        text PRIMARY KEY,
  nonce       bytea NOT NULL,                      -- AES-256-GCM, 12 bytes
  ciphertext  bytea NOT NULL,
  auth_tag    bytea NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  updated_by  text NOT NULL
);

CREATE TABLE audit_log (
  id      bigserial PRIMARY KEY,
  at      timestamptz NOT NULL DEFAULT now(),
  actor   text NOT NULL,                           -- a user's name, 'token' (the start token) or 'cli'
  action  text NOT NULL,                           -- e.g. sign_in, file_saved, run_started, user_added
  target  text NOT NULL DEFAULT '',
  detail  jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_by_time ON audit_log (at DESC);

CREATE FUNCTION notify_access_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify(TG_TABLE_SCHEMA || '_access_changes', TG_TABLE_NAME);
  RETURN NULL;
END $$;
CREATE TRIGGER users_notify AFTER INSERT OR UPDATE OR DELETE ON users FOR EACH STATEMENT EXECUTE FUNCTION notify_access_change();
CREATE TRIGGER sessions_notify AFTER DELETE ON sessions FOR EACH STATEMENT EXECUTE FUNCTION notify_access_change();
CREATE TRIGGER api_tokens_notify AFTER DELETE ON api_tokens FOR EACH STATEMENT EXECUTE FUNCTION notify_access_change();
`,
  },
  {
    version: 4,
    name: 'runs of every host: who started them, and the exact code they ran',
    // Editor and CLI runs are recorded too (kinds editor, cli); started_by says who (a user id,
    // 'cli:<os user>', or null for a schedule). Code is stored once per content (sha256 of the
    // text), and each run names the files it ran by project-relative path.
    sql: `
ALTER TABLE pipeline_runs ADD COLUMN started_by text;
CREATE INDEX pipeline_runs_by_kind ON pipeline_runs (kind, created_at DESC);

CREATE TABLE code_blobs (
  hash        text PRIMARY KEY,                    -- sha256 hex of content (UTF-8)
  content     text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE run_code (
  run_id  text NOT NULL REFERENCES pipeline_runs(id) ON DELETE CASCADE,
  path    text NOT NULL,                           -- project-relative: a block file or pipelines/<p>/metadata.yaml
  hash    text NOT NULL REFERENCES code_blobs(hash),
  PRIMARY KEY (run_id, path)
);
`,
  },
  {
    version: 5,
    name: 'block runs that reused a cached output',
    // configuration.cache: a block run that reused its block's last output completes with cached = true.
    sql: `
ALTER TABLE block_runs ADD COLUMN cached boolean NOT NULL DEFAULT false;
`,
  },
  {
    version: 6,
    name: 'workers and their heartbeats; queues',
    // Every process that drives runs (a worker, the editor's server, grimoire run) has a row here and
    // heartbeats it; pipeline_runs.worker_id names the row. A process is lost when its liveness lock
    // is free and its heartbeat is older than the timeout, counted from the database's own start so
    // that a Postgres restart never makes a live process look lost. Runs carry the queue they wait
    // on (executor_config.queue); workers serve the queues they list.
    sql: `
CREATE TABLE workers (
  id              text PRIMARY KEY,                -- what pipeline_runs.worker_id holds
  kind            text NOT NULL,                   -- worker | server | cli
  host            text NOT NULL,
  pid             integer NOT NULL,
  version         text NOT NULL,
  queues          text[] NOT NULL DEFAULT '{}',
  concurrency     integer NOT NULL DEFAULT 0,
  status          text NOT NULL DEFAULT 'alive',   -- alive | draining | stopped | lost
  started_at      timestamptz NOT NULL DEFAULT now(),
  heartbeat_at    timestamptz NOT NULL DEFAULT now(),
  stopped_at      timestamptz,                     -- when it stopped or was found lost
  memory_rss      bigint NOT NULL DEFAULT 0,       -- bytes, at the last heartbeat
  runs_completed  integer NOT NULL DEFAULT 0,
  runs_failed     integer NOT NULL DEFAULT 0,
  moved_runs      text[] NOT NULL DEFAULT '{}'     -- runs handed to other workers when it was found lost
);
CREATE INDEX workers_by_status ON workers (status, heartbeat_at);
ALTER TABLE pipeline_runs ADD COLUMN queue text NOT NULL DEFAULT 'default';
`,
  },
];
