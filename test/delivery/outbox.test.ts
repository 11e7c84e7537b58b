import assert from "node:assert/strict";
import { join } from "node:path";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import SQLite from "better-sqlite3";
import pg from "pg";
import { rest, startTestApp, type TestApp } from "../support/app.js";
import { activate, addRelay as addProvider } from "../support/fixtures.js";
import { messageOf, send, stateIs } from "../support/messages.js";
import { onPostgres } from "../support/postgres.js";
import { startSmtpServer, unusedPort, type TestSmtpServer } from "../support/smtp-servers.js";
import { messageIdOf, until } from "../support/wait.js";

const FAST_RETRIES = { MAILROOM_RETRY_BASE_DELAY_MS: "40", MAILROOM_RETRY_MAX_DELAY_MS: "160", MAILROOM_RETRY_MAX_ATTEMPTS: "4" };

describe("delivery through the active provider", () => {
  let app: TestApp;
  let smtp: TestSmtpServer;
  before(async () => {
    smtp = await startSmtpServer({ tls: "plain", authMethods: ["PLAIN"], users: { mailer: "pw-one" } });
  });
  beforeEach(async () => {
    app = await startTestApp(FAST_RETRIES);
    smtp.received.length = 0;
  });
  afterEach(() => app.stop());
  after(() => smtp.close());

  it("delivers an accepted message with a stable Message-ID and records the attempt", async () => {
    const provider = await addProvider(app, smtp.host, { user: "mailer", plain: { password: "pw-one" } });
    await activate(app, provider);
    const id = await send(app, { subject: "Grüße aus Köln", html: "<p>hi</p>", replyTo: "help@example.com" });
    const message = await until("the message to be sent", stateIs(app, id, "sent"));
    assert.equal(message.attempts.length, 1);
    assert.equal(message.attempts[0].providerId, provider);
    assert.equal(message.attempts[0].ok, true);
    assert.equal(message.attempts[0].smtpCode, 250);
    const mail = smtp.received.find((m) => messageIdOf(m.raw) === id);
    assert.ok(mail, "the SMTP server received the message");
    assert.equal(mail.user, "mailer");
    assert.match(mail.raw, /^Subject: =\?UTF-8\?/im);
    assert.match(mail.raw, /multipart\/alternative/i);
    assert.match(mail.raw, /^Reply-To: help@example\.com/im);
  });

  it("keeps messages queued while no provider is active and sends them once one is activated", async () => {
    const provider = await addProvider(app, smtp.host, { user: "mailer", plain: { password: "pw-one" } });
    const id = await send(app);
    await new Promise((r) => setTimeout(r, 300));
    const waiting = await messageOf(app, id);
    assert.equal(waiting.state, "queued");
    assert.equal(waiting.attempts?.length ?? 0, 0);
    await activate(app, provider);
    await until("the waiting message to be sent", stateIs(app, id, "sent"));
  });

  it("returns the first message id for a repeated idempotency key", async () => {
    const first = await send(app, { idempotencyKey: "order-42" });
    const second = await send(app, { idempotencyKey: "order-42" });
    const other = await send(app, { idempotencyKey: "order-43" });
    assert.equal(second, first);
    assert.notEqual(other, first);
    const listed = await rest(app, "GET", "/v1/messages");
    assert.equal(listed.body.totalResult, "2");
  });

  it("cancels a waiting message and requeues it", async () => {
    const id = await send(app);
    const cancelled = await rest(app, "POST", `/v1/messages/${id}/_cancel`, {});
    assert.equal(cancelled.body.message.state, "cancelled");
    const again = await rest(app, "POST", `/v1/messages/${id}/_cancel`, {});
    assert.equal(again.status, 400);
    assert.match(again.body.message, /cancelled message cannot be cancelled/);
    const requeued = await rest(app, "POST", `/v1/messages/${id}/_requeue`, {});
    assert.equal(requeued.body.message.state, "queued");
    const provider = await addProvider(app, smtp.host, { user: "mailer", plain: { password: "pw-one" } });
    await activate(app, provider);
    await until("the requeued message to be sent", stateIs(app, id, "sent"));
    const sentAgain = await rest(app, "POST", `/v1/messages/${id}/_requeue`, {});
    assert.equal(sentAgain.status, 400);
  });

  it("refuses a ListMessages state the enum does not define instead of listing every message", async () => {
    await send(app);
    const unknown = await rest(app, "POST", "/mailroom.v1.MessageService/ListMessages", { state: 7 });
    assert.equal(unknown.status, 400, unknown.text);
    assert.equal(unknown.body.code, "invalid_argument");
    assert.match(unknown.body.message, /^state: must be one of state_unspecified, queued, .*cancelled \(got 7\) \(MSG-st1\)$/);
    const queued = await rest(app, "POST", "/mailroom.v1.MessageService/ListMessages", { state: 1 });
    assert.equal(queued.body.totalResult, "1", queued.text);
    for (const state of ["7", "bogus", "-1"]) {
      const listed = await rest(app, "GET", `/v1/messages?state=${state}`);
      assert.equal(listed.status, 400, listed.text);
      assert.match(listed.body.message, new RegExp(`^state: must be one of state_unspecified, queued, .*cancelled \\(got "${state}"\\)$`));
    }
    assert.equal((await rest(app, "GET", "/v1/messages?state=queued")).status, 200);
  });
});

describe("failures, retries and dead messages", () => {
  let app: TestApp;
  beforeEach(async () => {
    app = await startTestApp(FAST_RETRIES);
  });
  afterEach(() => app.stop());

  for (const code of [421, 451]) {
    it(`retries after a temporary ${code} reply and gives up after the attempt limit`, async () => {
      const smtp = await startSmtpServer({ tls: "plain", rcptReply: { code, text: "try again later" } });
      try {
        await activate(app, await addProvider(app, smtp.host));
        const id = await send(app);
        const retrying = await until("a retry to be scheduled", stateIs(app, id, "retrying"));
        assert.equal(retrying.attempts[0].smtpCode, code);
        assert.ok(!retrying.attempts[0].permanent);
        assert.ok(retrying.nextAttemptTime);
        const dead = await until("the message to be dead", stateIs(app, id, "dead"));
        assert.equal(dead.attempts.length, 4);
        assert.match(dead.lastError, /try again later/);
      } finally {
        await smtp.close();
      }
    });
  }

  it("marks a message dead at once on a permanent 550 and keeps the reply", async () => {
    const smtp = await startSmtpServer({ tls: "plain", rcptReply: { code: 550, text: "no such user here" } });
    try {
      await activate(app, await addProvider(app, smtp.host));
      const id = await send(app);
      const dead = await until("the message to be dead", stateIs(app, id, "dead"));
      assert.equal(dead.attempts.length, 1);
      assert.equal(dead.attempts[0].smtpCode, 550);
      assert.equal(dead.attempts[0].permanent, true);
      assert.match(dead.lastError, /no such user here/);
      const listed = await rest(app, "GET", "/v1/messages?state=dead");
      assert.deepEqual(listed.body.result.map((m: { messageId: string }) => m.messageId), [id]);
    } finally {
      await smtp.close();
    }
  });

  it("does not count the wait for an active provider against the retry age limit", async () => {
    const aged = await startTestApp({ MAILROOM_RETRY_MAX_AGE_SECONDS: "1", MAILROOM_RETRY_BASE_DELAY_MS: "100", MAILROOM_RETRY_MAX_DELAY_MS: "200", MAILROOM_RETRY_MAX_ATTEMPTS: "50" });
    const smtp = await startSmtpServer({ tls: "plain", rcptReply: { code: 451, text: "try again later" } });
    try {
      const id = await send(aged);
      // Longer than the age limit, with no provider to send through.
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal((await messageOf(aged, id)).state, "queued");
      await activate(aged, await addProvider(aged, smtp.host));
      // Counted from the waiting message's acceptance, its first temporary failure would be its
      // last; counted from that attempt, it is retried until a second of retries has passed.
      const dead = await until("the retries to run out", stateIs(aged, id, "dead"));
      assert.equal(dead.attempts[0].smtpCode, 451, JSON.stringify(dead.attempts));
      assert.ok(dead.attempts.length > 1, `retried after its first attempt (${dead.attempts.length} attempt)`);
    } finally {
      await smtp.close();
      await aged.stop();
    }
  });

  it("retries while the server is down and delivers once it is back", async () => {
    const port = await unusedPort();
    const slow = await startTestApp({ MAILROOM_RETRY_BASE_DELAY_MS: "100", MAILROOM_RETRY_MAX_DELAY_MS: "200", MAILROOM_RETRY_MAX_ATTEMPTS: "50" });
    try {
      await activate(slow, await addProvider(slow, `127.0.0.1:${port}`));
      const id = await send(slow);
      const retrying = await until("a failed attempt", stateIs(slow, id, "retrying"));
      assert.match(retrying.attempts[0].detail, /refused|ECONNREFUSED|connect/i);
      const smtp = await startSmtpServer({ tls: "plain", port });
      try {
        await until("delivery after the server came back", stateIs(slow, id, "sent"));
        assert.equal(smtp.received.filter((m) => messageIdOf(m.raw) === id).length, 1);
      } finally {
        await smtp.close();
      }
    } finally {
      await slow.stop();
    }
  });
});

/**
 * Makes every write to the attempt log fail, from a connection of its own, until the returned
 * function is called: a database that refuses the worker's bookkeeping for a while.
 */
async function refuseAttemptWrites(app: TestApp): Promise<() => Promise<void>> {
  if (onPostgres) {
    const client = new pg.Client({ connectionString: app.env.MAILROOM_DATABASE_URL });
    await client.connect();
    await client.query(`create function refuse_attempts() returns trigger language plpgsql as $$ begin raise exception 'attempt log refused by the test'; end $$`);
    await client.query("create trigger refuse_attempts before insert on message_attempts for each statement execute function refuse_attempts()");
    return async () => {
      await client.query("drop trigger refuse_attempts on message_attempts");
      await client.end();
    };
  }
  const db = new SQLite(join(app.dataDir, "mailroom.db"));
  db.exec("create trigger refuse_attempts before insert on message_attempts begin select raise(abort, 'attempt log refused by the test'); end");
  return async () => {
    db.exec("drop trigger refuse_attempts");
    db.close();
  };
}

describe("a database that cannot record an attempt for a while", () => {
  const LEASE_MS = 600;
  let app: TestApp;
  let smtp: TestSmtpServer;
  beforeEach(async () => {
    app = await startTestApp({ ...FAST_RETRIES, MAILROOM_DELIVERY_LEASE_MS: String(LEASE_MS) });
    smtp = await startSmtpServer({ tls: "plain" });
  });
  afterEach(async () => {
    await app.stop();
    await smtp.close();
  });

  it("keeps the sent message leased until the attempt is written, and never sends it twice", async () => {
    await activate(app, await addProvider(app, smtp.host));
    const allow = await refuseAttemptWrites(app);
    let allowed = false;
    try {
      const id = await send(app);
      await until("the message to reach the server", () => smtp.received.some((m) => messageIdOf(m.raw) === id) || undefined);
      // Several leases long: a worker that gave the message up would have sent it again by now.
      await new Promise((r) => setTimeout(r, 4 * LEASE_MS));
      assert.equal((await messageOf(app, id)).state, "sending");
      await allow();
      allowed = true;
      const sent = await until("the attempt to be recorded", stateIs(app, id, "sent"));
      assert.equal(sent.attempts.length, 1);
      assert.equal(smtp.received.filter((m) => messageIdOf(m.raw) === id).length, 1);
    } finally {
      if (!allowed) await allow();
    }
  });
});

describe("changes while a stream of messages is being sent", () => {
  let app: TestApp;
  beforeEach(async () => {
    app = await startTestApp(FAST_RETRIES);
  });
  afterEach(() => app.stop());

  it("uses a rotated password for every message accepted after the rotation answered", async () => {
    const accepted = new Set(["pw-one"]);
    const smtp = await startSmtpServer({
      tls: "plain",
      authMethods: ["PLAIN", "LOGIN"],
      accept: (_method, user, secret) => user === "mailer" && accepted.has(secret ?? ""),
    });
    try {
      const provider = await addProvider(app, smtp.host, { user: "mailer", plain: { password: "pw-one" } });
      await activate(app, provider);
      const before: string[] = [];
      const afterRotation: string[] = [];
      for (let i = 0; i < 15; i++) before.push(await send(app));
      // The server accepts the new password from now on, the old one too (a rotation window).
      accepted.add("pw-two");
      const rotated = await rest(app, "PUT", `/admin/v1/email/smtp/${provider}/password`, { password: "pw-two" });
      assert.equal(rotated.status, 200, rotated.text);
      for (let i = 0; i < 15; i++) afterRotation.push(await send(app));
      await until("every message to be delivered", () => smtp.received.length >= 30 || undefined, 30_000);
      const secretOf = new Map(smtp.received.map((m) => [messageIdOf(m.raw), m.secret]));
      for (const id of afterRotation) assert.equal(secretOf.get(id), "pw-two", `message ${id} used the new password`);
      for (const id of before) assert.ok(["pw-one", "pw-two"].includes(secretOf.get(id) ?? ""), `message ${id} was delivered`);
    } finally {
      await smtp.close();
    }
  });

  it("sends every message accepted after an activation through the newly active provider", async () => {
    const first = await startSmtpServer({ tls: "plain" });
    const second = await startSmtpServer({ tls: "plain" });
    try {
      const a = await addProvider(app, first.host);
      const b = await addProvider(app, second.host);
      await activate(app, a);
      const early: string[] = [];
      const late: string[] = [];
      const stream = (async () => {
        for (let i = 0; i < 20; i++) early.push(await send(app));
      })();
      await new Promise((r) => setTimeout(r, 20));
      await stream;
      await activate(app, b);
      for (let i = 0; i < 20; i++) late.push(await send(app));
      await until("all 40 messages to arrive", () => first.received.length + second.received.length >= 40 || undefined, 30_000);
      const atSecond = new Set(second.received.map((m) => messageIdOf(m.raw)));
      const atFirst = new Set(first.received.map((m) => messageIdOf(m.raw)));
      for (const id of late) assert.ok(atSecond.has(id) && !atFirst.has(id), `message ${id} went through the new provider only`);
      for (const id of early) assert.ok(atFirst.has(id) || atSecond.has(id));
    } finally {
      await first.close();
      await second.close();
    }
  });
});
