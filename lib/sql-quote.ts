/**
 * Quoting for the SQL Grimoire writes itself (DuckDB and PostgreSQL share these rules): names of
 * tables and columns, and string values that cannot be bound as parameters (file paths in COPY,
 * options of read_csv, ATTACH). Every place that puts a name or a string into SQL text uses
 * these two, so the rules live once.
 */
import { invalidInput } from './errors';

/** Neither DuckDB nor PostgreSQL accepts NUL in a name or a string; cut there, the text would mean something else. */
function refuseNul(text: string, what: string): void {
  if (text.includes('\0')) throw invalidInput(`${what} ${JSON.stringify(text)} contains a NUL character, which SQL cannot hold`);
}

/**
 * `name` as one quoted identifier: `"a""b"` for `a"b`. A dot stays part of the name (`"s.t"` is a
 * table called s.t, not table t in schema s): quote each part of a qualified name on its own.
 * Throws invalid_input for a name holding NUL.
 */
export function quoteIdentifier(name: string): string {
  refuseNul(name, 'name');
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * `text` as a string literal: `'it''s'` for `it's`. Backslashes are plain characters in both
 * dialects (standard_conforming_strings is on by default in PostgreSQL); never use it after an E
 * prefix. Throws invalid_input for a string holding NUL.
 */
export function quoteLiteral(text: string): string {
  refuseNul(text, 'string');
  return `'${text.replaceAll("'", "''")}'`;
}

/**
 * `text` as a PostgreSQL escape-string literal: `E'a\\b'` for `a\b`, `E'it''s'` for `it's`. Its
 * meaning does not depend on standard_conforming_strings (a role or database may turn it off, and
 * a plain literal's backslash would then escape its closing quote), so it is the one to use for
 * values put into PostgreSQL text that reaches the server as it is (a simple query takes no
 * parameters). Not for DuckDB, which has no E'' strings. Throws invalid_input for a string holding NUL.
 */
export function quotePgEscapeLiteral(text: string): string {
  refuseNul(text, 'string');
  return `E'${text.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
}
