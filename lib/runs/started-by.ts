import { START_TOKEN_PRINCIPAL_ID } from '../access/roles';

/** What `started_by` of a CLI run starts with: `cli:<os user>` (lib/cli/run-command.ts). */
const CLI_PREFIX = 'cli:';
/** What `started_by` of a run a block started (ctx.runs.trigger) starts with: `run:<run id>`. */
export const RUN_PREFIX = 'run:';

/**
 * Who started a run, as the runs list and the run page show it: a user's name, `<os user> (grimoire
 * run)`, `start token`, or `removed user` when the id is no longer in users. Null for a run nobody
 * started by hand (a schedule, a backfill, or a run from before `started_by` was stored).
 * `userNames` maps users.id to name (AccessStore.userNames). Pure.
 */
export function startedByLabel(startedBy: string | null, userNames: ReadonlyMap<string, string>): string | null {
  if (startedBy === null) return null;
  if (startedBy.startsWith(CLI_PREFIX)) return `${startedBy.slice(CLI_PREFIX.length)} (grimoire run)`;
  if (startedBy.startsWith(RUN_PREFIX)) return `run ${startedBy.slice(RUN_PREFIX.length, RUN_PREFIX.length + 8)}`;
  if (startedBy === START_TOKEN_PRINCIPAL_ID) return 'start token';
  return userNames.get(startedBy) ?? 'removed user';
}

/** The user ids among `started_by` values, for one AccessStore.userNames lookup. */
export function userIdsOf(startedBy: readonly (string | null)[]): string[] {
  const ids = new Set<string>();
  for (const s of startedBy) if (s !== null && !s.startsWith(CLI_PREFIX) && !s.startsWith(RUN_PREFIX) && s !== START_TOKEN_PRINCIPAL_ID) ids.add(s);
  return [...ids];
}
