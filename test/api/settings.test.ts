import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { rest, startTestApp, type TestApp } from "../support/app.js";

// The global email-settings dialect: POST /email-settings/{show,edit,clear} over real HTTP.

const PASSWORD = "s3cret-Pa55word";

const initial = {
  smtp_host: "smtp.example.com",
  smtp_port: 587,
  encryption: "StartTLS",
  allow_selfsigned_certs: false,
  from_email: "noreply@example.com",
  username: "mailer",
  password: PASSWORD,
};

function settings(app: TestApp, action: string, params: unknown = {}, auth: string | null = app.auth) {
  return rest(app, "POST", `/email-settings/${action}`, { params }, auth);
}

async function sequenceOf(app: TestApp): Promise<number> {
  return (await app.core.store.getInstance(app.core.instance.id))!.sequence;
}

async function activeProvider(app: TestApp) {
  const provider = await app.core.store.getActiveProvider(app.core.instance.id);
  assert.ok(provider, "an active provider");
  assert.equal(provider.config.kind, "smtp");
  return { ...provider, smtp: provider.config.kind === "smtp" ? provider.config.smtp : assert.fail("not smtp") };
}

async function storedPassword(app: TestApp): Promise<string | null> {
  const { id } = await activeProvider(app);
  const provider = await app.core.store.getProvider(app.core.instance.id, id);
  const auth = provider?.config.kind === "smtp" ? provider.config.smtp.auth : undefined;
  if (auth?.kind !== "plain") return null;
  return auth.password === null ? null : app.core.keyring.open(auth.password);
}

/** Counts the store commits made while `action` runs. */
async function countCommits<T>(app: TestApp, action: () => Promise<T>): Promise<{ result: T; commits: number }> {
  const store = app.core.store;
  const original = store.commitProviderEvents;
  let commits = 0;
  store.commitProviderEvents = (...args) => {
    commits += 1;
    return original.apply(store, args);
  };
  try {
    return { result: await action(), commits };
  } finally {
    store.commitProviderEvents = original;
  }
}

describe("email-settings: reading and creating", () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });
  after(() => app.stop());

  it("show with nothing configured succeeds with an empty result", async () => {
    const shown = await settings(app, "show");
    assert.equal(shown.status, 200, shown.text);
    assert.deepEqual(shown.body, { successful: true, result: {} });
  });

  it("edit without active settings requires smtp_host, smtp_port and from_email", async () => {
    for (const missing of ["smtp_host", "smtp_port", "from_email"] as const) {
      const { [missing]: _omitted, ...params } = initial;
      const edited = await settings(app, "edit", params);
      assert.equal(edited.status, 400, edited.text);
      assert.equal(edited.body.successful, false);
      assert.match(edited.body.error.message, new RegExp(`^${missing}: .*required`));
    }
    assert.equal(await sequenceOf(app), 0);
  });

  it("edit without active settings adds and activates an SMTP provider in one commit", async () => {
    const { result: edited, commits } = await countCommits(app, () => settings(app, "edit", initial));
    assert.equal(edited.status, 200, edited.text);
    assert.equal(commits, 1);
    const { password: _password, ...visible } = initial;
    assert.deepEqual(edited.body, { successful: true, result: visible });

    const events = await app.core.store.listEvents(app.core.instance.id);
    assert.deepEqual(
      events.map((e) => e.type),
      ["instance.smtp.config.added", "instance.smtp.config.activated"],
    );
    assert.equal(events[0]!.time.getTime(), events[1]!.time.getTime());
    const provider = await activeProvider(app);
    assert.equal(provider.id, events[0]!.aggregateId);
    assert.equal(provider.smtp.host, "smtp.example.com:587");
    assert.equal(provider.smtp.tls, "starttls");
    assert.equal(provider.smtp.verifyCertificates, true);
    assert.equal(provider.smtp.senderName, "noreply@example.com");
    assert.deepEqual(provider.smtp.auth.kind, "plain");
    assert.equal(await storedPassword(app), PASSWORD);
  });

  it("show returns the active SMTP provider without its password", async () => {
    const shown = await settings(app, "show");
    assert.equal(shown.status, 200, shown.text);
    const { password: _password, ...visible } = initial;
    assert.deepEqual(shown.body, { successful: true, result: visible });
    assert.ok(!shown.text.includes(PASSWORD));
  });

  it("the settings are what the admin API reports as the active provider", async () => {
    const got = await rest(app, "GET", "/admin/v1/email");
    assert.equal(got.status, 200, got.text);
    assert.equal(got.body.config.state, "EMAIL_PROVIDER_ACTIVE");
    assert.equal(got.body.config.smtp.host, "smtp.example.com:587");
    assert.equal(got.body.config.smtp.senderAddress, "noreply@example.com");
    assert.equal(got.body.config.smtp.user, "mailer");
    assert.equal(got.body.config.smtp.tls, true);
    assert.ok(!got.text.includes(PASSWORD));
  });
});

describe("email-settings: partial updates", () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
    const created = await settings(app, "edit", initial);
    assert.equal(created.status, 200, created.text);
  });
  after(() => app.stop());

  it("edit changes only the fields it carries and keeps the stored password", async () => {
    const { id } = await activeProvider(app);
    const edited = await settings(app, "edit", { smtp_port: 2525 });
    assert.equal(edited.status, 200, edited.text);
    assert.equal(edited.body.result.smtp_port, 2525);
    assert.equal(edited.body.result.smtp_host, "smtp.example.com");
    assert.equal(edited.body.result.username, "mailer");
    const provider = await activeProvider(app);
    assert.equal(provider.id, id);
    assert.equal(provider.smtp.host, "smtp.example.com:2525");
    assert.equal(await storedPassword(app), PASSWORD);
    const last = (await app.core.store.listEvents(app.core.instance.id)).at(-1)!;
    assert.equal(last.type, "instance.smtp.config.changed");
    assert.deepEqual(last.payload, { id, host: "smtp.example.com:2525" });
  });

  it("an empty password keeps the stored one", async () => {
    const edited = await settings(app, "edit", { username: "mailer", password: "" });
    assert.equal(edited.status, 200, edited.text);
    assert.equal(await storedPassword(app), PASSWORD);
  });

  it("a request identical to the stored settings records nothing", async () => {
    const before = await sequenceOf(app);
    const shown = await settings(app, "show");
    const edited = await settings(app, "edit", shown.body.result);
    assert.equal(edited.status, 200, edited.text);
    assert.deepEqual(edited.body.result, shown.body.result);
    assert.equal(await sequenceOf(app), before);
  });

  it("a masked placeholder keeps the stored password", async () => {
    const edited = await settings(app, "edit", { username: "mailer", password: "********" });
    assert.equal(edited.status, 200, edited.text);
    assert.equal(await storedPassword(app), PASSWORD);
  });

  it("a new password replaces the stored one", async () => {
    const edited = await settings(app, "edit", { password: "another-secret" });
    assert.equal(edited.status, 200, edited.text);
    assert.ok(!edited.text.includes("another-secret"));
    assert.equal(await storedPassword(app), "another-secret");
  });

  it("an empty username switches to no authentication", async () => {
    const edited = await settings(app, "edit", { username: "" });
    assert.equal(edited.status, 200, edited.text);
    assert.equal(edited.body.result.username, "");
    const { smtp } = await activeProvider(app);
    assert.deepEqual(smtp.auth, { kind: "none" });
    assert.equal(smtp.user, "");
  });

  it("a username with a password switches to PLAIN authentication", async () => {
    const edited = await settings(app, "edit", { username: "relay", password: PASSWORD });
    assert.equal(edited.status, 200, edited.text);
    assert.equal(edited.body.result.username, "relay");
    const { smtp } = await activeProvider(app);
    assert.equal(smtp.auth.kind, "plain");
    assert.equal(smtp.user, "relay");
    assert.equal(await storedPassword(app), PASSWORD);
  });

  it("encryption names map to the stored TLS modes", async () => {
    for (const [encryption, tls] of [
      ["Plain", "none"],
      ["TLS", "implicit"],
      ["StartTLS", "starttls"],
    ] as const) {
      const edited = await settings(app, "edit", { encryption });
      assert.equal(edited.status, 200, edited.text);
      assert.equal(edited.body.result.encryption, encryption);
      assert.equal((await activeProvider(app)).smtp.tls, tls);
    }
  });

  it("allow_selfsigned_certs turns certificate verification off and on", async () => {
    await settings(app, "edit", { allow_selfsigned_certs: true });
    assert.equal((await activeProvider(app)).smtp.verifyCertificates, false);
    const shown = await settings(app, "show");
    assert.equal(shown.body.result.allow_selfsigned_certs, true);
    await settings(app, "edit", { allow_selfsigned_certs: false });
    assert.equal((await activeProvider(app)).smtp.verifyCertificates, true);
  });

  it("a changed from_email also becomes the sender name it had defaulted to", async () => {
    const edited = await settings(app, "edit", { from_email: "alerts@example.com" });
    assert.equal(edited.status, 200, edited.text);
    const { smtp } = await activeProvider(app);
    assert.equal(smtp.senderAddress, "alerts@example.com");
    assert.equal(smtp.senderName, "alerts@example.com");
  });

  it("null fields are read as absent", async () => {
    const before = await sequenceOf(app);
    const edited = await settings(app, "edit", { smtp_host: null, password: null });
    assert.equal(edited.status, 200, edited.text);
    assert.equal(await sequenceOf(app), before);
  });
});

describe("email-settings: the encryption shown for the automatic TLS mode", () => {
  let app: TestApp;
  let id: string;
  before(async () => {
    app = await startTestApp();
    const added = await rest(app, "POST", "/admin/v1/email/smtp", {
      senderAddress: "noreply@example.com",
      senderName: "Example",
      host: "smtp.example.com:587",
      tls: true,
    });
    assert.equal(added.status, 200, added.text);
    id = added.body.id;
    assert.equal((await rest(app, "POST", `/admin/v1/email/${id}/_activate`, {})).status, 200);
  });
  after(() => app.stop());

  it("auto is shown as StartTLS on submission ports and writing it back keeps auto", async () => {
    const shown = await settings(app, "show");
    assert.equal(shown.body.result.encryption, "StartTLS");
    const before = await sequenceOf(app);
    const edited = await settings(app, "edit", { encryption: "StartTLS" });
    assert.equal(edited.status, 200, edited.text);
    assert.equal((await activeProvider(app)).smtp.tls, "auto");
    assert.equal(await sequenceOf(app), before);
  });

  it("auto is shown as TLS on port 465", async () => {
    await settings(app, "edit", { smtp_port: 465 });
    const shown = await settings(app, "show");
    assert.equal(shown.body.result.encryption, "TLS");
    assert.equal((await activeProvider(app)).smtp.tls, "auto");
  });

  it("a name set through the admin API is kept when from_email changes", async () => {
    await settings(app, "edit", { from_email: "other@example.com" });
    assert.equal((await activeProvider(app)).smtp.senderName, "Example");
  });

  it("a username without a password is rejected when no password is stored", async () => {
    const edited = await settings(app, "edit", { username: "mailer" });
    assert.equal(edited.status, 400, edited.text);
    assert.match(edited.body.error.message, /^password: .*required/);
  });
});

describe("email-settings: field rules", () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
    const created = await settings(app, "edit", initial);
    assert.equal(created.status, 200, created.text);
  });
  after(() => app.stop());

  const invalidParams: [string, Record<string, unknown>, RegExp][] = [
    ["a smtp_host that is not a string", { smtp_host: 42 }, /^smtp_host must be a string, got the number 42$/],
    ["an empty smtp_host", { smtp_host: "  " }, /^smtp_host: host must not be empty/],
    ["a smtp_host with a port", { smtp_host: "smtp.example.com:25" }, /^smtp_host: .*without port or scheme/],
    ["a smtp_host with a scheme", { smtp_host: "smtp://smtp.example.com" }, /^smtp_host: .*without port or scheme/],
    ["a smtp_host with a line break", { smtp_host: "smtp.example.com\r\nX: y" }, /^smtp_host: .*line breaks/],
    ["a smtp_port given as a string", { smtp_port: "587" }, /^smtp_port must be an integer in 1\.\.65535, got a string$/],
    ["a fractional smtp_port", { smtp_port: 587.5 }, /^smtp_port must be an integer in 1\.\.65535, got the number 587\.5$/],
    ["smtp_port 0", { smtp_port: 0 }, /^smtp_port: port must be an integer in 1\.\.65535, got 0/],
    ["smtp_port 65536", { smtp_port: 65536 }, /^smtp_port: port must be an integer in 1\.\.65535, got 65536/],
    ["a negative smtp_port", { smtp_port: -25 }, /^smtp_port: port must be an integer in 1\.\.65535, got -25/],
    ["an unknown encryption", { encryption: "SSL" }, /^encryption must be one of Plain, StartTLS, TLS, got "SSL"$/],
    ["an encryption of the wrong case", { encryption: "starttls" }, /^encryption must be one of Plain, StartTLS, TLS/],
    ["an encryption that is not a string", { encryption: true }, /^encryption must be one of Plain, StartTLS, TLS, got a boolean$/],
    ["allow_selfsigned_certs given as a string", { allow_selfsigned_certs: "yes" }, /^allow_selfsigned_certs must be a boolean, got a string$/],
    ["an invalid from_email", { from_email: "not-an-address" }, /^from_email: .*not a valid e-mail address/],
    ["an empty from_email", { from_email: "" }, /^from_email: .*must not be empty/],
    ["a from_email with a line break", { from_email: "a@example.com\r\nBcc: b@example.com" }, /^from_email: .*line breaks/],
    ["a username with a line break", { username: "mailer\nX: y", password: "x" }, /^username: .*line breaks/],
    ["a username that is not a string", { username: ["mailer"] }, /^username must be a string, got an array$/],
    ["a password that is not a string", { password: 12345678 }, /^password must be a string, got a number$/],
    ["a password with an empty username", { username: "", password: "x" }, /^password: .*empty/],
    ["an unknown field", { smtp_server: "smtp.example.com" }, /^smtp_server: unknown field in params/],
  ];

  for (const [what, params, message] of invalidParams) {
    it(`edit rejects ${what} with 400 naming the field, and changes nothing`, async () => {
      const before = await sequenceOf(app);
      const edited = await settings(app, "edit", { smtp_port: 2525, ...params });
      assert.equal(edited.status, 400, edited.text);
      assert.equal(edited.body.successful, false);
      assert.match(edited.body.error.message, message);
      assert.equal(await sequenceOf(app), before);
      assert.equal((await activeProvider(app)).smtp.host, "smtp.example.com:587");
    });
  }

  const invalidBodies: [string, string, RegExp][] = [
    ["malformed JSON", `{"params": {"smtp_port": 2525`, /^request body is not valid JSON/],
    ["an empty body", "", /^request body is empty/],
    ["a body that is not an object", `[1, 2]`, /^request body must be a JSON object/],
    ["a body without params", `{"smtp_port": 2525}`, /^params is required/],
    ["params that are not an object", `{"params": "smtp_port=2525"}`, /^params must be a JSON object, got a string$/],
    ["null params", `{"params": null}`, /^params must be a JSON object, got null$/],
  ];

  for (const [what, body, message] of invalidBodies) {
    for (const action of ["show", "edit", "clear"]) {
      it(`${action} rejects ${what} with 400`, async () => {
        const before = await sequenceOf(app);
        const answer = await rest(app, "POST", `/email-settings/${action}`, body);
        assert.equal(answer.status, 400, answer.text);
        assert.equal(answer.body.successful, false);
        assert.match(answer.body.error.message, message);
        assert.equal(await sequenceOf(app), before);
      });
    }
  }

  it("show and clear take no fields", async () => {
    for (const action of ["show", "clear"]) {
      const answer = await settings(app, action, { smtp_port: 25 });
      assert.equal(answer.status, 400, answer.text);
      assert.match(answer.body.error.message, /^smtp_port: unknown field in params \(this endpoint takes no fields\)/);
    }
    await activeProvider(app);
  });

  it("edit rejects a body over 1 MiB with 400", async () => {
    const before = await sequenceOf(app);
    const body = JSON.stringify({ params: { smtp_host: "a".repeat(1024 * 1024) } });
    const edited = await rest(app, "POST", "/email-settings/edit", body);
    assert.equal(edited.status, 400, edited.text);
    assert.equal(edited.body.successful, false);
    assert.match(edited.body.error.message, /request body exceeds the limit of 1048576 bytes/);
    assert.equal(await sequenceOf(app), before);
  });

  it("other methods are answered 405 in the same envelope", async () => {
    for (const method of ["GET", "PUT", "DELETE"]) {
      const res = await fetch(`${app.url}/email-settings/show`, { method, headers: { authorization: app.auth } });
      assert.equal(res.status, 405);
      assert.equal(res.headers.get("allow"), "POST");
      const body = await res.json();
      assert.equal(body.successful, false);
      assert.match(body.error.message, new RegExp(`^method ${method} is not allowed on /email-settings/show`));
    }
  });

  it("an unknown endpoint is answered 404 in the same envelope", async () => {
    const answer = await settings(app, "delete");
    assert.equal(answer.status, 404, answer.text);
    assert.equal(answer.body.successful, false);
    assert.match(answer.body.error.message, /use POST \/email-settings\/show/);
  });
});

describe("email-settings: authentication and roles", () => {
  let app: TestApp;
  let viewer: string;
  let sender: string;
  before(async () => {
    app = await startTestApp();
    viewer = `Bearer ${await app.createToken("IAM_OWNER_VIEWER")}`;
    sender = `Bearer ${await app.createToken("MESSAGE_SENDER")}`;
    assert.equal((await settings(app, "edit", initial)).status, 200);
  });
  after(() => app.stop());

  for (const action of ["show", "edit", "clear"]) {
    it(`${action} without a token is 401`, async () => {
      const answer = await settings(app, action, {}, null);
      assert.equal(answer.status, 401, answer.text);
      assert.equal(answer.body.successful, false);
      assert.match(answer.body.error.message, /authorization header missing/);
    });

    it(`${action} with an unknown token is 401`, async () => {
      const answer = await settings(app, action, {}, "Bearer mr_not-a-token");
      assert.equal(answer.status, 401, answer.text);
      assert.match(answer.body.error.message, /token is unknown or revoked/);
    });
  }

  it("a viewer may show the settings", async () => {
    const shown = await settings(app, "show", {}, viewer);
    assert.equal(shown.status, 200, shown.text);
    assert.equal(shown.body.result.smtp_host, "smtp.example.com");
  });

  for (const action of ["edit", "clear"]) {
    it(`a viewer may not ${action} the settings`, async () => {
      const before = await sequenceOf(app);
      const answer = await settings(app, action, action === "edit" ? { smtp_port: 25 } : {}, viewer);
      assert.equal(answer.status, 403, answer.text);
      assert.deepEqual(answer.body, { successful: false, error: { message: "No matching permissions found (AUTH-5mWD2)" } });
      assert.equal(await sequenceOf(app), before);
    });
  }

  it("a message sender may not show the settings", async () => {
    const shown = await settings(app, "show", {}, sender);
    assert.equal(shown.status, 403, shown.text);
    assert.equal(shown.body.successful, false);
  });
});

describe("email-settings: clear", () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });
  after(() => app.stop());

  it("clearing when nothing is set succeeds and records nothing", async () => {
    const cleared = await settings(app, "clear");
    assert.equal(cleared.status, 200, cleared.text);
    assert.deepEqual(cleared.body, { successful: true, result: {} });
    assert.equal(await sequenceOf(app), 0);
  });

  it("clear removes the active SMTP provider in one commit", async () => {
    assert.equal((await settings(app, "edit", initial)).status, 200);
    const { id } = await activeProvider(app);
    const before = await sequenceOf(app);
    const { result: cleared, commits } = await countCommits(app, () => settings(app, "clear"));
    assert.equal(cleared.status, 200, cleared.text);
    assert.deepEqual(cleared.body, { successful: true, result: {} });
    assert.equal(commits, 1);
    const events = await app.core.store.listEvents(app.core.instance.id, before);
    assert.deepEqual(
      events.map((e) => [e.type, e.aggregateId]),
      [["instance.smtp.config.removed", id]],
    );
    assert.equal(await app.core.store.getProvider(app.core.instance.id, id), undefined);
    assert.deepEqual((await settings(app, "show")).body, { successful: true, result: {} });
    assert.equal((await rest(app, "GET", "/admin/v1/email")).status, 404);
  });

  it("clear leaves inactive providers alone", async () => {
    const added = await rest(app, "POST", "/admin/v1/email/smtp", {
      senderAddress: "spare@example.com",
      senderName: "Spare",
      host: "spare.example.com:25",
    });
    assert.equal(added.status, 200, added.text);
    assert.equal((await settings(app, "edit", initial)).status, 200);
    assert.equal((await settings(app, "clear")).status, 200);
    assert.ok(await app.core.store.getProvider(app.core.instance.id, added.body.id));
  });
});

describe("email-settings: an active HTTP provider", () => {
  let app: TestApp;
  let httpId: string;
  before(async () => {
    app = await startTestApp();
    const added = await rest(app, "POST", "/admin/v1/email/http", { endpoint: "http://127.0.0.1:9/mail" });
    assert.equal(added.status, 200, added.text);
    httpId = added.body.id;
    assert.equal((await rest(app, "POST", `/admin/v1/email/${httpId}/_activate`, {})).status, 200);
  });
  after(() => app.stop());

  it("is not the global settings: show is empty and clear leaves it active", async () => {
    assert.deepEqual((await settings(app, "show")).body, { successful: true, result: {} });
    assert.equal((await settings(app, "clear")).status, 200);
    assert.equal((await app.core.store.getActiveProvider(app.core.instance.id))?.id, httpId);
  });

  it("edit adds an SMTP provider and activates it in place of the HTTP provider", async () => {
    const partial = await settings(app, "edit", { smtp_port: 25 });
    assert.equal(partial.status, 400, partial.text);
    const edited = await settings(app, "edit", initial);
    assert.equal(edited.status, 200, edited.text);
    const active = await activeProvider(app);
    assert.notEqual(active.id, httpId);
    assert.equal((await app.core.store.getProvider(app.core.instance.id, httpId))?.state, "inactive");
  });
});

describe("email-settings and the admin API agree", () => {
  let app: TestApp;
  const responses: string[] = [];
  before(async () => {
    app = await startTestApp();
  });
  after(() => app.stop());

  it("an edit through the settings is what GET /admin/v1/email shows", async () => {
    const edited = await settings(app, "edit", { ...initial, encryption: "Plain", allow_selfsigned_certs: true });
    responses.push(edited.text);
    const got = await rest(app, "GET", "/admin/v1/email");
    responses.push(got.text);
    assert.equal(got.status, 200, got.text);
    assert.equal(got.body.config.id, (await activeProvider(app)).id);
    assert.equal(got.body.config.smtp.host, "smtp.example.com:587");
    assert.equal(got.body.config.smtp.tls ?? false, false);
    assert.equal(got.body.config.smtp.user, "mailer");
    assert.ok("plain" in got.body.config.smtp);
  });

  it("an update through /admin/v1/email/smtp/{id} is what show returns, recorded as the same event", async () => {
    const { id } = await activeProvider(app);
    const updated = await rest(app, "PUT", `/admin/v1/email/smtp/${id}`, {
      senderAddress: "ops@example.org",
      senderName: "Ops",
      host: "[2001:db8::1]:465",
      tls: true,
      user: "ops",
    });
    responses.push(updated.text);
    assert.equal(updated.status, 200, updated.text);
    const shown = await settings(app, "show");
    responses.push(shown.text);
    assert.deepEqual(shown.body.result, {
      smtp_host: "2001:db8::1",
      smtp_port: 465,
      encryption: "TLS",
      allow_selfsigned_certs: true,
      from_email: "ops@example.org",
      username: "ops",
    });
    assert.equal(await storedPassword(app), PASSWORD);

    const edited = await settings(app, "edit", { smtp_host: "smtp2.example.org" });
    responses.push(edited.text);
    const events = await app.core.store.listEvents(app.core.instance.id);
    assert.deepEqual(
      events.slice(-2).map((e) => e.type),
      ["instance.smtp.config.changed", "instance.smtp.config.changed"],
    );
    const got = await rest(app, "GET", `/admin/v1/email/${id}`);
    responses.push(got.text);
    assert.equal(got.body.config.smtp.host, "smtp2.example.org:465");
  });

  it("the password appears in no response", async () => {
    responses.push((await rest(app, "POST", "/admin/v1/email/_search", {})).text);
    responses.push((await settings(app, "show")).text);
    for (const text of responses) assert.ok(!text.includes(PASSWORD), text);
  });
});
