/** What the disk routes call: the figures of the disk page, and a sweep now. */
import { type DiskAnswer, type SweepAnswer } from '../protocol/disk-api';
import { orchestration } from '../scheduler/slot';
import { diskReport } from './disk-report';
import { RetentionSweeper } from './sweeper';

/** Disk used per project and pipeline, the settings in force and what they would free now. */
export function diskUsage(): Promise<DiskAnswer> {
  const o = orchestration();
  return diskReport({ store: o.store, projectsDir: o.projectsDir, now: o.clock.now(), sweepEveryMs: o.retention?.everyMs ?? null });
}

/**
 * Sweeps now, through this process's sweeper when it has one (so a shutdown stops it too), else
 * one made for the request; `swept` is false when another server is sweeping at this moment.
 */
export function sweepNow(): Promise<SweepAnswer> {
  const o = orchestration();
  return (o.retention ?? new RetentionSweeper({ store: o.store, projectsDir: o.projectsDir, clock: o.clock })).sweepOnce();
}
