/**
 * Hides known secret values (workspace secrets, database passwords) wherever block output goes:
 * log lines, errors, output previews and pages. Used on both sides of the kernel: the kernel masks
 * what it sends, and the host masks again with every value it knows, so a value the kernel never
 * learned (no profile loaded, a kernel that died mid-line) is hidden all the same.
 */
import { MIN_MASKED_LENGTH, redact } from '../io/io-config';
import { type JsonValue } from '../pipeline/model';
import { type OutputAnswer } from '../protocol/output-query';
import { type BlockError, type OutputPreview } from '../protocol/run-events';

/**
 * The ways a value shows up in text: as is, escaped inside a JSON string (a password with a quote
 * or backslash, printed with JSON.stringify) and URL-encoded (inside a connection URL).
 */
export function maskForms(value: string): string[] {
  const forms = new Set([value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value)]);
  return [...forms].filter((f) => f.length >= MIN_MASKED_LENGTH);
}

/**
 * Password-like variable names (a whole word between underscores, so TOKENIZER_MODEL is not one):
 * their values are secrets wherever they were set.
 */
const SECRET_NAME = /^PGPASSWORD$|(^|_)(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_KEY|PRIVATE_KEY|CREDENTIALS?)(_|$)/i;

/** Values of the password-like variables of an environment (POSTGRES_PASSWORD, AWS_SECRET_ACCESS_KEY ...). */
export function secretEnvValues(environment: Readonly<Record<string, string | undefined>>): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(environment)) if (value !== undefined && SECRET_NAME.test(key)) out.push(value);
  return out;
}

type Cell = Extract<OutputAnswer, { kind: 'page' }>['rows'][number][string];

/** A growing set of values to hide; each is replaced by `***` (the way passwords always were). */
export class ValueMask {
  private readonly forms = new Set<string>();
  private list: string[] = [];

  /** Remembers values to hide from now on (too-short ones are ignored, see MIN_MASKED_LENGTH). */
  add(values: Iterable<string>): void {
    let grew = false;
    for (const v of values) {
      for (const f of maskForms(v)) {
        if (this.forms.has(f)) continue;
        this.forms.add(f);
        grew = true;
      }
    }
    if (grew) this.list = [...this.forms];
  }

  get size(): number {
    return this.forms.size;
  }

  text(text: string): string {
    return this.list.length === 0 ? text : redact(text, this.list);
  }

  private json(value: JsonValue): JsonValue {
    if (typeof value === 'string') return this.text(value);
    if (Array.isArray(value)) return value.map((v) => this.json(v));
    if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.json(v)]));
    return value;
  }

  private unknown(value: unknown): unknown {
    if (typeof value === 'string') return this.text(value);
    if (Array.isArray(value)) return value.map((v) => this.unknown(v));
    if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.unknown(v)]));
    return value;
  }

  private cell(value: Cell): Cell {
    if (typeof value === 'string') return this.text(value);
    if (Array.isArray(value)) return value.map((v) => this.unknown(v));
    if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.unknown(v)]));
    return value;
  }

  blockError(error: BlockError): BlockError {
    if (this.list.length === 0) return error;
    return { ...error, message: this.text(error.message), ...(error.stack === undefined ? {} : { stack: this.text(error.stack) }) };
  }

  /**
   * A preview's string cells and column names: `SELECT '<secret>'` names its column after the
   * value, so names are masked too, and the rows' keys with them (they name the columns).
   */
  preview(preview: OutputPreview): OutputPreview {
    if (this.list.length === 0) return preview;
    return {
      ...preview,
      columns: preview.columns.map((c) => ({ ...c, name: this.text(c.name) })),
      rows: preview.rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [this.text(k), this.json(v)]))),
    };
  }

  /** A page's string cells and column names, or a chart's labels. */
  answer(answer: OutputAnswer): OutputAnswer {
    if (this.list.length === 0) return answer;
    if (answer.kind === 'chart') return { ...answer, points: answer.points.map((p) => ({ ...p, label: this.text(p.label) })) };
    return {
      ...answer,
      columns: answer.columns.map((c) => ({ ...c, name: this.text(c.name) })),
      rows: answer.rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [this.text(k), this.cell(v)]))),
    };
  }
}
