import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { rest } from "../support/app.js";
import { send } from "../support/messages.js";
import { startNode } from "../support/node-process.js";
import { createTestDatabase, onPostgres, type TestDatabase } from "../support/postgres.js";
import { startSmtpServer, type TestSmtpServer } from "../support/smtp-servers.js";
import { messageIdOf, until } from "../support/wait.js";

const TOKEN = "crash-test-token-0123456789";
const CONCURRENCY = 8;

describe("a node killed with SIGKILL in the middle of a stream", () => {
  let smtp: TestSmtpServer;
  let dataDir: string;
  let database: TestDatabase | undefined;
  before(async () => {
    smtp = await startSmtpServer({ tls: "plain" });
    dataDir = mkdtempSync(join(tmpdir(), "mailroom-crash-"));
    if (onPostgres) database = await createTestDatabase();
  });
  after(async () => {
    await smtp.close();
    rmSync(dataDir, { recursive: true, force: true });
    await database?.drop();
  });

  it("delivers every accepted message after a restart; only messages in flight arrive twice", async () => {
    const env = {
      MAILROOM_DATA_DIR: dataDir,
      MAILROOM_BOOTSTRAP_TOKEN: TOKEN,
      MAILROOM_DELIVERY_CONCURRENCY: String(CONCURRENCY),
      MAILROOM_LOG_LEVEL: "info",
      // On PostgreSQL the restarted node takes over the killed node's claims when their lease ends.
      ...(database ? { MAILROOM_DATABASE_URL: database.url, MAILROOM_DELIVERY_LEASE_MS: "1500" } : {}),
    };
    const auth = `Bearer ${TOKEN}`;
    let node = await startNode(env);
    const added = await rest({ url: node.url, auth }, "POST", "/admin/v1/email/smtp", {
      senderAddress: "noreply@example.com",
      senderName: "Crash",
      host: smtp.host,
    });
    // Accept the whole stream while no provider is active, so the kill lands in the middle of delivery.
    const accepted: string[] = [];
    for (let i = 0; i < 300; i++) {
      accepted.push(await send({ url: node.url, auth }, { to: [`user${i}@example.com`], subject: `n${i}`, text: "x" }));
    }
    assert.equal((await rest({ url: node.url, auth }, "POST", `/admin/v1/email/${added.body.id}/_activate`, {})).status, 200);
    await until("some deliveries before the kill", () => smtp.received.length >= 30 || undefined);
    const exit = await node.kill("SIGKILL");
    assert.equal(exit, "SIGKILL");
    const deliveredBeforeKill = smtp.received.length;
    assert.ok(deliveredBeforeKill < accepted.length, "the kill happened mid-stream");

    node = await startNode(env);
    try {
      const pending = new Set(accepted);
      await until(
        "every accepted message to arrive",
        () => {
          for (const m of smtp.received) pending.delete(messageIdOf(m.raw) ?? "");
          return pending.size === 0 || undefined;
        },
        60_000,
      );
      const counts = new Map<string, number>();
      for (const m of smtp.received) counts.set(messageIdOf(m.raw)!, (counts.get(messageIdOf(m.raw)!) ?? 0) + 1);
      const duplicates = [...counts.values()].filter((n) => n > 1).length;
      console.log(`# delivered ${accepted.length} messages across a SIGKILL: ${deliveredBeforeKill} before it, ${duplicates} duplicate(s)`);
      assert.ok(duplicates <= CONCURRENCY, `duplicates (${duplicates}) are at most the messages that can be in flight (${CONCURRENCY})`);
      // The last attempts are recorded a moment after the server has the mail.
      await until("every message to be recorded as sent", async () => {
        const sent = await rest({ url: node.url, auth }, "GET", "/v1/messages?state=sent&limit=1");
        return sent.body.totalResult === String(accepted.length) || undefined;
      });
    } finally {
      assert.equal(await node.kill("SIGTERM"), 0);
    }
  });
});
