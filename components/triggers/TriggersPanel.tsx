'use client';

import Link from 'next/link';
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { z } from 'zod';
import { call, formatWhen, triggerListSchema, type TriggerReportJson } from '@/components/runs/api';
import { variablesSchema } from '@/lib/protocol/json';
import styles from '@/components/runs/runs.module.css';

const created = z.object({ name: z.string(), token: z.string().nullable() });
const tokenAnswer = z.object({ token: z.string() });
const ok = z.unknown();

function parseVariables(text: string): Record<string, import('@/lib/pipeline/model').JsonValue> {
  if (text.trim() === '') return {};
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new Error('variables must be JSON, e.g. {"year": 2020}');
  }
  const parsed = variablesSchema.safeParse(data);
  if (!parsed.success) throw new Error('variables must be a JSON object');
  return parsed.data;
}

/** Triggers of one pipeline: create, edit, pause, token, next run time and why the last one did or did not run. */
export function TriggersPanel({ project, pipeline }: { project: string; pipeline: string }) {
  const base = `/api/projects/${encodeURIComponent(project)}/pipelines/${encodeURIComponent(pipeline)}/triggers`;
  const [triggers, setTriggers] = useState<TriggerReportJson[]>([]);
  const [fileError, setFileError] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [shownToken, setShownToken] = useState<{ name: string; token: string } | null>(null);
  const [kind, setKind] = useState<'time' | 'api'>('time');

  const load = useCallback(async () => {
    try {
      const data = await call(base, triggerListSchema);
      setTriggers(data.triggers);
      setFileError(data.file_error);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  }, [base]);

  useEffect(() => {
    void load();
    const timer = setInterval(() => void load(), 2000);
    return () => clearInterval(timer);
  }, [load]);

  const act = async (work: () => Promise<void>) => {
    setError(null);
    try {
      await work();
      await load();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };

  const onCreate = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const text = (key: string) => String(form.get(key) ?? '').trim();
    const target = event.currentTarget;
    void act(async () => {
      const catchUp = text('catch_up');
      const settings: Record<string, string | number | boolean> = { skip_if_previous_running: form.get('skip_if_previous_running') === 'on' };
      if (kind === 'time') {
        if (!catchUp) throw new Error('choose a catch-up policy: what should happen to runs missed while the server was down or the trigger paused?');
        settings.catch_up = catchUp;
        const initial = text('create_initial_pipeline_run');
        if (initial === 'true' || initial === 'false') settings.create_initial_pipeline_run = initial === 'true';
      }
      if (text('run_limit')) settings.run_limit = Number(text('run_limit'));
      if (text('timeout')) settings.timeout = Number(text('timeout'));
      const body = {
        name: text('name'),
        schedule_type: kind,
        ...(kind === 'time' ? { schedule_interval: text('schedule_interval'), start_time: text('start_time') || null, timezone: text('timezone') || 'UTC' } : {}),
        variables: parseVariables(text('variables')),
        settings,
        ...(text('sla') ? { sla: Number(text('sla')) } : {}),
      };
      const answer = await call(base, created, { method: 'POST', body });
      if (answer.token) setShownToken({ name: answer.name, token: answer.token });
      target.reset();
    });
  };

  const patch = (name: string, body: unknown) => act(async () => void (await call(`${base}/${encodeURIComponent(name)}`, ok, { method: 'PATCH', body })));
  const remove = (name: string) => act(async () => void (await call(`${base}/${encodeURIComponent(name)}`, ok, { method: 'DELETE' })));
  const rotate = (name: string) =>
    act(async () => {
      const { token } = await call(`${base}/${encodeURIComponent(name)}/token`, tokenAnswer, { method: 'POST' });
      setShownToken({ name, token });
    });
  const runNow = () =>
    act(async () => {
      await call('/api/runs', ok, { method: 'POST', body: { project, pipeline } });
    });

  return (
    <div>
      <div className={styles.row}>
        <Link href={`/projects/${encodeURIComponent(project)}/pipelines/${encodeURIComponent(pipeline)}/runs`}>Runs</Link>
        <Link href={`/projects/${encodeURIComponent(project)}/pipelines/${encodeURIComponent(pipeline)}`}>Editor</Link>
        <button type="button" onClick={() => void runNow()}>Run pipeline now</button>
      </div>
      {fileError && <pre className={styles.error} role="alert">{`triggers.yaml cannot be read (nothing was overwritten):\n${fileError}`}</pre>}
      {error && <p className={styles.error} role="alert">{error}</p>}
      {shownToken && (
        <div className={styles.panel} aria-label="New token">
          <p>Token for <strong>{shownToken.name}</strong>: copy it now, it is shown only once.</p>
          <p className={styles.token} data-testid="trigger-token">{shownToken.token}</p>
          <p className="muted">
            curl -X POST -H &quot;Authorization: Bearer &lt;token&gt;&quot; -H &quot;content-type: application/json&quot; -d &apos;{'{"variables": {}}'}&apos;{' '}
            {typeof window === 'undefined' ? '' : window.location.origin}
            {base}/{shownToken.name}/runs
          </p>
          <button type="button" onClick={() => setShownToken(null)}>Done</button>
        </div>
      )}
      <form className={styles.panel} onSubmit={onCreate} aria-label="New trigger">
        <h2>New trigger</h2>
        <div className={styles.row}>
          <label>
            Name
            <input name="name" required pattern="[A-Za-z_][A-Za-z0-9_]*" placeholder="daily_5am" />
          </label>
          <label>
            Type
            <select name="schedule_type" value={kind} onChange={(e) => setKind(e.target.value === 'api' ? 'api' : 'time')}>
              <option value="time">time (schedule)</option>
              <option value="api">api (HTTP call with a token)</option>
            </select>
          </label>
          {kind === 'time' && (
            <>
              <label>
                Schedule
                <input name="schedule_interval" required list="presets" placeholder="@daily or 0 5 * * *" />
              </label>
              <datalist id="presets">
                {['@once', '@hourly', '@daily', '@weekly', '@monthly'].map((p) => (
                  <option key={p} value={p} />
                ))}
              </datalist>
              <label>
                Start time
                <input name="start_time" placeholder="2024-01-01 05:00:00" />
              </label>
              <label>
                Time zone
                <input name="timezone" defaultValue="UTC" />
              </label>
            </>
          )}
        </div>
        {kind === 'time' && (
          <div className={styles.row}>
            <fieldset>
              <legend>Catch-up (missed runs)</legend>
              <label><input type="radio" name="catch_up" value="none" /> none</label>
              <label><input type="radio" name="catch_up" value="latest" /> latest only</label>
              <label><input type="radio" name="catch_up" value="all" /> all</label>
            </fieldset>
            <label style={{ flexDirection: 'row', alignItems: 'center' }}>
              <input type="checkbox" name="skip_if_previous_running" /> skip if previous running
            </label>
            <label>
              First run
              <select name="create_initial_pipeline_run" defaultValue="" aria-label="First run (create_initial_pipeline_run)">
                <option value="">as catch-up decides</option>
                <option value="true">run the execution already past at once</option>
                <option value="false">wait for the next execution</option>
              </select>
            </label>
          </div>
        )}
        <div className={styles.row}>
          <label>
            Run limit
            <input name="run_limit" type="number" min={1} style={{ width: 80 }} />
          </label>
          <label>
            Timeout (s)
            <input name="timeout" type="number" min={1} style={{ width: 90 }} />
          </label>
          <label>
            SLA (s)
            <input name="sla" type="number" min={1} style={{ width: 90 }} />
          </label>
          <label>
            Variables (JSON)
            <input name="variables" placeholder='{"year": 2020}' style={{ width: 220 }} />
          </label>
          <button type="submit">Create trigger</button>
        </div>
      </form>
      {triggers.length === 0 && <p className="muted">No triggers yet. They are kept in pipelines/{pipeline}/triggers.yaml.</p>}
      {triggers.map((t) => (
        <section key={t.name} className={styles.panel} aria-label={`Trigger ${t.name}`} data-testid={`trigger-${t.name}`}>
          <div className={styles.row} style={{ alignItems: 'center' }}>
            <strong>{t.name}</strong>
            <span className={styles.badge} data-status={t.status === 'active' ? 'completed' : 'cancelled'}>{t.status}</span>
            <span className="muted">
              {t.schedule_type === 'api' ? 'API' : `${t.schedule_interval ?? ''} (${t.timezone})${t.start_time ? ` from ${formatWhen(t.start_time)}` : ''} · catch-up ${t.settings.catch_up}`}
              {t.settings.skip_if_previous_running ? ' · skip if previous running' : ''}
              {t.schedule_type === 'time' && t.settings.create_initial_pipeline_run !== null ? ` · initial run ${t.settings.create_initial_pipeline_run ? 'yes' : 'no'}` : ''}
              {t.settings.run_limit ? ` · run limit ${t.settings.run_limit}` : ''}
              {t.settings.timeout ? ` · timeout ${t.settings.timeout} s` : ''}
              {t.sla ? ` · SLA ${t.sla} s` : ''}
            </span>
            <span className="spacer" />
            <span data-testid={`next-${t.name}`}>{t.done ? 'Done: no execution left' : `Next run: ${formatWhen(t.next_run_at)}`}</span>
            <button type="button" onClick={() => void patch(t.name, { status: t.status === 'active' ? 'inactive' : 'active' })}>
              {t.status === 'active' ? 'Pause' : 'Resume'}
            </button>
            {t.schedule_type === 'time' && (
              <select aria-label={`Catch-up of ${t.name}`} value={t.settings.catch_up} onChange={(e) => void patch(t.name, { settings: { catch_up: e.target.value } })}>
                <option value="none">catch-up: none</option>
                <option value="latest">catch-up: latest</option>
                <option value="all">catch-up: all</option>
              </select>
            )}
            {t.schedule_type === 'api' && <button type="button" onClick={() => void rotate(t.name)}>{t.has_token ? 'New token' : 'Create token'}</button>}
            <button type="button" onClick={() => void remove(t.name)}>Delete</button>
          </div>
          <ul className={styles.explain} data-testid={`explain-${t.name}`}>
            {t.explanation.map((line) => (
              <li key={line}>{line}</li>
            ))}
          </ul>
          {t.recent_events.length > 0 && (
            <ul className={styles.events}>
              {t.recent_events.slice(0, 5).map((e) => (
                <li key={`${e.at}-${e.decision}-${e.execution_date ?? ''}`}>
                  {formatWhen(e.at)} · {e.decision}
                  {e.execution_date ? ` · execution ${formatWhen(e.execution_date)}` : ''} · {e.message}
                  {e.run_id && (
                    <>
                      {' '}
                      · <Link href={`/runs/${e.run_id}`}>run</Link>
                    </>
                  )}
                </li>
              ))}
            </ul>
          )}
        </section>
      ))}
    </div>
  );
}
