// DuckDB ships a native addon (duckdb.node) that the bundler must not touch; the server loads it at runtime.
/** @type {import('next').NextConfig} */
module.exports = {
  serverExternalPackages: ['@duckdb/node-api', '@duckdb/node-bindings', 'esbuild', 'tsx'],
  devIndicators: false,
};
