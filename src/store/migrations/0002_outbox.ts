import { sql, type Kysely } from "kysely";

// The durable outbox: messages and their attempt log.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("messages")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("instance_id", "text", (c) => c.notNull().references("instances.id"))
    .addColumn("state", "text", (c) => c.notNull())
    .addColumn("recipients", "text", (c) => c.notNull())
    .addColumn("subject", "text", (c) => c.notNull())
    .addColumn("text_body", "text", (c) => c.notNull())
    .addColumn("html_body", "text", (c) => c.notNull())
    .addColumn("reply_to", "text", (c) => c.notNull())
    .addColumn("header_message_id", "text", (c) => c.notNull())
    .addColumn("idempotency_key", "text")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .addColumn("age_base_at", "bigint", (c) => c.notNull())
    .addColumn("next_attempt_at", "bigint")
    .addColumn("sent_at", "bigint")
    .addColumn("attempt_count", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("last_error", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("lease_owner", "text")
    .addColumn("lease_until", "bigint")
    .execute();
  await db.schema.createIndex("messages_due").on("messages").columns(["state", "next_attempt_at"]).execute();
  await db.schema.createIndex("messages_by_instance").on("messages").columns(["instance_id", "created_at"]).execute();
  await db.schema
    .createIndex("messages_idempotency")
    .on("messages")
    .columns(["instance_id", "idempotency_key"])
    .unique()
    .where(sql.ref("idempotency_key"), "is not", null)
    .execute();

  await db.schema
    .createTable("message_attempts")
    .addColumn("message_id", "text", (c) => c.notNull().references("messages.id"))
    .addColumn("n", "integer", (c) => c.notNull())
    .addColumn("time", "bigint", (c) => c.notNull())
    .addColumn("provider_id", "text", (c) => c.notNull())
    .addColumn("ok", "integer", (c) => c.notNull())
    .addColumn("permanent", "integer", (c) => c.notNull())
    .addColumn("smtp_code", "integer")
    .addColumn("http_status", "integer")
    .addColumn("detail", "text", (c) => c.notNull())
    .addColumn("duration_ms", "integer", (c) => c.notNull())
    .addPrimaryKeyConstraint("message_attempts_pk", ["message_id", "n"])
    .execute();
}
