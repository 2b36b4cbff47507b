import { notFound } from 'next/navigation';
import { UserError } from '../errors';
import { getPipelines } from './catalog';

/** A project's pipelines for a page; an unknown or invalid project name is the page's 404. */
export async function pipelinesOrNotFound(project: string): Promise<string[]> {
  try {
    return await getPipelines(project);
  } catch (e) {
    if (e instanceof UserError) notFound();
    throw e;
  }
}

/** Pages under a pipeline answer 404 for a project or pipeline that does not exist. */
export async function requirePipeline(project: string, pipeline: string): Promise<void> {
  if (!(await pipelinesOrNotFound(project)).includes(pipeline)) notFound();
}
