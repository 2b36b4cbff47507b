import { listPipelines, listProjects, loadPipeline, projectDir } from '../project/load';
import { PipelineInvalidError, type PipelineIssue } from '../pipeline/issues';
import { type Block } from '../pipeline/model';
import { projectsRoot } from './config';

/** What the pages and the HTTP API show of projects and pipelines. */
export async function getProjects(): Promise<{ name: string; pipelines: string[] }[]> {
  const root = projectsRoot();
  const names = await listProjects(root);
  return Promise.all(names.map(async (name) => ({ name, pipelines: await listPipelines(await projectDir(root, name)) })));
}

export async function getPipelines(project: string): Promise<string[]> {
  return listPipelines(await projectDir(projectsRoot(), project));
}

export type PipelineView =
  | { ok: true; uuid: string; name: string; blocks: Block[] }
  | { ok: false; uuid: string; issues: PipelineIssue[] };

export async function getPipeline(project: string, pipeline: string): Promise<PipelineView> {
  const dir = await projectDir(projectsRoot(), project);
  try {
    const loaded = await loadPipeline(dir, pipeline);
    return { ok: true, uuid: loaded.pipeline.uuid, name: loaded.pipeline.name, blocks: loaded.pipeline.blocks };
  } catch (e) {
    if (e instanceof PipelineInvalidError) return { ok: false, uuid: pipeline, issues: e.issues };
    throw e;
  }
}
