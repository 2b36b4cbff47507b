/**
 * What the editor's route handlers do, one function per route: find the project, call lib/project,
 * and tell the other open tabs through socket.io.
 */
import { type z } from 'zod';
import { projectDir } from '../project/load';
import { applyEditorEdits, readEditorPipeline } from '../project/pipeline-write';
import { listBlockFiles, readBlockFile, saveBlockFile } from '../project/block-files';
import { clonePipeline, createPipeline, deletePipeline, renamePipeline } from '../project/pipeline-crud';
import { createProject } from '../project/project-create';
import { type createProjectSchema, type EditorEdit, type EditorPipeline, type pipelinesActionSchema } from '../protocol/editor-api';
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

export async function projectFiles(project: string) {
  return { files: await listBlockFiles(await dirOf(project)) };
}

export async function blockApiTypes() {
  return { globals: await readBlockApiGlobals() };
}
