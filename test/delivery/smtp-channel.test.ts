import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { DEFAULT_POOL_CONNECTIONS, SmtpChannel } from "../../src/delivery/smtp-channel.js";
import { OAuth2TokenSource } from "../../src/delivery/oauth2-tokens.js";
import { outgoingMessage, smtpProvider, testKeyring } from "../support/providers.js";
import type { OutgoingMessage } from "../../src/delivery/types.js";
import { startSmtpServer, startTokenEndpoint, unusedPort, type TestSmtpServer } from "../support/smtp-servers.js";
import { until } from "../support/wait.js";

const keyring = testKeyring();
const EHLO = "mailroom-node-1.example.net";

function channel(tokens?: OAuth2TokenSource): SmtpChannel {
  return new SmtpChannel({ secrets: keyring, ehloName: EHLO, tokens });
}

/** The header block of a raw message, unfolded, keyed by lower-case name. */
function headersOf(raw: string): Map<string, string> {
  const head = raw.split(/\r\n\r\n/)[0]!.replace(/\r\n[ \t]+/g, " ");
  const headers = new Map<string, string>();
  for (const line of head.split("\r\n")) {
    const colon = line.indexOf(":");
    headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  return headers;
}

/** The one mail `server` received carrying `message`'s Message-ID. */
function receivedFor(server: TestSmtpServer, message: OutgoingMessage) {
  const matching = server.received.filter((m) => headersOf(m.raw).get("message-id") === message.headerMessageId);
  assert.equal(matching.length, 1, `expected exactly one mail with Message-ID ${message.headerMessageId}, got ${matching.length}`);
  return matching[0]!;
}

describe("SMTP channel: message format", () => {
  let server: TestSmtpServer;
  const smtp = channel();
  before(async () => {
    server = await startSmtpServer({ tls: "plain" });
  });
  after(async () => {
    await smtp.close();
    await server.close();
  });

  it("sends a message with encoded sender name, subject, Date, Message-ID and Reply-To", async () => {
    const message = outgoingMessage({
      subject: "Bestätigen Sie Ihre Adresse ✉",
      cc: ["carl@example.org"],
      bcc: ["hidden@example.org"],
      text: "plain body",
      html: "<p>html body</p>",
    });
    const provider = smtpProvider({ host: server.host, senderName: "Müller & Söhne", replyToAddress: "support@example.com" });
    const outcome = await smtp.send(provider, message);
    assert.equal(outcome.ok, true, outcome.detail);
    assert.equal(outcome.smtpCode, 250);
    const mail = server.received.at(-1)!;
    const headers = headersOf(mail.raw);
    assert.match(headers.get("from")!, /^=\?UTF-8\?[BQ]\?.+\?= <noreply@example\.com>$/);
    assert.match(headers.get("subject")!, /^=\?UTF-8\?[BQ]\?/);
    assert.doesNotMatch(headers.get("subject")!, /[^\x20-\x7e]/);
    assert.equal(headers.get("message-id"), message.headerMessageId);
    assert.equal(headers.get("date"), "Mon, 04 Nov 2024 10:46:44 +0000");
    assert.equal(headers.get("reply-to"), "support@example.com");
    assert.equal(headers.get("to"), "ann@example.org");
    assert.equal(headers.get("cc"), "carl@example.org");
    assert.equal(headers.has("bcc"), false);
    assert.match(headers.get("content-type")!, /^multipart\/alternative;/);
    assert.match(mail.raw, /Content-Type: text\/plain; charset=utf-8/);
    assert.match(mail.raw, /Content-Type: text\/html; charset=utf-8/);
    assert.deepEqual(mail.to.sort(), ["ann@example.org", "carl@example.org", "hidden@example.org"]);
    assert.equal(mail.from, "noreply@example.com");
  });

  it("keeps the Message-ID of a message across attempts", async () => {
    const message = outgoingMessage();
    const provider = smtpProvider({ host: server.host });
    await smtp.send(provider, message);
    await smtp.send(provider, message);
    const [first, second] = server.received.slice(-2).map((m) => headersOf(m.raw).get("message-id"));
    assert.equal(first, message.headerMessageId);
    assert.equal(second, message.headerMessageId);
  });

  it("prefers the message's reply-to over the provider's", async () => {
    const provider = smtpProvider({ host: server.host, replyToAddress: "support@example.com" });
    const message = outgoingMessage({ replyTo: "team@example.com" });
    const outcome = await smtp.send(provider, message);
    assert.equal(outcome.ok, true, outcome.detail);
    assert.equal(headersOf(receivedFor(server, message).raw).get("reply-to"), "team@example.com");
  });

  it("sends a text-only message as text/plain", async () => {
    const message = outgoingMessage({ text: "only text", html: undefined });
    const outcome = await smtp.send(smtpProvider({ host: server.host }), message);
    assert.equal(outcome.ok, true, outcome.detail);
    assert.match(headersOf(receivedFor(server, message).raw).get("content-type")!, /^text\/plain/);
  });

  it("announces the configured EHLO name", async () => {
    const message = outgoingMessage();
    const outcome = await smtp.send(smtpProvider({ host: server.host }), message);
    assert.equal(outcome.ok, true, outcome.detail);
    assert.equal(receivedFor(server, message).ehloName, EHLO);
  });
});

describe("SMTP channel: TLS modes", () => {
  let plain: TestSmtpServer;
  let starttls: TestSmtpServer;
  let implicit: TestSmtpServer;
  const smtp = channel();
  before(async () => {
    [plain, starttls, implicit] = await Promise.all([
      startSmtpServer({ tls: "plain" }),
      startSmtpServer({ tls: "starttls" }),
      startSmtpServer({ tls: "implicit" }),
    ]);
  });
  after(async () => {
    await smtp.close();
    await Promise.all([plain.close(), starttls.close(), implicit.close()]);
  });

  it("tls none sends in plaintext and never tries STARTTLS, even when offered", async () => {
    const outcome = await smtp.send(smtpProvider({ host: starttls.host, tls: "none" }), outgoingMessage());
    assert.equal(outcome.ok, true, outcome.detail);
    assert.equal(starttls.received.at(-1)!.secure, false);
  });

  it("tls starttls upgrades the connection", async () => {
    const outcome = await smtp.send(smtpProvider({ host: starttls.host, tls: "starttls", verifyCertificates: false }), outgoingMessage());
    assert.equal(outcome.ok, true, outcome.detail);
    assert.equal(starttls.received.at(-1)!.secure, true);
  });

  it("tls starttls against a server without STARTTLS fails instead of sending in plaintext", async () => {
    const outcome = await smtp.send(smtpProvider({ host: plain.host, tls: "starttls", verifyCertificates: false }), outgoingMessage());
    assert.equal(outcome.ok, false);
    assert.equal(plain.received.length, 0);
  });

  it("tls implicit speaks TLS from the first byte", async () => {
    const outcome = await smtp.send(smtpProvider({ host: implicit.host, tls: "implicit", verifyCertificates: false }), outgoingMessage());
    assert.equal(outcome.ok, true, outcome.detail);
    assert.equal(implicit.received.at(-1)!.secure, true);
  });

  it("tls auto finds implicit TLS on a port that is not 465", async () => {
    const outcome = await smtp.send(smtpProvider({ host: implicit.host, tls: "auto", verifyCertificates: false }), outgoingMessage());
    assert.equal(outcome.ok, true, outcome.detail);
    assert.equal(implicit.received.at(-1)!.secure, true);
  });

  it("tls auto uses STARTTLS on a plaintext port", async () => {
    const outcome = await smtp.send(smtpProvider({ host: starttls.host, tls: "auto", verifyCertificates: false }), outgoingMessage());
    assert.equal(outcome.ok, true, outcome.detail);
    assert.equal(starttls.received.at(-1)!.secure, true);
  });

  it("tls auto never downgrades: a server without STARTTLS gets nothing", async () => {
    const before = plain.received.length;
    const outcome = await smtp.send(smtpProvider({ host: plain.host, tls: "auto" }), outgoingMessage());
    assert.equal(outcome.ok, false);
    assert.equal(plain.received.length, before);
  });

  it("a self-signed certificate is accepted when verification is off", async () => {
    const outcome = await smtp.send(smtpProvider({ host: implicit.host, tls: "implicit", verifyCertificates: false }), outgoingMessage());
    assert.equal(outcome.ok, true, outcome.detail);
  });

  it("a self-signed certificate fails verification, permanently, when verification is on", async () => {
    const before = starttls.received.length;
    const outcome = await smtp.send(smtpProvider({ host: starttls.host, tls: "starttls", verifyCertificates: true }), outgoingMessage());
    assert.equal(outcome.ok, false);
    assert.equal(outcome.permanent, true);
    assert.match(outcome.detail, /self[- ]signed certificate/i);
    assert.equal(starttls.received.length, before);
  });
});

describe("SMTP channel: authentication", () => {
  const smtp = channel();
  after(() => smtp.close());

  it("auth none sends no AUTH even when a user name is set", async () => {
    const server = await startSmtpServer({ tls: "plain", authMethods: ["PLAIN", "LOGIN"], users: { relay: "secret" } });
    const withOptionalAuth = await startSmtpServer({ tls: "plain" });
    try {
      const outcome = await smtp.send(smtpProvider({ host: withOptionalAuth.host, user: "relay", auth: { kind: "none" } }), outgoingMessage());
      assert.equal(outcome.ok, true, outcome.detail);
      assert.equal(withOptionalAuth.received.at(-1)!.user, undefined);
      // A server that requires AUTH refuses the mail rather than seeing an empty PLAIN.
      const refused = await smtp.send(smtpProvider({ host: server.host, user: "relay", auth: { kind: "none" } }), outgoingMessage());
      assert.equal(refused.ok, false);
      assert.deepEqual(server.authAttempts, []);
    } finally {
      await Promise.all([server.close(), withOptionalAuth.close()]);
    }
  });

  it("a password is sent with AUTH PLAIN when the server offers it", async () => {
    const server = await startSmtpServer({ tls: "plain", authMethods: ["PLAIN", "LOGIN"], users: { ann: "pa55" } });
    try {
      const provider = smtpProvider({ host: server.host, user: "ann", auth: { kind: "plain", password: keyring.seal("pa55") } });
      const outcome = await smtp.send(provider, outgoingMessage());
      assert.equal(outcome.ok, true, outcome.detail);
      assert.equal(server.received[0]!.authMethod, "PLAIN");
    } finally {
      await server.close();
    }
  });

  it("a password is sent with AUTH LOGIN when that is all the server offers", async () => {
    const server = await startSmtpServer({ tls: "plain", authMethods: ["LOGIN"], users: { ann: "pa55" } });
    try {
      const provider = smtpProvider({ host: server.host, user: "ann", auth: { kind: "plain", password: keyring.seal("pa55") } });
      const outcome = await smtp.send(provider, outgoingMessage());
      assert.equal(outcome.ok, true, outcome.detail);
      assert.equal(server.received[0]!.authMethod, "LOGIN");
    } finally {
      await server.close();
    }
  });

  it("a wrong password is a permanent failure with the 535 reply kept", async () => {
    const server = await startSmtpServer({ tls: "plain", authMethods: ["PLAIN"], users: { ann: "pa55" } });
    try {
      const provider = smtpProvider({ host: server.host, user: "ann", auth: { kind: "plain", password: keyring.seal("wrong") } });
      const outcome = await smtp.send(provider, outgoingMessage());
      assert.equal(outcome.ok, false);
      assert.equal(outcome.permanent, true);
      assert.equal(outcome.smtpCode, 535);
      assert.doesNotMatch(outcome.detail, /wrong/);
    } finally {
      await server.close();
    }
  });

  it("XOAUTH2 authenticates with a client-credentials token and reuses it until it expires", async () => {
    const endpoint = await startTokenEndpoint({ clientId: "mailroom", clientSecret: "client-s3cret" });
    const server = await startSmtpServer({
      tls: "plain",
      authMethods: ["XOAUTH2"],
      accept: (method, user, token) => method === "XOAUTH2" && user === "ann@example.com" && endpoint.issued.includes(token ?? ""),
    });
    const tokens = new OAuth2TokenSource();
    const xoauth = channel(tokens);
    try {
      const auth = { kind: "xoauth2" as const, tokenEndpoint: endpoint.url, scopes: ["smtp.send"], clientId: "mailroom", clientSecret: keyring.seal("client-s3cret") };
      const first = await xoauth.send(smtpProvider({ host: server.host, user: "ann@example.com", auth }), outgoingMessage());
      assert.equal(first.ok, true, first.detail);
      // A new configuration version opens a new connection, which logs in again.
      xoauth.retire();
      const second = await xoauth.send(smtpProvider({ host: server.host, user: "ann@example.com", auth }), outgoingMessage());
      assert.equal(second.ok, true, second.detail);
      assert.equal(server.received.length, 2);
      assert.deepEqual(server.received.map((m) => m.secret), ["token-1", "token-1"]);
      assert.equal(endpoint.requests.length, 1);
      assert.equal(endpoint.requests[0]!.get("scope"), "smtp.send");
    } finally {
      await xoauth.close();
      await Promise.all([server.close(), endpoint.close()]);
    }
  });

  it("XOAUTH2 with credentials the token endpoint refuses is a permanent failure", async () => {
    const endpoint = await startTokenEndpoint({ clientId: "mailroom", clientSecret: "client-s3cret" });
    const server = await startSmtpServer({ tls: "plain", authMethods: ["XOAUTH2"], accept: () => true });
    try {
      // A query string may carry a key of its own: the attempt's detail names the endpoint without it.
      const tokenEndpoint = `${endpoint.url}?api_key=query-s3cret`;
      const auth = { kind: "xoauth2" as const, tokenEndpoint, scopes: [], clientId: "mailroom", clientSecret: keyring.seal("nope") };
      const outcome = await smtp.send(smtpProvider({ host: server.host, user: "ann@example.com", auth }), outgoingMessage());
      assert.equal(outcome.ok, false);
      assert.equal(outcome.permanent, true);
      assert.match(outcome.detail, /HTTP 401/);
      assert.doesNotMatch(outcome.detail, /nope/);
      assert.ok(outcome.detail.includes(endpoint.url) && !outcome.detail.includes("query-s3cret"), outcome.detail.replace("query-s3cret", "[the query]"));
    } finally {
      await Promise.all([server.close(), endpoint.close()]);
    }
  });
});

describe("SMTP channel: failures", () => {
  const smtp = channel();
  after(() => smtp.close());

  for (const [code, permanent] of [
    [421, false],
    [451, false],
    [550, true],
  ] as const) {
    it(`a ${code} reply is a ${permanent ? "permanent" : "temporary"} failure with the reply kept`, async () => {
      const server = await startSmtpServer({ tls: "plain", rcptReply: { code, text: `reply ${code} from the relay` } });
      try {
        const outcome = await smtp.send(smtpProvider({ host: server.host }), outgoingMessage());
        assert.equal(outcome.ok, false);
        assert.equal(outcome.permanent, permanent);
        assert.equal(outcome.smtpCode, code);
        assert.match(outcome.detail, new RegExp(`${code} reply ${code} from the relay`));
      } finally {
        await server.close();
      }
    });
  }

  it("a server that is down is a temporary failure", async () => {
    const port = await unusedPort();
    const outcome = await smtp.send(smtpProvider({ host: `127.0.0.1:${port}` }), outgoingMessage());
    assert.equal(outcome.ok, false);
    assert.equal(outcome.permanent, false);
    assert.match(outcome.detail, /ECONNREFUSED/);
  });
});

describe("SMTP channel: configuration changes", () => {
  it("after a password change and retire, the next message authenticates with the new password", async () => {
    let current = "old-password";
    const server = await startSmtpServer({
      tls: "plain",
      authMethods: ["PLAIN"],
      accept: (_method, user, secret) => user === "ann" && secret === current,
    });
    const smtp = channel();
    try {
      const v1 = smtpProvider({ host: server.host, user: "ann", auth: { kind: "plain", password: keyring.seal("old-password") } });
      assert.equal((await smtp.send(v1, outgoingMessage())).ok, true);
      assert.equal((await smtp.send(v1, outgoingMessage())).ok, true);
      // The relay's password is rotated, then the provider: a new configuration version.
      current = "new-password";
      const v2 = smtpProvider(
        { host: server.host, user: "ann", auth: { kind: "plain", password: keyring.seal("new-password") } },
        { sequence: v1.sequence + 1 },
      );
      smtp.retire({ instanceId: v2.instanceId, providerIds: [v2.id], fromSequence: v2.sequence });
      const outcome = await smtp.send(v2, outgoingMessage());
      assert.equal(outcome.ok, true, outcome.detail);
      assert.deepEqual(server.received.map((m) => m.secret), ["old-password", "old-password", "new-password"]);
      assert.equal(smtp.poolCount, 1);
    } finally {
      await smtp.close();
      await server.close();
    }
  });

  it("concurrent first sends of a provider version share one TLS probe and one pool", async () => {
    const server = await startSmtpServer({ tls: "starttls" });
    const smtp = channel();
    try {
      const provider = smtpProvider({ host: server.host, tls: "auto", verifyCertificates: false });
      const outcomes = await Promise.all(Array.from({ length: 20 }, () => smtp.send(provider, outgoingMessage())));
      for (const outcome of outcomes) assert.equal(outcome.ok, true, outcome.detail);
      assert.equal(server.received.length, 20);
      assert.ok(server.connections() <= DEFAULT_POOL_CONNECTIONS + 1, `${server.connections()} connections: the pool's and one probe`);
      assert.equal(smtp.poolCount, 1);
    } finally {
      await smtp.close();
      await server.close();
    }
  });

  it("retiring a pool lets the sends it already took finish", async () => {
    const server = await startSmtpServer({ tls: "plain", holdGreetings: true });
    const smtp = channel();
    try {
      // Retired while the send is still setting the pool up.
      const settingUp = smtp.send(smtpProvider({ host: server.host }), outgoingMessage());
      smtp.retire();
      // Retired while the send waits on the server's greeting.
      const waiting = smtp.send(smtpProvider({ host: server.host }), outgoingMessage());
      await until("the second pool to connect", () => server.connections() > 1);
      smtp.retire();
      assert.equal(smtp.poolCount, 0);
      server.releaseGreetings();
      for (const outcome of await Promise.all([settingUp, waiting])) assert.equal(outcome.ok, true, outcome.detail);
      assert.equal(server.received.length, 2);
    } finally {
      await smtp.close();
      await server.close();
    }
  });

  it("a change retires older versions' pools, not the pool of the version it committed", async () => {
    const server = await startSmtpServer({ tls: "plain" });
    const smtp = channel();
    try {
      const v1 = smtpProvider({ host: server.host });
      const v2 = smtpProvider({ host: server.host }, { sequence: v1.sequence + 1 });
      assert.equal((await smtp.send(v1, outgoingMessage())).ok, true);
      // The worker read v2 and sent through it before hearing of the change that made v2.
      assert.equal((await smtp.send(v2, outgoingMessage())).ok, true);
      const opened = server.connections();
      smtp.retire({ instanceId: v2.instanceId, providerIds: [v2.id], fromSequence: v2.sequence });
      assert.equal(smtp.poolCount, 1);
      assert.equal((await smtp.send(v2, outgoingMessage())).ok, true);
      assert.equal(server.connections(), opened, "the v2 pool's connection was reused");
    } finally {
      await smtp.close();
      await server.close();
    }
  });

  it("a send that read its provider before a change neither disturbs nor keeps the newer version's pool", async () => {
    const server = await startSmtpServer({ tls: "plain", holdGreetings: true });
    const smtp = channel();
    try {
      const v1 = smtpProvider({ host: server.host });
      const v2 = smtpProvider({ host: server.host }, { sequence: v1.sequence + 1 });
      const newer = smtp.send(v2, outgoingMessage());
      await until("the v2 pool to connect", () => server.connections() > 0);
      const older = smtp.send(v1, outgoingMessage());
      server.releaseGreetings();
      const outcomes = await Promise.all([newer, older]);
      for (const outcome of outcomes) assert.equal(outcome.ok, true, outcome.detail);
      assert.equal(server.received.length, 2);
      assert.equal(smtp.poolCount, 1);
      const opened = server.connections();
      assert.equal((await smtp.send(v2, outgoingMessage())).ok, true);
      assert.equal(server.connections(), opened, "the v2 pool's connection was reused");
    } finally {
      await smtp.close();
      await server.close();
    }
  });

  it("a send for a newer configuration version never rides an older pooled connection", async () => {
    const server = await startSmtpServer({ tls: "plain", authMethods: ["PLAIN"], users: { ann: "one", bob: "two" } });
    const smtp = channel();
    try {
      const v1 = smtpProvider({ host: server.host, user: "ann", auth: { kind: "plain", password: keyring.seal("one") } });
      const v2 = smtpProvider({ host: server.host, user: "bob", auth: { kind: "plain", password: keyring.seal("two") } }, { sequence: v1.sequence + 1 });
      assert.equal((await smtp.send(v1, outgoingMessage())).ok, true);
      assert.equal((await smtp.send(v2, outgoingMessage())).ok, true);
      assert.deepEqual(server.received.map((m) => m.user), ["ann", "bob"]);
      assert.equal(smtp.poolCount, 1);
    } finally {
      await smtp.close();
      await server.close();
    }
  });
});
