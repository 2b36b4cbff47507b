import { LineCounter, parseDocument, isMap, isSeq, type Document } from 'yaml';
import { z } from 'zod';
import { type PipelineIssue, type Parsed } from './issues';
import {
  ADD_ON_KINDS,
  ADD_ON_LISTS,
  BLOCK_LANGUAGES,
  BLOCK_TYPES,
  IDENTIFIER_PATTERN,
  TYPE_LANGUAGES,
  addOnFilePath,
  blockFilePath,
  type AddOnBlock,
  type Block,
  type JsonObject,
  type JsonValue,
  type Pipeline,
} from './model';

const jsonValue: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(jsonValue), z.record(z.string(), jsonValue)]),
);
const jsonObject = z.record(z.string(), jsonValue);

/** What we read of one block entry; every other key stays in the file untouched. */
const rawBlock = z.looseObject({
  uuid: z.string().regex(IDENTIFIER_PATTERN, 'must be letters, digits and _ (it names the file and the table)'),
  name: z.string().optional(),
  type: z.string(),
  language: z.string().optional(),
  upstream_blocks: z.array(z.string()).nullish(),
  configuration: jsonObject.nullish(),
});

const rawPipeline = z.looseObject({
  uuid: z.string().optional(),
  name: z.string().optional(),
  type: z.string().optional(),
  variables: jsonObject.nullish(),
  blocks: z.array(z.unknown()).nullish(),
  conditionals: z.array(z.unknown()).nullish(),
  callbacks: z.array(z.unknown()).nullish(),
});

/** What we read of a conditional's or callback's entry. */
const rawAddOn = z.looseObject({
  uuid: z.string().regex(IDENTIFIER_PATTERN, 'must be letters, digits and _ (it names the file)'),
  name: z.string().optional(),
  language: z.string().optional(),
  upstream_blocks: z.array(z.string()).nullish(),
  configuration: jsonObject.nullish(),
});

function lineOf(doc: Document, counter: LineCounter, path: (string | number)[]): number | undefined {
  const node = doc.getIn(path, true);
  if (node && typeof node === 'object' && 'range' in node && Array.isArray(node.range)) {
    const start = node.range[0];
    if (typeof start === 'number') return counter.linePos(start).line;
  }
  return undefined;
}

function describeZodError(error: z.ZodError): string {
  return error.issues
    .map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message))
    .join('; ');
}

/**
 * Parses a pipeline's metadata.yaml text. Pure: the caller reads the file.
 * `file` is only used in messages (e.g. `pipelines/etl/metadata.yaml`).
 * Structural problems are reported here; relations between blocks in `validatePipeline`.
 */
export function parsePipeline(text: string, file: string, folderName: string): Parsed<Pipeline> {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      issues: doc.errors.map((e) => ({
        file,
        // linePos is only filled in with prettyErrors, which also rewrites the message; count it ourselves.
        line: counter.linePos(e.pos[0]).line,
        message: `malformed YAML: ${e.message.split('\n')[0]}`,
      })),
    };
  }
  const top = rawPipeline.safeParse(doc.toJS() ?? {});
  if (!top.success) return { ok: false, issues: [{ file, message: describeZodError(top.error) }] };
  const issues: PipelineIssue[] = [];
  const type = top.data.type ?? 'batch';
  if (type !== 'batch') {
    issues.push({ file, line: lineOf(doc, counter, ['type']), message: `pipeline type "${type}" is not supported (only batch)` });
  }
  const uuid = top.data.uuid ?? folderName;
  if (uuid !== folderName) {
    issues.push({
      file,
      line: lineOf(doc, counter, ['uuid']),
      message: `uuid "${uuid}" does not match the pipeline folder "${folderName}"`,
    });
  }
  const blocks: Block[] = [];
  (top.data.blocks ?? []).forEach((entry, i) => {
    const line = lineOf(doc, counter, ['blocks', i]);
    const parsed = rawBlock.safeParse(entry);
    if (!parsed.success) {
      const maybeUuid = z.object({ uuid: z.string() }).safeParse(entry);
      issues.push({
        file,
        line,
        block: maybeUuid.success ? maybeUuid.data.uuid : `#${i + 1}`,
        message: describeZodError(parsed.error),
      });
      return;
    }
    const b = parsed.data;
    const blockType = BLOCK_TYPES.find((t) => t === b.type);
    if (!blockType) {
      issues.push({ file, line, block: b.uuid, message: `unknown block type "${b.type}" (expected ${BLOCK_TYPES.join(', ')})` });
      return;
    }
    const allowed = TYPE_LANGUAGES[blockType];
    const languageName = b.language ?? allowed[0] ?? 'typescript';
    const language = BLOCK_LANGUAGES.find((l) => l === languageName);
    if (!language || !allowed.includes(language)) {
      issues.push({
        file,
        line,
        block: b.uuid,
        message: language
          ? `a ${blockType} block cannot be written in ${language} (expected ${allowed.join(' or ')})`
          : `unknown language "${languageName}" (expected ${allowed.join(', ')})`,
      });
      return;
    }
    const configuration: JsonObject = b.configuration ?? {};
    blocks.push({
      uuid: b.uuid,
      name: b.name ?? b.uuid,
      type: blockType,
      language,
      upstream: b.upstream_blocks ?? [],
      configuration,
      file: blockFilePath(blockType, b.uuid, language),
    });
  });
  const addOns = { conditional: [] as AddOnBlock[], callback: [] as AddOnBlock[] };
  for (const kind of ADD_ON_KINDS) {
    const list = ADD_ON_LISTS[kind];
    (top.data[list] ?? []).forEach((entry, i) => {
      const line = lineOf(doc, counter, [list, i]);
      const parsed = rawAddOn.safeParse(entry);
      if (!parsed.success) {
        const maybeUuid = z.object({ uuid: z.string() }).safeParse(entry);
        issues.push({ file, line, block: maybeUuid.success ? maybeUuid.data.uuid : `${list} #${i + 1}`, message: `${list}: ${describeZodError(parsed.error)}` });
        return;
      }
      const a = parsed.data;
      if (a.language !== undefined && a.language !== 'typescript') {
        issues.push({ file, line, block: a.uuid, message: `a ${kind} is written in typescript, not "${a.language}"` });
        return;
      }
      addOns[kind].push({ uuid: a.uuid, name: a.name ?? a.uuid, kind, language: 'typescript', upstream: a.upstream_blocks ?? [], configuration: a.configuration ?? {}, file: addOnFilePath(kind, a.uuid) });
    });
  }
  if (issues.length > 0) return { ok: false, issues };
  return {
    ok: true,
    value: { uuid, name: top.data.name ?? uuid, type: 'batch', variables: top.data.variables ?? {}, blocks, conditionals: addOns.conditional, callbacks: addOns.callback },
  };
}

/**
 * Line of each entry of `blocks:`, then of `conditionals:` and `callbacks:` (an add-on whose uuid a
 * block already has keeps the block's), for messages produced after parsing (validation).
 */
export function blockLines(text: string): Map<string, number> {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter });
  const lines = new Map<string, number>();
  for (const list of ['blocks', ...Object.values(ADD_ON_LISTS)]) {
    const seq = doc.get(list, true);
    if (!isSeq(seq)) continue;
    seq.items.forEach((item, i) => {
      if (!isMap(item)) return;
      const uuid = item.get('uuid');
      const line = lineOf(doc, counter, [list, i]);
      if (typeof uuid === 'string' && line !== undefined && !lines.has(uuid)) lines.set(uuid, line);
    });
  }
  return lines;
}
