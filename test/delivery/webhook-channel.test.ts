import assert from "node:assert/strict";
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { WebhookChannel } from "../../src/delivery/webhook-channel.js";
import { WebhookGuard } from "../../src/delivery/webhook-guard.js";
import type { Provider } from "../../src/domain/provider.js";
import { outgoingMessage, testKeyring } from "../support/providers.js";
import { unusedPort } from "../support/smtp-servers.js";

const keyring = testKeyring();
const SIGNING_KEY = "abcdefghijklmnopqrstuvwxyz0123456789";

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A webhook receiver that verifies signatures the way ZITADEL's documentation tells receivers to. */
function verify(header: string, body: string): boolean {
  const parts = Object.fromEntries(header.split(",").map((p) => p.split("=") as [string, string]));
  const expected = createHmac("sha256", SIGNING_KEY).update(`${parts.t}.${body}`).digest();
  const given = Buffer.from(parts.v1 ?? "", "hex");
  return given.length === expected.length && timingSafeEqual(given, expected) && Math.abs(Date.now() / 1000 - Number(parts.t)) < 300;
}

function httpProvider(endpoint: string): Provider {
  return {
    instanceId: "instance-1",
    id: "webhook-1",
    description: "notification webhook",
    state: "active",
    config: { kind: "http", http: { endpoint, signingKey: keyring.seal(SIGNING_KEY) } },
    createdAt: new Date(),
    changedAt: new Date(),
    sequence: 7,
  };
}

describe("webhook channel", () => {
  let server: Server;
  let base: string;
  const received: Received[] = [];
  const channel = new WebhookChannel({ secrets: keyring, guard: new WebhookGuard([]) });

  before(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        received.push({ path: req.url ?? "", headers: req.headers, body });
        if (req.url === "/ok") {
          res.statusCode = verify(String(req.headers["zitadel-signature"] ?? ""), body) ? 200 : 401;
        } else if (req.url === "/fail") {
          res.statusCode = 500;
        } else if (req.url === "/slow") {
          return; // never answers
        } else if (req.url === "/redirect") {
          res.statusCode = 302;
          res.setHeader("location", "/ok");
        } else {
          res.statusCode = 404;
        }
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );

  it("posts the signed JSON payload and a receiver verifying the HMAC accepts it", async () => {
    const message = outgoingMessage({ to: ["ann@example.org"], cc: ["carl@example.org"], bcc: ["b@example.org"], html: "<p>hi</p>", replyTo: "team@example.com" });
    const outcome = await channel.send(httpProvider(`${base}/ok`), message);
    assert.equal(outcome.ok, true, outcome.detail);
    assert.equal(outcome.httpStatus, 200);
    const request = received.at(-1)!;
    assert.equal(request.headers["content-type"], "application/json");
    assert.match(String(request.headers["zitadel-signature"]), /^t=\d+,v1=[0-9a-f]{64}$/);
    assert.deepEqual(JSON.parse(request.body), {
      contextInfo: {
        recipientEmailAddress: "ann@example.org",
        eventType: "mailroom.message",
        provider: { id: "webhook-1", description: "notification webhook" },
      },
      templateData: { subject: message.subject, text: message.text, html: "<p>hi</p>" },
      args: { messageId: message.id, to: ["ann@example.org"], cc: ["carl@example.org"], bcc: ["b@example.org"], replyTo: "team@example.com" },
    });
  });

  it("a 500 answer is a temporary failure", async () => {
    const outcome = await channel.send(httpProvider(`${base}/fail`), outgoingMessage());
    assert.equal(outcome.ok, false);
    assert.equal(outcome.permanent, false);
    assert.equal(outcome.httpStatus, 500);
  });

  it("a 404 answer is a failed attempt that is retried", async () => {
    const outcome = await channel.send(httpProvider(`${base}/missing`), outgoingMessage());
    assert.equal(outcome.ok, false);
    assert.equal(outcome.permanent, false);
    assert.equal(outcome.httpStatus, 404);
  });

  it("a redirect is a failed attempt and is not followed", async () => {
    const before = received.length;
    const outcome = await channel.send(httpProvider(`${base}/redirect`), outgoingMessage());
    assert.equal(outcome.ok, false);
    assert.equal(outcome.permanent, false);
    assert.equal(outcome.httpStatus, 302);
    assert.deepEqual(received.slice(before).map((r) => r.path), ["/redirect"]);
  });

  it("an endpoint that resolves into the deny-list is refused at connect time", async () => {
    const guarded = new WebhookChannel({ secrets: keyring, guard: new WebhookGuard(["127.0.0.0/8", "::1/128"]) });
    const before = received.length;
    const port = new URL(base).port;
    const outcome = await guarded.send(httpProvider(`http://localhost:${port}/ok`), outgoingMessage());
    assert.equal(outcome.ok, false);
    assert.equal(outcome.permanent, true);
    assert.match(outcome.detail, /deny-list/);
    assert.equal(received.length, before);
  });

  it("an endpoint whose IP literal is on the deny-list is refused without connecting", async () => {
    const guarded = new WebhookChannel({ secrets: keyring, guard: new WebhookGuard(["127.0.0.0/8", "::1/128"]) });
    const before = received.length;
    const outcome = await guarded.send(httpProvider(`${base}/ok`), outgoingMessage());
    assert.equal(outcome.ok, false);
    assert.equal(outcome.permanent, true);
    assert.match(outcome.detail, /endpoint address 127\.0\.0\.1 is on the webhook deny-list/);
    assert.equal(received.length, before);
  });

  it("a receiver that does not answer within the timeout is a temporary failure", async () => {
    const impatient = new WebhookChannel({ secrets: keyring, guard: new WebhookGuard([]), timeoutMs: 300 });
    const outcome = await impatient.send(httpProvider(`${base}/slow`), outgoingMessage());
    assert.equal(outcome.ok, false);
    assert.equal(outcome.permanent, false);
    assert.match(outcome.detail, /no answer within 0\.3 s/);
  });

  it("a server that is down is a temporary failure", async () => {
    const port = await unusedPort();
    const outcome = await channel.send(httpProvider(`http://127.0.0.1:${port}/ok`), outgoingMessage());
    assert.equal(outcome.ok, false);
    assert.equal(outcome.permanent, false);
    assert.match(outcome.detail, /ECONNREFUSED/);
  });
});
