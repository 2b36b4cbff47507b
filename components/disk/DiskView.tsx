'use client';
import { useCallback, useEffect, useState } from 'react';
import { ErrorNote } from '@/components/shared/ErrorNote';
import { ApiError, fetchJson } from '@/components/shared/fetch-json';
import { meSchema } from '@/lib/protocol/access-api';
import { diskAnswerSchema, sweepAnswerSchema, type DiskAnswer, type PipelineDisk, type ProjectDisk } from '@/lib/protocol/disk-api';
import { RETENTION_KEYS } from '@/lib/pipeline/retention-config';
import { formatCount } from '@/lib/intl-format';
import { formatBytes, freedText, settingText } from '@/lib/ui/disk-text';

const message = (e: unknown) => (e instanceof ApiError ? e.message : String(e));

/** Disk used per project and pipeline, the retention settings, what they would free, and (owners) Sweep now. */
export function DiskView() {
  const [disk, setDisk] = useState<DiskAnswer | null>(null);
  const [owner, setOwner] = useState(false);
  const [sweeping, setSweeping] = useState(false);
  const [status, setStatus] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(() => fetchJson('/api/disk', diskAnswerSchema).then((d) => (setDisk(d), setError(null)), (e: unknown) => setError(message(e))), []);
  useEffect(() => {
    void load();
    fetchJson('/api/auth/me', meSchema).then((m) => setOwner(m.user.role === 'owner'), () => setOwner(false));
  }, [load]);
  const sweep = () => {
    setSweeping(true);
    fetchJson('/api/disk/sweep', sweepAnswerSchema, { method: 'POST', body: {} })
      .then(
        (a) => {
          const skipped = a.projects.filter((p) => p.errors.length > 0).map((p) => `${p.project} not swept: ${p.errors.join('; ')}`);
          setStatus(a.swept ? [`Swept: freed ${freedText(a.freed)}.`, ...skipped].join(' ') : `Not swept: ${a.reason ?? 'another server is sweeping'}.`);
          return load();
        },
        (e: unknown) => setError(message(e)),
      )
      .finally(() => setSweeping(false));
  };
  return (
    <>
      <div className="toolbar">
        <button type="button" onClick={() => void load()}>
          Refresh
        </button>
        {owner ? (
          <button type="button" onClick={sweep} disabled={sweeping}>
            {sweeping ? 'Sweeping…' : 'Sweep now'}
          </button>
        ) : null}
        {disk ? (
          <span className="muted">
            {disk.sweepEveryMs === null ? 'This server does not sweep by itself.' : `Swept every ${Math.round(disk.sweepEveryMs / 60_000)} min by the scheduler's servers (one at a time).`} As of {disk.at}.
          </span>
        ) : null}
      </div>
      {status ? <p role="status">{status}</p> : null}
      <ErrorNote message={error} />
      {disk ? (
        <>
          <p aria-label="Total">
            Total: run outputs {formatBytes(disk.totals.outputs)}, logs {formatBytes(disk.totals.logs)}, caches {formatBytes(disk.totals.caches)}, lakes {formatBytes(disk.totals.lake)}. Retention would free{' '}
            <strong data-testid="total-would-free">{freedText(disk.totals.wouldFree)}</strong>.
          </p>
          {disk.projects.length === 0 ? <p className="muted">No projects yet.</p> : null}
          {disk.projects.map((p) => (
            <ProjectTable key={p.project} project={p} />
          ))}
        </>
      ) : null}
    </>
  );
}

function ProjectTable({ project: p }: { project: ProjectDisk }) {
  return (
    <section aria-label={`Project ${p.project}`}>
      <h2>
        {p.project}
        {p.onDisk ? '' : ' (folder gone)'}
      </h2>
      {p.settings ? (
        <ul className="muted" aria-label={`Retention of ${p.project}`}>
          {RETENTION_KEYS.map((k) => (
            <li key={k}>
              <code>{k}</code>: {settingText(p.settings?.[k] ?? null)}
            </li>
          ))}
        </ul>
      ) : (
        <ErrorNote message={`Not swept: ${p.settingsErrors.join('; ')}`} />
      )}
      <div className="table-wrap">
        <table className="preview wide" aria-label={`Disk of ${p.project}`}>
          <thead>
            <tr>
              <th>Pipeline</th>
              <th>Runs</th>
              <th>Run outputs</th>
              <th>Logs</th>
              <th>
                Caches<small>kept</small>
              </th>
              <th>
                Lake<small>kept</small>
              </th>
              <th>Retention would free</th>
            </tr>
          </thead>
          <tbody>
            {p.pipelines.map((row) => (
              <PipelineRow key={row.pipeline} row={row} />
            ))}
          </tbody>
          <tfoot>
            <tr>
              <th>Total</th>
              <td>{formatCount(p.pipelines.reduce((n, x) => n + x.runs, 0))}</td>
              <td>{formatBytes(p.totals.outputs)}</td>
              <td>{formatBytes(p.totals.logs)}</td>
              <td>{formatBytes(p.totals.caches)}</td>
              <td>{formatBytes(p.totals.lake)}</td>
              <td>{freedText(p.totals.wouldFree)}</td>
            </tr>
          </tfoot>
        </table>
      </div>
      {p.unknownOutputs.folders > 0 ? (
        <p className="muted">
          {formatCount(p.unknownOutputs.folders)} run output folder{p.unknownOutputs.folders === 1 ? '' : 's'} ({formatBytes(p.unknownOutputs.bytes)}) belong to no run in the store: counted in the total, never swept.
        </p>
      ) : null}
    </section>
  );
}

function PipelineRow({ row }: { row: PipelineDisk }) {
  const measured = row.lake.reduce((n, l) => n + (l.bytes ?? 0), 0);
  return (
    <tr>
      <td>
        {row.pipeline}
        {row.onDisk ? '' : ' (deleted)'}
      </td>
      <td>{formatCount(row.runs)}</td>
      <td>
        {formatBytes(row.outputs.bytes)}
        <small className="muted"> {formatCount(row.outputs.folders)} folder{row.outputs.folders === 1 ? '' : 's'}</small>
      </td>
      <td>
        {formatBytes(row.logs.bytes)}
        <small className="muted"> {formatCount(row.logs.lines)} line{row.logs.lines === 1 ? '' : 's'}</small>
      </td>
      <td>{formatBytes(row.caches.editor + row.caches.block)}</td>
      <td>
        {row.lake.length === 0 ? <span className="muted">none declared</span> : formatBytes(measured)}
        {row.lake
          .filter((l) => l.where !== 'project')
          .map((l) => (
            <small key={`${l.block}:${l.path}`} className="muted">
              {' '}
              {l.path}: {l.where === 'outside' ? 'outside the project' : 'object storage'}
            </small>
          ))}
        {row.lakeError ? <small className="error"> {row.lakeError}</small> : null}
      </td>
      <td>{freedText(row.wouldFree)}</td>
    </tr>
  );
}
