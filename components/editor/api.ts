import { type z } from 'zod';
import {
  apiErrorSchema,
  blockFileSchema,
  editorPipelineSchema,
  projectFilesSchema,
  savedFileSchema,
  type EditorEditInput,
} from '@/lib/protocol/editor-api';

/** An HTTP answer that was not 2xx, with the server's code (e.g. conflict) and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

async function call<S extends z.ZodType>(url: string, schema: S, init?: { method: string; body?: unknown }): Promise<z.infer<S>> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: init?.method ?? 'GET',
      headers: init?.body === undefined ? undefined : { 'content-type': 'application/json' },
      body: init?.body === undefined ? undefined : JSON.stringify(init.body),
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'offline', 'the server cannot be reached; your edits are kept in this tab and saved when it is back');
  }
  const json: unknown = await response.json().catch(() => null);
  if (!response.ok) {
    const err = apiErrorSchema.safeParse(json);
    throw new ApiError(response.status, err.success ? err.data.error.code : 'internal', err.success ? err.data.error.message : `HTTP ${response.status}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new ApiError(response.status, 'internal', `unexpected answer from ${url}`);
  return parsed.data;
}

const base = (project: string, pipeline: string) => `/api/projects/${encodeURIComponent(project)}/pipelines/${encodeURIComponent(pipeline)}`;

export const api = {
  pipeline: (project: string, pipeline: string) => call(`${base(project, pipeline)}/editor`, editorPipelineSchema),
  edit: (project: string, pipeline: string, version: string, edits: EditorEditInput[]) =>
    call(`${base(project, pipeline)}/edits`, editorPipelineSchema, { method: 'POST', body: { version, edits } }),
  file: (project: string, pipeline: string, block: string) => call(`${base(project, pipeline)}/blocks/${encodeURIComponent(block)}`, blockFileSchema),
  save: (project: string, pipeline: string, block: string, content: string, version: string) =>
    call(`${base(project, pipeline)}/blocks/${encodeURIComponent(block)}`, savedFileSchema, { method: 'PUT', body: { content, version } }),
  files: (project: string) => call(`/api/projects/${encodeURIComponent(project)}/files`, projectFilesSchema),
};
