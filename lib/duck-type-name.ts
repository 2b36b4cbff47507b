import { type DuckDBType } from '@duckdb/node-api';

/**
 * A DuckDB column type's name as Grimoire shows and maps it: DuckDB's own text, except JSON, which
 * DuckDB prints as the VARCHAR it is stored as (its alias says JSON). Without this, a JSON column
 * would reach Postgres as text and the editor as a plain string column.
 */
export function duckTypeName(type: DuckDBType | undefined, fallback = 'VARCHAR'): string {
  if (!type) return fallback;
  return type.alias === 'JSON' ? 'JSON' : type.toString();
}
