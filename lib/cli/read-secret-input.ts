import { createInterface } from 'node:readline';
import { invalidInput } from '../errors';

export interface SecretInput {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stderr: { write(text: string): unknown };
}

/**
 * A password or secret value, never echoed: typed at a terminal (one line, after `prompt`), or
 * piped in (`printf %s "$PW" | grimoire ...`). `whole`: piped input is taken to its end (a secret
 * may span lines, e.g. a private key), else its first line (a password). One trailing newline is
 * dropped. Input past `maxBytes` is refused without reading on (invalid_input).
 */
export async function readSecretInput(prompt: string, io: SecretInput, options: { whole?: boolean; maxBytes?: number } = {}): Promise<string> {
  const maxBytes = options.maxBytes ?? 1024 * 1024;
  if (io.stdin.isTTY === true) {
    io.stderr.write(prompt);
    const rl = createInterface({ input: io.stdin, terminal: true });
    // Swallow the echo: readline writes what is typed through _writeToOutput.
    const muted: unknown = rl;
    if (muted && typeof muted === 'object' && '_writeToOutput' in muted) Object.assign(muted, { _writeToOutput: () => undefined });
    const line = await new Promise<string>((resolve) => rl.question('', resolve));
    rl.close();
    io.stderr.write('\n');
    return line;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of io.stdin) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    size += buffer.length;
    if (size > maxBytes) throw invalidInput(`the input is longer than ${maxBytes} bytes`);
    chunks.push(buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  return options.whole ? text.replace(/\r?\n$/, '') : (text.split('\n')[0] ?? '').replace(/\r$/, '');
}
