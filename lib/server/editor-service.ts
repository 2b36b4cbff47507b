/**
 * What the editor's route handlers do, one function per route: find the project, call lib/project,
 * and tell the other open tabs through socket.io.
 */
import { type z } from 'zod';
import { projectDir } from '../project/load';
import { applyEditorEdits, readEditorPipeline, savePipelineText } from '../project/pipeline-write';
import { listAddOnFiles, listBlockFiles, readAddOnFile, readBlockFile, readProjectFile, saveAddOnFile, saveBlockFile, saveProjectFile } from '../project/block-files';
import { clonePipeline, createPipeline, deletePipeline, renamePipeline } from '../project/pipeline-crud';
import { createProject } from '../project/project-create';
import { addOnKindSchema, type createProjectSchema, type EditorEdit, type EditorPipeline, type pipelinesActionSchema } from '../protocol/editor-api';
import { invalidInput } from '../errors';
import { readBlockApiGlobals } from './app-dir';
import { broadcast } from './broadcast';
import { projectsRoot } from './config';

const dirOf = (project: string) => projectDir(projectsRoot(), project);

export async function newProject(body: z.infer<typeof createProjectSchema>): Promise<{ project: string }> {
  await createProject(projectsRoot(), body.name, body.template, await readBlockApiGlobals());
  return { project: body.name };
}

export async function pipelinesAction(project: string, body: z.infer<typeof pipelinesActionSchema>): Promise<{ pipeline: string }> {
  const dir = await dirOf(project);
  if (body.action === 'create') await createPipeline(dir, body.name);
  else await clonePipeline(dir, body.from, body.name);
  return { pipeline: body.name };
}

export async function renamePipelineIn(project: string, pipeline: string, name: string): Promise<{ pipeline: string }> {
  await renamePipeline(await dirOf(project), pipeline, name);
  return { pipeline: name };
}

export async function deletePipelineIn(project: string, pipeline: string): Promise<{ deleted: string }> {
  await deletePipeline(await dirOf(project), pipeline);
  return { deleted: pipeline };
}

export async function editorPipeline(project: string, pipeline: string): Promise<EditorPipeline> {
  return readEditorPipeline(await dirOf(project), project, pipeline);
}

export async function editPipeline(project: string, pipeline: string, version: string, edits: EditorEdit[]): Promise<EditorPipeline> {
  const result = await applyEditorEdits(await dirOf(project), project, pipeline, version, edits);
  const renamed = edits.flatMap((e) => (e.kind === 'rename_block' ? [{ from: e.uuid, to: e.to }] : []));
  broadcast({ type: 'pipeline_changed', project, pipeline, version: result.version, ...(renamed.length > 0 ? { renamed } : {}) });
  return result;
}

export async function blockFile(project: string, pipeline: string, block: string) {
  return readBlockFile(await dirOf(project), pipeline, block);
}

export async function saveBlock(project: string, pipeline: string, block: string, content: string, version: string) {
  const saved = await saveBlockFile(await dirOf(project), pipeline, block, content, version);
  broadcast({ type: 'file_changed', project, pipeline, file: saved.file, version: saved.version });
  return saved;
}

/** The kind named in an add-on route (`conditional`, `callback`); anything else is invalid_input. */
function addOnKind(kind: string) {
  const parsed = addOnKindSchema.safeParse(kind);
  if (!parsed.success) throw invalidInput(`"${kind}" is not an add-on kind (conditional or callback)`);
  return parsed.data;
}

export async function addOnFile(project: string, pipeline: string, kind: string, uuid: string) {
  return readAddOnFile(await dirOf(project), pipeline, addOnKind(kind), uuid);
}

/** Saves an add-on's code over `version` (409 when it changed since) and tells the tabs, as saveBlock does. */
export async function saveAddOn(project: string, pipeline: string, kind: string, uuid: string, content: string, version: string) {
  const saved = await saveAddOnFile(await dirOf(project), pipeline, addOnKind(kind), uuid, content, version);
  broadcast({ type: 'file_changed', project, pipeline, file: saved.file, version: saved.version });
  return saved;
}

/**
 * Saves a project file by path (a block file a run pinned, whose block may be gone from the
 * pipeline now) over `version`, and tells the tabs that have `pipeline` open. Errors as
 * saveProjectFile: invalid_input for a path the guard refuses, conflict for a stale version.
 */
export async function saveFileOfPipeline(project: string, pipeline: string, file: string, content: string, version: string): Promise<{ file: string; version: string }> {
  const saved = await saveProjectFile(await dirOf(project), file, content, version);
  broadcast({ type: 'file_changed', project, pipeline, file: saved.file, version: saved.version });
  return saved;
}

/** Replaces metadata.yaml with `text` over `version` (checked as savePipelineText does) and tells the tabs. */
export async function savePipelineYaml(project: string, pipeline: string, text: string, version: string): Promise<EditorPipeline> {
  const result = await savePipelineText(await dirOf(project), project, pipeline, text, version);
  broadcast({ type: 'pipeline_changed', project, pipeline, version: result.version });
  return result;
}

/** A project file's text now, null when it does not exist; invalid_input for a path the guard refuses. */
export async function projectFileText(project: string, file: string): Promise<string | null> {
  return readProjectFile(await dirOf(project), file);
}

export async function projectFiles(project: string) {
  const dir = await dirOf(project);
  return { files: await listBlockFiles(dir), addOns: await listAddOnFiles(dir) };
}

export async function blockApiTypes() {
  return { globals: await readBlockApiGlobals() };
}
