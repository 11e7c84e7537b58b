import { join } from "node:path";
import type { Logger } from "pino";
import { openPostgresStore } from "./postgres/open-postgres-store.js";
import { openSqliteStore } from "./sqlite/open-sqlite-store.js";
import type { Store } from "./store.js";

export interface StoreOptions {
  dataDir: string;
  databaseUrl?: string;
  /** The delivery thread's store: see SqliteStoreOptions.bookkeeping. */
  bookkeeping?: boolean;
  /**
   * False when the schema is known to be current: the delivery thread's store, since the API
   * thread of the same process migrated before starting it. On PostgreSQL it also skips the
   * migration lock.
   */
  migrate?: boolean;
}

/** The embedded SQLite file in the data dir, or PostgreSQL when a postgres:// URL is configured. */
export async function openStore(options: StoreOptions, logger?: Logger): Promise<Store> {
  if (options.databaseUrl) return openPostgresStore(options.databaseUrl, logger, { migrate: options.migrate });
  return openSqliteStore(join(options.dataDir, "mailroom.db"), { bookkeeping: options.bookkeeping, migrate: options.migrate });
}
