import { Kysely, PostgresDialect, sql } from "kysely";
import pg from "pg";
import type { Logger } from "pino";
import { NOTIFY_CHANNEL, PostgresChangeFeed } from "../change-feed.js";
import { KyselyStore, migrate } from "../kysely-store.js";
import type { Database } from "../schema.js";

// Several mailroom nodes may start at once against one database: migrations run under an
// advisory lock so exactly one applies them.
const MIGRATION_LOCK = 0x6d61696c;

/** Keeps one connection LISTENing for changes, reconnecting after failures. */
class Listener {
  private client: pg.Client | undefined;
  private closed = false;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly connectionString: string,
    private readonly feed: PostgresChangeFeed,
    private readonly logger?: Logger,
  ) {}

  async start(): Promise<void> {
    const client = new pg.Client({ connectionString: this.connectionString });
    client.on("notification", (n) => {
      if (n.channel === NOTIFY_CHANNEL) this.feed.deliver(n.payload);
    });
    client.on("error", (err) => {
      this.logger?.warn({ err }, "lost the PostgreSQL LISTEN connection; reconnecting");
      void client.end().catch(() => undefined);
      this.schedule();
    });
    await client.connect();
    await client.query(`LISTEN ${NOTIFY_CHANNEL}`);
    this.client = client;
  }

  private schedule(): void {
    if (this.closed || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.start()
        .then(() => this.feed.resync())
        .catch(() => this.schedule());
    }, 1000);
    this.retry.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    await this.client?.end().catch(() => undefined);
  }
}

/** Opens (migrating) the PostgreSQL database at `url`. */
export async function openPostgresStore(url: string, logger?: Logger): Promise<KyselyStore> {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  pool.on("error", (err) => logger?.warn({ err }, "idle PostgreSQL connection failed"));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    await db.connection().execute(async (conn) => {
      await sql`select pg_advisory_lock(${MIGRATION_LOCK})`.execute(conn);
      try {
        await migrate(conn);
      } finally {
        await sql`select pg_advisory_unlock(${MIGRATION_LOCK})`.execute(conn);
      }
    });
  } catch (err) {
    await db.destroy();
    throw err;
  }
  const feed = new PostgresChangeFeed();
  const listener = new Listener(url, feed, logger);
  await listener.start();
  return new KyselyStore(db, "postgres", feed, () => listener.close());
}
