import { join } from "node:path";
import type { Store } from "./store.js";
import { openSqliteStore } from "./sqlite/open-sqlite-store.js";

export interface StoreOptions {
  dataDir: string;
  databaseUrl?: string;
}

/** The embedded SQLite file in the data dir, unless a database URL selects another database. */
export async function openStore(options: StoreOptions): Promise<Store> {
  if (options.databaseUrl) {
    throw new Error(`MAILROOM_DATABASE_URL is not supported by this build: ${new URL(options.databaseUrl).protocol} databases`);
  }
  return openSqliteStore(join(options.dataDir, "mailroom.db"));
}
