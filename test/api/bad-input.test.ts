import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { rest, startTestApp, type TestApp } from "../support/app.js";
import { adminClient, rpcError } from "../support/clients.js";
import { addSmtp, smtpProvider } from "../support/fixtures.js";

// Whatever a client sends, the answer is a 4xx with a google.rpc.Status body: never a 5xx, never
// a stack trace, and a refused request stores nothing.

const STACK_TRACE = /\n\s+at |node_modules|\.ts:\d+/;

describe("bad input", () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });
  after(() => app.stop());

  const eventCount = async () => (await app.core.store.listEvents(app.core.instance.id)).length;

  async function refusal(method: string, path: string, body: unknown, status = 400): Promise<{ code: number; message: string }> {
    const res = await rest(app, method, path, body);
    assert.equal(res.status, status, res.text);
    assert.doesNotMatch(res.text, STACK_TRACE);
    assert.equal(typeof res.body.code, "number");
    assert.equal(typeof res.body.message, "string");
    return res.body;
  }

  async function refused(method: string, path: string, body: unknown, status = 400): Promise<void> {
    await refusal(method, path, body, status);
  }

  it("answers malformed JSON with 400 INVALID_ARGUMENT", async () => {
    const body = await refusal("POST", "/admin/v1/email/smtp", '{"senderAddress": "a@example.com",');
    assert.equal(body.code, 3);
    assert.match(body.message, /not valid JSON/);
  });

  it("answers a JSON array body with 400", () => refused("POST", "/admin/v1/email/smtp", "[]"));

  it("answers a JSON null body with 400", () => refused("POST", "/admin/v1/email/_search", "null"));

  it("answers a number where a string belongs with 400 naming the message", async () => {
    const body = await refusal("POST", "/admin/v1/email/smtp", smtpProvider({ senderAddress: 42 }));
    assert.equal(body.code, 3);
    assert.match(body.message, /AddEmailProviderSMTPRequest/);
  });

  it("never echoes a secret sent with the wrong JSON type", async () => {
    const legacy = await refusal("POST", "/admin/v1/email/smtp", smtpProvider({ password: 987654321 }));
    assert.match(legacy.message, /AddEmailProviderSMTPRequest\.password from JSON: expected string/);
    assert.doesNotMatch(legacy.message, /987654321/);
    const plain = await refusal("POST", "/admin/v1/email/smtp", smtpProvider({ plain: { password: ["s3cret-in-array"] } }));
    assert.doesNotMatch(plain.message, /s3cret-in-array|Array/);
  });

  it("never quotes the request text around a JSON syntax error, on REST, Connect and the settings dialect", async () => {
    const secret = "hunter2-in-broken-json";
    const broken = `{"senderAddress":"a@example.com","plain":{"password":${secret}}}`;
    const post = (path: string) =>
      fetch(app.url + path, { method: "POST", headers: { "content-type": "application/json", authorization: app.auth }, body: broken });
    for (const path of ["/admin/v1/email/smtp", "/zitadel.admin.v1.AdminService/AddEmailProviderSMTP", "/email-settings/edit"]) {
      const res = await post(path);
      const text = await res.text();
      assert.equal(res.status, 400, `${path}: ${text}`);
      assert.match(text, /not valid JSON: unexpected character|cannot decode message \S+ from JSON: unexpected character/, path);
      assert.ok(!text.includes(secret) && !text.includes("hunter2"), `${path} quoted the password`);
    }
  });

  it("never echoes a secret sent with the wrong JSON type over the Connect protocol", async () => {
    const res = await fetch(`${app.url}/zitadel.admin.v1.AdminService/AddEmailProviderSMTP`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: app.auth },
      body: JSON.stringify(smtpProvider({ password: 987654321 })),
    });
    const body = (await res.json()) as { code: string; message: string };
    assert.equal(res.status, 400);
    assert.equal(body.code, "invalid_argument");
    assert.match(body.message, /AddEmailProviderSMTPRequest\.password from JSON: expected string/);
    assert.doesNotMatch(body.message, /987654321/);
  });

  it("answers a string where a bool belongs with 400", () => refused("POST", "/admin/v1/email/smtp", smtpProvider({ tls: "yes" })));

  it("answers a string where a message belongs with 400", () => refused("POST", "/admin/v1/email/_search", { query: "first page" }));

  it("answers a negative list offset with 400", () => refused("POST", "/admin/v1/email/_search", { query: { offset: -1 } }));

  it("answers a malformed duration with 400", () =>
    refused("PUT", "/admin/v1/email/http/1", { endpoint: "https://hooks.example.com/x", expirationSigningKey: "soon" }));

  it("answers a bad percent-encoding in a path parameter with 400", () => refused("GET", "/admin/v1/email/%E0%A4%A", undefined));

  it("ignores unknown JSON fields", async () => {
    const res = await rest(app, "POST", "/admin/v1/email/smtp", smtpProvider({ name: "ignored", somethingElse: { a: 1 } }));
    assert.equal(res.status, 200, res.text);
  });

  it("answers a body over 1 MiB with 413 and stores nothing", async () => {
    const before = await eventCount();
    const body = await refusal("POST", "/admin/v1/email/smtp", smtpProvider({ description: "x".repeat(1024 * 1024) }), 413);
    assert.equal(body.code, 3);
    assert.equal(await eventCount(), before);
  });

  it("answers a chunked body over 1 MiB without content-length with 413", async () => {
    const url = new URL("/admin/v1/email/smtp", app.url);
    const status = await new Promise<number>((resolve, reject) => {
      // agent: false: a connection whose request body was refused half-way must not be reused.
      const req = request(url, { method: "POST", agent: false, headers: { authorization: app.auth, "content-type": "application/json" } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      const chunk = "x".repeat(64 * 1024);
      req.write('{"description":"');
      for (let i = 0; i < 20; i++) req.write(chunk);
      req.end('"}');
    });
    assert.equal(status, 413);
  });

  it("answers an oversized message on Connect with RESOURCE_EXHAUSTED, not a server error", async () => {
    const { error } = await rpcError(
      adminClient("connect", app).addEmailProviderSMTP({
        senderAddress: "a@example.com",
        senderName: "A",
        host: "smtp.example.com:25",
        description: "x".repeat(2 * 1024 * 1024),
      }),
    );
    assert.equal(error.code, Code.ResourceExhausted);
  });

  it("answers consecutive oversized gRPC-Web messages each with RESOURCE_EXHAUSTED", async () => {
    const client = adminClient("grpc-web", app);
    for (let i = 0; i < 3; i++) {
      const { error } = await rpcError(client.updateEmailProviderSMTPPassword({ id: "1", password: "x".repeat(2 * 1024 * 1024) }));
      assert.equal(error.code, Code.ResourceExhausted);
    }
  });

  it("answers an unknown path with 404", async () => {
    const body = await refusal("GET", "/admin/v1/nothing-here", undefined, 404);
    assert.equal(body.code, 5);
  });

  it("answers a path outside the API with 404", () => refused("GET", "/", undefined, 404));

  it("answers a known path with the wrong method with 405 and an Allow header", async () => {
    const res = await fetch(`${app.url}/admin/v1/email/_search`, { method: "PUT", headers: { authorization: app.auth } });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get("allow"), "POST, GET, DELETE");
    assert.equal((await res.json()).code, 12);
  });

  it("answers PATCH on a provider with 405", async () => {
    const id = await addSmtp(app);
    const res = await rest(app, "PATCH", `/admin/v1/email/${id}`, {});
    assert.equal(res.status, 405, res.text);
  });

  it("answers malformed JSON on the Connect protocol with a 4xx", async () => {
    const res = await fetch(`${app.url}/zitadel.admin.v1.AdminService/ListEmailProviders`, {
      method: "POST",
      headers: { authorization: app.auth, "content-type": "application/json" },
      body: "{nope",
    });
    const text = await res.text();
    assert.ok(res.status >= 400 && res.status < 500, `${res.status} ${text}`);
    assert.doesNotMatch(text, STACK_TRACE);
  });

  it("answers garbage on the gRPC-Web protocol with an error, not a crash", async () => {
    const res = await fetch(`${app.url}/zitadel.admin.v1.AdminService/ListEmailProviders`, {
      method: "POST",
      headers: { authorization: app.auth, "content-type": "application/grpc-web+proto" },
      body: new Uint8Array([0, 0, 0, 0, 9, 1, 2, 3]),
    });
    const text = await res.text();
    assert.ok(res.status < 500, `${res.status}`);
    assert.notEqual(res.headers.get("grpc-status") ?? /grpc-status:\s*(\d+)/.exec(text)?.[1], "0");
    assert.doesNotMatch(text, STACK_TRACE);
  });

  describe("line breaks in header fields", () => {
    const fields: [string, Record<string, unknown>][] = [
      ["sender name", { senderName: "Evil\r\nBcc: victim@example.com" }],
      ["sender address", { senderAddress: "a@example.com\r\nBcc: victim@example.com" }],
      ["reply-to address", { replyToAddress: "r@example.com\nBcc: victim@example.com" }],
      ["user", { user: "mailer\r\nRSET" }],
    ];

    for (const [name, override] of fields) {
      it(`refuses a CR/LF in the ${name} on add and stores nothing`, async () => {
        const before = await eventCount();
        const listed = await rest(app, "POST", "/admin/v1/email/_search", {});
        const body = await refusal("POST", "/admin/v1/email/smtp", smtpProvider(override));
        assert.equal(body.code, 3);
        assert.equal(await eventCount(), before);
        assert.equal((await rest(app, "POST", "/admin/v1/email/_search", {})).body.details.totalResult, listed.body.details.totalResult);
      });

      it(`refuses a CR/LF in the ${name} on update and changes nothing`, async () => {
        const id = await addSmtp(app);
        const stored = await rest(app, "GET", `/admin/v1/email/${id}`);
        const before = await eventCount();
        await refused("PUT", `/admin/v1/email/smtp/${id}`, smtpProvider(override));
        assert.equal(await eventCount(), before);
        assert.deepEqual((await rest(app, "GET", `/admin/v1/email/${id}`)).body, stored.body);
      });
    }

    it("refuses a CR/LF in the sender name over gRPC", async () => {
      const before = await eventCount();
      const { error } = await rpcError(
        adminClient("grpc", app).addSMTPConfig({ senderAddress: "a@example.com", senderName: "A\nB", host: "smtp.example.com:25" }),
      );
      assert.equal(error.code, Code.InvalidArgument);
      assert.equal(await eventCount(), before);
    });
  });

  it("answers a sweep of hostile bodies on every write route without a 5xx", async () => {
    const id = await addSmtp(app);
    const routes: [string, string][] = [
      ["POST", "/admin/v1/email/smtp"],
      ["PUT", `/admin/v1/email/smtp/${id}`],
      ["PUT", `/admin/v1/email/smtp/${id}/password`],
      ["POST", "/admin/v1/email/http"],
      ["PUT", `/admin/v1/email/http/${id}`],
      ["POST", `/admin/v1/email/${id}/_activate`],
      ["POST", "/admin/v1/smtp"],
      ["PUT", `/admin/v1/smtp/${id}`],
      ["POST", "/admin/v1/email/_search"],
    ];
    const bodies = [
      "",
      "{",
      '"a string"',
      "42",
      "true",
      '{"senderAddress":{}}',
      '{"host":["a"]}',
      '{"plain":"x"}',
      '{"xoauth2":{"scopes":"x"}}',
      '{"none":{},"plain":{"password":"x"}}',
      '{"query":{"limit":"many"}}',
      '{"query":{"limit":99999999999}}',
      '{"id":123}',
      '{"expirationSigningKey":"-1s"}',
      '{"senderAddress":"\\u0000@example.com","senderName":"\\ud800","host":"h:1"}',
      "\u0000\u0001\u0002",
    ];
    for (const [method, path] of routes) {
      for (const body of bodies) {
        const res = await rest(app, method, path, body);
        assert.ok(res.status < 500, `${method} ${path} ${JSON.stringify(body)} → ${res.status} ${res.text}`);
        assert.doesNotMatch(res.text, STACK_TRACE);
      }
    }
  });
});
