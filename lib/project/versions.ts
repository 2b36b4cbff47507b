import { createHash } from 'node:crypto';
import { UserError } from '../errors';

/** The version of a file the editor loaded: a hash of its content, so any change by anyone shows. */
export function versionOf(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 20);
}

/** A file that does not exist yet has this version; saving with it creates the file. */
export const MISSING_VERSION = 'missing';

export const conflict = (message: string) => new UserError('conflict', message);

/**
 * Runs read-check-write sequences on one file one at a time, in this process and in every other
 * process on the same projects folder and store (lib/project/file-lock.ts), so two saves that both
 * loaded version A cannot both pass the check: the second sees version B and conflicts.
 */
export { withFileLock } from './file-lock';
