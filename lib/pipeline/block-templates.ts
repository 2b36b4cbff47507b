/**
 * Starting code for new blocks, as data: one list per block type and language, like Mage's
 * "add block" menu. A template is a function of the block's uuid and upstream uuids, so a new
 * transformer's function already takes its upstream outputs as named arguments.
 */
import { blockParams as params, type BlockTemplate } from './block-template-type';
import { BLOCK_KIND_TEMPLATES } from './block-kind-templates';
import { CONNECTOR_TEMPLATES } from './connector-templates';
import { type BlockLanguage, type BlockType } from './model';
const firstFrame = (upstream: readonly string[]) => upstream[0] ?? 'df';

export const BLOCK_TEMPLATES: readonly BlockTemplate[] = [
  {
    id: 'loader_generic_ts',
    label: 'Generic (rows)',
    type: 'data_loader',
    language: 'typescript',
    code: (uuid, up) => `export default async function ${uuid}(${params(up)}) {
  // Return an array of objects, a DataFrame, or a query (ctx.sql\`...\`).
  return [
    { id: 1, name: 'first' },
    { id: 2, name: 'second' },
  ];
}

export async function testOutput(output: DataFrame) {
  if (output.rowCount === 0) throw new Error('the output is empty');
}
`,
  },
  {
    id: 'loader_file_ts',
    label: 'Local file (CSV / Parquet)',
    type: 'data_loader',
    language: 'typescript',
    code: (uuid, up) => `export default async function ${uuid}(${params(up)}) {
  // Paths are relative to the project folder; DuckDB reads CSV, Parquet and JSON directly.
  const path = 'data/input.csv';
  ctx.log(\`reading \${path}\`);
  return ctx.sql\`SELECT * FROM read_csv_auto(\${path})\`;
}
`,
  },
  {
    id: 'loader_api_ts',
    label: 'API (JSON over HTTP)',
    type: 'data_loader',
    language: 'typescript',
    code: (uuid, up) => `export default async function ${uuid}(${params(up)}) {
  const url = 'http://127.0.0.1:8000/data.json';
  const response = await fetch(url);
  if (!response.ok) throw new Error(\`\${url} answered \${response.status}\`);
  const rows: unknown = await response.json();
  if (!Array.isArray(rows)) throw new Error(\`\${url} answered something other than a JSON array of rows\`);
  ctx.log(\`fetched \${rows.length} rows\`);
  return rows;
}
`,
  },
  {
    id: 'loader_generic_sql',
    label: 'Generic (SQL query)',
    type: 'data_loader',
    language: 'sql',
    code: () => `-- The result of the last statement is the block's output.
SELECT range AS id, 'row ' || range AS name
FROM range(10);
`,
  },
  {
    id: 'transformer_generic_ts',
    label: 'Generic (query upstream)',
    type: 'transformer',
    language: 'typescript',
    code: (uuid, up) => `export default async function ${uuid}(${params(up)}) {
  ctx.log(\`\${${firstFrame(up)}.rowCount} rows in\`);
  return ctx.sql\`SELECT * FROM \${${firstFrame(up)}}\`;
}

export async function testOutput(output: DataFrame) {
  if (output.columns.length === 0) throw new Error('the output has no columns');
}
`,
  },
  {
    id: 'transformer_rows_ts',
    label: 'Row by row (JavaScript)',
    type: 'transformer',
    language: 'typescript',
    code: (uuid, up) => `export default async function ${uuid}(${params(up)}) {
  const rows = await ${firstFrame(up)}.rows();
  return rows.map((row) => ({ ...row }));
}
`,
  },
  {
    id: 'transformer_generic_sql',
    label: 'Generic (SQL)',
    type: 'transformer',
    language: 'sql',
    code: (_uuid, up) => `-- {{ df_1 }} is the first upstream output${up[0] ? ` (${up[0]})` : ''}.
SELECT *
FROM {{ df_1 }};
`,
  },
  {
    id: 'exporter_parquet_sql',
    label: 'Parquet file',
    type: 'data_exporter',
    language: 'sql',
    code: () => `-- Writes the upstream output to the project's git-ignored data directory.
COPY (SELECT * FROM {{ df_1 }})
TO '{{ data_dir }}/lake/output.parquet'
(FORMAT parquet);
`,
  },
  {
    id: 'exporter_generic_ts',
    label: 'Generic (log and pass on)',
    type: 'data_exporter',
    language: 'typescript',
    code: (uuid, up) => `export default async function ${uuid}(${params(up)}) {
  ctx.log(\`exporting \${${firstFrame(up)}.rowCount} rows\`);
}
`,
  },
  {
    id: 'exporter_generic_sql',
    label: 'Generic (SQL)',
    type: 'data_exporter',
    language: 'sql',
    code: () => `SELECT count(*) AS exported
FROM {{ df_1 }};
`,
  },
  ...CONNECTOR_TEMPLATES,
  ...BLOCK_KIND_TEMPLATES,
];

export function templatesFor(type: BlockType, language?: BlockLanguage): BlockTemplate[] {
  return BLOCK_TEMPLATES.filter((t) => t.type === type && (language === undefined || t.language === language));
}

export function findTemplate(id: string): BlockTemplate | undefined {
  return BLOCK_TEMPLATES.find((t) => t.id === id);
}
