import { redact } from '../io/io-config';

/**
 * Profile passwords this kernel has seen. Block output passes through here on its way to the
 * host, so a block that prints its connection settings does not put a password into the logs.
 */
const known = new Set<string>();

export function rememberSecrets(secrets: readonly string[]): void {
  for (const s of secrets) known.add(s);
}

export function redactKnown(text: string): string {
  return known.size === 0 ? text : redact(text, [...known]);
}
