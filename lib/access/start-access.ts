/**
 * What `grimoire start` decides about sign-in before it listens (CONTRACTS.md "Access"):
 * - GRIMOIRE_OWNER + GRIMOIRE_OWNER_PASSWORD make the first owner when there is none (containers);
 * - any bind but loopback needs an owner, else start refuses (exit 2) and says how to add one;
 * - the start token: GRIMOIRE_TOKEN, or a random one while there are no users.
 */
import { UserError } from '../errors';
import { type AccessStore, type StartToken } from './access-store';
import { newSecretToken, sha256 } from './credentials';
import { isLoopbackBind } from './hosts';

export interface PreparedAccess {
  store: AccessStore;
  startToken: StartToken;
  /** The start token itself, to print once in the sign-in link (never stored, never logged elsewhere). */
  startTokenValue: string | null;
}

export async function prepareAccess(store: AccessStore, host: string, env: NodeJS.ProcessEnv): Promise<PreparedAccess> {
  const owner = env.GRIMOIRE_OWNER;
  const ownerPassword = env.GRIMOIRE_OWNER_PASSWORD;
  if ((owner && !ownerPassword) || (!owner && ownerPassword)) {
    throw new UserError('invalid_input', 'set both GRIMOIRE_OWNER and GRIMOIRE_OWNER_PASSWORD to make the first owner, or neither');
  }
  if (owner && ownerPassword && (await store.ownerCount()) === 0) {
    await store.addUser(owner, 'owner', ownerPassword);
    await store.audit('start', 'user_added', owner, { role: 'owner', from: 'GRIMOIRE_OWNER' });
  }
  if (!isLoopbackBind(host) && (await store.ownerCount()) === 0) {
    throw new UserError(
      'invalid_input',
      `--host ${host} makes Grimoire reachable from other machines, and a block runs any code: it needs an owner to sign in first.\n` +
        '  Add one:                 npx grimoire users add <name> --role owner\n' +
        '  or, at a first start:    GRIMOIRE_OWNER=<name> GRIMOIRE_OWNER_PASSWORD=<password> npx grimoire start --host ' +
        host,
    );
  }
  const fixed = env.GRIMOIRE_TOKEN;
  if (fixed !== undefined && fixed.length < 16) throw new UserError('invalid_input', 'GRIMOIRE_TOKEN must have at least 16 characters');
  const value = fixed ?? ((await store.userCount()) === 0 ? newSecretToken() : null);
  return { store, startToken: { hash: value === null ? null : sha256(value), fixed: fixed !== undefined }, startTokenValue: value };
}
