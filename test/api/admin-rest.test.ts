import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { rest, startTestApp, type TestApp } from "../support/app.js";
import { addHttp, addSmtp, RFC3339, smtpProvider } from "../support/fixtures.js";

// Every RPC of zitadel.admin.v1.AdminService through its REST route (spec section 1).

describe("the email-provider RPCs over REST", () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });
  after(() => app.stop());

  it("AddEmailProviderSMTP returns an 18-digit id and change details", async () => {
    const res = await rest(app, "POST", "/admin/v1/email/smtp", smtpProvider());
    assert.equal(res.status, 200, res.text);
    assert.match(res.body.id, /^\d{18}$/);
    assert.match(res.body.details.sequence, /^\d+$/);
    assert.match(res.body.details.changeDate, RFC3339);
    assert.equal(res.body.details.resourceOwner, app.core.instance.id);
    assert.equal(res.body.details.creationDate, undefined);
  });

  it("AddEmailProviderSMTP accepts snake_case field names", async () => {
    const res = await rest(app, "POST", "/admin/v1/email/smtp", {
      sender_address: "snake@example.com",
      sender_name: "Snake",
      host: "smtp.example.com:25",
      reply_to_address: "reply@example.com",
    });
    assert.equal(res.status, 200, res.text);
    const got = await rest(app, "GET", `/admin/v1/email/${res.body.id}`);
    assert.equal(got.body.config.smtp.senderAddress, "snake@example.com");
    assert.equal(got.body.config.smtp.replyToAddress, "reply@example.com");
  });

  it("GetEmailProviderById returns the SMTP settings with an empty plain auth and no password", async () => {
    const id = await addSmtp(app, { senderAddress: "get@example.com", senderName: "Get", host: "mail.example.com:465", description: "get by id" });
    const res = await rest(app, "GET", `/admin/v1/email/${id}`);
    assert.equal(res.status, 200, res.text);
    const { details, ...config } = res.body.config;
    assert.match(details.creationDate, RFC3339);
    assert.match(details.changeDate, RFC3339);
    assert.equal(details.resourceOwner, app.core.instance.id);
    assert.deepEqual(config, {
      id,
      state: "EMAIL_PROVIDER_INACTIVE",
      description: "get by id",
      smtp: {
        senderAddress: "get@example.com",
        senderName: "Get",
        tls: true,
        host: "mail.example.com:465",
        user: "mailer",
        replyToAddress: "support@example.com",
        plain: {},
      },
    });
  });

  it("GetEmailProviderById shows xoauth2 settings with the client id but without the client secret", async () => {
    const id = await addSmtp(app, {
      plain: undefined,
      xoauth2: {
        tokenEndpoint: "https://login.example.com/token",
        scopes: ["https://outlook.office365.com/.default"],
        clientCredentials: { clientId: "client-1", clientSecret: "xoauth-secret-1" },
      },
    });
    const res = await rest(app, "GET", `/admin/v1/email/${id}`);
    assert.deepEqual(res.body.config.smtp.xoauth2, {
      tokenEndpoint: "https://login.example.com/token",
      scopes: ["https://outlook.office365.com/.default"],
      clientCredentials: { clientId: "client-1" },
    });
  });

  it("UpdateEmailProviderSMTP replaces the scalar fields and keeps the password", async () => {
    const id = await addSmtp(app);
    const res = await rest(app, "PUT", `/admin/v1/email/smtp/${id}`, {
      senderAddress: "changed@example.com",
      senderName: "Changed",
      host: "smtp2.example.com:2525",
      tls: false,
      user: "other",
      description: "changed",
    });
    assert.equal(res.status, 200, res.text);
    assert.match(res.body.details.changeDate, RFC3339);
    const got = await rest(app, "GET", `/admin/v1/email/${id}`);
    assert.equal(got.body.config.description, "changed");
    assert.deepEqual(got.body.config.smtp, {
      senderAddress: "changed@example.com",
      senderName: "Changed",
      host: "smtp2.example.com:2525",
      user: "other",
      plain: {},
    });
  });

  it("UpdateEmailProviderSMTPPassword answers with change details", async () => {
    const id = await addSmtp(app);
    const res = await rest(app, "PUT", `/admin/v1/email/smtp/${id}/password`, { password: "next-secret" });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.details.resourceOwner, app.core.instance.id);
  });

  it("AddEmailProviderHTTP returns a 36-character alphanumeric signing key", async () => {
    const res = await rest(app, "POST", "/admin/v1/email/http", { endpoint: "https://hooks.example.com/a", description: "hook" });
    assert.equal(res.status, 200, res.text);
    assert.match(res.body.id, /^\d{18}$/);
    assert.match(res.body.signingKey, /^[A-Za-z0-9]{36}$/);
  });

  it("GetEmailProviderById returns an HTTP provider's endpoint and signing key", async () => {
    const { id, signingKey } = await addHttp(app, "https://hooks.example.com/b");
    const res = await rest(app, "GET", `/admin/v1/email/${id}`);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body.config.http, { endpoint: "https://hooks.example.com/b", signingKey });
    assert.equal(res.body.config.description, "webhook");
  });

  it("UpdateEmailProviderHTTP without expirationSigningKey keeps the key and returns none", async () => {
    const { id, signingKey } = await addHttp(app);
    const res = await rest(app, "PUT", `/admin/v1/email/http/${id}`, { endpoint: "https://hooks.example.com/moved", description: "moved" });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.signingKey, undefined);
    const got = await rest(app, "GET", `/admin/v1/email/${id}`);
    assert.deepEqual(got.body.config.http, { endpoint: "https://hooks.example.com/moved", signingKey });
  });

  it("UpdateEmailProviderHTTP with expirationSigningKey 0s rotates the key and returns the new one", async () => {
    const { id, signingKey } = await addHttp(app);
    const res = await rest(app, "PUT", `/admin/v1/email/http/${id}`, {
      endpoint: "https://hooks.example.com/mail",
      description: "webhook",
      expirationSigningKey: "0s",
    });
    assert.equal(res.status, 200, res.text);
    assert.match(res.body.signingKey, /^[A-Za-z0-9]{36}$/);
    assert.notEqual(res.body.signingKey, signingKey);
    const got = await rest(app, "GET", `/admin/v1/email/${id}`);
    assert.equal(got.body.config.http.signingKey, res.body.signingKey);
  });

  it("ActivateEmailProvider makes the provider active and fills creationDate and changeDate", async () => {
    const id = await addSmtp(app);
    const res = await rest(app, "POST", `/admin/v1/email/${id}/_activate`, {});
    assert.equal(res.status, 200, res.text);
    assert.match(res.body.details.creationDate, RFC3339);
    assert.equal(res.body.details.creationDate, res.body.details.changeDate);
    const got = await rest(app, "GET", `/admin/v1/email/${id}`);
    assert.equal(got.body.config.state, "EMAIL_PROVIDER_ACTIVE");
  });

  it("GetEmailProvider returns the active provider", async () => {
    const id = await addSmtp(app);
    await rest(app, "POST", `/admin/v1/email/${id}/_activate`, {});
    const res = await rest(app, "GET", "/admin/v1/email");
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.config.id, id);
    assert.equal(res.body.config.state, "EMAIL_PROVIDER_ACTIVE");
  });

  it("DeactivateEmailProvider leaves the provider inactive", async () => {
    const id = await addSmtp(app);
    await rest(app, "POST", `/admin/v1/email/${id}/_activate`, {});
    const res = await rest(app, "POST", `/admin/v1/email/${id}/_deactivate`, {});
    assert.equal(res.status, 200, res.text);
    assert.match(res.body.details.creationDate, RFC3339);
    const got = await rest(app, "GET", `/admin/v1/email/${id}`);
    assert.equal(got.body.config.state, "EMAIL_PROVIDER_INACTIVE");
  });

  it("RemoveEmailProvider deletes the provider", async () => {
    const id = await addSmtp(app);
    const res = await rest(app, "DELETE", `/admin/v1/email/${id}`);
    assert.equal(res.status, 200, res.text);
    assert.match(res.body.details.changeDate, RFC3339);
    assert.equal((await rest(app, "GET", `/admin/v1/email/${id}`)).status, 404);
  });

  it("ListEmailProviders lists SMTP and HTTP providers together", async () => {
    const smtp = await addSmtp(app);
    const { id: http } = await addHttp(app);
    const res = await rest(app, "POST", "/admin/v1/email/_search", {});
    assert.equal(res.status, 200, res.text);
    const ids = res.body.result.map((p: { id: string }) => p.id);
    assert.ok(ids.includes(smtp) && ids.includes(http));
    assert.equal(res.body.details.totalResult, String(res.body.result.length));
    assert.match(res.body.details.processedSequence, /^\d+$/);
    assert.match(res.body.details.viewTimestamp, RFC3339);
  });
});

describe("the deprecated SMTP-config RPCs over REST", () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });
  after(() => app.stop());

  const legacy = (overrides: Record<string, unknown> = {}) => ({
    senderAddress: "legacy@example.com",
    senderName: "Legacy",
    host: "smtp.example.com:587",
    tls: true,
    user: "legacy-user",
    password: "legacy-secret",
    replyToAddress: "reply@example.com",
    description: "legacy",
    ...overrides,
  });

  async function addLegacy(overrides: Record<string, unknown> = {}): Promise<string> {
    const res = await rest(app, "POST", "/admin/v1/smtp", legacy(overrides));
    assert.equal(res.status, 200, res.text);
    return res.body.id;
  }

  it("AddSMTPConfig with user and password stores plain authentication", async () => {
    const res = await rest(app, "POST", "/admin/v1/smtp", legacy());
    assert.equal(res.status, 200, res.text);
    assert.match(res.body.id, /^\d{18}$/);
    const got = await rest(app, "GET", `/admin/v1/email/${res.body.id}`);
    assert.deepEqual(got.body.config.smtp.plain, {});
  });

  it("AddSMTPConfig without user and password stores no authentication", async () => {
    const id = await addLegacy({ user: "", password: "" });
    const got = await rest(app, "GET", `/admin/v1/email/${id}`);
    assert.deepEqual(got.body.config.smtp.none, {});
  });

  it("GetSMTPConfigById returns the config with its reply-to address", async () => {
    const id = await addLegacy();
    const res = await rest(app, "GET", `/admin/v1/smtp/${id}`);
    assert.equal(res.status, 200, res.text);
    const { details, ...config } = res.body.smtpConfig;
    assert.match(details.creationDate, RFC3339);
    assert.deepEqual(config, {
      id,
      senderAddress: "legacy@example.com",
      senderName: "Legacy",
      tls: true,
      host: "smtp.example.com:587",
      user: "legacy-user",
      replyToAddress: "reply@example.com",
      state: "SMTP_CONFIG_INACTIVE",
      description: "legacy",
    });
  });

  it("UpdateSMTPConfig replaces the fields", async () => {
    const id = await addLegacy();
    const res = await rest(app, "PUT", `/admin/v1/smtp/${id}`, legacy({ senderName: "Renamed", password: "" }));
    assert.equal(res.status, 200, res.text);
    const got = await rest(app, "GET", `/admin/v1/smtp/${id}`);
    assert.equal(got.body.smtpConfig.senderName, "Renamed");
  });

  it("UpdateSMTPConfigPassword answers with change details", async () => {
    const id = await addLegacy();
    const res = await rest(app, "PUT", `/admin/v1/smtp/${id}/password`, { password: "rotated" });
    assert.equal(res.status, 200, res.text);
    assert.match(res.body.details.sequence, /^\d+$/);
  });

  it("ActivateSMTPConfig activates the config and GetSMTPConfig returns it", async () => {
    const id = await addLegacy();
    const res = await rest(app, "POST", `/admin/v1/smtp/${id}/_activate`, {});
    assert.equal(res.status, 200, res.text);
    const active = await rest(app, "GET", "/admin/v1/smtp");
    assert.equal(active.status, 200, active.text);
    assert.equal(active.body.smtpConfig.id, id);
    assert.equal(active.body.smtpConfig.state, "SMTP_CONFIG_ACTIVE");
  });

  it("DeactivateSMTPConfig deactivates the config", async () => {
    const id = await addLegacy();
    await rest(app, "POST", `/admin/v1/smtp/${id}/_activate`, {});
    const res = await rest(app, "POST", `/admin/v1/smtp/${id}/_deactivate`, {});
    assert.equal(res.status, 200, res.text);
    assert.equal((await rest(app, "GET", `/admin/v1/smtp/${id}`)).body.smtpConfig.state, "SMTP_CONFIG_INACTIVE");
  });

  it("RemoveSMTPConfig deletes the config", async () => {
    const id = await addLegacy();
    const res = await rest(app, "DELETE", `/admin/v1/smtp/${id}`);
    assert.equal(res.status, 200, res.text);
    assert.equal((await rest(app, "GET", `/admin/v1/smtp/${id}`)).status, 404);
  });

  it("ListSMTPConfigs lists the configs with their reply-to addresses", async () => {
    const id = await addLegacy({ replyToAddress: "listed@example.com" });
    const res = await rest(app, "POST", "/admin/v1/smtp/_search", {});
    assert.equal(res.status, 200, res.text);
    const entry = res.body.result.find((c: { id: string }) => c.id === id);
    assert.equal(entry.replyToAddress, "listed@example.com");
    assert.equal(res.body.details.totalResult, String(res.body.result.length));
  });

  it("ListSMTPConfigs shows an HTTP provider with only its id, state and description", async () => {
    const { id } = await addHttp(app);
    const res = await rest(app, "POST", "/admin/v1/smtp/_search", {});
    const { details: _details, ...entry } = res.body.result.find((c: { id: string }) => c.id === id);
    assert.deepEqual(entry, { id, state: "SMTP_CONFIG_INACTIVE", description: "webhook" });
  });
});

describe("the Test RPCs over REST", () => {
  let app: TestApp;
  let viewer: string;
  before(async () => {
    app = await startTestApp();
    viewer = `Bearer ${await app.createToken("IAM_OWNER_VIEWER")}`;
  });
  after(() => app.stop());

  const testCall = {
    TestEmailProviderSMTP: ["POST", "/admin/v1/email/smtp/_test"],
    TestEmailProviderSMTPById: ["POST", "/admin/v1/email/smtp/123/_test"],
    TestSMTPConfig: ["POST", "/admin/v1/smtp/_test"],
    TestSMTPConfigById: ["POST", "/admin/v1/smtp/123/_test"],
  } as const;
  const body = {
    senderAddress: "a@example.com",
    senderName: "A",
    host: "smtp.example.com:587",
    receiverAddress: "b@example.com",
  };

  for (const [rpc, [method, path]] of Object.entries(testCall)) {
    it(`${rpc} requires iam.write`, async () => {
      const res = await rest(app, method, path, body, viewer);
      assert.equal(res.status, 403, res.text);
      assert.equal(res.body.message, "No matching permissions found (AUTH-5mWD2)");
    });
  }
});
