import { type ChildProcess } from 'node:child_process';
import { forkKernel } from './fork-kernel';
import { kernelEnvironment } from './kernel-env';
import { killProcessGroup } from './process-group';

/**
 * Whether a kernel's first message says it loaded and waits for its init (ipc.ts `standby`),
 * checked without the protocol's schemas: `grimoire run` starts its kernel before those load.
 */
function isStandbyEvent(raw: unknown): boolean {
  return typeof raw === 'object' && raw !== null && 'type' in raw && raw.type === 'standby';
}

/** A standby kernel a host took: the process, and the environment it was started with. */
export interface AdoptedKernel {
  child: ChildProcess;
  env: NodeJS.ProcessEnv;
}

interface Spare extends AdoptedKernel {
  /** True once the kernel loaded its modules and waits for its init; false if it died first. */
  loaded: Promise<boolean>;
}

/**
 * One kernel process started ahead of need: Node, DuckDB's binding and the kernel's modules
 * loaded (~0.3 s of a kernel's start), waiting to be told which pipeline it serves (child.ts,
 * GRIMOIRE_STANDBY). A worker keeps one, so a triggered run's first block does not wait for a
 * kernel to start. It costs one idle process (~70 MB) while the worker waits for runs.
 */
export class KernelStandby {
  private spare: Spare | null = null;
  private closed = false;

  /** A single standby (`once`) has started its one kernel. */
  private started = false;

  constructor(
    private readonly options: {
      /** Started here; each kernel moves to its project's folder when adopted. */
      cwd: string;
      /** As KernelOptions.envDefaults: the environment blocks see, below the real one. */
      envDefaults?: Record<string, string>;
      /**
       * One kernel only (`grimoire run`: started before the run's modules load, so the two
       * overlap); it is never replaced, not even when the host that took it closes.
       */
      once?: boolean;
    },
  ) {}

  /**
   * Starts a spare kernel unless one is there (or this standby is closed). Called when the worker
   * starts and whenever a host that took the spare closes: not when it is taken, where starting
   * a process would compete with the run that just began for the CPU.
   */
  fill(): void {
    if (this.closed || this.spare || (this.options.once && this.started)) return;
    this.started = true;
    const env = kernelEnvironment(process.env, this.options.envDefaults ?? {}, { GRIMOIRE_STANDBY: '1' });
    const child = forkKernel(env, this.options.cwd);
    const loaded = new Promise<boolean>((resolve) => {
      child.once('message', (raw: unknown) => resolve(isStandbyEvent(raw)));
      child.once('exit', () => resolve(false));
      child.once('error', () => resolve(false));
    });
    // A spare alone does not keep its host's process alive (a worker that forgot to close it).
    child.unref();
    child.channel?.unref();
    const spare: Spare = { child, env, loaded };
    this.spare = spare;
    child.once('exit', () => {
      if (this.spare === spare) this.spare = null;
    });
  }

  /**
   * The spare kernel for a host to adopt (it must send the init next), once it has loaded: never
   * longer than starting a kernel afresh. Null when there is none, or it died: start one then.
   */
  async take(): Promise<AdoptedKernel | null> {
    const spare = this.spare;
    if (!spare) return null;
    this.spare = null;
    const loaded = await spare.loaded;
    if (!loaded || spare.child.exitCode !== null || spare.child.signalCode !== null || !spare.child.connected) {
      killProcessGroup(spare.child);
      return null;
    }
    spare.child.ref();
    spare.child.channel?.ref();
    return { child: spare.child, env: spare.env };
  }

  /** The process id of the spare kernel waiting now, if any (for tests and diagnostics). */
  get sparePid(): number | undefined {
    return this.spare?.child.pid;
  }

  /** Ends the spare kernel, if any, and starts no other. */
  async close(): Promise<void> {
    this.closed = true;
    const spare = this.spare;
    this.spare = null;
    if (!spare || spare.child.exitCode !== null || spare.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => spare.child.once('exit', () => resolve()));
    // A standby exits when its host lets go; one that does not is killed.
    if (spare.child.connected) spare.child.disconnect();
    const timer = setTimeout(() => killProcessGroup(spare.child), 2000);
    await exited;
    clearTimeout(timer);
  }
}
