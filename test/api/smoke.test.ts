import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { rest, startTestApp, type TestApp } from "../support/app.js";

describe("a fresh mailroom", () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });
  after(() => app.stop());

  it("adds an SMTP provider over REST and lists it", async () => {
    const added = await rest(app, "POST", "/admin/v1/email/smtp", {
      senderAddress: "noreply@example.com",
      senderName: "Example",
      host: "smtp.example.com:587",
      tls: true,
    });
    assert.equal(added.status, 200, added.text);
    const listed = await rest(app, "POST", "/admin/v1/email/_search", {});
    assert.equal(listed.body.details.totalResult, "1");
    assert.equal(listed.body.result[0].id, added.body.id);
  });
});
