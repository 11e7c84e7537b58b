import SQLite from "better-sqlite3";
import { CompiledQuery, Kysely, SqliteDialect, type DatabaseConnection, type Driver, type SqliteDatabase } from "kysely";
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

/**
 * Two connections write to the file (the API thread and the delivery thread). A transaction that
 * reads before it writes must hold the write lock from its start, or SQLite refuses its first
 * write at once instead of waiting (busy_timeout applies only to taking the lock).
 */
class ImmediateTransactionsDialect extends SqliteDialect {
  override createDriver(): Driver {
    const driver = super.createDriver();
    driver.beginTransaction = async (connection: DatabaseConnection) => {
      await connection.executeQuery(CompiledQuery.raw("begin immediate"));
    };
    return driver;
  }
}

export interface SqliteStoreOptions {
  /**
   * The delivery thread's connection, which only records bookkeeping (claims, attempts): its
   * commits skip the fsync. WAL keeps them across a process crash; a power loss can only make a
   * message be sent again, never lose it, because accepting a message (on the API thread's
   * connection) always commits with a full sync.
   */
  bookkeeping?: boolean;
  /** False when the schema is known to be current: see StoreOptions.migrate. */
  migrate?: boolean;
}

/** Opens (creating and migrating) the embedded SQLite database file. */
export async function openSqliteStore(path: string, options: SqliteStoreOptions = {}): Promise<KyselyStore> {
  const db = new Kysely<Database>({
    dialect: new ImmediateTransactionsDialect({
      database: async () => {
        const conn = new SQLite(path);
        conn.pragma("journal_mode = WAL");
        // FULL: a commit is on disk before we answer, even if the machine loses power.
        conn.pragma(options.bookkeeping ? "synchronous = NORMAL" : "synchronous = FULL");
        conn.pragma("busy_timeout = 5000");
        conn.pragma("foreign_keys = ON");
        return reusingStatements(conn);
      },
    }),
  });
  if (options.migrate !== false) await migrate(db);
  return new KyselyStore(db, "sqlite", new LocalChangeFeed());
}
