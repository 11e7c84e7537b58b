import type { Generated } from "kysely";

// The database schema as types; migrations.ts creates it. Times are epoch milliseconds, JSON
// columns hold text, so the same queries run on SQLite and PostgreSQL.

export interface InstancesTable {
  id: string;
  name: string;
  /** The last event sequence of the instance; bumped by every commit (optimistic concurrency). */
  sequence: number | string;
  created_at: number | string;
}

export interface EventsTable {
  instance_id: string;
  sequence: number | string;
  type: string;
  aggregate_id: string;
  created_at: number | string;
  /** Who made the change: "token:<id>" or "cli". */
  actor: string;
  /** JSON; secrets inside are sealed. */
  payload: string;
}

export interface EmailProvidersTable {
  instance_id: string;
  id: string;
  kind: "smtp" | "http";
  state: "active" | "inactive";
  description: string;
  /** JSON of SmtpSettings or HttpSettings; secrets inside are sealed. */
  config: string;
  created_at: number | string;
  changed_at: number | string;
  sequence: number | string;
}

export interface TokensTable {
  id: string;
  instance_id: string;
  role: string;
  /** SHA-256 of the token, hex. */
  token_hash: string;
  description: string;
  created_at: number | string;
  revoked_at: number | string | null;
}

export interface Database extends OutboxDatabase {
  instances: InstancesTable;
  events: EventsTable;
  email_providers: EmailProvidersTable;
  tokens: TokensTable;
}

export type Row<T> = { [K in keyof T]: T[K] extends Generated<infer U> ? U : T[K] };

export interface MessagesTable {
  id: string;
  instance_id: string;
  state: string;
  /** JSON {to, cc, bcc}. */
  recipients: string;
  subject: string;
  text_body: string;
  html_body: string;
  reply_to: string;
  header_message_id: string;
  idempotency_key: string | null;
  created_at: number | string;
  updated_at: number | string;
  /** Where the retry age limit counts from: acceptance, or the last requeue. */
  age_base_at: number | string;
  next_attempt_at: number | string | null;
  sent_at: number | string | null;
  attempt_count: number;
  last_error: string;
  lease_owner: string | null;
  lease_until: number | string | null;
}

export interface MessageAttemptsTable {
  message_id: string;
  n: number;
  time: number | string;
  provider_id: string;
  ok: number;
  permanent: number;
  smtp_code: number | null;
  http_status: number | null;
  detail: string;
  duration_ms: number;
  node_id: string;
}

export interface OutboxDatabase {
  messages: MessagesTable;
  message_attempts: MessageAttemptsTable;
}
