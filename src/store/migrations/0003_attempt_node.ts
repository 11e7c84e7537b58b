import type { Kysely } from "kysely";

// Which node made an attempt: operators of several nodes need to know who talked to the server.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("message_attempts").addColumn("node_id", "text", (c) => c.notNull().defaultTo("")).execute();
}
