import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { startNode, type NodeProcess } from "../../test/support/node-process.js";

/**
 * Extra node flags for the mailroom children, e.g. MAILROOM_BENCH_NODE_ARGS="--cpu-prof
 * --cpu-prof-dir=/tmp/prof" to profile them.
 */
const NODE_ARGS = (process.env.MAILROOM_BENCH_NODE_ARGS ?? "").split(/\s+/).filter(Boolean);
import { ApiClient } from "./http.js";

export const BENCH_TOKEN = "bench-admin-token-0123456789abcdef";

/** A `mailroom serve` child process and a client for it. */
export interface BenchNode {
  process: NodeProcess;
  api: ApiClient;
  /** The error lines mailroom logged so far, for a failed run's report. */
  errorLog(): string;
  stop(): Promise<void>;
}

export interface NodeOptions {
  /** postgres:// URL; SQLite in a fresh data dir without it. */
  databaseUrl?: string;
  /** Shared by every node of one database. */
  masterKey?: string;
  env?: Record<string, string>;
  clients?: number;
}

export async function startBenchNode(options: NodeOptions = {}): Promise<BenchNode> {
  const dataDir = mkdtempSync(join(tmpdir(), "mailroom-bench-"));
  const child = await startNode({
    MAILROOM_DATA_DIR: dataDir,
    MAILROOM_BOOTSTRAP_TOKEN: BENCH_TOKEN,
    MAILROOM_MASTER_KEY: options.masterKey ?? randomBytes(32).toString("base64"),
    MAILROOM_LOG_LEVEL: "info",
    ...(options.databaseUrl ? { MAILROOM_DATABASE_URL: options.databaseUrl } : {}),
    ...options.env,
  }, 30_000, NODE_ARGS);
  const api = new ApiClient(child.url, BENCH_TOKEN, options.clients ?? 8);
  return {
    process: child,
    api,
    errorLog: () =>
      child
        .output()
        .split("\n")
        .filter((line) => /"level":(50|60)/.test(line))
        .join("\n"),
    async stop() {
      api.close();
      const code = await child.kill("SIGTERM");
      rmSync(dataDir, { recursive: true, force: true });
      if (code !== 0) throw new Error(`mailroom exited with ${code}:\n${child.output().slice(-2000)}`);
    },
  };
}

/** Adds a plain, unauthenticated SMTP provider for `host` and activates it. */
export async function activateSinkProvider(api: ApiClient, host: string): Promise<string> {
  const { id } = await api.call<{ id: string }>("POST", "/admin/v1/email/smtp", {
    senderAddress: "noreply@example.com",
    senderName: "Mailroom Bench",
    host,
    tls: false,
    description: "bench sink",
  });
  await api.call("POST", `/admin/v1/email/${id}/_activate`, {});
  return id;
}

/** A typical transactional notification: one recipient, a subject, text and HTML. */
export function notification(i: number) {
  return {
    to: [`user${i}@example.com`],
    subject: `Your sign-in code (${i})`,
    text: `Hello,\n\nyour sign-in code is ${100000 + (i % 900000)}. It expires in 10 minutes.\n\nIf you did not ask for it, ignore this message.\n`,
    html: `<p>Hello,</p><p>your sign-in code is <b>${100000 + (i % 900000)}</b>. It expires in 10 minutes.</p><p>If you did not ask for it, ignore this message.</p>`,
  };
}

const ADMIN_URL = process.env.MAILROOM_BENCH_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

/** A fresh PostgreSQL database for one benchmark run, dropped by `drop`. */
export async function createBenchDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `mailroom_bench_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: ADMIN_URL });
      await c.connect();
      try {
        await c.query(`drop database if exists ${name} with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}
