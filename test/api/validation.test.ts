import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { rest, startTestApp, type TestApp } from "../support/app.js";
import { addHttp, addSmtp, smtpProvider } from "../support/fixtures.js";

// Request-field rules, reported in protoc-gen-validate's wording as ZITADEL does: HTTP 400,
// google.rpc.Status code 3, and no ErrorDetail (PGV errors carry none).

describe("request validation", () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });
  after(() => app.stop());

  async function rejects(method: string, path: string, body: unknown, message: string): Promise<void> {
    const res = await rest(app, method, path, body);
    assert.equal(res.status, 400, res.text);
    assert.deepEqual(res.body, { code: 3, message });
  }

  it("rejects an empty sender address", () =>
    rejects(
      "POST",
      "/admin/v1/email/smtp",
      smtpProvider({ senderAddress: "" }),
      "invalid AddEmailProviderSMTPRequest.SenderAddress: value length must be between 1 and 200 runes, inclusive",
    ));

  it("rejects a missing sender name", () =>
    rejects(
      "POST",
      "/admin/v1/email/smtp",
      smtpProvider({ senderName: undefined }),
      "invalid AddEmailProviderSMTPRequest.SenderName: value length must be between 1 and 200 runes, inclusive",
    ));

  it("counts lengths in runes: a sender name of 200 two-byte characters is accepted", async () => {
    const res = await rest(app, "POST", "/admin/v1/email/smtp", smtpProvider({ senderName: "é".repeat(200) }));
    assert.equal(res.status, 200, res.text);
  });

  it("rejects a sender name of 201 runes", () =>
    rejects(
      "POST",
      "/admin/v1/email/smtp",
      smtpProvider({ senderName: "é".repeat(201) }),
      "invalid AddEmailProviderSMTPRequest.SenderName: value length must be between 1 and 200 runes, inclusive",
    ));

  it("rejects a host longer than 500 runes", () =>
    rejects(
      "POST",
      "/admin/v1/email/smtp",
      smtpProvider({ host: `${"h".repeat(498)}:25` }),
      "invalid AddEmailProviderSMTPRequest.Host: value length must be between 1 and 500 runes, inclusive",
    ));

  it("rejects a reply-to address longer than 200 runes on the deprecated add", () =>
    rejects(
      "POST",
      "/admin/v1/smtp",
      { senderAddress: "a@example.com", senderName: "A", host: "smtp.example.com:25", replyToAddress: "r".repeat(201) },
      "invalid AddSMTPConfigRequest.ReplyToAddress: value length must be at most 200 runes",
    ));

  it("rejects a description longer than 200 runes", () =>
    rejects(
      "POST",
      "/admin/v1/email/smtp",
      smtpProvider({ description: "d".repeat(201) }),
      "invalid AddEmailProviderSMTPRequest.Description: value length must be at most 200 runes",
    ));

  it("rejects a plain password longer than 200 runes as an embedded-message violation", () =>
    rejects(
      "POST",
      "/admin/v1/email/smtp",
      smtpProvider({ plain: { password: "p".repeat(201) } }),
      "invalid AddEmailProviderSMTPRequest.Plain: embedded message failed validation | caused by: " +
        "invalid SMTPPlainAuth.Password: value length must be at most 200 runes",
    ));

  it("rejects more than 20 xoauth2 scopes", () =>
    rejects(
      "POST",
      "/admin/v1/email/smtp",
      smtpProvider({ plain: undefined, xoauth2: { tokenEndpoint: "https://t.example.com", scopes: Array(21).fill("s") } }),
      "invalid AddEmailProviderSMTPRequest.Xoauth2: embedded message failed validation | caused by: " +
        "invalid SMTPXOAuth2Auth.Scopes: value must contain no more than 20 item(s)",
    ));

  it("rejects an empty xoauth2 scope, naming its index", () =>
    rejects(
      "POST",
      "/admin/v1/email/smtp",
      smtpProvider({ plain: undefined, xoauth2: { tokenEndpoint: "https://t.example.com", scopes: ["a", ""] } }),
      "invalid AddEmailProviderSMTPRequest.Xoauth2: embedded message failed validation | caused by: " +
        "invalid SMTPXOAuth2Auth.Scopes[1]: value length must be between 1 and 100 runes, inclusive",
    ));

  it("rejects an xoauth2 client secret longer than 200 runes", () =>
    rejects(
      "POST",
      "/admin/v1/email/smtp",
      smtpProvider({
        plain: undefined,
        xoauth2: { tokenEndpoint: "https://t.example.com", clientCredentials: { clientId: "c", clientSecret: "s".repeat(201) } },
      }),
      "invalid AddEmailProviderSMTPRequest.Xoauth2: embedded message failed validation | caused by: " +
        "invalid SMTPXOAuth2Auth.ClientCredentials: embedded message failed validation | caused by: " +
        "invalid ClientCredentials.ClientSecret: value length must be at most 200 runes",
    ));

  it("rejects an update id longer than 100 runes", () =>
    rejects(
      "PUT",
      `/admin/v1/email/smtp/${"1".repeat(101)}`,
      smtpProvider(),
      "invalid UpdateEmailProviderSMTPRequest.Id: value length must be between 1 and 100 runes, inclusive",
    ));

  it("allows activation ids up to 200 runes, as ZITADEL does", () =>
    rejects(
      "POST",
      `/admin/v1/email/${"1".repeat(201)}/_activate`,
      {},
      "invalid ActivateEmailProviderRequest.Id: value length must be between 1 and 200 runes, inclusive",
    ));

  it("rejects an empty HTTP endpoint", () =>
    rejects(
      "POST",
      "/admin/v1/email/http",
      { description: "x" },
      "invalid AddEmailProviderHTTPRequest.Endpoint: value length must be between 1 and 2048 runes, inclusive",
    ));

  it("rejects an expirationSigningKey other than 0s", async () => {
    const { id } = await addHttp(app);
    await rejects(
      "PUT",
      `/admin/v1/email/http/${id}`,
      { endpoint: "https://hooks.example.com/mail", expirationSigningKey: "5s" },
      "invalid UpdateEmailProviderHTTPRequest.ExpirationSigningKey: value must equal 0s",
    );
  });

  it("rejects a test receiver that is not an e-mail address before anything is tried", async () => {
    const id = await addSmtp(app);
    const res = await rest(app, "POST", `/admin/v1/email/smtp/${id}/_test`, { receiverAddress: "not-an-address" });
    assert.equal(res.status, 400, res.text);
    assert.equal(res.body.code, 3);
    assert.match(res.body.message, /^invalid TestEmailProviderSMTPByIdRequest\.ReceiverAddress: value must be a valid email address/);
  });
});

// Rules the command layer checks after the field rules: google.rpc.Status with a zitadel.v1.ErrorDetail.

describe("provider rules", () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });
  after(() => app.stop());

  async function rejected(method: string, path: string, body: unknown, status: number, code: number, id: string, text?: string): Promise<void> {
    const res = await rest(app, method, path, body);
    assert.equal(res.status, status, res.text);
    assert.equal(res.body.code, code);
    assert.equal(res.body.details.length, 1);
    const [detail] = res.body.details;
    assert.equal(detail["@type"], "type.googleapis.com/zitadel.v1.ErrorDetail");
    assert.equal(detail.id, id);
    assert.equal(res.body.message, `${detail.message} (${id})`);
    if (text !== undefined) assert.equal(detail.message, text);
  }

  it("answers an unknown id with the exact ZITADEL error body", async () => {
    const res = await rest(app, "GET", "/admin/v1/email/123456789012345678");
    assert.equal(res.status, 404);
    assert.deepEqual(res.body, {
      code: 5,
      message: "SMTP configuration not found (QUERY-fwofw)",
      details: [{ "@type": "type.googleapis.com/zitadel.v1.ErrorDetail", id: "QUERY-fwofw", message: "SMTP configuration not found" }],
    });
  });

  it("rejects a sender address that is blank after trimming", () =>
    rejected("POST", "/admin/v1/email/smtp", smtpProvider({ senderAddress: "   " }), 400, 3, "COMMAND-SAAFpV8VKV"));

  it("trims the sender address and host", async () => {
    const id = await addSmtp(app, { senderAddress: "  trim@example.com ", host: " smtp.example.com:587  " });
    const got = await rest(app, "GET", `/admin/v1/email/${id}`);
    assert.equal(got.body.config.smtp.senderAddress, "trim@example.com");
    assert.equal(got.body.config.smtp.host, "smtp.example.com:587");
  });

  it("rejects a host without a port", () =>
    rejected("POST", "/admin/v1/email/smtp", smtpProvider({ host: "smtp.example.com" }), 400, 3, "COMMAND-EvAtufIinh"));

  it("rejects a blank host", () => rejected("POST", "/admin/v1/email/smtp", smtpProvider({ host: "   " }), 400, 3, "COMMAND-EvAtufIinh"));

  it("rejects a host with a URL scheme", () =>
    rejected("POST", "/admin/v1/email/smtp", smtpProvider({ host: "smtp://smtp.example.com:587" }), 400, 3, "COMMAND-EvAtufIinh"));

  it("rejects a port outside 1..65535", () =>
    rejected("POST", "/admin/v1/email/smtp", smtpProvider({ host: "smtp.example.com:70000" }), 400, 3, "COMMAND-EvAtufIinh"));

  it("rejects an IPv6 host without brackets", () =>
    rejected("POST", "/admin/v1/email/smtp", smtpProvider({ host: "2001:db8::1:2525" }), 400, 3, "COMMAND-EvAtufIinh"));

  it("accepts a bracketed IPv6 host with a port", async () => {
    const id = await addSmtp(app, { host: "[2001:db8::1]:2525" });
    assert.equal((await rest(app, "GET", `/admin/v1/email/${id}`)).body.config.smtp.host, "[2001:db8::1]:2525");
  });

  it("rejects a host without a port on update with the update's error id", async () => {
    const id = await addSmtp(app);
    await rejected("PUT", `/admin/v1/email/smtp/${id}`, smtpProvider({ host: "smtp.example.com" }), 400, 3, "COMMAND-kZNVkuL32L");
  });

  it("accepts a bracketed IPv6 host on update", async () => {
    const id = await addSmtp(app);
    const res = await rest(app, "PUT", `/admin/v1/email/smtp/${id}`, smtpProvider({ host: "[::1]:25" }));
    assert.equal(res.status, 200, res.text);
  });

  it("rejects a blank sender address on update with the update's error id", async () => {
    const id = await addSmtp(app);
    await rejected("PUT", `/admin/v1/email/smtp/${id}`, smtpProvider({ senderAddress: " " }), 400, 3, "COMMAND-gyPUXOTA4N");
  });

  it("answers NOT_FOUND when updating an unknown provider", () =>
    rejected("PUT", "/admin/v1/email/smtp/404404404404404404", smtpProvider(), 404, 5, "COMMAND-j5IDFtt3T1"));

  it("answers NOT_FOUND when updating an HTTP provider as SMTP", async () => {
    const { id } = await addHttp(app);
    await rejected("PUT", `/admin/v1/email/smtp/${id}`, smtpProvider(), 404, 5, "COMMAND-j5IDFtt3T1");
  });

  it("answers NOT_FOUND when updating an unknown HTTP provider", () =>
    rejected("PUT", "/admin/v1/email/http/404404404404404404", { endpoint: "https://hooks.example.com/x" }, 404, 5, "COMMAND-xIrdledqv4"));

  it("answers NOT_FOUND when setting the password of an unknown provider", () =>
    rejected("PUT", "/admin/v1/email/smtp/404404404404404404/password", { password: "x" }, 404, 5, "COMMAND-rDHzqjGuKQ"));

  it("answers NOT_FOUND when setting the password of an HTTP provider", async () => {
    const { id } = await addHttp(app);
    await rejected("PUT", `/admin/v1/email/smtp/${id}/password`, { password: "x" }, 404, 5, "COMMAND-rDHzqjGuKQ");
  });

  it("answers NOT_FOUND when activating an unknown provider", () =>
    rejected("POST", "/admin/v1/email/404404404404404404/_activate", {}, 404, 5, "COMMAND-E9K20hxOS9"));

  it("answers FAILED_PRECONDITION with HTTP 400 when activating the active provider", async () => {
    const id = await addSmtp(app);
    await rest(app, "POST", `/admin/v1/email/${id}/_activate`, {});
    await rejected("POST", `/admin/v1/email/${id}/_activate`, {}, 400, 9, "COMMAND-vUHBSmBzaw");
  });

  it("answers NOT_FOUND when deactivating an unknown provider", () =>
    rejected("POST", "/admin/v1/email/404404404404404404/_deactivate", {}, 404, 5, "COMMAND-k39PJ"));

  it("answers FAILED_PRECONDITION when deactivating an inactive provider", async () => {
    const id = await addSmtp(app);
    await rejected("POST", `/admin/v1/smtp/${id}/_deactivate`, {}, 400, 9, "COMMAND-km8g3", "SMTP configuration already deactivated");
  });

  it("answers NOT_FOUND when removing an unknown provider", () =>
    rejected("DELETE", "/admin/v1/email/404404404404404404", undefined, 404, 5, "COMMAND-09CXlTDL6w"));

  it("answers NOT_FOUND on the deprecated get of an unknown id", () =>
    rejected("GET", "/admin/v1/smtp/404404404404404404", undefined, 404, 5, "QUERY-fwofw"));

  it("rejects an HTTP endpoint that is not an http(s) URL", () =>
    rejected("POST", "/admin/v1/email/http", { endpoint: "ftp://hooks.example.com/x" }, 400, 3, "COMMAND-Sz84nFo3aK"));

  it("rejects a relative HTTP endpoint", () =>
    rejected("POST", "/admin/v1/email/http", { endpoint: "/hooks/mail" }, 400, 3, "COMMAND-Sz84nFo3aK"));

  it("rejects an HTTP endpoint with credentials in the URL on update", async () => {
    const { id } = await addHttp(app);
    await rejected("PUT", `/admin/v1/email/http/${id}`, { endpoint: "https://u:p@hooks.example.com/x" }, 400, 3, "COMMAND-Sz84nFo3aL");
  });

  it("rejects an XOAUTH2 token endpoint that is not an http(s) URL or carries credentials, without echoing them", async () => {
    const xoauth2 = (tokenEndpoint: string) =>
      smtpProvider({ plain: undefined, xoauth2: { tokenEndpoint, clientCredentials: { clientId: "c", clientSecret: "s" } } });
    await rejected("POST", "/admin/v1/email/smtp", xoauth2("ldap://idp.example.com/token"), 400, 3, "COMMAND-x0a2tE1");
    await rejected("POST", "/admin/v1/email/smtp", xoauth2("idp.example.com/token"), 400, 3, "COMMAND-x0a2tE1");
    const res = await rest(app, "POST", "/admin/v1/email/smtp", xoauth2("https://client:url-secret@idp.example.com/token"));
    assert.equal(res.status, 400, res.text);
    assert.match(res.body.message, /tokenEndpoint must not carry credentials in the URL/);
    assert.doesNotMatch(res.text, /url-secret/);
  });

  it("rejects a reply-to address that is not an e-mail address", async () => {
    const res = await rest(app, "POST", "/admin/v1/email/smtp", smtpProvider({ replyToAddress: "nobody" }));
    assert.equal(res.status, 400, res.text);
    assert.equal(res.body.code, 3);
  });
});

describe("the webhook deny-list", () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp({ MAILROOM_WEBHOOK_DENY_LIST: "127.0.0.0/8,10.0.0.0/8" });
  });
  after(() => app.stop());

  it("rejects an endpoint on a denied address", async () => {
    const res = await rest(app, "POST", "/admin/v1/email/http", { endpoint: "http://127.0.0.1:8080/hook" });
    assert.equal(res.status, 400, res.text);
    assert.equal(res.body.details[0].id, "COMMAND-Uf0294nKls");
  });

  it("rejects moving an endpoint onto a denied address", async () => {
    const { id } = await addHttp(app, "http://192.0.2.10/hook");
    const res = await rest(app, "PUT", `/admin/v1/email/http/${id}`, { endpoint: "http://10.1.2.3/hook" });
    assert.equal(res.status, 400, res.text);
    assert.equal(res.body.details[0].id, "COMMAND-Uf0294nKls");
  });
});
