/**
 * Declarations that give `DataFrame<'block'>` the row shape of that block's last output, for the
 * editor's TypeScript intellisense. Types follow what `rows()` returns (lib/kernel/duck-values.ts):
 * every column may be null, since DuckDB columns are nullable unless proven otherwise.
 */
export interface OutputColumn {
  name: string;
  /** DuckDB's type name, as the kernel reports it (BIGINT, DECIMAL(10,2), VARCHAR[], STRUCT(...)). */
  type: string;
}

const SCALARS: [RegExp, string][] = [
  // rows() gives a DECIMAL of more than 15 digits as its exact text; up to 15 as a number.
  [/^DECIMAL\((1[6-9]|[2-9]\d|\d{3,}),\s*\d+\)$/, 'string'],
  [/^(TINYINT|SMALLINT|INTEGER|UTINYINT|USMALLINT|UINTEGER|FLOAT|DOUBLE|REAL|DECIMAL(\(.*\))?)$/, 'number'],
  // rows() turns BIGINTs into numbers, keeping a bigint only beyond ±2^53.
  [/^(BIGINT|UBIGINT)$/, 'number'],
  [/^(HUGEINT|UHUGEINT|TIME|TIME_NS|BIGNUM)$/, 'bigint'],
  [/^(VARCHAR|UUID|ENUM\(.*\)|JSON)$/, 'string'],
  [/^BOOLEAN$/, 'boolean'],
  [/^(DATE|TIMESTAMP(_S|_MS|_NS)?|TIMESTAMP WITH TIME ZONE|TIMESTAMPTZ)$/, 'Date'],
  [/^(BLOB|BIT|GEOMETRY)$/, 'Uint8Array'],
  [/^STRUCT\(.*\)$/, 'Record<string, unknown>'],
  [/^MAP\(.*\)$/, 'Array<{ key: unknown; value: unknown }>'],
];

/** The TypeScript type of a value of this DuckDB type as rows() gives it (without null); unknown when unsure. */
export function tsTypeOfDuck(duckType: string): string {
  const type = duckType.trim().toUpperCase();
  const list = /^(.*)\[\d*\]$/.exec(type);
  if (list?.[1]) return `Array<${tsTypeOfDuck(list[1])} | null>`;
  return SCALARS.find(([pattern]) => pattern.test(type))?.[1] ?? 'unknown';
}

/** `interface BlockRows` members for every block whose output columns are known, merged into the block API's. */
export function blockRowsDeclaration(outputs: Readonly<Record<string, readonly OutputColumn[]>>): string {
  const blocks = Object.entries(outputs).filter(([, columns]) => columns.length > 0);
  const members = blocks.map(([block, columns]) => {
    const fields = columns.map((c) => `    /** ${c.type.replaceAll('*/', '* /')} */\n    ${JSON.stringify(c.name)}: ${tsTypeOfDuck(c.type)} | null;`);
    return `  /** Rows of ${block}'s last output. */\n  ${JSON.stringify(block)}: {\n${fields.join('\n')}\n  };`;
  });
  return `// Row shapes of the block outputs this editor has seen (generated from their last run).\ninterface BlockRows {\n${members.join('\n')}\n}\n`;
}
