import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { SmtpAuth } from "../../src/domain/provider.js";
import { SMTPConfigState } from "../../src/gen/zitadel/settings_pb.js";
import { rest, startTestApp, type TestApp } from "../support/app.js";
import { adminClient } from "../support/clients.js";
import { addHttp, addSmtp, smtpProvider } from "../support/fixtures.js";

// The behaviour of spec section 3 (update, password) and the decisions of section 5, where
// mailroom deliberately differs from ZITADEL.

describe("provider updates and the section-5 decisions", () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });
  after(() => app.stop());

  const storedAuth = async (id: string): Promise<SmtpAuth> => {
    const provider = await app.core.store.getProvider(app.core.instance.id, id);
    assert.equal(provider?.config.kind, "smtp");
    return provider.config.kind === "smtp" ? provider.config.smtp.auth : assert.fail("not an SMTP provider");
  };
  const storedPassword = async (id: string): Promise<string | null> => {
    const auth = await storedAuth(id);
    assert.equal(auth.kind, "plain");
    return auth.kind === "plain" && auth.password !== null ? app.core.keyring.open(auth.password) : null;
  };
  const eventCount = async () => (await app.core.store.listEvents(app.core.instance.id)).length;

  it("sets the password of an inactive provider", async () => {
    const id = await addSmtp(app, { plain: { password: "before" } });
    const res = await rest(app, "PUT", `/admin/v1/email/smtp/${id}/password`, { password: "after" });
    assert.equal(res.status, 200, res.text);
    assert.equal(await storedPassword(id), "after");
  });

  it("sets the password of the active provider through the deprecated RPC", async () => {
    const id = await addSmtp(app, { plain: { password: "before" } });
    await rest(app, "POST", `/admin/v1/email/${id}/_activate`, {});
    const res = await rest(app, "PUT", `/admin/v1/smtp/${id}/password`, { password: "after-legacy" });
    assert.equal(res.status, 200, res.text);
    assert.equal(await storedPassword(id), "after-legacy");
  });

  it("stores the new password as a new event whose sequence the response reports", async () => {
    const id = await addSmtp(app);
    const res = await rest(app, "PUT", `/admin/v1/email/smtp/${id}/password`, { password: "evented" });
    assert.equal(res.status, 200, res.text);
    const events = await app.core.store.listEvents(app.core.instance.id);
    const last = events.at(-1);
    assert.equal(last?.type, "instance.smtp.config.password.changed");
    assert.equal(last?.aggregateId, id);
    assert.equal(res.body.details.sequence, String(last?.sequence));
  });

  it("refuses a masked placeholder as a new password", async () => {
    const id = await addSmtp(app, { plain: { password: "kept" } });
    const res = await rest(app, "PUT", `/admin/v1/email/smtp/${id}/password`, { password: "********" });
    assert.equal(res.status, 400, res.text);
    assert.equal(res.body.details[0].id, "COMMAND-pWm4sk3d");
    assert.equal(await storedPassword(id), "kept");
  });

  it("keeps the stored password when an update omits it", async () => {
    const id = await addSmtp(app, { plain: { password: "kept" } });
    const res = await rest(app, "PUT", `/admin/v1/email/smtp/${id}`, smtpProvider({ plain: undefined, senderName: "Renamed" }));
    assert.equal(res.status, 200, res.text);
    assert.equal(await storedPassword(id), "kept");
  });

  it("keeps the stored password when an update sends an empty plain password", async () => {
    const id = await addSmtp(app, { plain: { password: "kept" } });
    const res = await rest(app, "PUT", `/admin/v1/email/smtp/${id}`, smtpProvider({ plain: { password: "" } }));
    assert.equal(res.status, 200, res.text);
    assert.equal(await storedPassword(id), "kept");
  });

  it("changes the password when an update carries one in the plain oneof", async () => {
    const id = await addSmtp(app, { plain: { password: "old" } });
    const res = await rest(app, "PUT", `/admin/v1/email/smtp/${id}`, smtpProvider({ plain: { password: "new" } }));
    assert.equal(res.status, 200, res.text);
    assert.equal(await storedPassword(id), "new");
  });

  it("changes the password when the deprecated update carries one", async () => {
    const id = await addSmtp(app, { plain: { password: "old" } });
    const res = await rest(app, "PUT", `/admin/v1/smtp/${id}`, {
      senderAddress: "legacy@example.com",
      senderName: "Legacy",
      host: "smtp.example.com:587",
      user: "mailer",
      password: "new-legacy",
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(await storedPassword(id), "new-legacy");
  });

  it("answers GetSMTPConfigById with SMTP_CONFIG_INACTIVE (2) for an inactive config", async () => {
    const id = await addSmtp(app);
    const res = await rest(app, "GET", `/admin/v1/smtp/${id}`);
    assert.equal(res.body.smtpConfig.state, "SMTP_CONFIG_INACTIVE");
    const { smtpConfig } = await adminClient("grpc", app).getSMTPConfigById({ id });
    assert.equal(smtpConfig?.state, SMTPConfigState.SMTP_CONFIG_INACTIVE);
    assert.equal(SMTPConfigState.SMTP_CONFIG_INACTIVE, 2);
  });

  it("includes the reply-to address in ListSMTPConfigs", async () => {
    const id = await addSmtp(app, { replyToAddress: "answers@example.com" });
    const { result } = await adminClient("grpc", app).listSMTPConfigs({});
    assert.equal(result.find((c) => c.id === id)?.replyToAddress, "answers@example.com");
  });

  it("answers NOT_FOUND when activating a removed provider", async () => {
    const id = await addSmtp(app);
    await rest(app, "DELETE", `/admin/v1/email/${id}`);
    const res = await rest(app, "POST", `/admin/v1/email/${id}/_activate`, {});
    assert.equal(res.status, 404, res.text);
    assert.equal(res.body.details[0].id, "COMMAND-E9K20hxOS9");
  });

  it("detects and stores a changed xoauth2 client secret", async () => {
    const xoauth2 = (clientSecret: string) => ({
      plain: undefined,
      xoauth2: { tokenEndpoint: "https://login.example.com/token", scopes: ["smtp"], clientCredentials: { clientId: "cid", clientSecret } },
    });
    const id = await addSmtp(app, xoauth2("first-client-secret"));
    const before = await eventCount();
    const res = await rest(app, "PUT", `/admin/v1/email/smtp/${id}`, smtpProvider(xoauth2("second-client-secret")));
    assert.equal(res.status, 200, res.text);
    assert.equal(await eventCount(), before + 1);
    const auth = await storedAuth(id);
    assert.equal(auth.kind === "xoauth2" && auth.clientSecret && app.core.keyring.open(auth.clientSecret), "second-client-secret");
  });

  it("detects a changed xoauth2 client id", async () => {
    const xoauth2 = (clientId: string) => ({
      plain: undefined,
      xoauth2: { tokenEndpoint: "https://login.example.com/token", clientCredentials: { clientId, clientSecret: "s" } },
    });
    const id = await addSmtp(app, xoauth2("first-id"));
    const res = await rest(app, "PUT", `/admin/v1/email/smtp/${id}`, smtpProvider(xoauth2("second-id")));
    assert.equal(res.status, 200, res.text);
    const got = await rest(app, "GET", `/admin/v1/email/${id}`);
    assert.equal(got.body.config.smtp.xoauth2.clientCredentials.clientId, "second-id");
  });

  it("keeps the stored xoauth2 client secret when an update omits it", async () => {
    const id = await addSmtp(app, {
      plain: undefined,
      xoauth2: { tokenEndpoint: "https://login.example.com/token", clientCredentials: { clientId: "cid", clientSecret: "kept-secret" } },
    });
    const res = await rest(app, "PUT", `/admin/v1/email/smtp/${id}`, smtpProvider({
      plain: undefined,
      xoauth2: { tokenEndpoint: "https://login.example.com/token", clientCredentials: { clientId: "cid" } },
    }));
    assert.equal(res.status, 200, res.text);
    const auth = await storedAuth(id);
    assert.equal(auth.kind === "xoauth2" && auth.clientSecret && app.core.keyring.open(auth.clientSecret), "kept-secret");
  });

  it("keeps the stored auth kind when an update leaves the auth oneof unset", async () => {
    const id = await addSmtp(app, {
      plain: undefined,
      xoauth2: { tokenEndpoint: "https://login.example.com/token", clientCredentials: { clientId: "cid", clientSecret: "s" } },
    });
    const res = await rest(app, "PUT", `/admin/v1/email/smtp/${id}`, smtpProvider({ plain: undefined, senderName: "Renamed" }));
    assert.equal(res.status, 200, res.text);
    assert.equal((await storedAuth(id)).kind, "xoauth2");
  });

  it("switches to no authentication on an update with an explicit none", async () => {
    const id = await addSmtp(app, { plain: { password: "to-be-dropped" } });
    const res = await rest(app, "PUT", `/admin/v1/email/smtp/${id}`, smtpProvider({ plain: undefined, none: {} }));
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(await storedAuth(id), { kind: "none" });
    const got = await rest(app, "GET", `/admin/v1/email/${id}`);
    assert.deepEqual(got.body.config.smtp.none, {});
    assert.equal(got.body.config.smtp.plain, undefined);
  });

  it("does not turn a user name without auth into plain authentication", async () => {
    const id = await addSmtp(app, { plain: undefined, none: {}, user: "relay-user" });
    assert.deepEqual(await storedAuth(id), { kind: "none" });
  });

  it("answers an identical update with the same sequence and records no event", async () => {
    const body = smtpProvider({ plain: { password: "same" } });
    const added = await rest(app, "POST", "/admin/v1/email/smtp", body);
    const before = await eventCount();
    const res = await rest(app, "PUT", `/admin/v1/email/smtp/${added.body.id}`, body);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.details.sequence, added.body.details.sequence);
    assert.equal(res.body.details.changeDate, added.body.details.changeDate);
    assert.equal(await eventCount(), before);
  });

  it("answers an identical HTTP update with the same sequence and records no event", async () => {
    const added = await rest(app, "POST", "/admin/v1/email/http", { endpoint: "https://hooks.example.com/same", description: "same" });
    const before = await eventCount();
    const res = await rest(app, "PUT", `/admin/v1/email/http/${added.body.id}`, { endpoint: "https://hooks.example.com/same", description: "same" });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.details.sequence, added.body.details.sequence);
    assert.equal(await eventCount(), before);
  });

  it("records only the changed fields of an update", async () => {
    const id = await addSmtp(app);
    const got = await rest(app, "GET", `/admin/v1/email/${id}`);
    const { smtp, description } = got.body.config;
    const res = await rest(app, "PUT", `/admin/v1/email/smtp/${id}`, { ...smtp, plain: undefined, description, senderName: "Only this" });
    assert.equal(res.status, 200, res.text);
    const last = (await app.core.store.listEvents(app.core.instance.id)).at(-1);
    assert.equal(last?.type, "instance.smtp.config.changed");
    assert.deepEqual(last?.payload, { id, senderName: "Only this" });
  });

  it("never changes the state on update", async () => {
    const id = await addSmtp(app);
    const activated = await rest(app, "POST", `/admin/v1/email/${id}/_activate`, {});
    assert.equal(activated.status, 200, activated.text);
    const res = await rest(app, "PUT", `/admin/v1/email/smtp/${id}`, smtpProvider({ senderName: "Still active" }));
    assert.equal(res.status, 200, res.text);
    assert.equal((await rest(app, "GET", `/admin/v1/email/${id}`)).body.config.state, "EMAIL_PROVIDER_ACTIVE");
  });

  it("allows removing the active provider, leaving none active", async () => {
    const { id } = await addHttp(app);
    await rest(app, "POST", `/admin/v1/email/${id}/_activate`, {});
    assert.equal((await rest(app, "DELETE", `/admin/v1/email/${id}`)).status, 200);
    assert.equal((await rest(app, "GET", "/admin/v1/email")).status, 404);
  });
});
