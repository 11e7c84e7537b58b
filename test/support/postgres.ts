import { randomBytes } from "node:crypto";
import pg from "pg";

/** The server the PostgreSQL tests use; each test makes and drops its own database on it. */
export const POSTGRES_ADMIN_URL = process.env.MAILROOM_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

/** True when this run's store and API tests go against PostgreSQL (MAILROOM_TEST_DATABASE=postgres). */
export const onPostgres = process.env.MAILROOM_TEST_DATABASE === "postgres";

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A fresh, empty database; `drop` removes it (ending any connection left to it). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `mailroom_test_${randomBytes(6).toString("hex")}`;
  await admin((c) => c.query(`create database ${name}`));
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => admin((c) => c.query(`drop database if exists ${name} with (force)`)).then(() => undefined),
  };
}
