/**
 * Workspace secrets for the thin route handlers under app/api/secrets (owners only: the gate
 * checked lib/access/rules.ts already, and audits each change). Answers carry names, never values.
 */
import { notFound } from '../errors';
import { orchestration } from '../scheduler/slot';
import { checkSecretName, type SecretStore, type SecretView, workspaceSecretStore } from './secret-store';

function secretStore(): SecretStore {
  const o = orchestration();
  return workspaceSecretStore(o.store.pool, o.projectsDir);
}

/** `{ secrets: [{ name, updated_at, updated_by }] }`, by name. */
export async function listSecrets(): Promise<{ secrets: SecretView[] }> {
  return { secrets: await secretStore().list() };
}

/** Sets or replaces secret `name`; invalid_input (400) for a bad name or an empty value. */
export async function setSecret(name: string, value: string, by: string): Promise<{ secret: SecretView }> {
  return { secret: await secretStore().set(checkSecretName(name), value, by) };
}

/** Removes secret `name`; not_found (404) when there is none, invalid_input (400) for a bad name. */
export async function removeSecret(name: string): Promise<{ removed: string }> {
  if (!(await secretStore().remove(checkSecretName(name)))) throw notFound(`there is no secret named ${name}`);
  return { removed: name };
}
