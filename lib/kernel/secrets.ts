import { ValueMask } from './value-mask';

/**
 * Secret values this kernel has seen: profile passwords and the workspace secrets sent with each
 * block. Block output passes through here on its way to the host, so a block that prints its
 * connection settings or a secret does not put the value into the logs.
 */
const known = new ValueMask();

/** Hides these values in everything the kernel sends from now on. */
export function rememberSecrets(secrets: Iterable<string>): void {
  known.add(secrets);
}

/** `text` with every remembered value replaced by `***`. */
export function redactKnown(text: string): string {
  return known.text(text);
}
