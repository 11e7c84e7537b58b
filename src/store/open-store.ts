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
}

/** The embedded SQLite file in the data dir, or PostgreSQL when a postgres:// URL is configured. */
export async function openStore(options: StoreOptions, logger?: Logger): Promise<Store> {
  if (options.databaseUrl) return openPostgresStore(options.databaseUrl, logger);
  return openSqliteStore(join(options.dataDir, "mailroom.db"), { bookkeeping: options.bookkeeping });
}
