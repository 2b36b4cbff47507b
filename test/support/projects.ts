import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const REPO = path.resolve(__dirname, '..', '..');

/**
 * Copies projects into a fresh projects folder (without their .grimoire runtime data), so a test
 * never writes into the repository. `sources` maps project name -> folder relative to the repo.
 */
export async function tempProjects(sources: Record<string, string>): Promise<{ root: string; cleanup: () => Promise<void> }> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'grimoire-projects-'));
  for (const [name, source] of Object.entries(sources)) {
    await cp(path.join(REPO, source), path.join(root, name), {
      recursive: true,
      filter: (src) => !src.split(path.sep).includes('.grimoire'),
    });
  }
  return { root, cleanup: () => rm(root, { recursive: true, force: true }) };
}
