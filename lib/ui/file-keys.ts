/**
 * The editor keeps every file it edits (drafts, versions, conflicts) in one record. A block's key is
 * its uuid; an add-on's is its folder and uuid (`conditionals/only_weekdays`). A uuid never holds a
 * slash, so the two cannot meet.
 */
import { ADD_ON_FOLDERS, ADD_ON_KINDS, type AddOnKind } from '../pipeline/model';

export type FileKey = { kind: 'block'; uuid: string } | { kind: 'add_on'; addOn: AddOnKind; uuid: string };

export function addOnFileKey(addOn: AddOnKind, uuid: string): string {
  return `${ADD_ON_FOLDERS[addOn]}/${uuid}`;
}

export function parseFileKey(key: string): FileKey {
  const slash = key.indexOf('/');
  if (slash < 0) return { kind: 'block', uuid: key };
  const folder = key.slice(0, slash);
  const addOn = ADD_ON_KINDS.find((k) => ADD_ON_FOLDERS[k] === folder);
  // Keys are made by addOnFileKey only; anything else is read as a block's, which the server then refuses by name.
  return addOn ? { kind: 'add_on', addOn, uuid: key.slice(slash + 1) } : { kind: 'block', uuid: key };
}
