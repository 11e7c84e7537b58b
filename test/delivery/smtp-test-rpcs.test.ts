import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { SmtpDiagnostic } from "../../src/delivery/smtp-diagnostics.js";
import { rest, startTestApp, type TestApp } from "../support/app.js";
import { addRelay } from "../support/fixtures.js";
import { smtpProvider, testKeyring } from "../support/providers.js";
import { startSmtpServer, unusedPort, type TestSmtpServer } from "../support/smtp-servers.js";

const PASSWORD = "Sup3r-s3cret-pa55";

describe("SMTP diagnostic", () => {
  const keyring = testKeyring();
  const diagnostic = new SmtpDiagnostic({ secrets: keyring, ehloName: "mailroom.test" });
  let server: TestSmtpServer;
  before(async () => {
    server = await startSmtpServer({ tls: "starttls", authMethods: ["PLAIN", "LOGIN"], users: { ann: PASSWORD } });
  });
  after(() => server.close());

  it("reports every step of a successful transaction with a redacted transcript", async () => {
    const provider = smtpProvider({ host: server.host, tls: "starttls", verifyCertificates: false, user: "ann", auth: { kind: "plain", password: keyring.seal(PASSWORD) } });
    const report = await diagnostic.run(provider.config.kind === "smtp" ? provider.config.smtp : assert.fail(), "bob@example.org");
    assert.equal(report.ok, true, JSON.stringify(report.steps));
    assert.deepEqual(
      report.steps.map((s) => [s.name, s.ok]),
      [["DNS", true], ["connect", true], ["EHLO", true], ["STARTTLS", true], ["AUTH", true], ["MAIL FROM", true], ["RCPT TO", true], ["DATA", true], ["QUIT", true]],
    );
    assert.equal(report.steps.find((s) => s.name === "AUTH")!.code, 235);
    const transcript = report.transcript.join("\n");
    assert.match(transcript, /C: AUTH PLAIN \[redacted\]/);
    assert.doesNotMatch(transcript, new RegExp(PASSWORD));
    assert.doesNotMatch(transcript, new RegExp(Buffer.from(`\0ann\0${PASSWORD}`).toString("base64")));
    const mail = server.received.at(-1)!;
    assert.match(mail.raw, /^Subject: Test email$/m);
    assert.match(mail.raw, /^Content-Type: text\/plain/m);
  });

  it("redacts the LOGIN exchange", async () => {
    const login = await startSmtpServer({ tls: "plain", authMethods: ["LOGIN"], users: { ann: PASSWORD } });
    try {
      const provider = smtpProvider({ host: login.host, user: "ann", auth: { kind: "plain", password: keyring.seal(PASSWORD) } });
      const report = await diagnostic.run(provider.config.kind === "smtp" ? provider.config.smtp : assert.fail(), "bob@example.org");
      assert.equal(report.ok, true, JSON.stringify(report.steps));
      const transcript = report.transcript.join("\n");
      assert.match(transcript, /C: AUTH LOGIN/);
      assert.doesNotMatch(transcript, new RegExp(Buffer.from(PASSWORD).toString("base64")));
      assert.doesNotMatch(transcript, new RegExp(Buffer.from("ann").toString("base64")));
    } finally {
      await login.close();
    }
  });

  it("names the TLS step when an implicit-TLS certificate is not trusted", async () => {
    const implicit = await startSmtpServer({ tls: "implicit" });
    try {
      const provider = smtpProvider({ host: implicit.host, tls: "implicit", verifyCertificates: true });
      const report = await diagnostic.run(provider.config.kind === "smtp" ? provider.config.smtp : assert.fail(), "bob@example.org");
      assert.equal(report.ok, false);
      assert.equal(report.failed!.name, "TLS");
      assert.match(report.failed!.reply!, /self[- ]signed certificate/i);
      assert.match(report.failed!.hint!, /self-signed/);
    } finally {
      await implicit.close();
    }
  });
});

describe("Test RPCs over REST", () => {
  let app: TestApp;
  let server: TestSmtpServer;
  let plainServer: TestSmtpServer;
  let rejecting: TestSmtpServer;

  before(async () => {
    [app, server, plainServer, rejecting] = await Promise.all([
      startTestApp(),
      startSmtpServer({ tls: "plain", authMethods: ["PLAIN"], users: { ann: PASSWORD } }),
      startSmtpServer({ tls: "plain" }),
      startSmtpServer({ tls: "plain", rcptReply: { code: 550, text: "5.1.1 mailbox unavailable" } }),
    ]);
  });
  after(async () => {
    await app.stop();
    await Promise.all([server.close(), plainServer.close(), rejecting.close()]);
  });

  const settingsFor = (host: string, extra: Record<string, unknown> = {}) => ({
    senderAddress: "noreply@example.com",
    senderName: "Example",
    host,
    tls: false,
    user: "ann",
    receiverAddress: "bob@example.org",
    ...extra,
  });

  it("POST /admin/v1/email/smtp/_test sends a real test mail and answers {}", async () => {
    const before = server.received.length;
    const res = await rest(app, "POST", "/admin/v1/email/smtp/_test", settingsFor(server.host, { plain: { password: PASSWORD } }));
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body, {});
    assert.equal(server.received.length, before + 1);
    const mail = server.received.at(-1)!;
    assert.deepEqual(mail.to, ["bob@example.org"]);
    assert.equal(mail.user, "ann");
    assert.match(mail.raw, /^Subject: Test email$/m);
  });

  it("POST /admin/v1/smtp/_test tests a no-auth relay without sending AUTH", async () => {
    const res = await rest(app, "POST", "/admin/v1/smtp/_test", settingsFor(plainServer.host, { user: "" }));
    assert.equal(res.status, 200, res.text);
    assert.equal(plainServer.received.at(-1)!.user, undefined);
  });

  it("auth none sends no AUTH even with a user name", async () => {
    const res = await rest(app, "POST", "/admin/v1/email/smtp/_test", settingsFor(plainServer.host, { none: {} }));
    assert.equal(res.status, 200, res.text);
    assert.equal(plainServer.received.at(-1)!.user, undefined);
  });

  it("a wrong password fails with 500 naming the AUTH step and the 535 reply, never the password", async () => {
    const wrong = "Wr0ng-pa55w0rd-x";
    const res = await rest(app, "POST", "/admin/v1/email/smtp/_test", settingsFor(server.host, { plain: { password: wrong } }));
    assert.equal(res.status, 500, res.text);
    assert.equal(res.body.code, 13);
    assert.match(res.body.message, /AUTH/);
    assert.match(res.body.message, /535/);
    assert.match(res.body.message, /\(EMAIL-s9kfs\)$/);
    assert.doesNotMatch(res.text, new RegExp(wrong));
  });

  it("a refused recipient fails naming RCPT TO and the 550 reply", async () => {
    const res = await rest(app, "POST", "/admin/v1/smtp/_test", settingsFor(rejecting.host, { user: "" }));
    assert.equal(res.status, 500, res.text);
    assert.match(res.body.message, /RCPT TO: the server answered 550 5\.1\.1 mailbox unavailable/);
    assert.match(res.body.message, /EMAIL-s4is4/);
  });

  it("a server that is down fails naming the connect step", async () => {
    const port = await unusedPort();
    const res = await rest(app, "POST", "/admin/v1/email/smtp/_test", settingsFor(`127.0.0.1:${port}`, { none: {} }));
    assert.equal(res.status, 500, res.text);
    assert.match(res.body.message, /connect: .*ECONNREFUSED/);
    assert.match(res.body.message, /EMAIL-skwos/);
  });

  it("plain auth without a password and without an id is INVALID_ARGUMENT SMTP-p9kj", async () => {
    const res = await rest(app, "POST", "/admin/v1/email/smtp/_test", settingsFor(server.host, { plain: { password: "" } }));
    assert.equal(res.status, 400, res.text);
    assert.match(res.body.message, /SMTP-p9kj/);
  });

  it("with an id and no password, the stored provider's password is used", async () => {
    const id = await addRelay(app, server.host, { user: "ann", plain: { password: PASSWORD } });
    const res = await rest(app, "POST", "/admin/v1/email/smtp/_test", settingsFor(server.host, { id }));
    assert.equal(res.status, 200, res.text);
    assert.equal(server.received.at(-1)!.secret, PASSWORD);
    assert.ok(!res.text.includes(PASSWORD), "the response contains the stored password");
    assert.ok(!res.text.includes(Buffer.from(`\0ann\0${PASSWORD}`).toString("base64")), "the response contains the AUTH PLAIN credentials");
    assert.ok(!res.text.includes(Buffer.from(PASSWORD).toString("base64")), "the response contains the AUTH LOGIN password");
  });

  it("an unknown id is NOT_FOUND SMTP-p9cc", async () => {
    const res = await rest(app, "POST", "/admin/v1/email/smtp/_test", settingsFor(server.host, { id: "123456789012345678" }));
    assert.equal(res.status, 404, res.text);
    assert.match(res.body.message, /SMTP-p9cc/);
  });

  for (const route of ["/admin/v1/email/smtp/{id}/_test", "/admin/v1/smtp/{id}/_test"]) {
    it(`POST ${route} tests the stored provider as stored`, async () => {
      const id = await addRelay(app, server.host, { user: "ann", plain: { password: PASSWORD } });
      const before = server.received.length;
      const res = await rest(app, "POST", route.replace("{id}", id), { receiverAddress: "carol@example.org" });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body, {});
      assert.equal(server.received.length, before + 1);
      assert.deepEqual(server.received.at(-1)!.to, ["carol@example.org"]);
    });
  }

  it("a stored provider whose password the server refuses fails with 500 and no secret in the answer", async () => {
    const id = await addRelay(app, server.host, { user: "ann", plain: { password: "Not-the-right-one-9" } });
    const res = await rest(app, "POST", `/admin/v1/email/smtp/${id}/_test`, { receiverAddress: "carol@example.org" });
    assert.equal(res.status, 500, res.text);
    assert.match(res.body.message, /AUTH: the server answered 535/);
    assert.doesNotMatch(res.text, /Not-the-right-one-9/);
  });

  it("by id, an unknown or HTTP provider is NOT_FOUND SMTP-99klw", async () => {
    const unknown = await rest(app, "POST", "/admin/v1/smtp/123456789012345678/_test", { receiverAddress: "carol@example.org" });
    assert.equal(unknown.status, 404, unknown.text);
    assert.match(unknown.body.message, /SMTP-99klw/);
    const http = await rest(app, "POST", "/admin/v1/email/http", { endpoint: "https://hooks.example.com/mail" });
    assert.equal(http.status, 200, http.text);
    const res = await rest(app, "POST", `/admin/v1/email/smtp/${http.body.id}/_test`, { receiverAddress: "carol@example.org" });
    assert.equal(res.status, 404, res.text);
    assert.match(res.body.message, /SMTP-99klw/);
  });

  it("needs iam.write", async () => {
    const viewer = await app.createToken("IAM_OWNER_VIEWER");
    const res = await rest(app, "POST", "/admin/v1/email/smtp/_test", settingsFor(plainServer.host, { none: {} }), `Bearer ${viewer}`);
    assert.equal(res.status, 403, res.text);
  });
});
