import { sql, type ExpressionBuilder, type Kysely, type SelectQueryBuilder, type Transaction } from "kysely";
import { IDEMPOTENCY_WINDOW_MS, type Attempt, type Message, type MessageDraft, type MessageState } from "../domain/message.js";
import type { ChangeFeed } from "./change-feed.js";
import type { Database, MessageAttemptsTable, MessagesTable } from "./schema.js";

/** A message claimed by one worker under a lease. */
export interface OutboxClaim {
  message: Message;
  attemptCount: number;
  ageBaseAt: Date;
}

/** How an attempt ends the claim. */
export interface AttemptResolution {
  state: Extract<MessageState, "sent" | "retrying" | "dead">;
  nextAttemptAt: Date | null;
  lastError: string;
}

/** One finished attempt on a claimed message. */
export interface AttemptRecord {
  id: string;
  attempt: Attempt;
  resolution: AttemptResolution;
}

/** The durable outbox: accepted messages, their claims by workers and their attempt log. */
export interface Outbox {
  /** Stores a message (or finds the one with the same idempotency key within 24 h) and commits. */
  enqueue(instanceId: string, draft: MessageDraft, ids: { id: string; headerMessageId: string }, now: Date): Promise<{ id: string; duplicate: boolean }>;
  get(instanceId: string, id: string): Promise<Message | undefined>;
  list(instanceId: string, query: { state?: MessageState; offset: number; limit: number }): Promise<{ total: number; messages: Message[] }>;
  /** Leases up to `limit` due (queued or retrying) messages of instances with an active provider. */
  claim(owner: string, limit: number, leaseMs: number, now: Date): Promise<OutboxClaim[]>;
  renewLeases(owner: string, ids: string[], leaseMs: number, now: Date): Promise<void>;
  /**
   * Records attempts and their messages' new states in one transaction; for each record, false
   * when the lease was lost meanwhile (that record is left out).
   */
  recordAttempts(owner: string, records: AttemptRecord[]): Promise<boolean[]>;
  /** Gives a claimed message back without an attempt (e.g. no active provider any more). */
  release(owner: string, id: string, now: Date): Promise<void>;
  /**
   * Makes claimed messages due again: those whose lease ran out (a node died or stalled), or,
   * for a single node starting up, every one.
   */
  releaseLeases(now: Date, options: { expiredOnly: boolean }): Promise<number>;
  /** Applies `transition` to a message's state in one transaction (requeue, cancel). */
  transition(
    instanceId: string,
    id: string,
    check: (state: MessageState) => void,
    to: "queued" | "cancelled",
    now: Date,
  ): Promise<Message | undefined>;
  /** The earliest time a queued or retrying message is due, for the worker's sleep. */
  nextDue(): Promise<Date | null>;
}

const num = (v: number | string | bigint) => Number(v);

/** Messages wait while their instance has no active provider; this is the condition. */
const activeProviderOf = (eb: ExpressionBuilder<Database & { m: MessagesTable }, "m">) =>
  eb.selectFrom("email_providers as p").select(sql.lit(1).as("one")).whereRef("p.instance_id", "=", "m.instance_id").where("p.state", "=", "active");
const date = (v: number | string | null) => (v === null ? null : new Date(num(v)));

function toAttempt(row: MessageAttemptsTable): Attempt {
  return {
    time: new Date(num(row.time)),
    providerId: row.provider_id,
    ok: Boolean(row.ok),
    permanent: Boolean(row.permanent),
    smtpCode: row.smtp_code ?? undefined,
    httpStatus: row.http_status ?? undefined,
    detail: row.detail,
    durationMs: row.duration_ms,
    nodeId: row.node_id,
  };
}

function toMessage(row: MessagesTable, attempts: Attempt[]): Message {
  const recipients = JSON.parse(row.recipients) as { to: string[]; cc: string[]; bcc: string[] };
  return {
    instanceId: row.instance_id,
    id: row.id,
    state: row.state as MessageState,
    ...recipients,
    subject: row.subject,
    text: row.text_body,
    html: row.html_body,
    replyTo: row.reply_to,
    idempotencyKey: row.idempotency_key ?? "",
    headerMessageId: row.header_message_id,
    createdAt: new Date(num(row.created_at)),
    updatedAt: new Date(num(row.updated_at)),
    nextAttemptAt: date(row.next_attempt_at),
    sentAt: date(row.sent_at),
    lastError: row.last_error,
    attempts,
  };
}

/** Most messages committed in one transaction. */
const MAX_ENQUEUES_PER_WRITE = 128;

interface PendingEnqueue {
  instanceId: string;
  draft: MessageDraft;
  ids: { id: string; headerMessageId: string };
  now: Date;
  accepted(result: { id: string; duplicate: boolean }): void;
  failed(err: unknown): void;
}

export class KyselyOutbox implements Outbox {
  private pendingEnqueues: PendingEnqueue[] = [];
  private enqueuing = false;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: "sqlite" | "postgres",
    private readonly feed: ChangeFeed,
  ) {}

  private async withAttempts(db: Kysely<Database> | Transaction<Database>, rows: MessagesTable[]): Promise<Message[]> {
    if (rows.length === 0) return [];
    const attempts = await db
      .selectFrom("message_attempts")
      .selectAll()
      .where(
        "message_id",
        "in",
        rows.map((r) => r.id),
      )
      .orderBy("message_id")
      .orderBy("n")
      .execute();
    const byMessage = new Map<string, Attempt[]>();
    for (const a of attempts) {
      const list = byMessage.get(a.message_id) ?? [];
      list.push(toAttempt(a));
      byMessage.set(a.message_id, list);
    }
    return rows.map((r) => toMessage(r, byMessage.get(r.id) ?? []));
  }

  enqueue(
    instanceId: string,
    draft: MessageDraft,
    ids: { id: string; headerMessageId: string },
    now: Date,
  ): Promise<{ id: string; duplicate: boolean }> {
    return new Promise((accepted, failed) => {
      this.pendingEnqueues.push({ instanceId, draft, ids, now, accepted, failed });
      if (!this.enqueuing) void this.writeEnqueues();
    });
  }

  /**
   * Group commit: messages accepted while a write is under way (or in the same turn of the event
   * loop) are committed together, and each caller hears back only after that commit.
   */
  private async writeEnqueues(): Promise<void> {
    this.enqueuing = true;
    await new Promise((resolve) => setImmediate(resolve));
    while (this.pendingEnqueues.length > 0) {
      const batch = this.pendingEnqueues.splice(0, MAX_ENQUEUES_PER_WRITE);
      try {
        const results = await this.commitEnqueues(batch);
        batch.forEach((e, i) => e.accepted(results[i]!));
      } catch (err) {
        if (batch.length === 1) {
          batch[0]!.failed(err);
          continue;
        }
        // One message's failure (say, a concurrent duplicate key) must not fail the others.
        for (const e of batch) await this.commitEnqueues([e]).then((r) => e.accepted(r[0]!), e.failed);
      }
    }
    this.enqueuing = false;
  }

  private async commitEnqueues(batch: PendingEnqueue[]): Promise<{ id: string; duplicate: boolean }[]> {
    const results = await this.db.transaction().execute(async (tx) => {
      const out: { id: string; duplicate: boolean }[] = [];
      for (const e of batch) out.push(await this.insertDraft(tx, e));
      if (out.some((r) => !r.duplicate)) await this.feed.publish(tx, { kind: "outbox" });
      return out;
    });
    if (results.some((r) => !r.duplicate)) this.feed.committed([{ kind: "outbox" }]);
    return results;
  }

  private async insertDraft(tx: Transaction<Database>, { instanceId, draft, ids, now }: PendingEnqueue): Promise<{ id: string; duplicate: boolean }> {
    const key = draft.idempotencyKey || null;
    if (key) {
      const existing = await tx
        .selectFrom("messages")
        .select(["id", "created_at"])
        .where("instance_id", "=", instanceId)
        .where("idempotency_key", "=", key)
        .executeTakeFirst();
      if (existing && now.getTime() - num(existing.created_at) < IDEMPOTENCY_WINDOW_MS) return { id: existing.id, duplicate: true };
      // An expired key is free again: the old message keeps its record without it.
      if (existing) await tx.updateTable("messages").set({ idempotency_key: null }).where("id", "=", existing.id).execute();
    }
    await tx
      .insertInto("messages")
      .values({
        id: ids.id,
        instance_id: instanceId,
        state: "queued",
        recipients: JSON.stringify({ to: draft.to, cc: draft.cc, bcc: draft.bcc }),
        subject: draft.subject,
        text_body: draft.text,
        html_body: draft.html,
        reply_to: draft.replyTo,
        header_message_id: ids.headerMessageId,
        idempotency_key: key,
        created_at: now.getTime(),
        updated_at: now.getTime(),
        age_base_at: now.getTime(),
        next_attempt_at: now.getTime(),
        sent_at: null,
        attempt_count: 0,
        last_error: "",
        lease_owner: null,
        lease_until: null,
      })
      .execute();
    return { id: ids.id, duplicate: false };
  }

  async get(instanceId: string, id: string): Promise<Message | undefined> {
    const row = await this.db.selectFrom("messages").selectAll().where("instance_id", "=", instanceId).where("id", "=", id).executeTakeFirst();
    return row && (await this.withAttempts(this.db, [row]))[0];
  }

  async list(instanceId: string, query: { state?: MessageState; offset: number; limit: number }): Promise<{ total: number; messages: Message[] }> {
    let base = this.db.selectFrom("messages").where("instance_id", "=", instanceId);
    if (query.state) base = base.where("state", "=", query.state);
    const [rows, count] = await Promise.all([
      base.selectAll().orderBy("created_at", "desc").orderBy("id", "desc").limit(query.limit).offset(query.offset).execute(),
      base.select((eb) => eb.fn.countAll().as("n")).executeTakeFirstOrThrow(),
    ]);
    return { total: num(count.n as number), messages: await this.withAttempts(this.db, rows) };
  }

  async claim(owner: string, limit: number, leaseMs: number, now: Date): Promise<OutboxClaim[]> {
    const t = now.getTime();
    // Only queued and retrying messages have a next attempt time: the index on it yields the
    // oldest due ones directly, however large the backlog.
    let due = this.db
      .selectFrom("messages as m")
      .select("m.id")
      .where("m.next_attempt_at", "<=", t)
      .where((eb) => eb.exists(activeProviderOf(eb)))
      .orderBy("m.next_attempt_at")
      .limit(limit);
    if (this.dialect === "postgres") due = due.forUpdate().skipLocked();
    const rows = await this.db
      .updateTable("messages")
      .set((eb) => ({
        state: "sending",
        lease_owner: owner,
        lease_until: t + leaseMs,
        next_attempt_at: null,
        updated_at: t,
        // The retry age limit counts from the first attempt: time spent waiting for a provider
        // to be activated does not count against a message.
        age_base_at: eb.case().when("attempt_count", "=", 0).then(t).else(eb.ref("age_base_at")).end(),
      }))
      .where("id", "in", due)
      .returningAll()
      .execute();
    // The worker needs the message, not its attempt log: no second query on the hot path.
    return rows.map((row) => ({ message: toMessage(row, []), attemptCount: row.attempt_count, ageBaseAt: new Date(num(row.age_base_at)) }));
  }

  async renewLeases(owner: string, ids: string[], leaseMs: number, now: Date): Promise<void> {
    if (ids.length === 0) return;
    const held = this.inIdOrder(this.db.selectFrom("messages").select("id").where("id", "in", ids).where("lease_owner", "=", owner).where("state", "=", "sending"));
    await this.db
      .updateTable("messages")
      .set({ lease_until: now.getTime() + leaseMs })
      .where("id", "in", held)
      .execute();
  }

  /**
   * On PostgreSQL, locks the rows a statement is about to change in id order. Every statement
   * that waits for message rows takes them in this order, so a node's lease renewal and its own
   * attempt records (or another node's takeover) queue behind each other instead of deadlocking.
   */
  private inIdOrder<Q extends SelectQueryBuilder<Database, "messages", { id: string }>>(query: Q, skipLocked = false): Q {
    if (this.dialect !== "postgres") return query;
    const locked = query.orderBy("id").forUpdate() as Q;
    return skipLocked ? (locked.skipLocked() as Q) : locked;
  }

  async recordAttempts(owner: string, records: AttemptRecord[]): Promise<boolean[]> {
    if (records.length === 0) return [];
    return this.db.transaction().execute(async (tx) => {
      const held = await this.inIdOrder(
        tx
          .selectFrom("messages")
          .select(["id", "attempt_count"])
          .where(
            "id",
            "in",
            records.map((r) => r.id),
          )
          .where("lease_owner", "=", owner)
          .where("state", "=", "sending"),
      ).execute();
      const attemptCounts = new Map(held.map((row) => [row.id, row.attempt_count]));
      const kept = records.filter((r) => attemptCounts.has(r.id));
      if (kept.length === 0) return records.map(() => false);
      await tx
        .insertInto("message_attempts")
        .values(
          kept.map(({ id, attempt }) => ({
            message_id: id,
            n: attemptCounts.get(id)! + 1,
            time: attempt.time.getTime(),
            provider_id: attempt.providerId,
            ok: attempt.ok ? 1 : 0,
            permanent: attempt.permanent ? 1 : 0,
            smtp_code: attempt.smtpCode ?? null,
            http_status: attempt.httpStatus ?? null,
            detail: attempt.detail,
            duration_ms: Math.round(attempt.durationMs),
            node_id: attempt.nodeId,
          })),
        )
        .execute();
      const now = Date.now();
      for (const { id, attempt, resolution } of kept) {
        await tx
          .updateTable("messages")
          .set({
            state: resolution.state,
            attempt_count: attemptCounts.get(id)! + 1,
            next_attempt_at: resolution.nextAttemptAt?.getTime() ?? null,
            last_error: resolution.lastError,
            sent_at: resolution.state === "sent" ? attempt.time.getTime() : null,
            lease_owner: null,
            lease_until: null,
            updated_at: now,
          })
          .where("id", "=", id)
          .execute();
      }
      return records.map((r) => attemptCounts.has(r.id));
    });
  }

  async release(owner: string, id: string, now: Date): Promise<void> {
    await this.db
      .updateTable("messages")
      .set((eb) => ({
        state: eb.case().when("attempt_count", "=", 0).then("queued").else("retrying").end(),
        lease_owner: null,
        lease_until: null,
        next_attempt_at: now.getTime(),
        updated_at: now.getTime(),
      }))
      .where("id", "=", id)
      .where("lease_owner", "=", owner)
      .where("state", "=", "sending")
      .execute();
  }

  async releaseLeases(now: Date, options: { expiredOnly: boolean }): Promise<number> {
    const t = now.getTime();
    let expired = this.db.selectFrom("messages").select("id").where("state", "=", "sending");
    if (options.expiredOnly) expired = expired.where("lease_until", "<", t);
    // A row its owner is recording right now is skipped: that record ends the lease anyway.
    const result = await this.db
      .updateTable("messages")
      .set((eb) => ({
        state: eb.case().when("attempt_count", "=", 0).then("queued").else("retrying").end(),
        lease_owner: null,
        lease_until: null,
        next_attempt_at: t,
        updated_at: t,
      }))
      .where("id", "in", this.inIdOrder(expired, true))
      .executeTakeFirst();
    return num(result.numUpdatedRows);
  }

  async transition(
    instanceId: string,
    id: string,
    check: (state: MessageState) => void,
    to: "queued" | "cancelled",
    now: Date,
  ): Promise<Message | undefined> {
    const message = await this.db.transaction().execute(async (tx) => {
      let query = tx.selectFrom("messages").selectAll().where("instance_id", "=", instanceId).where("id", "=", id);
      // A worker claiming or recording the message meanwhile waits for this transaction.
      if (this.dialect === "postgres") query = query.forUpdate();
      const row = await query.executeTakeFirst();
      if (!row) return undefined;
      check(row.state as MessageState);
      const t = now.getTime();
      const changes =
        to === "queued"
          ? { state: to, next_attempt_at: t, age_base_at: t, updated_at: t, last_error: row.last_error }
          : { state: to, next_attempt_at: null, updated_at: t };
      const updated = await tx
        .updateTable("messages")
        .set(changes)
        .where("id", "=", id)
        .where("state", "=", row.state)
        .returningAll()
        .executeTakeFirstOrThrow();
      if (to === "queued") await this.feed.publish(tx, { kind: "outbox" });
      return (await this.withAttempts(tx, [updated]))[0];
    });
    if (message && to === "queued") this.feed.committed([{ kind: "outbox" }]);
    return message;
  }

  async nextDue(): Promise<Date | null> {
    const row = await this.db
      .selectFrom("messages as m")
      .select((eb) => eb.fn.min("m.next_attempt_at").as("due"))
      .where("m.state", "in", ["queued", "retrying"])
      .where((eb) => eb.exists(activeProviderOf(eb)))
      .executeTakeFirst();
    return row?.due == null ? null : new Date(num(row.due as number));
  }
}
