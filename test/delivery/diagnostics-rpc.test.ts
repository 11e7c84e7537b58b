import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { rest, startTestApp, type TestApp } from "../support/app.js";
import { addRelay } from "../support/fixtures.js";
import { startSmtpServer, type TestSmtpServer } from "../support/smtp-servers.js";

describe("the native TestProvider RPC", () => {
  let app: TestApp;
  let smtp: TestSmtpServer;
  before(async () => {
    smtp = await startSmtpServer({ tls: "plain", authMethods: ["PLAIN"], users: { mailer: "right-password" } });
    app = await startTestApp();
  });
  after(async () => {
    await app.stop();
    await smtp.close();
  });

  const provider = (password: string) => addRelay(app, smtp.host, { senderName: "Diag", user: "mailer", plain: { password } });

  it("reports every step of a successful test as data and delivers the test mail", async () => {
    const id = await provider("right-password");
    const res = await rest(app, "POST", `/v1/providers/${id}/_test`, { receiverAddress: "ops@example.com" });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.ok, true);
    const names = res.body.steps.map((s: { name: string }) => s.name);
    for (const step of ["connect", "AUTH", "MAIL FROM", "RCPT TO", "DATA"]) assert.ok(names.includes(step), `step ${step} is reported`);
    assert.ok(res.body.steps.every((s: { ok: boolean }) => s.ok));
    assert.ok(res.body.transcript.some((line: string) => line.startsWith("C: MAIL FROM")));
    assert.ok(smtp.received.some((m) => m.to.includes("ops@example.com")));
    const secrets: Array<[string, string]> = [
      ["the password", "right-password"],
      ["the AUTH PLAIN credentials", Buffer.from("\u0000mailer\u0000right-password").toString("base64")],
      ["the AUTH PLAIN credentials with an authorization id", Buffer.from("mailer\u0000mailer\u0000right-password").toString("base64")],
      ["the AUTH LOGIN password", Buffer.from("right-password").toString("base64")],
    ];
    const transcript = res.body.transcript.join("\n");
    for (const [kind, secret] of secrets) {
      assert.ok(!transcript.includes(secret), `the transcript contains ${kind}`);
      assert.ok(!res.text.includes(secret), `the response contains ${kind}`);
    }
  });

  it("reports the failing AUTH step with the server's code and a redacted transcript", async () => {
    const id = await provider("wrong-password-xyz");
    const res = await rest(app, "POST", `/v1/providers/${id}/_test`, { receiverAddress: "ops@example.com" });
    assert.equal(res.status, 200, res.text);
    assert.notEqual(res.body.ok, true);
    const failed = res.body.steps.at(-1);
    assert.equal(failed.name, "AUTH");
    assert.equal(failed.code, 535);
    assert.ok(failed.hint);
    assert.doesNotMatch(res.text, /wrong-password-xyz/);
    assert.doesNotMatch(res.text, new RegExp(Buffer.from("\u0000mailer\u0000wrong-password-xyz").toString("base64")));
  });

  it("answers NOT_FOUND for an unknown provider and 403 for a token without iam.write", async () => {
    const missing = await rest(app, "POST", "/v1/providers/999/_test", { receiverAddress: "ops@example.com" });
    assert.equal(missing.status, 404);
    const sender = await app.createToken("MESSAGE_SENDER");
    const denied = await rest(app, "POST", "/v1/providers/999/_test", { receiverAddress: "ops@example.com" }, `Bearer ${sender}`);
    assert.equal(denied.status, 403);
    assert.match(denied.body.message, /AUTH-5mWD2/);
  });
});
