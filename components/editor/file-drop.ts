import { z } from 'zod';
import { BLOCK_LANGUAGES, BLOCK_TYPES } from '@/lib/pipeline/model';

/** The drag payload of a block file from the file browser (our own type, so other drops are ignored). */
export const BLOCK_FILE_MIME = 'application/x-grimoire-block-file';

const blockFileSchema = z.object({ path: z.string(), uuid: z.string(), type: z.enum(BLOCK_TYPES), language: z.enum(BLOCK_LANGUAGES) });
export type DroppedBlockFile = z.infer<typeof blockFileSchema>;

/** The dropped file, or null for anything else (a drop carries text from anywhere). */
export function readDroppedFile(data: DataTransfer): DroppedBlockFile | null {
  const raw = data.getData(BLOCK_FILE_MIME);
  if (!raw) return null;
  try {
    const parsed = blockFileSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export const carriesBlockFile = (data: DataTransfer) => data.types.includes(BLOCK_FILE_MIME);

/** Where a drop at `clientY` lands among the notebook's cells: before the first cell whose middle is below it. */
export function dropIndex(cells: readonly Element[], clientY: number): number {
  const i = cells.findIndex((c) => {
    const r = c.getBoundingClientRect();
    return clientY < r.top + r.height / 2;
  });
  return i < 0 ? cells.length : i;
}
