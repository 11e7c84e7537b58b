import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { newId } from "../../src/domain/ids.js";
import type { AttemptRecord } from "../../src/store/outbox.js";
import { startTestApp, type TestApp } from "../support/app.js";
import { activate, addRelay } from "../support/fixtures.js";

// A node writes its finished attempts while its heartbeat renews the leases of the same messages,
// and other nodes take over expired ones. On PostgreSQL these statements wait for each other's
// row locks; taken in different orders they deadlocked, and a record lost that way sent the
// message again once its lease ran out.

const OWNER = "node-under-test";
const LEASE_MS = 60_000;

describe("outbox row locks", () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
    await activate(app, await addRelay(app, "127.0.0.1:2525"));
    // Stop serving and delivering: from here on this test is the only worker on the outbox.
    await app.app.close();
  });
  after(() => app.stop());

  async function claimBatch(size: number) {
    const outbox = app.core.store.outbox;
    for (let i = 0; i < size; i++) {
      const id = newId();
      const draft = { to: [`user${i}@example.com`], cc: [], bcc: [], subject: `m${i}`, text: "x", html: "", replyTo: "", idempotencyKey: "" };
      await outbox.enqueue(app.core.instance.id, draft, { id, headerMessageId: `<${id}@test>` }, new Date());
    }
    const claims = await outbox.claim(OWNER, size, LEASE_MS, new Date());
    assert.equal(claims.length, size);
    return claims.map((c) => c.message.id);
  }

  const sentRecord = (id: string): AttemptRecord => ({
    id,
    attempt: { ok: true, permanent: false, detail: "250 ok", smtpCode: 250, durationMs: 1, time: new Date(), providerId: "p", nodeId: OWNER },
    resolution: { state: "sent", nextAttemptAt: null, lastError: "" },
  });

  it("records attempts in any order while the same node renews their leases", async () => {
    const outbox = app.core.store.outbox;
    for (let round = 0; round < 5; round++) {
      const ids = await claimBatch(150);
      let recording = true;
      const renewals = (async () => {
        let count = 0;
        while (recording) {
          await outbox.renewLeases(OWNER, ids, LEASE_MS, new Date());
          count += 1;
        }
        return count;
      })();
      // Attempts finish in any order; this batch comes in the reverse of the renewals' order.
      const recorded = await outbox.recordAttempts(OWNER, [...ids].reverse().map(sentRecord)).finally(() => (recording = false));
      assert.ok((await renewals) > 0);
      assert.deepEqual(recorded, ids.map(() => true));
      for (const id of [ids[0]!, ids.at(-1)!]) assert.equal((await outbox.get(app.core.instance.id, id))?.state, "sent");
    }
  });

  it("takes over expired leases while their owner records attempts on other messages", async () => {
    const outbox = app.core.store.outbox;
    const ids = await claimBatch(150);
    const stale = await claimBatch(150);
    // The second batch's claim ran out long ago (its node stalled); the first is current.
    await outbox.renewLeases(OWNER, stale, -LEASE_MS, new Date());
    const [recorded, released] = await Promise.all([
      outbox.recordAttempts(OWNER, [...ids].reverse().map(sentRecord)),
      outbox.releaseLeases(new Date(), { expiredOnly: true }),
    ]);
    assert.deepEqual(recorded, ids.map(() => true));
    assert.equal(released, stale.length);
    assert.equal((await outbox.get(app.core.instance.id, stale[0]!))?.state, "queued");
  });
});
