/**
 * Dynamic blocks (Mage's fan-out), pure: which block runs a run has as dynamic blocks complete,
 * what each reads, and how a fanned-out block's own run ends. A block with `dynamic: true` fans
 * each row of its output out to its downstream blocks: each runs once per item, as
 * `<uuid>:<key>` (the key is the item's index, or its metadata `block_uuid`). A child's own
 * downstream blocks fan out in turn (`<uuid>:<key>`, same key), unless it has `reduce_output`:
 * then they read all children's outputs combined. A dynamic child fans out again (nested keys:
 * `<uuid>:<key>:<key>`).
 *
 * The block's own run (`<uuid>`) stays in the run as a group: it never runs itself, and ends when
 * its upstream blocks have ended and every child has (its status follows theirs).
 */
import { type BlockRunStatus, isFinished } from './states';

/** Where a block run reads one upstream's data from (told to the kernel: lib/protocol/run-inputs.ts). */
export type RunInput =
  /** The whole output of a block run. */
  | { kind: 'output'; name: string }
  /** One row (0-based, in output order) of a dynamic block run's output: a child's item. */
  | { kind: 'item'; name: string; row: number }
  /** The outputs of these block runs, one after the other (reduce_output). */
  | { kind: 'combined'; names: string[] };

/** What the fan-out needs of a planned block. */
export interface FanBlock {
  uuid: string;
  /** Upstream blocks inside the plan, in upstream_blocks order. */
  upstream: readonly string[];
  /** `configuration.dynamic`: each row of its output fans out to its downstream blocks. */
  dynamic: boolean;
  /** `configuration.reduce_output`: its children's outputs reach its downstream blocks as one. */
  reduce: boolean;
}

export interface RunNode {
  /** Block-run name: the block's uuid, or `<uuid>:<key>[:<key>...]` for a child. */
  name: string;
  block: string;
  /** The item keys that made it; empty for a block's own run. */
  keys: string[];
  /** Block runs that must end before it starts. */
  upstream: string[];
  /** A fanned-out block's own run: never runs itself; its status follows its children's. */
  group: boolean;
}

/** Item keys given by metadata: they name block runs and output files. */
export const ITEM_KEY_PATTERN = /^[A-Za-z0-9_-]{1,100}$/;

/** `<uuid>:<key>:<key>`: the block-run name of a child. */
export function childName(block: string, keys: readonly string[]): string {
  return [block, ...keys].join(':');
}

/** The name a block run's output is kept under (tables, Parquet files): `:` cannot be in a file name everywhere. */
export function outputName(runName: string): string {
  return runName.replaceAll(':', '.');
}

/** A problem of a pipeline's fan-out, found before it runs. */
export interface FanProblem {
  block: string;
  message: string;
}

interface Levels {
  /** How many fan-outs deep each block's runs are (0: the block runs once). */
  depth: Map<string, number>;
  /** The dynamic block behind each level of a block's runs, outermost first. */
  sources: Map<string, string[]>;
  problems: FanProblem[];
}

/** Depth and fan-out sources of each block, in dependency order. */
function levelsOf(blocks: readonly FanBlock[]): Levels {
  const byUuid = new Map(blocks.map((b) => [b.uuid, b]));
  const depth = new Map<string, number>();
  const sources = new Map<string, string[]>();
  const problems: FanProblem[] = [];
  for (const b of blocks) {
    let own: string[] = [];
    let ownFrom = '';
    for (const u of b.upstream) {
      const up = byUuid.get(u);
      if (!up) continue;
      const upSources = sources.get(u) ?? [];
      const reduced = up.reduce && upSources.length > 0 ? upSources.slice(0, -1) : upSources;
      const out = up.dynamic ? [...reduced, u] : reduced;
      const [longer, shorter] = out.length >= own.length ? [out, own] : [own, out];
      if (shorter.some((s, i) => longer[i] !== s)) {
        problems.push({
          block: b.uuid,
          message: `reads two different fan-outs (${own.join(' > ')} through ${ownFrom}, ${out.join(' > ')} through ${u}): reduce one of them first (reduce_output: true)`,
        });
        continue;
      }
      if (out.length > own.length) {
        own = out;
        ownFrom = u;
      }
    }
    if (b.dynamic && b.reduce && own.length > 0) {
      problems.push({ block: b.uuid, message: 'cannot both fan out again (dynamic) and reduce its children (reduce_output): split it into two blocks' });
    }
    depth.set(b.uuid, own.length);
    sources.set(b.uuid, own);
  }
  return { depth, sources, problems };
}

/** What is wrong with a pipeline's dynamic blocks, if anything (blocks in dependency order). */
export function fanOutProblems(blocks: readonly FanBlock[]): FanProblem[] {
  return levelsOf(blocks).problems;
}

/**
 * The block runs of one run and how they fan out. Made from the planned blocks in dependency
 * order; grows as dynamic block runs complete (`fanOut`).
 */
export class FanOut {
  private readonly blocks: Map<string, FanBlock>;
  private readonly depth: Map<string, number>;
  private readonly downstream = new Map<string, string[]>();
  /** Every block run, in the order they were made. */
  private readonly nodes = new Map<string, RunNode>();
  /** Each dynamic block run's item keys, in the order of its output's rows. */
  private readonly items = new Map<string, readonly string[]>();

  constructor(planned: readonly FanBlock[]) {
    this.blocks = new Map(planned.map((b) => [b.uuid, b]));
    this.depth = levelsOf(planned).depth;
    for (const b of planned) {
      for (const u of b.upstream) if (this.blocks.has(u)) this.downstream.set(u, [...(this.downstream.get(u) ?? []), b.uuid]);
    }
    for (const b of planned) {
      this.nodes.set(b.uuid, { name: b.uuid, block: b.uuid, keys: [], upstream: b.upstream.filter((u) => this.blocks.has(u)), group: this.depthOf(b.uuid) > 0 });
    }
  }

  private depthOf(block: string): number {
    return this.depth.get(block) ?? 0;
  }

  /** How deep the runs of `block`'s output reach its downstream blocks. */
  private outDepth(block: string): number {
    const b = this.blocks.get(block);
    const d = this.depthOf(block);
    if (!b) return 0;
    return d - (b.reduce && d > 0 ? 1 : 0) + (b.dynamic ? 1 : 0);
  }

  /** Every block run so far, the blocks' own runs first, children in the order they were made. */
  all(): RunNode[] {
    return [...this.nodes.values()];
  }

  get(name: string): RunNode | undefined {
    return this.nodes.get(name);
  }

  /** Whether `block` fans each row of its output out (its runs report their item keys). */
  isDynamic(block: string): boolean {
    return this.blocks.get(block)?.dynamic ?? false;
  }

  /** The children made so far of a block (its runs other than its own), in the order they were made. */
  childrenOf(block: string): RunNode[] {
    return this.all().filter((n) => n.block === block && !n.group && n.keys.length > 0);
  }

  /**
   * Dynamic block run `name` completed with these item keys (one per row of its output, in row
   * order): makes the block runs they fan out to, and theirs. Returns the new block runs in order.
   * Throws on keys that are not unique or not plain names (the block's failure, with the reason).
   */
  fanOut(name: string, keys: readonly string[]): RunNode[] {
    const node = this.nodes.get(name);
    if (!node || !this.isDynamic(node.block)) throw new Error(`${name} is not a dynamic block run`);
    const seen = new Map<string, number>();
    keys.forEach((k, i) => {
      if (!ITEM_KEY_PATTERN.test(k)) throw new Error(`item ${i}: block_uuid "${k}" must be letters, digits, _ and - (it names the child block run)`);
      const first = seen.get(k);
      if (first !== undefined) throw new Error(`items ${first} and ${i} both have block_uuid "${k}": each child needs a name of its own`);
      seen.set(k, i);
    });
    // Listed again (its output was lost, or it ran again to list): children made from the first
    // listing read their item by key, so an item that is gone would leave a child reading another.
    const before = this.items.get(name);
    const gone = before?.filter((k) => !seen.has(k)) ?? [];
    if (gone.length > 0) {
      throw new Error(`its items changed since this run began: ${gone.slice(0, 5).join(', ')}${gone.length > 5 ? ` and ${gone.length - 5} more` : ''} no longer listed, while children were made for them; start a new run`);
    }
    this.items.set(name, [...keys]);
    const made: RunNode[] = [];
    const level = this.outDepth(node.block);
    for (const d of this.downstream.get(node.block) ?? []) {
      if (this.depthOf(d) !== level) continue;
      for (const k of keys) this.make(d, [...node.keys, k], made);
    }
    return made;
  }

  /**
   * The item keys dynamic block run `name` fanned out, read back from the names of the block runs
   * of a resumed run (`names`, in the order they were made: the order of the items). A fan-out's
   * children join the store in one write before their parent is recorded completed, so a
   * completed dynamic block run has them all there. Null when none is there (a run recorded
   * before they were), or `name` is no dynamic block run.
   */
  restoredKeys(name: string, names: readonly string[]): string[] | null {
    const node = this.nodes.get(name);
    if (!node || !this.isDynamic(node.block)) return null;
    const level = this.outDepth(node.block);
    for (const d of this.downstream.get(node.block) ?? []) {
      if (this.depthOf(d) !== level) continue;
      const prefix = `${childName(d, node.keys)}:`;
      // Keys hold no ':' (ITEM_KEY_PATTERN): a longer name is a child of a child.
      const keys = names.filter((n) => n.startsWith(prefix) && !n.slice(prefix.length).includes(':')).map((n) => n.slice(prefix.length));
      if (keys.length > 0) return [...new Set(keys)];
    }
    return null;
  }

  /** Makes block `block`'s run for `keys` (once), and the runs that inherit its fan-out. */
  private make(block: string, keys: string[], made: RunNode[]): void {
    const name = childName(block, keys);
    if (this.nodes.has(name)) return;
    const spec = this.blocks.get(block);
    if (!spec) return;
    const upstream = spec.upstream.filter((u) => this.blocks.has(u)).map((u) => this.sourceOf(u, keys));
    const node: RunNode = { name, block, keys, upstream, group: false };
    this.nodes.set(name, node);
    made.push(node);
    if (spec.dynamic) return;
    const level = this.outDepth(block);
    if (level === 0) return;
    for (const d of this.downstream.get(block) ?? []) {
      if (this.depthOf(d) === level) this.make(d, keys.slice(0, level), made);
    }
  }

  /** The block run a run with `keys` waits for among upstream `upstream`'s runs. */
  private sourceOf(upstream: string, keys: readonly string[]): string {
    const up = this.blocks.get(upstream);
    const d = this.depthOf(upstream);
    if (up && up.reduce && !up.dynamic && d > 0) return upstream;
    return childName(upstream, keys.slice(0, d));
  }

  /**
   * What block run `name` reads for each of `upstream` (its upstream blocks that pass data, in
   * order; blocks outside the plan are read whole). Combined outputs list the completed runs only.
   */
  inputs(name: string, upstream: readonly string[], statusOf: (name: string) => BlockRunStatus | undefined): RunInput[] {
    const node = this.nodes.get(name);
    const keys = node?.keys ?? [];
    return upstream.map((u): RunInput => {
      const up = this.blocks.get(u);
      if (!up) return { kind: 'output', name: u };
      const d = this.depthOf(u);
      if (up.dynamic && keys.length > d) {
        const source = childName(u, keys.slice(0, d));
        const row = (this.items.get(source) ?? []).indexOf(keys[d] ?? '');
        return { kind: 'item', name: source, row: Math.max(0, row) };
      }
      if (up.reduce && d > 0) {
        const prefix = keys.slice(0, d - 1);
        const names = this.childrenOf(u)
          .filter((c) => prefix.every((k, i) => c.keys[i] === k) && statusOf(c.name) === 'completed')
          .map((c) => c.name);
        return { kind: 'combined', names };
      }
      return { kind: 'output', name: childName(u, keys.slice(0, d)) };
    });
  }

  /**
   * How group `name` ends, once its upstream runs and every child have ended; null while it
   * cannot yet. Children failed: failed; cancelled: cancelled; some could not run (an upstream
   * failed): upstream_failed; all skipped by a conditional: condition_failed; else completed.
   */
  groupOutcome(name: string, statusOf: (name: string) => BlockRunStatus | undefined): { status: BlockRunStatus; message: string } | null {
    const node = this.nodes.get(name);
    if (!node || !node.group) return null;
    const ended = (n: string) => {
      const s = statusOf(n);
      return s !== undefined && isFinished(s);
    };
    if (!node.upstream.every(ended)) return null;
    const children = this.childrenOf(node.block);
    if (!children.every((c) => ended(c.name))) return null;
    const count = (s: BlockRunStatus) => children.filter((c) => statusOf(c.name) === s).length;
    const of = `of ${children.length} children`;
    if (count('failed') > 0) return { status: 'failed', message: `${count('failed')} ${of} failed` };
    if (count('cancelled') > 0) return { status: 'cancelled', message: `${count('cancelled')} ${of} cancelled` };
    const upstreamBad = node.upstream.filter((u) => ['failed', 'cancelled', 'upstream_failed'].includes(statusOf(u) ?? ''));
    if (count('upstream_failed') > 0) return { status: 'upstream_failed', message: `${count('upstream_failed')} ${of} could not run` };
    if (upstreamBad.length > 0) return { status: 'upstream_failed', message: `${upstreamBad.join(', ')} did not complete${children.length > 0 ? `: ${children.length} children ran, others never could` : ''}` };
    if (children.length === 0 && node.upstream.some((u) => statusOf(u) === 'condition_failed')) return { status: 'condition_failed', message: 'skipped by a conditional' };
    if (children.length > 0 && count('condition_failed') === children.length) return { status: 'condition_failed', message: `all ${children.length} children skipped by a conditional` };
    return { status: 'completed', message: children.length === 0 ? 'no items to run' : `${count('completed')} ${of} completed` };
  }

  /**
   * Completed block runs whose output no run will read again: every block downstream of theirs
   * has ended (its own run, which for a group means all its children). Runs of blocks without
   * downstream blocks are not listed.
   */
  unneeded(statusOf: (name: string) => BlockRunStatus | undefined): string[] {
    return this.all()
      .filter((n) => {
        const readers = this.downstream.get(n.block);
        if (n.group || statusOf(n.name) !== 'completed' || !readers) return false;
        return readers.every((d) => {
          const s = statusOf(d);
          return s !== undefined && isFinished(s);
        });
      })
      .map((n) => n.name);
  }
}
