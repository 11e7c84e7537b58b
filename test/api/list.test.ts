import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { rest, startTestApp, type TestApp } from "../support/app.js";
import { adminClient, rpcError } from "../support/clients.js";
import { addHttp, addSmtp } from "../support/fixtures.js";

describe("listing providers", () => {
  let app: TestApp;
  /** In creation order. */
  const created: string[] = [];
  before(async () => {
    app = await startTestApp();
    for (let i = 0; i < 5; i++) created.push(i === 2 ? (await addHttp(app)).id : await addSmtp(app));
  });
  after(() => app.stop());

  const search = async (path: string, query?: Record<string, unknown>) => {
    const res = await rest(app, "POST", path, query === undefined ? {} : { query });
    assert.equal(res.status, 200, res.text);
    return { ids: (res.body.result ?? []).map((p: { id: string }) => p.id) as string[], total: res.body.details.totalResult };
  };

  it("orders by creation, newest first, by default", async () => {
    const { ids, total } = await search("/admin/v1/email/_search");
    assert.deepEqual(ids, [...created].reverse());
    assert.equal(total, "5");
  });

  it("orders oldest first with asc", async () => {
    assert.deepEqual((await search("/admin/v1/email/_search", { asc: true })).ids, created);
  });

  it("pages with offset and limit while totalResult counts every provider", async () => {
    const page = await search("/admin/v1/email/_search", { offset: "1", limit: 2, asc: true });
    assert.deepEqual(page.ids, created.slice(1, 3));
    assert.equal(page.total, "5");
  });

  it("returns an empty page past the end with the full total", async () => {
    const page = await search("/admin/v1/email/_search", { offset: 10 });
    assert.deepEqual(page.ids, []);
    assert.equal(page.total, "5");
  });

  it("pages the deprecated list the same way", async () => {
    const page = await search("/admin/v1/smtp/_search", { offset: 3, limit: 5 });
    assert.deepEqual(page.ids, created.slice(0, 2).reverse());
    assert.equal(page.total, "5");
  });

  it("accepts a limit of 1000", async () => {
    assert.equal((await search("/admin/v1/email/_search", { limit: 1000 })).ids.length, 5);
  });

  it("rejects a limit above 1000 with QUERY-4M0fs", async () => {
    const res = await rest(app, "POST", "/admin/v1/email/_search", { query: { limit: 1001 } });
    assert.equal(res.status, 400, res.text);
    assert.equal(res.body.code, 3);
    assert.equal(res.body.details[0].id, "QUERY-4M0fs");
  });

  it("rejects a limit above 1000 on the deprecated list over gRPC", async () => {
    const { error, detail } = await rpcError(adminClient("grpc", app).listSMTPConfigs({ query: { limit: 5000 } }));
    assert.equal(error.code, Code.InvalidArgument);
    assert.equal(detail?.id, "QUERY-4M0fs");
  });

  it("reports the instance's processed sequence", async () => {
    const res = await rest(app, "POST", "/admin/v1/email/_search", {});
    const instance = await app.core.store.getInstance(app.core.instance.id);
    assert.equal(res.body.details.processedSequence, String(instance?.sequence));
  });
});

describe("an instance without providers", () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });
  after(() => app.stop());

  it("lists nothing with a total of zero", async () => {
    const res = await rest(app, "POST", "/admin/v1/email/_search", {});
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.result, undefined);
    assert.equal(res.body.details.totalResult, undefined);
  });

  it("answers GetEmailProvider with NOT_FOUND", async () => {
    const res = await rest(app, "GET", "/admin/v1/email");
    assert.equal(res.status, 404, res.text);
    assert.equal(res.body.details[0].id, "QUERY-fwofw");
  });

  it("answers GetSMTPConfig with NOT_FOUND", async () => {
    const res = await rest(app, "GET", "/admin/v1/smtp");
    assert.equal(res.status, 404, res.text);
    assert.equal(res.body.code, 5);
  });
});
