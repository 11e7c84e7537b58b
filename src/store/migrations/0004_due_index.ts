import { sql, type Kysely } from "kysely";

// Claims take the oldest due messages straight from this index: only queued and retrying
// messages have a next attempt time.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createIndex("messages_next_attempt")
    .on("messages")
    .column("next_attempt_at")
    .where(sql.ref("next_attempt_at"), "is not", null)
    .execute();
}
