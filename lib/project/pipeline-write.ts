import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { invalidInput, notFound, UserError } from '../errors';
import { findAddOnTemplate } from '../pipeline/add-on-templates';
import { findTemplate } from '../pipeline/block-templates';
import { findCycle } from '../pipeline/dag';
import { editPipelineYaml, type PipelineEdit } from '../pipeline/edit-pipeline';
import { type PipelineIssue } from '../pipeline/issues';
import { destinationSchema } from '../pipeline/destination';
import {
  ADD_ON_FOLDERS,
  ADD_ON_LISTS,
  BLOCK_FOLDERS,
  EDITOR_ONLY_TYPES,
  TYPE_LANGUAGES,
  addOnFilePath,
  blockFilePath,
  type AddOnBlock,
  type AddOnKind,
  type BlockLanguage,
  type BlockType,
  type JsonObject,
  type JsonValue,
  type Pipeline,
} from '../pipeline/model';
import { blockLines, parsePipeline } from '../pipeline/parse-pipeline';
import { validatePipeline } from '../pipeline/validate';
import { type EditorEdit, type EditorPipeline } from '../protocol/editor-api';
import { writeFileAtomic } from '../atomic-write';
import { exists, listFiles } from './files';
import { listPipelines } from './load';
import { guardPath, safeJoin } from './paths';
import { renameReferences } from '../pipeline/rename-references';
import { conflict, versionOf, withFileLock } from './versions';

export function pipelineFile(projectDir: string, pipeline: string): string {
  return safeJoin(path.join(projectDir, 'pipelines'), pipeline, 'metadata.yaml');
}

async function readPipelineText(projectDir: string, pipeline: string): Promise<string> {
  try {
    return await fs.readFile(pipelineFile(projectDir, pipeline), 'utf8');
  } catch {
    throw notFound(`pipeline "${pipeline}" not found in project ${path.basename(projectDir)}`);
  }
}

/** The pipeline as the editor shows it: blocks when the YAML parses, and every problem found. */
export async function readEditorPipeline(projectDir: string, project: string, pipeline: string): Promise<EditorPipeline> {
  const text = await readPipelineText(projectDir, pipeline);
  const rel = `pipelines/${pipeline}/metadata.yaml`;
  const parsed = parsePipeline(text, rel, pipeline);
  if (!parsed.ok) return { project, uuid: pipeline, name: pipeline, version: versionOf(text), blocks: [], conditionals: [], callbacks: [], variables: {}, issues: parsed.issues };
  const files = await listFiles(projectDir, PIPELINE_FOLDERS);
  const issues = validatePipeline(parsed.value, rel, files, blockLines(text));
  const settings = blockSettings(text);
  const blocks = parsed.value.blocks.map((b) => ({ ...b, retry_config: settings.get(b.uuid)?.retry_config ?? null, timeout: settings.get(b.uuid)?.timeout ?? null }));
  const addOn = (a: AddOnBlock) => ({ uuid: a.uuid, kind: a.kind, upstream: a.upstream, file: a.file });
  return {
    project,
    uuid: parsed.value.uuid,
    name: parsed.value.name,
    version: versionOf(text),
    blocks,
    conditionals: parsed.value.conditionals.map(addOn),
    callbacks: parsed.value.callbacks.map(addOn),
    variables: parsed.value.variables,
    issues,
  };
}

/** Every folder a pipeline's files live in: its blocks' and its add-ons'. */
const PIPELINE_FOLDERS = [...Object.values(BLOCK_FOLDERS), ...Object.values(ADD_ON_FOLDERS)];

const rawSettings = z.object({
  blocks: z.array(z.looseObject({ uuid: z.unknown().optional(), retry_config: z.unknown().optional(), timeout: z.unknown().optional() })).nullish(),
});

/** Each block entry's retry_config and timeout as written (the scheduler reports bad values when it runs). */
function blockSettings(text: string): Map<string, { retry_config: Record<string, unknown> | null; timeout: unknown }> {
  const out = new Map<string, { retry_config: Record<string, unknown> | null; timeout: unknown }>();
  const data = rawSettings.safeParse(parseYaml(text));
  for (const b of (data.success ? data.data.blocks : null) ?? []) {
    if (typeof b.uuid !== 'string') continue;
    const retry = z.record(z.string(), z.unknown()).safeParse(b.retry_config);
    out.set(b.uuid, { retry_config: retry.success ? retry.data : null, timeout: b.timeout ?? null });
  }
  return out;
}

interface FileOp {
  kind: 'create' | 'rename';
  file: string;
  from?: string;
  content?: string;
}

/**
 * Turns the editor's edits into YAML edits and file operations, checking each against the model
 * as it will be after the edits before it (so "add then connect" works in one request).
 */
function plan(
  pipeline: Pick<Pipeline, 'blocks' | 'conditionals' | 'callbacks'>,
  edits: readonly EditorEdit[],
  existing: ReadonlySet<string>,
  /** Other pipelines that list a block (they share its file). */
  usedElsewhere: (uuid: string) => readonly string[] = () => [],
): { yaml: PipelineEdit[]; files: FileOp[]; renames: { from: string; to: string }[] } {
  const model = pipeline.blocks.map((b) => ({ ...b, upstream: [...b.upstream] }));
  const addOns: Record<AddOnKind, { uuid: string; upstream: string[] }[]> = {
    conditional: pipeline.conditionals.map((a) => ({ uuid: a.uuid, upstream: [...a.upstream] })),
    callback: pipeline.callbacks.map((a) => ({ uuid: a.uuid, upstream: [...a.upstream] })),
  };
  const yaml: PipelineEdit[] = [];
  const files: FileOp[] = [];
  const renames: { from: string; to: string }[] = [];
  const find = (uuid: string) => {
    const b = model.find((x) => x.uuid === uuid);
    if (!b) throw notFound(`block "${uuid}" is not in this pipeline`);
    return b;
  };
  /** A markdown block or a scratchpad is never run with the pipeline, so no block may wait for it. */
  const checkUpstreamOf = (uuid: string, upstream: readonly string[]) => {
    for (const u of upstream) {
      const up = find(u);
      if (EDITOR_ONLY_TYPES.has(up.type)) throw invalidInput(`"${u}" is a ${up.type} block, which pipeline runs skip: ${uuid} cannot depend on it`);
    }
  };
  const setUpstream = (uuid: string, upstream: string[]) => {
    for (const u of upstream) find(u);
    // Only new edges are checked: an edge the file already has is not this edit's to refuse.
    checkUpstreamOf(uuid, upstream.filter((u) => !find(uuid).upstream.includes(u)));
    find(uuid).upstream = upstream;
    yaml.push({ kind: 'set_upstream', uuid, upstream });
  };
  const checkKind = (type: BlockType, language: BlockLanguage) => {
    const allowed = TYPE_LANGUAGES[type];
    if (!allowed.includes(language)) throw invalidInput(`a ${type} block is written in ${allowed.join(' or ')}, not ${language}`);
  };
  const findAddOn = (kind: AddOnKind, uuid: string) => {
    const a = addOns[kind].find((x) => x.uuid === uuid);
    if (!a) throw notFound(`${kind} "${uuid}" is not in this pipeline`);
    return a;
  };
  const checkAttachments = (kind: AddOnKind, upstream: readonly string[]) => {
    for (const u of upstream) find(u);
    const twice = upstream.find((u, i) => upstream.indexOf(u) !== i);
    if (twice) throw invalidInput(`the ${kind} is attached to "${twice}" twice`);
  };
  for (const edit of edits) {
    switch (edit.kind) {
      case 'add_block': {
        if (model.some((b) => b.uuid === edit.uuid)) throw invalidInput(`a block named "${edit.uuid}" is already in this pipeline`);
        checkKind(edit.type, edit.language);
        checkUpstreamOf(edit.uuid, edit.upstream);
        const file = blockFilePath(edit.type, edit.uuid, edit.language);
        const pending = files.some((f) => f.file === file);
        let configuration: JsonObject = {};
        if ('existing' in edit.source) {
          if (!existing.has(file)) throw notFound(`there is no block file ${file} in this project`);
        } else if ('blank' in edit.source) {
          if (existing.has(file) || pending) throw new UserError('conflict', `${file} already exists: add it as an existing block file, or choose another name`);
          files.push({ kind: 'create', file, content: '' });
        } else {
          const template = findTemplate(edit.source.template);
          if (!template) throw invalidInput(`unknown block template "${edit.source.template}"`);
          if (template.type !== edit.type || template.language !== edit.language) {
            throw invalidInput(`template "${template.id}" is for a ${template.type} in ${template.language}`);
          }
          if (existing.has(file) || pending) {
            throw new UserError('conflict', `${file} already exists: add it as an existing block file, or choose another name`);
          }
          files.push({ kind: 'create', file, content: template.code(edit.uuid, edit.upstream) });
          // What the template needs to work (a dynamic loader's `dynamic: true`) goes into the entry with it.
          configuration = { ...template.configuration };
        }
        const index = edit.index === undefined ? model.length : Math.min(edit.index, model.length);
        model.splice(index, 0, { uuid: edit.uuid, name: edit.uuid, type: edit.type, language: edit.language, upstream: [...edit.upstream], configuration, file });
        yaml.push({ kind: 'add_block', uuid: edit.uuid, type: edit.type, language: edit.language, upstream: edit.upstream, index, configuration });
        for (const d of edit.downstream) {
          const down = find(d);
          setUpstream(d, [...down.upstream.filter((u) => !edit.upstream.includes(u) || u === edit.uuid), edit.uuid].filter((u, i, all) => all.indexOf(u) === i));
        }
        break;
      }
      case 'remove_block': {
        find(edit.uuid);
        model.splice(model.findIndex((b) => b.uuid === edit.uuid), 1);
        for (const b of [...model, ...addOns.conditional, ...addOns.callback]) b.upstream = b.upstream.filter((u) => u !== edit.uuid);
        // The block file stays: it may be used by other pipelines, and work is never deleted silently.
        yaml.push({ kind: 'remove_block', uuid: edit.uuid });
        break;
      }
      case 'rename_block': {
        const b = find(edit.uuid);
        if (edit.to === edit.uuid) break;
        if (model.some((x) => x.uuid === edit.to)) throw invalidInput(`a block named "${edit.to}" is already in this pipeline`);
        const to = blockFilePath(b.type, edit.to, b.language);
        if (existing.has(to)) throw new UserError('conflict', `${to} already exists: choose another name`);
        files.push({ kind: 'rename', from: b.file, file: to });
        renames.push({ from: edit.uuid, to: edit.to });
        for (const x of [...model, ...addOns.conditional, ...addOns.callback]) x.upstream = x.upstream.map((u) => (u === edit.uuid ? edit.to : u));
        b.uuid = edit.to;
        b.file = to;
        yaml.push({ kind: 'rename_block', uuid: edit.uuid, to: edit.to });
        break;
      }
      case 'move_block': {
        const b = find(edit.uuid);
        model.splice(model.indexOf(b), 1);
        model.splice(Math.min(edit.index, model.length), 0, b);
        yaml.push({ kind: 'move_block', uuid: edit.uuid, index: edit.index });
        break;
      }
      case 'set_upstream':
        setUpstream(edit.uuid, edit.upstream);
        break;
      case 'add_edge': {
        if (edit.from === edit.to) throw invalidInput(`block "${edit.from}" cannot be its own upstream`);
        checkUpstreamOf(edit.to, [edit.from]);
        const to = find(edit.to);
        find(edit.from);
        if (!to.upstream.includes(edit.from)) setUpstream(edit.to, [...to.upstream, edit.from]);
        break;
      }
      case 'remove_edge': {
        const to = find(edit.to);
        setUpstream(edit.to, to.upstream.filter((u) => u !== edit.from));
        break;
      }
      case 'set_variable':
        yaml.push({ kind: 'set_variable', name: edit.name, value: edit.value });
        break;
      case 'remove_variable':
        yaml.push({ kind: 'remove_variable', name: edit.name });
        break;
      case 'set_block_settings': {
        const b = find(edit.uuid);
        if (edit.destination !== null) {
          const checked = destinationSchema.safeParse(edit.destination);
          if (!checked.success) {
            throw invalidInput(`${edit.uuid}: configuration.destination: ${checked.error.issues.map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ')}`);
          }
        }
        const retry = edit.retry_config && Object.keys(edit.retry_config).length > 0 ? edit.retry_config : null;
        const configuration = (key: string, value: JsonValue | null) => {
          yaml.push({ kind: 'set_block_value', uuid: b.uuid, path: ['configuration', key], value });
          // The model follows, so a later edit of this request (a new type) sees what this one set.
          const rest = Object.fromEntries(Object.entries(b.configuration).filter(([k]) => k !== key));
          b.configuration = value === null ? rest : { ...rest, [key]: value };
        };
        yaml.push(
          { kind: 'set_block_value', uuid: b.uuid, path: ['retry_config'], value: retry },
          { kind: 'set_block_value', uuid: b.uuid, path: ['timeout'], value: edit.timeout },
          { kind: 'set_block_value', uuid: b.uuid, path: ['configuration', 'destination'], value: edit.destination },
        );
        // Flags are written only when true: false is Mage's default, and an absent key says so.
        if (edit.dynamic !== undefined) configuration('dynamic', edit.dynamic ? true : null);
        if (edit.reduce_output !== undefined) configuration('reduce_output', edit.reduce_output ? true : null);
        if (edit.poke_interval !== undefined) configuration('poke_interval', edit.poke_interval);
        if (edit.sensor_timeout !== undefined) configuration('timeout', edit.sensor_timeout);
        break;
      }
      case 'change_block_kind': {
        const b = find(edit.uuid);
        if (b.type === edit.type && b.language === edit.language) break;
        checkKind(edit.type, edit.language);
        if (EDITOR_ONLY_TYPES.has(edit.type)) {
          const downstream = model.filter((x) => x.upstream.includes(b.uuid)).map((x) => x.uuid);
          if (downstream.length > 0) throw invalidInput(`${downstream.join(', ')} depend${downstream.length === 1 ? 's' : ''} on ${b.uuid}, and pipeline runs skip a ${edit.type} block: remove those edges first`);
        }
        const others = usedElsewhere(b.uuid);
        if (others.length > 0) {
          throw new UserError('conflict', `${b.file} is also used by pipeline${others.length > 1 ? 's' : ''} ${others.join(', ')}: its type and language cannot change here`);
        }
        const to = blockFilePath(edit.type, b.uuid, edit.language);
        if (existing.has(to)) throw new UserError('conflict', `${to} already exists: move or rename it first`);
        files.push({ kind: 'rename', from: b.file, file: to });
        yaml.push({ kind: 'set_block_value', uuid: b.uuid, path: ['type'], value: edit.type }, { kind: 'set_block_value', uuid: b.uuid, path: ['language'], value: edit.language });
        b.type = edit.type;
        b.language = edit.language;
        b.file = to;
        break;
      }
      case 'add_add_on': {
        const list = ADD_ON_LISTS[edit.addOn];
        if (addOns[edit.addOn].some((a) => a.uuid === edit.uuid)) throw invalidInput(`a ${edit.addOn} named "${edit.uuid}" is already in this pipeline`);
        checkAttachments(edit.addOn, edit.upstream);
        const file = addOnFilePath(edit.addOn, edit.uuid);
        const pending = files.some((f) => f.file === file);
        if ('existing' in edit.source) {
          if (!existing.has(file)) throw notFound(`there is no ${edit.addOn} file ${file} in this project`);
        } else {
          const template = findAddOnTemplate(edit.source.template);
          if (!template) throw invalidInput(`unknown ${edit.addOn} template "${edit.source.template}"`);
          if (template.kind !== edit.addOn) throw invalidInput(`template "${template.id}" is for a ${template.kind}`);
          if (existing.has(file) || pending) throw new UserError('conflict', `${file} already exists: add it as an existing ${edit.addOn} file, or choose another name`);
          files.push({ kind: 'create', file, content: template.code(edit.uuid, edit.upstream) });
        }
        addOns[edit.addOn].push({ uuid: edit.uuid, upstream: [...edit.upstream] });
        yaml.push({ kind: 'add_add_on', list, uuid: edit.uuid, upstream: edit.upstream });
        break;
      }
      case 'set_add_on_upstream': {
        const a = findAddOn(edit.addOn, edit.uuid);
        checkAttachments(edit.addOn, edit.upstream);
        a.upstream = [...edit.upstream];
        yaml.push({ kind: 'set_add_on_upstream', list: ADD_ON_LISTS[edit.addOn], uuid: edit.uuid, upstream: edit.upstream });
        break;
      }
      case 'remove_add_on': {
        const a = findAddOn(edit.addOn, edit.uuid);
        addOns[edit.addOn].splice(addOns[edit.addOn].indexOf(a), 1);
        // Its file stays, as a removed block's does: work is never deleted silently.
        yaml.push({ kind: 'remove_add_on', list: ADD_ON_LISTS[edit.addOn], uuid: edit.uuid });
        break;
      }
      default: {
        const never: never = edit;
        throw invalidInput(`unknown edit ${JSON.stringify(never)}`);
      }
    }
    const cycle = findCycle(model);
    if (cycle) throw invalidInput(`that would make a cycle: ${cycle.join(' -> ')}. A pipeline is a DAG; remove an edge first`);
  }
  return { yaml, files, renames };
}

/**
 * Applies the editor's edits: block files first (created exclusively, renamed without clobbering),
 * then metadata.yaml atomically. A stale `version` is a conflict: someone else changed the pipeline.
 */
export async function applyEditorEdits(projectDir: string, project: string, pipeline: string, version: string, edits: readonly EditorEdit[]): Promise<EditorPipeline> {
  const file = pipelineFile(projectDir, pipeline);
  return withFileLock(file, async () => {
    const text = await readPipelineText(projectDir, pipeline);
    if (versionOf(text) !== version) {
      throw conflict(`pipelines/${pipeline}/metadata.yaml changed since it was loaded (in another tab or on disk); reload to see the change`);
    }
    const parsed = parsePipeline(text, `pipelines/${pipeline}/metadata.yaml`, pipeline);
    if (!parsed.ok) throw new UserError('invalid_pipeline', `fix metadata.yaml before editing blocks: ${parsed.issues.map((i) => i.message).join('; ')}`);
    const existing = await listFiles(projectDir, PIPELINE_FOLDERS);
    const usage = await blockUsage(projectDir, pipeline, edits.flatMap((e) => (e.kind === 'change_block_kind' ? [e.uuid] : [])));
    const { yaml, files, renames } = plan(parsed.value, edits, existing, (uuid) => usage.get(uuid) ?? []);
    let next: string;
    try {
      next = editPipelineYaml(text, yaml);
    } catch (e) {
      throw invalidInput(e instanceof Error ? e.message : String(e));
    }
    for (const op of files) {
      const target = guardPath(projectDir, op.file);
      if (op.kind === 'create') {
        await fs.mkdir(path.dirname(target), { recursive: true });
        await fs.writeFile(target, op.content ?? '', { flag: 'wx' });
      } else if (op.from) {
        const source = guardPath(projectDir, op.from);
        if (await exists(target)) throw conflict(`${op.file} already exists: choose another name`);
        // Under the file's lock, so a save in flight lands before the move or finds the file gone, never a stray copy.
        await withFileLock(source, async () => {
          if (await exists(source)) await fs.rename(source, target);
        });
      }
    }
    await writeFileAtomic(file, next);
    for (const r of renames) await renameEverywhere(projectDir, pipeline, r.from, r.to);
    return readEditorPipeline(projectDir, project, pipeline);
  });
}

/**
 * Replaces a pipeline's metadata.yaml with `text` (restoring the text a run pinned), atomically and
 * only over `version` (versionOf the text now): else a conflict. The text must be a pipeline this
 * folder can load: YAML that parses into blocks, with this folder's uuid, and no cycle; else
 * invalid_pipeline (422) and nothing is written. Block files are not touched.
 */
export async function savePipelineText(projectDir: string, project: string, pipeline: string, text: string, version: string): Promise<EditorPipeline> {
  const file = pipelineFile(projectDir, pipeline);
  return withFileLock(file, async () => {
    const before = await readPipelineText(projectDir, pipeline);
    if (versionOf(before) !== version) {
      throw conflict(`pipelines/${pipeline}/metadata.yaml changed since it was loaded (in another tab or on disk); reload to see the change`);
    }
    const parsed = parsePipeline(text, `pipelines/${pipeline}/metadata.yaml`, pipeline);
    if (!parsed.ok) throw new UserError('invalid_pipeline', `that metadata.yaml cannot be loaded: ${parsed.issues.map((i) => i.message).join('; ')}`);
    const cycle = findCycle(parsed.value.blocks);
    if (cycle) throw new UserError('invalid_pipeline', `that metadata.yaml has a cycle: ${cycle.join(' -> ')}`);
    await writeFileAtomic(file, text);
    return readEditorPipeline(projectDir, project, pipeline);
  });
}

/** For each uuid, the other pipelines that list it (and so share its file). */
async function blockUsage(projectDir: string, except: string, uuids: readonly string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (uuids.length === 0) return out;
  for (const other of await listPipelines(projectDir)) {
    if (other === except) continue;
    const text = await fs.readFile(pipelineFile(projectDir, other), 'utf8').catch(() => '');
    const parsed = parsePipeline(text, other, other);
    if (!parsed.ok) continue;
    for (const b of parsed.value.blocks) if (uuids.includes(b.uuid)) out.set(b.uuid, [...(out.get(b.uuid) ?? []), other]);
  }
  return out;
}

/**
 * A block file is shared by every pipeline that lists its uuid: after a rename, the other
 * pipelines and the SQL/TypeScript that name the old uuid follow, so nothing breaks elsewhere.
 */
async function renameEverywhere(projectDir: string, edited: string, from: string, to: string): Promise<void> {
  const touched = new Set<string>();
  for (const other of await listPipelines(projectDir)) {
    const otherFile = pipelineFile(projectDir, other);
    // The edited pipeline's lock is already held by the caller.
    const locked = <T>(work: () => Promise<T>) => (other === edited ? work() : withFileLock(otherFile, work));
    await locked(async () => {
      const text = await fs.readFile(otherFile, 'utf8');
      const parsed = parsePipeline(text, otherFile, other);
      if (!parsed.ok) return;
      const names = new Set(parsed.value.blocks.map((b) => b.uuid));
      if (other !== edited && names.has(from) && !names.has(to)) {
        await writeFileAtomic(otherFile, editPipelineYaml(text, [{ kind: 'rename_block', uuid: from, to }]));
        names.delete(from);
        names.add(to);
      }
      for (const b of parsed.value.blocks) {
        const uuid = b.uuid === from ? to : b.uuid;
        const ups = b.upstream.map((u) => (u === from ? to : u));
        // A note is prose: a word that happens to be the old name is not a reference to rewrite.
        if ((uuid !== to && !ups.includes(to)) || b.language === 'markdown') continue;
        touched.add(blockFilePath(b.type, uuid, b.language));
      }
    });
  }
  for (const rel of touched) {
    const abs = guardPath(projectDir, rel);
    await withFileLock(abs, async () => {
      let text: string;
      try {
        text = await fs.readFile(abs, 'utf8');
      } catch {
        return;
      }
      const next = renameReferences(text, rel.endsWith('.sql') ? 'sql' : 'typescript', from, to);
      if (next !== text) await writeFileAtomic(abs, next);
    });
  }
}

export type { PipelineIssue };
