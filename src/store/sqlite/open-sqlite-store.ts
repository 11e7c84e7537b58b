import SQLite from "better-sqlite3";
import { Kysely, SqliteDialect, type SqliteDatabase } from "kysely";
import { LocalChangeFeed } from "../change-feed.js";
import { KyselyStore, migrate } from "../kysely-store.js";
import type { Database } from "../schema.js";

/** Compiled statements kept per connection; `in (...)` lists of different lengths are distinct SQL. */
const STATEMENT_CACHE_SIZE = 1000;

/**
 * Kysely prepares every query it runs, and better-sqlite3 compiles SQL on each prepare. The
 * outbox runs the same few statements for every message, so compiled ones are reused.
 */
function reusingStatements(conn: SQLite.Database): SqliteDatabase {
  const statements = new Map<string, SQLite.Statement>();
  return {
    close: () => conn.close(),
    prepare(source) {
      let statement = statements.get(source);
      if (!statement) {
        if (statements.size >= STATEMENT_CACHE_SIZE) statements.clear();
        statement = conn.prepare(source);
        statements.set(source, statement);
      }
      return statement;
    },
  };
}

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
        return reusingStatements(conn);
      },
    }),
  });
  await migrate(db);
  return new KyselyStore(db, "sqlite", new LocalChangeFeed());
}
