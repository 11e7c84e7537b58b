import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { rest, startTestApp, type TestApp } from "../support/app.js";
import { adminClient, TRANSPORTS } from "../support/clients.js";
import { addHttp, addSmtp } from "../support/fixtures.js";

// At most one provider of an instance is active; activation swaps it in one atomic step.

describe("activating providers", () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });
  after(() => app.stop());

  const activeIds = async (): Promise<string[]> => {
    const res = await rest(app, "POST", "/admin/v1/email/_search", {});
    return (res.body.result ?? []).filter((p: { state: string }) => p.state === "EMAIL_PROVIDER_ACTIVE").map((p: { id: string }) => p.id);
  };

  beforeEach(async () => {
    const [active] = await activeIds();
    if (active) await rest(app, "POST", `/admin/v1/email/${active}/_deactivate`, {});
  });

  it("starts a new provider inactive", async () => {
    const id = await addSmtp(app);
    assert.equal((await rest(app, "GET", `/admin/v1/email/${id}`)).body.config.state, "EMAIL_PROVIDER_INACTIVE");
    assert.deepEqual(await activeIds(), []);
  });

  it("deactivates the previously active provider when another one is activated", async () => {
    const a = await addSmtp(app);
    const b = await addSmtp(app);
    await rest(app, "POST", `/admin/v1/email/${a}/_activate`, {});
    const res = await rest(app, "POST", `/admin/v1/email/${b}/_activate`, {});
    assert.equal(res.status, 200, res.text);
    assert.equal((await rest(app, "GET", `/admin/v1/email/${a}`)).body.config.state, "EMAIL_PROVIDER_INACTIVE");
    assert.deepEqual(await activeIds(), [b]);
  });

  it("records the swap as one activation event with one sequence", async () => {
    const a = await addSmtp(app);
    const b = await addSmtp(app);
    await rest(app, "POST", `/admin/v1/email/${a}/_activate`, {});
    const res = await rest(app, "POST", `/admin/v1/email/${b}/_activate`, {});
    const events = await app.core.store.listEvents(app.core.instance.id, Number(res.body.details.sequence) - 1);
    assert.deepEqual(
      events.map((e) => [e.type, e.aggregateId]),
      [["instance.smtp.config.activated", b]],
    );
    const previous = await rest(app, "GET", `/admin/v1/email/${a}`);
    assert.equal(previous.body.config.details.sequence, res.body.details.sequence);
  });

  it("swaps between SMTP and HTTP providers", async () => {
    const smtp = await addSmtp(app);
    const { id: http } = await addHttp(app);
    await rest(app, "POST", `/admin/v1/email/${smtp}/_activate`, {});
    await rest(app, "POST", `/admin/v1/email/${http}/_activate`, {});
    assert.deepEqual(await activeIds(), [http]);
    assert.equal((await rest(app, "GET", "/admin/v1/email")).body.config.id, http);
  });

  it("leaves exactly one provider active after many concurrent activations of different providers", async () => {
    const ids = await Promise.all(Array.from({ length: 24 }, () => addSmtp(app)));
    const results = await Promise.allSettled(
      ids.map((id, i) => adminClient(TRANSPORTS[i % TRANSPORTS.length]!, app).activateEmailProvider({ id })),
    );
    assert.deepEqual(results.filter((r) => r.status === "rejected"), []);
    const active = await activeIds();
    assert.equal(active.length, 1);
    const events = await app.core.store.listEvents(app.core.instance.id);
    const lastActivated = events.filter((e) => e.type === "instance.smtp.config.activated").at(-1);
    assert.equal(active[0], lastActivated?.aggregateId);
  });

  it("lets exactly one of many concurrent activations of the same provider succeed", async () => {
    const id = await addSmtp(app);
    const results = await Promise.allSettled(
      Array.from({ length: 16 }, (_, i) => adminClient(TRANSPORTS[i % TRANSPORTS.length]!, app).activateEmailProvider({ id })),
    );
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
    for (const r of results) {
      if (r.status === "rejected") assert.equal(ConnectError.from(r.reason).code, Code.FailedPrecondition);
    }
    assert.deepEqual(await activeIds(), [id]);
  });

  it("keeps one active provider while activations race with removals", async () => {
    const ids = await Promise.all(Array.from({ length: 12 }, () => addSmtp(app)));
    await Promise.allSettled(
      ids.flatMap((id, i) => [
        rest(app, "POST", `/admin/v1/email/${id}/_activate`, {}),
        ...(i % 3 === 0 ? [rest(app, "DELETE", `/admin/v1/email/${id}`)] : []),
      ]),
    );
    // Zero active is a legitimate end state: the last provider activated may be removed afterwards,
    // and removing the active provider leaves none active. So the bound stays `<= 1`, and the
    // outcome is checked against the event log: the last provider activated is the active one,
    // unless it was removed, in which case none is active.
    const active = await activeIds();
    assert.ok(active.length <= 1, `more than one active provider: ${active.join(", ")}`);
    const events = (await app.core.store.listEvents(app.core.instance.id)).filter((e) => ids.includes(e.aggregateId));
    const lastActivated = events.filter((e) => e.type === "instance.smtp.config.activated").at(-1)?.aggregateId;
    assert.ok(lastActivated, "no activation of the test's providers was recorded");
    const removed = new Set(events.filter((e) => e.type === "instance.smtp.config.removed").map((e) => e.aggregateId));
    assert.deepEqual(active, removed.has(lastActivated) ? [] : [lastActivated]);
  });
});
