import { type DuckDBConnection } from '@duckdb/node-api';

export interface SqlStatement {
  text: string;
  /** 0-based line in the whole text where the statement starts, to map DuckDB's "LINE n" back. */
  lineOffset: number;
}

async function countStatements(connection: DuckDBConnection, text: string): Promise<number> {
  try {
    return (await connection.extractStatements(text)).count;
  } catch {
    return -1;
  }
}

/**
 * Splits SQL into statements using DuckDB's own parser as the judge: a `;` is a boundary when the
 * text before it parses as one statement fewer and the text after as exactly one more. Quotes,
 * comments and dollar strings are therefore handled exactly as DuckDB handles them.
 * If the whole text does not parse, it comes back as one statement so DuckDB reports the error.
 */
export async function splitStatements(connection: DuckDBConnection, text: string): Promise<SqlStatement[]> {
  const total = await countStatements(connection, text);
  if (total <= 1) return total === 0 ? [] : [{ text, lineOffset: 0 }];
  const out: SqlStatement[] = [];
  let rest = text;
  let remaining = total;
  while (remaining > 1) {
    let cut = -1;
    for (let i = rest.indexOf(';'); i >= 0; i = rest.indexOf(';', i + 1)) {
      if ((await countStatements(connection, rest.slice(0, i + 1))) === 1 && (await countStatements(connection, rest.slice(i + 1))) === remaining - 1) {
        cut = i + 1;
        break;
      }
    }
    if (cut < 0) break;
    out.push({ text: rest.slice(0, cut), lineOffset: 0 });
    rest = rest.slice(cut);
    remaining--;
  }
  out.push({ text: rest, lineOffset: 0 });
  let line = 0;
  for (const s of out) {
    s.lineOffset = line + (s.text.length - s.text.trimStart().length > 0 ? countNewlines(s.text.slice(0, s.text.length - s.text.trimStart().length)) : 0);
    line += countNewlines(s.text);
    s.text = s.text.trim();
  }
  return out.filter((s) => s.text.replace(/;$/, '').trim().length > 0);
}

function countNewlines(s: string): number {
  let n = 0;
  for (const ch of s) if (ch === '\n') n++;
  return n;
}
