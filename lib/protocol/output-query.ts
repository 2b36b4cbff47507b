/**
 * Questions the browser asks about a block's whole output (a page, a chart), answered inside the
 * kernel's DuckDB so a 5-million-row output costs what a 10-row one does. Part of the wire
 * protocol: messages.ts carries these in its unions, and the kernel IPC reuses them.
 */
import { z } from 'zod';

const columnName = z.string().min(1).max(500);

export const FILTER_OPS = ['contains', 'equals', 'not_equals', 'gt', 'gte', 'lt', 'lte', 'is_null', 'not_null'] as const;
export type FilterOp = (typeof FILTER_OPS)[number];

export const outputFilterSchema = z.object({
  column: columnName,
  op: z.enum(FILTER_OPS),
  /** Ignored by is_null / not_null. Compared as the column's own type when it casts, else as text. */
  value: z.string().max(1000).default(''),
});
export type OutputFilter = z.infer<typeof outputFilterSchema>;

export const outputSortSchema = z.object({ column: columnName, direction: z.enum(['asc', 'desc']) });
export type OutputSort = z.infer<typeof outputSortSchema>;

export const MAX_PAGE_ROWS = 1000;

export const outputQuerySchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('page'),
    offset: z.number().int().nonnegative(),
    limit: z.number().int().min(1).max(MAX_PAGE_ROWS),
    sort: outputSortSchema.optional(),
    filters: z.array(outputFilterSchema).max(20).default([]),
  }),
  z.object({
    kind: z.literal('chart'),
    chart: z.enum(['histogram', 'bar', 'line']),
    /** Histogram: the numeric column; bar: the category; line: the x axis. */
    x: columnName,
    /** Bar: summed per category (count of rows without it); line: averaged per x. */
    y: columnName.optional(),
    bins: z.number().int().min(1).max(200).default(20),
    filters: z.array(outputFilterSchema).max(20).default([]),
  }),
]);
export type OutputQuery = z.infer<typeof outputQuerySchema>;
export type OutputQueryInput = z.input<typeof outputQuerySchema>;

const cellSchema = z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(z.unknown()), z.record(z.string(), z.unknown())]);

export const outputAnswerSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('page'),
    columns: z.array(z.object({ name: z.string(), type: z.string() })),
    rows: z.array(z.record(z.string(), cellSchema)),
    offset: z.number().int().nonnegative(),
    /** Rows that pass the filters. */
    rowCount: z.number().int().nonnegative(),
    /** Rows in the whole output. */
    totalRowCount: z.number().int().nonnegative(),
  }),
  z.object({
    kind: z.literal('chart'),
    chart: z.enum(['histogram', 'bar', 'line']),
    points: z.array(z.object({ label: z.string(), value: z.number() })),
  }),
]);
export type OutputAnswer = z.infer<typeof outputAnswerSchema>;

/** The answer to a question about an output, or why there is none; the same over IPC and the wire. */
export const outputResultSchema = z.discriminatedUnion('ok', [z.object({ ok: z.literal(true), answer: outputAnswerSchema }), z.object({ ok: z.literal(false), message: z.string() })]);
export type OutputResult = z.infer<typeof outputResultSchema>;
