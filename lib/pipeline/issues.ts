/** A problem found in a project's files. Every one names the file, and the block when there is one. */
export interface PipelineIssue {
  file: string;
  block?: string;
  line?: number;
  message: string;
}

export function formatIssue(issue: PipelineIssue): string {
  const where = issue.line === undefined ? issue.file : `${issue.file}:${issue.line}`;
  const block = issue.block === undefined ? '' : ` (block ${issue.block})`;
  return `${where}${block}: ${issue.message}`;
}

export class PipelineInvalidError extends Error {
  constructor(readonly issues: PipelineIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'PipelineInvalidError';
  }
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; issues: PipelineIssue[] };
