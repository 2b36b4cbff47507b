/** `grimoire users add|list|remove|passwd|role` (CONTRACTS.md "Access", plus `role`): acts on the projects folder's metadata store. */
import { parseArgs } from 'node:util';
import { isRole, ROLES, withArticle } from '../access/roles';
import { readSecretInput } from './read-secret-input';
import { openWorkspaceStore, projectsDirOf } from './workspace-store';

const USAGE = `usage:
  grimoire users add <name> --role owner|editor|viewer [--projects ./projects]   (password: first line of stdin, or a prompt)
  grimoire users list [--projects ./projects]
  grimoire users remove <name> [--projects ./projects]
  grimoire users passwd <name> [--projects ./projects]                            (password: as for add)
  grimoire users role <name> --role owner|editor|viewer [--projects ./projects]   (ends their sessions)
`;

export async function usersCommand(args: string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { role: { type: 'string' }, projects: { type: 'string' } }, allowPositionals: true, strict: true });
  const [action, name, ...extra] = positionals;
  const needsName = action === 'add' || action === 'remove' || action === 'passwd' || action === 'role';
  if (!action || !['add', 'list', 'remove', 'passwd', 'role'].includes(action) || (needsName && !name) || (!needsName && name) || extra.length > 0) {
    err.write(USAGE);
    return 2;
  }
  if ((action === 'add' || action === 'role') && !isRole(values.role)) {
    err.write(`--role must be one of ${ROLES.join(', ')}${values.role ? `, not "${values.role}"` : ''}\n${USAGE}`);
    return 2;
  }
  const password = action === 'add' || action === 'passwd' ? await readSecretInput(`Password for ${name}: `, { stdin: process.stdin, stderr: err }) : '';
  const workspace = await openWorkspaceStore(projectsDirOf(values.projects));
  try {
    const { access } = workspace;
    switch (action) {
      case 'add': {
        const role = isRole(values.role) ? values.role : 'viewer';
        await access.addUser(name ?? '', role, password);
        await access.audit('cli', 'user_added', name ?? '', { role });
        out.write(`added ${name} (${role})\n`);
        return 0;
      }
      case 'role': {
        const role = isRole(values.role) ? values.role : 'viewer';
        await access.setRole(name ?? '', role);
        await access.audit('cli', 'user_changed', name ?? '', { role });
        out.write(`${name} is now ${withArticle(role)}; their sessions ended\n`);
        return 0;
      }
      case 'passwd':
        await access.setPassword(name ?? '', password);
        await access.audit('cli', 'user_changed', name ?? '', { password: 'changed' });
        out.write(`changed the password of ${name}; their sessions ended\n`);
        return 0;
      case 'remove':
        await access.removeUser(name ?? '');
        await access.audit('cli', 'user_removed', name ?? '');
        out.write(`removed ${name}; their sessions and tokens ended\n`);
        return 0;
      default: {
        const users = await access.listUsers();
        if (users.length === 0) out.write('no users (the start token signs in; add one with: grimoire users add <name> --role owner)\n');
        for (const u of users) out.write(`${u.name}\t${u.role}\t${u.created_at}\n`);
        return 0;
      }
    }
  } finally {
    await workspace.close();
  }
}
