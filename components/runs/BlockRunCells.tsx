'use client';

import { type ReactNode } from 'react';
import { blockRunNote, callbackFailureTexts } from '@/lib/ui/run-page';
import { formatMs, type BlockRunViewJson } from './api';
import styles from './runs.module.css';

/**
 * One block run's cells in the run page's tables (the run's own and a dynamic block's children):
 * name, status with what the page knows beside it (a waiting sensor's poke, a skip's reason, the
 * children, a callback that threw), attempts, rows and time.
 */
export function BlockRunCells({ view: b, now, children }: { view: BlockRunViewJson; now: Date; children?: ReactNode }) {
  const note = blockRunNote(b, now);
  return (
    <>
      <td>
        {b.block_uuid}
        {children}
      </td>
      <td>
        <span className={styles.badge} data-status={b.status} data-testid={`block-status-${b.block_uuid}`} title={b.message ?? undefined}>
          {b.status}
        </span>
        {note && (
          <div className={styles.note} data-status={b.status} data-testid={`block-note-${b.block_uuid}`}>
            {note}
          </div>
        )}
        {callbackFailureTexts(b).map((text, i) => (
          <div key={i} className={styles.callbackFailed} data-testid={`callback-failed-${b.block_uuid}`}>
            {text}
          </div>
        ))}
      </td>
      <td>{b.attempts}</td>
      <td>{b.row_count ?? '—'}</td>
      <td>{b.started_at ? formatMs((b.completed_at ? Date.parse(b.completed_at) : now.getTime()) - Date.parse(b.started_at)) : '—'}</td>
    </>
  );
}
