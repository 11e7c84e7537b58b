import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import type { Logger } from "pino";
import { NOTIFY_CHANNEL, PostgresChangeFeed, type NotificationListener } from "../change-feed.js";
import { KyselyStore, migrate, withAdvisoryLock } from "../kysely-store.js";
import type { Database } from "../schema.js";

// Several mailroom nodes may start at once against one database: migrations run under an
// advisory lock so exactly one applies them.
const MIGRATION_LOCK = 0x6d61696c;

/**
 * Keeps one connection LISTENing for changes, reconnecting after failures. Each time the LISTEN
 * takes effect (the first time included) the feed resyncs, since changes committed while no
 * connection was listening were not heard.
 */
class Listener implements NotificationListener {
  private client: pg.Client | undefined;
  private closed = false;
  private retry: NodeJS.Timeout | undefined;
  private connecting: Promise<void> = Promise.resolve();

  constructor(
    private readonly connectionString: string,
    private readonly feed: PostgresChangeFeed,
    private readonly logger?: Logger,
  ) {}

  /** Connects in the background; a failure is retried every second until closed. */
  start(retrying = false): void {
    this.connecting = this.connect()
      .then(() => {
        if (!this.closed) this.feed.resync();
      })
      .catch((err) => {
        if (!retrying) this.logger?.warn({ err }, "could not LISTEN on PostgreSQL; retrying");
        this.schedule();
      });
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.connectionString });
    client.on("notification", (n) => {
      if (n.channel === NOTIFY_CHANNEL) this.feed.deliver(n.payload);
    });
    client.on("error", (err) => {
      // Errors while connecting reject `connect` instead.
      if (this.client !== client) return;
      this.client = undefined;
      this.logger?.warn({ err }, "lost the PostgreSQL LISTEN connection; reconnecting");
      void client.end().catch(() => undefined);
      this.schedule();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${NOTIFY_CHANNEL}`);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
  }

  private schedule(): void {
    if (this.closed || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.start(true);
    }, 1000);
    this.retry.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    await this.connecting;
    await this.client?.end().catch(() => undefined);
    this.client = undefined;
  }
}

export interface PostgresStoreOptions {
  /** False when the caller knows the schema is already current: see StoreOptions.migrate. */
  migrate?: boolean;
}

/** Opens (migrating, unless told not to) the PostgreSQL database at `url`. */
export async function openPostgresStore(url: string, logger?: Logger, options: PostgresStoreOptions = {}): Promise<KyselyStore> {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  pool.on("error", (err) => logger?.warn({ err }, "idle PostgreSQL connection failed"));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  if (options.migrate !== false) {
    try {
      await withAdvisoryLock(db, MIGRATION_LOCK, (conn) => migrate(conn));
    } catch (err) {
      await db.destroy();
      throw err;
    }
  }
  const feed = new PostgresChangeFeed((feed) => {
    const listener = new Listener(url, feed, logger);
    listener.start();
    return listener;
  });
  return new KyselyStore(db, "postgres", feed);
}
