/**
 * Where a PostgreSQL server is and how to sign in to it. Its own module because both the embedded
 * server's start (embedded-postgres.ts) and its process bookkeeping (postmaster.ts) need it, and
 * the first imports the second.
 */
export interface PostgresCoordinates {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}
