import { Kysely, Migrator, sql, type Migration, type Transaction } from "kysely";
import { applyProviderEvent, type Provider, type ProviderEvent } from "../domain/provider.js";
import * as m0001 from "./migrations/0001_providers.js";
import * as m0002 from "./migrations/0002_outbox.js";
import * as m0003 from "./migrations/0003_attempt_node.js";
import * as m0004 from "./migrations/0004_due_index.js";
import { isUniqueViolation } from "./errors.js";
import { KyselyOutbox, type Outbox } from "./outbox.js";
import type { ChangeFeed, ChangeListener, StoreChange } from "./change-feed.js";
import type { Database, EmailProvidersTable, TokensTable } from "./schema.js";
import type {
  Actor,
  CommitResult,
  Instance,
  ListQuery,
  ProviderReader,
  Store,
  StoredEvent,
  TokenRecord,
} from "./store.js";

export const migrations: Record<string, Migration> = {
  "0001_providers": m0001,
  "0002_outbox": m0002,
  "0003_attempt_node": m0003,
  "0004_due_index": m0004,
};

export async function migrate(db: Kysely<Database>): Promise<void> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === "Error")?.migrationName ?? "unknown";
    throw new Error(`database migration ${failed} failed: ${(error as Error).message}`);
  }
}

/**
 * Runs `fn` while holding the PostgreSQL session advisory lock `key`: another process asking for
 * the same key waits until `fn` has finished. `fn` gets the pooled connection that holds the lock.
 */
export async function withAdvisoryLock<T>(db: Kysely<Database>, key: number, fn: (conn: Kysely<Database>) => Promise<T>): Promise<T> {
  return db.connection().execute(async (conn) => {
    await sql`select pg_advisory_lock(${key})`.execute(conn);
    try {
      return await fn(conn);
    } finally {
      await sql`select pg_advisory_unlock(${key})`.execute(conn);
    }
  });
}

const num = (v: number | string | bigint): number => Number(v);

function toProvider(row: EmailProvidersTable): Provider {
  const config = JSON.parse(row.config);
  return {
    instanceId: row.instance_id,
    id: row.id,
    description: row.description,
    state: row.state,
    config: row.kind === "smtp" ? { kind: "smtp", smtp: config } : { kind: "http", http: config },
    createdAt: new Date(num(row.created_at)),
    changedAt: new Date(num(row.changed_at)),
    sequence: num(row.sequence),
  };
}

function toRow(p: Provider): EmailProvidersTable {
  return {
    instance_id: p.instanceId,
    id: p.id,
    kind: p.config.kind,
    state: p.state,
    description: p.description,
    config: JSON.stringify(p.config.kind === "smtp" ? p.config.smtp : p.config.http),
    created_at: p.createdAt.getTime(),
    changed_at: p.changedAt.getTime(),
    sequence: p.sequence,
  };
}

function toToken(row: TokensTable): TokenRecord {
  return {
    id: row.id,
    instanceId: row.instance_id,
    role: row.role,
    description: row.description,
    createdAt: new Date(num(row.created_at)),
    revokedAt: row.revoked_at === null ? null : new Date(num(row.revoked_at)),
  };
}

class Reader implements ProviderReader {
  constructor(protected readonly db: Kysely<Database> | Transaction<Database>) {}

  async getProvider(instanceId: string, id: string): Promise<Provider | undefined> {
    const row = await this.db.selectFrom("email_providers").selectAll().where("instance_id", "=", instanceId).where("id", "=", id).executeTakeFirst();
    return row && toProvider(row);
  }

  async getActiveProvider(instanceId: string): Promise<Provider | undefined> {
    const row = await this.db
      .selectFrom("email_providers")
      .selectAll()
      .where("instance_id", "=", instanceId)
      .where("state", "=", "active")
      .executeTakeFirst();
    return row && toProvider(row);
  }

  async listProviders(instanceId: string, query: ListQuery): Promise<{ total: number; providers: Provider[] }> {
    const direction = query.asc ? "asc" : "desc";
    const [rows, count] = await Promise.all([
      this.db
        .selectFrom("email_providers")
        .selectAll()
        .where("instance_id", "=", instanceId)
        .orderBy("created_at", direction)
        .orderBy("id", direction)
        .limit(query.limit)
        .offset(query.offset)
        .execute(),
      this.db.selectFrom("email_providers").select((eb) => eb.fn.countAll().as("n")).where("instance_id", "=", instanceId).executeTakeFirstOrThrow(),
    ]);
    return { total: num(count.n as number), providers: rows.map(toProvider) };
  }
}

/** Thrown inside a commit when another writer took the instance's next sequence first. */
class SequenceConflict extends Error {}


const SEALED = /^v1:[0-9a-f]{16}:/;

/** How long a commit that keeps losing the race for the instance's next sequence is retried. */
const COMMIT_RETRY_BUDGET_MS = 10_000;

/** Advisory lock key of `exclusive` sections on PostgreSQL. */
const BOOTSTRAP_LOCK = 0x6d726273;

function resealJson(value: unknown, reseal: (sealed: string) => string): { value: unknown; count: number } {
  if (typeof value === "string") return SEALED.test(value) ? { value: reseal(value), count: 1 } : { value, count: 0 };
  if (Array.isArray(value)) {
    let count = 0;
    const out = value.map((v) => {
      const r = resealJson(v, reseal);
      count += r.count;
      return r.value;
    });
    return { value: out, count };
  }
  if (value && typeof value === "object") {
    let count = 0;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const r = resealJson(v, reseal);
      count += r.count;
      out[k] = r.value;
    }
    return { value: out, count };
  }
  return { value, count: 0 };
}

/** The store on Kysely; the dialect-specific parts (connections, change feed) are passed in. */
export class KyselyStore extends Reader implements Store {
  readonly outbox: Outbox;

  constructor(
    protected override readonly db: Kysely<Database>,
    readonly dialect: "sqlite" | "postgres",
    private readonly feed: ChangeFeed,
  ) {
    super(db);
    this.outbox = new KyselyOutbox(db, dialect, feed);
  }

  async commitProviderEvents(
    instanceId: string,
    actor: Actor,
    decide: (view: ProviderReader) => Promise<ProviderEvent[]> | ProviderEvent[],
  ): Promise<CommitResult | undefined> {
    const deadline = Date.now() + COMMIT_RETRY_BUDGET_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await this.db.transaction().execute((tx) => this.commitOnce(tx, instanceId, actor, decide));
        if (result) this.feed.committed([result.change]);
        return result && { sequence: result.sequence, time: result.time };
      } catch (err) {
        if (!(err instanceof SequenceConflict || isUniqueViolation(err)) || Date.now() > deadline) throw err;
        // Many writers on one instance: spread the retries so one of them wins each round.
        await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 ** attempt)));
      }
    }
  }

  private async commitOnce(
    tx: Transaction<Database>,
    instanceId: string,
    actor: Actor,
    decide: (view: ProviderReader) => Promise<ProviderEvent[]> | ProviderEvent[],
  ): Promise<(CommitResult & { change: StoreChange }) | undefined> {
    const instance = await tx.selectFrom("instances").select("sequence").where("id", "=", instanceId).executeTakeFirst();
    if (!instance) throw new Error(`instance ${instanceId} does not exist`);
    const events = await decide(new Reader(tx));
    if (events.length === 0) return undefined;
    const before = num(instance.sequence);
    const time = new Date();
    let sequence = before;
    const touched: string[] = [];
    for (const event of events) {
      sequence += 1;
      const id = event.payload.id;
      await tx
        .insertInto("events")
        .values({
          instance_id: instanceId,
          sequence,
          type: event.type,
          aggregate_id: id,
          created_at: time.getTime(),
          actor,
          payload: JSON.stringify(event.payload),
        })
        .execute();
      await this.project(tx, instanceId, event, { instanceId, sequence, time }, touched);
    }
    const bumped = await tx
      .updateTable("instances")
      .set({ sequence })
      .where("id", "=", instanceId)
      .where("sequence", "=", before)
      .executeTakeFirst();
    if (num(bumped.numUpdatedRows) !== 1) throw new SequenceConflict();
    const change: StoreChange = { kind: "providers", instanceId, providerIds: touched, fromSequence: before + 1 };
    await this.feed.publish(tx, change);
    return { sequence, time, change };
  }

  private async project(
    tx: Transaction<Database>,
    instanceId: string,
    event: ProviderEvent,
    meta: { instanceId: string; sequence: number; time: Date },
    touched: string[],
  ): Promise<void> {
    const id = event.payload.id;
    const current = await new Reader(tx).getProvider(instanceId, id);
    if (event.type === "instance.smtp.config.activated") {
      // The previously active provider becomes inactive in the same transaction.
      const previous = await tx
        .updateTable("email_providers")
        .set({ state: "inactive", changed_at: meta.time.getTime(), sequence: meta.sequence })
        .where("instance_id", "=", instanceId)
        .where("state", "=", "active")
        .where("id", "!=", id)
        .returning("id")
        .execute();
      touched.push(...previous.map((r) => r.id));
    }
    const next = applyProviderEvent(current, event, meta);
    touched.push(id);
    if (!next) {
      await tx.deleteFrom("email_providers").where("instance_id", "=", instanceId).where("id", "=", id).execute();
    } else if (!current) {
      await tx.insertInto("email_providers").values(toRow(next)).execute();
    } else {
      const { instance_id: _i, id: _id, ...changes } = toRow(next);
      await tx.updateTable("email_providers").set(changes).where("instance_id", "=", instanceId).where("id", "=", id).execute();
    }
  }

  onChange(listener: ChangeListener): () => void {
    return this.feed.subscribe(listener);
  }

  async listEvents(instanceId: string, afterSequence = 0): Promise<StoredEvent[]> {
    const rows = await this.db
      .selectFrom("events")
      .selectAll()
      .where("instance_id", "=", instanceId)
      .where("sequence", ">", afterSequence)
      .orderBy("sequence")
      .execute();
    return rows.map((r) => ({
      instanceId: r.instance_id,
      sequence: num(r.sequence),
      type: r.type,
      aggregateId: r.aggregate_id,
      time: new Date(num(r.created_at)),
      actor: r.actor,
      payload: JSON.parse(r.payload),
    }));
  }

  async getInstance(id: string): Promise<Instance | undefined> {
    const row = await this.db.selectFrom("instances").selectAll().where("id", "=", id).executeTakeFirst();
    return row && { id: row.id, name: row.name, sequence: num(row.sequence) };
  }

  async ensureDefaultInstance(id: string, name: string): Promise<Instance> {
    const first = await this.db.selectFrom("instances").selectAll().orderBy("created_at").limit(1).executeTakeFirst();
    if (first) return { id: first.id, name: first.name, sequence: num(first.sequence) };
    await this.db
      .insertInto("instances")
      .values({ id, name, sequence: 0, created_at: Date.now() })
      .onConflict((oc) => oc.doNothing())
      .execute();
    const row = await this.db.selectFrom("instances").selectAll().orderBy("created_at").limit(1).executeTakeFirstOrThrow();
    return { id: row.id, name: row.name, sequence: num(row.sequence) };
  }

  async createToken(token: { id: string; instanceId: string; role: string; tokenHash: string; description: string }): Promise<void> {
    await this.db
      .insertInto("tokens")
      .values({
        id: token.id,
        instance_id: token.instanceId,
        role: token.role,
        token_hash: token.tokenHash,
        description: token.description,
        created_at: Date.now(),
        revoked_at: null,
      })
      .execute();
  }

  async findTokenByHash(tokenHash: string): Promise<TokenRecord | undefined> {
    const row = await this.db.selectFrom("tokens").selectAll().where("token_hash", "=", tokenHash).executeTakeFirst();
    return row && toToken(row);
  }

  async listTokens(instanceId: string): Promise<TokenRecord[]> {
    const rows = await this.db.selectFrom("tokens").selectAll().where("instance_id", "=", instanceId).orderBy("created_at").execute();
    return rows.map(toToken);
  }

  async revokeToken(id: string): Promise<boolean> {
    const result = await this.db.updateTable("tokens").set({ revoked_at: Date.now() }).where("id", "=", id).where("revoked_at", "is", null).executeTakeFirst();
    return num(result.numUpdatedRows) === 1;
  }

  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.dialect !== "postgres") return fn();
    return withAdvisoryLock(this.db, BOOTSTRAP_LOCK, () => fn());
  }

  async resealSecrets(reseal: (sealed: string) => string): Promise<number> {
    return this.db.transaction().execute(async (tx) => {
      let count = 0;
      for (const row of await tx.selectFrom("email_providers").select(["instance_id", "id", "config"]).execute()) {
        const r = resealJson(JSON.parse(row.config), reseal);
        if (r.count === 0) continue;
        count += r.count;
        await tx
          .updateTable("email_providers")
          .set({ config: JSON.stringify(r.value) })
          .where("instance_id", "=", row.instance_id)
          .where("id", "=", row.id)
          .execute();
      }
      for (const row of await tx.selectFrom("events").select(["instance_id", "sequence", "payload"]).execute()) {
        const r = resealJson(JSON.parse(row.payload), reseal);
        if (r.count === 0) continue;
        count += r.count;
        await tx
          .updateTable("events")
          .set({ payload: JSON.stringify(r.value) })
          .where("instance_id", "=", row.instance_id)
          .where("sequence", "=", row.sequence)
          .execute();
      }
      return count;
    });
  }

  async close(): Promise<void> {
    await this.feed.close();
    await this.db.destroy();
  }
}
