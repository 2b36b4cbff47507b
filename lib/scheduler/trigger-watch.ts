import { type FSWatcher, watch } from 'node:fs';

/**
 * Watches the pipeline folders for hand edits of triggers.yaml (an editor, a git pull) so the
 * scheduler sees them at once instead of at the next periodic resync, which stays as the safety
 * net for file systems that report nothing. One non-recursive watch per pipeline folder: a
 * recursive watch of the projects folder would also follow the database and the data lake.
 */
export class TriggerFileWatcher {
  private readonly watchers = new Map<string, FSWatcher>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly onChange: () => void,
    private readonly settleMs = 200,
  ) {}

  /** Watches exactly these pipeline folders (new ones added, gone ones dropped). */
  follow(dirs: readonly string[]): void {
    const wanted = new Set(dirs);
    for (const [dir, w] of this.watchers) {
      if (!wanted.has(dir)) {
        w.close();
        this.watchers.delete(dir);
      }
    }
    for (const dir of wanted) {
      if (this.watchers.has(dir)) continue;
      try {
        const w = watch(dir, (_event, file) => {
          if (file !== null && String(file) === 'triggers.yaml') this.changed();
        });
        w.on('error', () => {
          w.close();
          this.watchers.delete(dir);
        });
        this.watchers.set(dir, w);
      } catch {
        // A folder removed since it was listed: the next follow() forgets it.
      }
    }
  }

  private changed(): void {
    // Editors write in several steps (truncate, write, rename): act once they are done.
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.onChange();
    }, this.settleMs);
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }
}
