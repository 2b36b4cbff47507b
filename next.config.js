// Native addons (DuckDB) and packages that load code at runtime (esbuild, tsx, pg-boss's SQL plans) stay outside the bundle.
/** @type {import('next').NextConfig} */
module.exports = {
  serverExternalPackages: ['pg-boss', '@duckdb/node-api', '@duckdb/node-bindings', 'esbuild', 'tsx'],
  devIndicators: false,
};
