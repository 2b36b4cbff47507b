import { type z } from 'zod';
import { ApiError, fetchJson } from '@/components/shared/fetch-json';
import {
  blockFileSchema,
  editorPipelineSchema,
  projectFilesSchema,
  savedFileSchema,
  type EditorEditInput,
} from '@/lib/protocol/editor-api';

import { type AddOnKind } from '@/lib/pipeline/model';

export { ApiError };

const OFFLINE = 'the server cannot be reached; your edits are kept in this tab and saved when it is back';
const call = <S extends z.ZodType>(url: string, schema: S, init?: { method: string; body?: unknown }) => fetchJson(url, schema, init, OFFLINE);

const base = (project: string, pipeline: string) => `/api/projects/${encodeURIComponent(project)}/pipelines/${encodeURIComponent(pipeline)}`;

export const api = {
  pipeline: (project: string, pipeline: string) => call(`${base(project, pipeline)}/editor`, editorPipelineSchema),
  edit: (project: string, pipeline: string, version: string, edits: EditorEditInput[]) =>
    call(`${base(project, pipeline)}/edits`, editorPipelineSchema, { method: 'POST', body: { version, edits } }),
  file: (project: string, pipeline: string, block: string) => call(`${base(project, pipeline)}/blocks/${encodeURIComponent(block)}`, blockFileSchema),
  save: (project: string, pipeline: string, block: string, content: string, version: string) =>
    call(`${base(project, pipeline)}/blocks/${encodeURIComponent(block)}`, savedFileSchema, { method: 'PUT', body: { content, version } }),
  files: (project: string) => call(`/api/projects/${encodeURIComponent(project)}/files`, projectFilesSchema),
  /** A conditional's or callback's code, by kind and uuid, through the same guarded file API as blocks'. */
  addOnFile: (project: string, pipeline: string, kind: AddOnKind, uuid: string) => call(`${base(project, pipeline)}/add-ons/${kind}/${encodeURIComponent(uuid)}`, blockFileSchema),
  saveAddOn: (project: string, pipeline: string, kind: AddOnKind, uuid: string, content: string, version: string) =>
    call(`${base(project, pipeline)}/add-ons/${kind}/${encodeURIComponent(uuid)}`, savedFileSchema, { method: 'PUT', body: { content, version } }),
};
