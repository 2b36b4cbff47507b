import { createInterface } from 'node:readline';

/**
 * A password or secret from the terminal without echoing it, or the first line of piped stdin
 * (scripts: `echo "$PW" | grimoire users add ana --role editor`). Empty input is an empty string.
 */
export async function readSecretInput(prompt: string, stdin: NodeJS.ReadStream = process.stdin, stderr: NodeJS.WriteStream = process.stderr, wholeInput = false): Promise<string> {
  if (stdin.isTTY) {
    stderr.write(prompt);
    const rl = createInterface({ input: stdin, terminal: true });
    // Swallow the echo: readline writes what is typed through _writeToOutput.
    const muted: unknown = rl;
    if (muted && typeof muted === 'object' && '_writeToOutput' in muted) Object.assign(muted, { _writeToOutput: () => undefined });
    const line = await new Promise<string>((resolve) => rl.question('', resolve));
    rl.close();
    stderr.write('\n');
    return line;
  }
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  const text = Buffer.concat(chunks).toString('utf8');
  if (wholeInput) return text.endsWith('\n') ? text.slice(0, text.endsWith('\r\n') ? -2 : -1) : text;
  return (text.split('\n')[0] ?? '').replace(/\r$/, '');
}
