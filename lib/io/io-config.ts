/**
 * io_config.yaml (Mage's keys): connection profiles whose values may use {{ env_var('NAME') }}
 * and {{ mage_secret_var('NAME') }}. Pure: the caller passes the file text, the environment and
 * the workspace's secrets.
 */
import nunjucks from 'nunjucks';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { templateSecretVar } from '../pipeline/secret-ref';

export interface PostgresProfile {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
  schema: string;
  connectTimeoutMs: number;
  ssl: 'disable' | 'require' | 'verify-full';
}

/** Object storage (S3 or any S3-compatible server) with Mage's AWS_* keys. */
export interface S3Profile {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  region: string;
  /** An S3-compatible server (MinIO, R2, GCS's interoperability endpoint); AWS when absent. */
  endpoint?: string;
}

export interface IoProfile {
  name: string;
  postgres?: PostgresProfile;
  s3?: S3Profile;
  /** DuckDB database file, relative to the project unless absolute. */
  duckdbDatabase?: string;
}

export class IoConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IoConfigError';
  }
}

const env = new nunjucks.Environment(null, { autoescape: false, throwOnUndefined: true });

const scalar = z.union([z.string(), z.number(), z.boolean()]).nullish();
const profileSchema = z.looseObject({
  POSTGRES_HOST: scalar,
  POSTGRES_PORT: scalar,
  POSTGRES_DBNAME: scalar,
  POSTGRES_USER: scalar,
  POSTGRES_PASSWORD: scalar,
  POSTGRES_SCHEMA: scalar,
  POSTGRES_CONNECT_TIMEOUT: scalar,
  POSTGRES_SSLMODE: scalar,
  DUCKDB_DATABASE: scalar,
  AWS_ACCESS_KEY_ID: scalar,
  AWS_SECRET_ACCESS_KEY: scalar,
  AWS_SESSION_TOKEN: scalar,
  AWS_REGION: scalar,
  AWS_ENDPOINT: scalar,
});

const text = (v: unknown) => (v === null || v === undefined || v === '' ? undefined : String(v));

/**
 * Renders env_var() and mage_secret_var() calls, then parses the YAML into profiles by name.
 * Throws IoConfigError naming what is missing or wrong (a variable, a secret, a key).
 */
export function parseIoConfig(
  source: string,
  environment: Readonly<Record<string, string | undefined>>,
  secrets: Readonly<Record<string, string>> = {},
): Map<string, IoProfile> {
  let rendered: string;
  try {
    rendered = env.renderString(source, {
      env_var: (name: unknown, fallback?: unknown) => {
        if (typeof name !== 'string') throw new Error('env_var() takes a variable name');
        const value = environment[name];
        if (value !== undefined) return value;
        if (fallback !== undefined) return fallback;
        throw new Error(`environment variable ${name} is not set`);
      },
      mage_secret_var: templateSecretVar(secrets),
    });
  } catch (e) {
    const message = (e instanceof Error ? e.message : String(e)).replace(/^\(unknown path\)\s*(\[Line \d+, Column \d+\])?\s*/, '').replace(/^\s*(Template render error:\s*)?(Error:\s*)?/, '');
    throw new IoConfigError(`io_config.yaml: ${message.trim()}`);
  }
  let data: unknown;
  try {
    data = parseYaml(rendered);
  } catch (e) {
    throw new IoConfigError(`io_config.yaml is not valid YAML: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
  }
  const profiles = new Map<string, IoProfile>();
  if (!data || typeof data !== 'object' || Array.isArray(data)) return profiles;
  for (const [name, value] of Object.entries(data)) {
    if (name === 'version' || !value || typeof value !== 'object') continue;
    const parsed = profileSchema.safeParse(value);
    if (!parsed.success) throw new IoConfigError(`io_config.yaml, profile ${name}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const p = parsed.data;
    const profile: IoProfile = { name, duckdbDatabase: text(p.DUCKDB_DATABASE) };
    if (text(p.POSTGRES_HOST) !== undefined || text(p.POSTGRES_DBNAME) !== undefined) {
      const port = Number(text(p.POSTGRES_PORT) ?? 5432);
      if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new IoConfigError(`io_config.yaml, profile ${name}: POSTGRES_PORT must be a port number`);
      const timeout = Number(text(p.POSTGRES_CONNECT_TIMEOUT) ?? 10);
      if (!Number.isFinite(timeout) || timeout <= 0) throw new IoConfigError(`io_config.yaml, profile ${name}: POSTGRES_CONNECT_TIMEOUT must be seconds > 0`);
      const ssl = text(p.POSTGRES_SSLMODE) ?? 'disable';
      if (ssl !== 'disable' && ssl !== 'require' && ssl !== 'verify-full') {
        throw new IoConfigError(`io_config.yaml, profile ${name}: POSTGRES_SSLMODE must be disable, require or verify-full`);
      }
      profile.postgres = {
        host: text(p.POSTGRES_HOST) ?? '127.0.0.1',
        port,
        database: text(p.POSTGRES_DBNAME) ?? 'postgres',
        user: text(p.POSTGRES_USER) ?? 'postgres',
        password: text(p.POSTGRES_PASSWORD) ?? '',
        schema: text(p.POSTGRES_SCHEMA) ?? 'public',
        connectTimeoutMs: timeout * 1000,
        ssl,
      };
    }
    const keyId = text(p.AWS_ACCESS_KEY_ID);
    const secretKey = text(p.AWS_SECRET_ACCESS_KEY);
    const endpoint = text(p.AWS_ENDPOINT);
    if (keyId !== undefined || secretKey !== undefined || endpoint !== undefined) {
      if (keyId === undefined || secretKey === undefined) {
        throw new IoConfigError(`io_config.yaml, profile ${name}: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY go together (one of them is missing)`);
      }
      if (endpoint !== undefined && !/^https?:\/\/[^/\s]+\/?$/i.test(endpoint)) {
        throw new IoConfigError(`io_config.yaml, profile ${name}: AWS_ENDPOINT must be a server address like http://127.0.0.1:9000, got ${JSON.stringify(endpoint)}`);
      }
      profile.s3 = { accessKeyId: keyId, secretAccessKey: secretKey, sessionToken: text(p.AWS_SESSION_TOKEN), region: text(p.AWS_REGION) ?? 'us-east-1', endpoint: endpoint?.replace(/\/$/, '') };
    }
    profiles.set(name, profile);
  }
  return profiles;
}

export function requireProfile(profiles: ReadonlyMap<string, IoProfile>, name: string): IoProfile {
  const found = profiles.get(name);
  if (!found) throw new IoConfigError(`profile "${name}" is not in io_config.yaml (profiles: ${[...profiles.keys()].join(', ') || 'none'})`);
  return found;
}

export function requirePostgres(profiles: ReadonlyMap<string, IoProfile>, name: string): PostgresProfile {
  const profile = requireProfile(profiles, name);
  if (!profile.postgres) throw new IoConfigError(`profile "${name}" in io_config.yaml has no POSTGRES_HOST/POSTGRES_DBNAME`);
  return profile.postgres;
}

export function requireS3(profiles: ReadonlyMap<string, IoProfile>, name: string): S3Profile {
  const profile = requireProfile(profiles, name);
  if (!profile.s3) throw new IoConfigError(`profile "${name}" in io_config.yaml has no AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY for object storage`);
  return profile.s3;
}

export function requireDuckdb(profiles: ReadonlyMap<string, IoProfile>, name: string): string {
  const profile = requireProfile(profiles, name);
  if (!profile.duckdbDatabase) throw new IoConfigError(`profile "${name}" in io_config.yaml has no DUCKDB_DATABASE`);
  return profile.duckdbDatabase;
}

/** Every secret value in the profiles, to keep them out of logs, previews and errors. */
export function secretsOf(profiles: ReadonlyMap<string, IoProfile>): string[] {
  return [...profiles.values()]
    .flatMap((p) => [p.postgres?.password, p.s3?.secretAccessKey, p.s3?.sessionToken, p.s3?.accessKeyId])
    .filter((v): v is string => v !== undefined && v.length >= MIN_MASKED_LENGTH);
}

/**
 * Values shorter than this are never masked: hiding every "ab" in a log would hide nothing and
 * garble the rest.
 */
export const MIN_MASKED_LENGTH = 3;

/**
 * `text` with every occurrence of each secret replaced by `***`. Longer secrets go first, so one
 * that contains another is hidden whole rather than leaving its tail; values shorter than
 * MIN_MASKED_LENGTH are left alone.
 */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  const ordered = secrets.filter((s) => s.length >= MIN_MASKED_LENGTH).sort((a, b) => b.length - a.length);
  for (const s of ordered) if (out.includes(s)) out = out.split(s).join('***');
  return out;
}
