import SQLite from "better-sqlite3";
import { Kysely, SqliteDialect } from "kysely";
import { LocalChangeFeed } from "../change-feed.js";
import { KyselyStore, migrate } from "../kysely-store.js";
import type { Database } from "../schema.js";

/** Opens (creating and migrating) the embedded SQLite database file. */
export async function openSqliteStore(path: string): Promise<KyselyStore> {
  const db = new Kysely<Database>({
    dialect: new SqliteDialect({
      database: async () => {
        const conn = new SQLite(path);
        conn.pragma("journal_mode = WAL");
        // FULL: a commit is on disk before we answer, even if the machine loses power.
        conn.pragma("synchronous = FULL");
        conn.pragma("busy_timeout = 5000");
        conn.pragma("foreign_keys = ON");
        return conn;
      },
    }),
  });
  await migrate(db);
  return new KyselyStore(db, "sqlite", new LocalChangeFeed());
}
