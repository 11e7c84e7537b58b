import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { resolve } from "node:path";

/** The operator contract: every setting mailroom reads from its environment, read once here. */
export interface Config {
  listen: { host: string; port: number };
  dataDir: string;
  masterKey?: string;
  masterKeyFile?: string;
  bootstrapToken?: string;
  databaseUrl?: string;
  logLevel: string;
  /** The name mailroom announces in EHLO; the machine's host name unless set. */
  ehloName: string;
  /** CIDR ranges webhook endpoints may not resolve into (empty: no deny-list). */
  webhookDenyList: string[];
  delivery: DeliveryConfig;
}

export interface DeliveryConfig {
  /** Identifies this process's claims in the outbox. */
  nodeId: string;
  concurrency: number;
  leaseMs: number;
  pollMs: number;
  maxAttempts: number;
  maxAgeMs: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_WEBHOOK_DENY_LIST = [
  "0.0.0.0/8",
  "10.0.0.0/8",
  "100.64.0.0/10",
  "127.0.0.0/8",
  "169.254.0.0/16",
  "172.16.0.0/12",
  "192.168.0.0/16",
  "198.18.0.0/15",
  "::/128",
  "::1/128",
  "fc00::/7",
  "fe80::/10",
];

/** Documented for `mailroom serve --help` and the README. */
export const environmentHelp = `Environment:
  MAILROOM_LISTEN              host:port to serve on (default 127.0.0.1:8080)
  MAILROOM_DATA_DIR            directory for the SQLite database and a generated key (default ./data)
  MAILROOM_MASTER_KEY          base64 of 32 bytes; encrypts secrets at rest
  MAILROOM_MASTER_KEY_FILE     file holding the master key (first line), previous keys after it
                               (neither set: a key is generated into the data dir on first start)
  MAILROOM_BOOTSTRAP_TOKEN     this string is an IAM_OWNER token of the default instance
                               (unset: a random one is printed on the first start)
  MAILROOM_DATABASE_URL        postgres://... to use PostgreSQL instead of the embedded SQLite
  MAILROOM_LOG_LEVEL           trace, debug, info, warn, error, fatal, silent (default info)
  MAILROOM_EHLO_NAME           name announced in EHLO/HELO (default: this machine's host name)
  MAILROOM_WEBHOOK_DENY_LIST   comma-separated CIDRs webhook endpoints may not reach
                               (default: private, loopback and link-local ranges; "none" for none)
  MAILROOM_DELIVERY_CONCURRENCY   messages claimed and in flight at once per process (default 64)
  MAILROOM_RETRY_MAX_ATTEMPTS     attempts before a temporarily failing message is dead (default 12)
  MAILROOM_RETRY_MAX_AGE_SECONDS  time after the first attempt (or a requeue) after which a temporarily failing message is dead (default 86400)
  MAILROOM_RETRY_BASE_DELAY_MS    first retry delay; doubles per attempt, with jitter (default 5000)
  MAILROOM_RETRY_MAX_DELAY_MS     longest delay between attempts (default 900000)
  MAILROOM_DELIVERY_LEASE_MS      how long a claim survives its node without renewal (default 15000)`;

export class ConfigError extends Error {}

export function parseListen(value: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value.trim());
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) {
    throw new ConfigError(`MAILROOM_LISTEN must be host:port, e.g. 127.0.0.1:8080 or [::1]:8080 (got "${value}")`);
  }
  return { host: match[1] ?? (match[2] || "0.0.0.0"), port };
}

function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new ConfigError(`${name} must be a positive integer (got "${raw}")`);
  return value;
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const masterKey = env.MAILROOM_MASTER_KEY || undefined;
  const masterKeyFile = env.MAILROOM_MASTER_KEY_FILE || undefined;
  if (masterKey && masterKeyFile) {
    throw new ConfigError("set either MAILROOM_MASTER_KEY or MAILROOM_MASTER_KEY_FILE, not both");
  }
  const denyList = env.MAILROOM_WEBHOOK_DENY_LIST;
  const databaseUrl = env.MAILROOM_DATABASE_URL || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError("MAILROOM_DATABASE_URL must be a postgres:// or postgresql:// URL");
  }
  return {
    listen: parseListen(env.MAILROOM_LISTEN || "127.0.0.1:8080"),
    dataDir: resolve(env.MAILROOM_DATA_DIR || "./data"),
    masterKey,
    masterKeyFile: masterKeyFile && resolve(masterKeyFile),
    bootstrapToken: env.MAILROOM_BOOTSTRAP_TOKEN || undefined,
    databaseUrl,
    logLevel: env.MAILROOM_LOG_LEVEL || "info",
    ehloName: env.MAILROOM_EHLO_NAME || hostname(),
    webhookDenyList:
      denyList === undefined
        ? DEFAULT_WEBHOOK_DENY_LIST
        : denyList.trim() === "none"
          ? []
          : denyList.split(",").map((s) => s.trim()).filter(Boolean),
    delivery: {
      nodeId: `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`,
      concurrency: positiveInt(env, "MAILROOM_DELIVERY_CONCURRENCY", 64),
      leaseMs: positiveInt(env, "MAILROOM_DELIVERY_LEASE_MS", 15_000),
      pollMs: 1000,
      maxAttempts: positiveInt(env, "MAILROOM_RETRY_MAX_ATTEMPTS", 12),
      maxAgeMs: positiveInt(env, "MAILROOM_RETRY_MAX_AGE_SECONDS", 86_400) * 1000,
      baseDelayMs: positiveInt(env, "MAILROOM_RETRY_BASE_DELAY_MS", 5000),
      maxDelayMs: positiveInt(env, "MAILROOM_RETRY_MAX_DELAY_MS", 900_000),
    },
  };
}
