import { promises as fs } from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors';
import { findTemplate } from '../pipeline/block-templates';
import { BLOCK_FOLDERS, blockFilePath, type BlockLanguage, type BlockType } from '../pipeline/model';
import { type PROJECT_TEMPLATES } from '../protocol/editor-api';
import { writeFileAtomic } from '../atomic-write';
import { exists } from './files';
import { safeJoin } from './paths';

type StarterBlock = { uuid: string; type: BlockType; language: BlockLanguage; template: string; upstream: string[] };

/** The starter project's pipeline: one loader, one transformer, one exporter, wired in a line. */
const STARTER: StarterBlock[] = [
  { uuid: 'load_data', type: 'data_loader', language: 'sql', template: 'loader_generic_sql', upstream: [] },
  { uuid: 'transform_data', type: 'transformer', language: 'typescript', template: 'transformer_generic_ts', upstream: ['load_data'] },
  { uuid: 'export_data', type: 'data_exporter', language: 'sql', template: 'exporter_parquet_sql', upstream: ['transform_data'] },
];

const TSCONFIG = `{
  "compilerOptions": { "target": "ES2022", "module": "esnext", "moduleResolution": "bundler", "strict": true, "noEmit": true, "skipLibCheck": true },
  "include": ["grimoire.d.ts", "data_loaders", "transformers", "data_exporters", "sensors", "scratchpads", "conditionals", "callbacks", "utils"]
}
`;

/**
 * Every coordinate comes from the environment (with Postgres's usual defaults), so a new project
 * reaches the Postgres that `grimoire start` runs, whatever port it got, with no set-up.
 */
const IO_CONFIG = `version: 0.1.1
default:
  DUCKDB_DATABASE: data/warehouse.duckdb
  POSTGRES_HOST: "{{ env_var('POSTGRES_HOST', '127.0.0.1') }}"
  POSTGRES_PORT: "{{ env_var('POSTGRES_PORT', '5432') }}"
  POSTGRES_DBNAME: "{{ env_var('POSTGRES_DBNAME', 'postgres') }}"
  POSTGRES_SCHEMA: public
  POSTGRES_USER: "{{ env_var('POSTGRES_USER', 'postgres') }}"
  POSTGRES_PASSWORD: "{{ env_var('POSTGRES_PASSWORD', '') }}"
`;

/**
 * Creates a project in Mage's layout. `blockApiGlobals` is the block API as global declarations,
 * written to grimoire.d.ts so editors outside Grimoire type-check blocks too.
 */
export async function createProject(root: string, name: string, template: (typeof PROJECT_TEMPLATES)[number], blockApiGlobals: string): Promise<void> {
  const dir = safeJoin(root, name);
  if (await exists(dir)) throw new UserError('conflict', `a project named "${name}" already exists`);
  await fs.mkdir(dir, { recursive: true });
  for (const folder of [...Object.values(BLOCK_FOLDERS), 'pipelines', 'utils']) await fs.mkdir(path.join(dir, folder), { recursive: true });
  await writeFileAtomic(path.join(dir, 'grimoire.d.ts'), blockApiGlobals);
  await writeFileAtomic(path.join(dir, 'tsconfig.json'), TSCONFIG);
  await writeFileAtomic(path.join(dir, '.gitignore'), '.grimoire/\n');
  await writeFileAtomic(path.join(dir, 'io_config.yaml'), IO_CONFIG);
  if (template === 'starter') {
    const lines = ['name: example_pipeline', 'uuid: example_pipeline', 'type: batch', 'variables: {}', 'blocks:'];
    for (const b of STARTER) {
      const code = findTemplate(b.template)?.code(b.uuid, b.upstream) ?? '';
      await writeFileAtomic(path.join(dir, blockFilePath(b.type, b.uuid, b.language)), code);
      lines.push(`  - uuid: ${b.uuid}`, `    type: ${b.type}`, `    language: ${b.language}`, `    upstream_blocks: [${b.upstream.join(', ')}]`, '    configuration: {}');
    }
    await writeFileAtomic(path.join(dir, 'pipelines', 'example_pipeline', 'metadata.yaml'), `${lines.join('\n')}\n`);
  }
  // Written last: a folder is a project only once metadata.yaml is there.
  await writeFileAtomic(path.join(dir, 'metadata.yaml'), `project_name: ${name}\n# Runtime state (output cache, compiled blocks) lives in .grimoire/, git-ignored.\n`);
}
