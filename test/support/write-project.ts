import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * Writes a project from a map of project-relative paths to file contents into a fresh temp
 * projects folder (as `<root>/<name>`), for tests that want their fixture in plain sight.
 */
export async function writeProject(name: string, files: Record<string, string>): Promise<{ root: string; dir: string; cleanup: () => Promise<void> }> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'grimoire-fixture-'));
  const dir = path.join(root, name);
  const all = { 'metadata.yaml': `project_name: ${name}\n`, ...files };
  for (const [rel, content] of Object.entries(all)) {
    await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await writeFile(path.join(dir, rel), content);
  }
  return { root, dir, cleanup: () => rm(root, { recursive: true, force: true }) };
}
