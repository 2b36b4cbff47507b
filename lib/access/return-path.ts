import { canonicalPath } from './rules';

/**
 * A local path to send a browser back to after sign-in; anything else (//evil, https://..., a
 * backslash, dot segments) is "/". Pure: the gate and the sign-in form share it (no open redirect).
 */
export function localReturnPath(value: string | null | undefined): string {
  if (!value || !value.startsWith('/') || value.startsWith('//') || value.includes('\\')) return '/';
  const checked = canonicalPath(value.split('?')[0] ?? '/');
  return checked.ok ? value : '/';
}
