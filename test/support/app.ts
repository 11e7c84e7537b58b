import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openCore, startApp, type Core, type RunningApp } from "../../src/app.js";
import { readConfig, type Config } from "../../src/config.js";
import { createLogger } from "../../src/logger.js";
import { createTestDatabase, onPostgres, type TestDatabase } from "./postgres.js";

export const ADMIN_TOKEN = "test-admin-token-0123456789";

export interface TestApp {
  url: string;
  core: Core;
  app: RunningApp;
  dataDir: string;
  /** The environment it was started with (incl. a test database URL), for a restart. */
  env: Record<string, string>;
  /** Authorization header value of the bootstrap IAM_OWNER token. */
  auth: string;
  createToken(role: "IAM_OWNER" | "IAM_OWNER_VIEWER" | "MESSAGE_SENDER"): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Starts mailroom in this process on a free loopback port with a fresh data dir, and, when the
 * suite runs on PostgreSQL, a fresh database (pass MAILROOM_DATABASE_URL to reuse one).
 */
export async function startTestApp(env: Record<string, string> = {}, dataDir?: string): Promise<TestApp> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), "mailroom-test-"));
  let database: TestDatabase | undefined;
  if (onPostgres && !env.MAILROOM_DATABASE_URL) {
    database = await createTestDatabase();
    env = { ...env, MAILROOM_DATABASE_URL: database.url };
  }
  const config: Config = readConfig({
    MAILROOM_LISTEN: "127.0.0.1:0",
    MAILROOM_DATA_DIR: dir,
    MAILROOM_BOOTSTRAP_TOKEN: ADMIN_TOKEN,
    MAILROOM_LOG_LEVEL: process.env.MAILROOM_TEST_LOG_LEVEL ?? "silent",
    MAILROOM_WEBHOOK_DENY_LIST: "none",
    ...env,
  });
  const core = await openCore(config, createLogger(config.logLevel));
  const app = await startApp(core);
  return {
    url: app.url,
    core,
    app,
    dataDir: dir,
    env,
    auth: `Bearer ${ADMIN_TOKEN}`,
    async createToken(role) {
      return (await core.tokens.create(core.instance.id, role, "test")).token;
    },
    async stop() {
      await app.close();
      await core.store.close();
      rmSync(dir, { recursive: true, force: true });
      await database?.drop();
    },
  };
}

/** A REST call; returns status and parsed JSON body. */
export async function rest(
  app: { url: string; auth: string },
  method: string,
  path: string,
  body?: unknown,
  auth: string | null = app.auth,
): Promise<{ status: number; body: any; text: string }> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (auth) headers.authorization = auth;
  const res = await fetch(app.url + path, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, text };
}
