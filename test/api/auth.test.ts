import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { rest, startTestApp, type TestApp } from "../support/app.js";
import { adminClient, rpcError, TRANSPORTS } from "../support/clients.js";
import { addSmtp, smtpProvider } from "../support/fixtures.js";

// Reads need iam.read, everything else iam.write; the same check guards every transport.

describe("authentication and permissions", () => {
  let app: TestApp;
  let viewer: string;
  let revoked: string;
  let sender: string;
  before(async () => {
    app = await startTestApp();
    viewer = `Bearer ${await app.createToken("IAM_OWNER_VIEWER")}`;
    sender = `Bearer ${await app.createToken("MESSAGE_SENDER")}`;
    const doomed = await app.core.tokens.create(app.core.instance.id, "IAM_OWNER", "to be revoked");
    await app.core.store.revokeToken(doomed.id);
    revoked = `Bearer ${doomed.token}`;
  });
  after(() => app.stop());

  describe("over REST", () => {
    const unauthenticated = async (auth: string | null) => {
      const res = await rest(app, "POST", "/admin/v1/email/_search", {}, auth);
      assert.equal(res.status, 401, res.text);
      assert.equal(res.body.code, 16);
      return res.body;
    };

    it("answers 401 without a token", async () => {
      const body = await unauthenticated(null);
      assert.equal(body.details[0].id, "AUTH-7fs1e");
    });

    it("answers 401 for an unknown token", async () => {
      const body = await unauthenticated("Bearer mr_not-a-real-token");
      assert.equal(body.details[0].id, "AUTH-7fs2e");
    });

    it("answers 401 for a malformed authorization header", () => unauthenticated("Basic dXNlcjpwYXNz"));

    it("answers 401 for a revoked token", () => unauthenticated(revoked));

    it("answers 403 when an IAM_OWNER_VIEWER writes", async () => {
      const res = await rest(app, "POST", "/admin/v1/email/smtp", smtpProvider(), viewer);
      assert.equal(res.status, 403, res.text);
      assert.deepEqual(res.body, {
        code: 7,
        message: "No matching permissions found (AUTH-5mWD2)",
        details: [{ "@type": "type.googleapis.com/zitadel.v1.ErrorDetail", id: "AUTH-5mWD2", message: "No matching permissions found" }],
      });
    });

    it("lets an IAM_OWNER_VIEWER read", async () => {
      const id = await addSmtp(app);
      assert.equal((await rest(app, "GET", `/admin/v1/email/${id}`, undefined, viewer)).status, 200);
      assert.equal((await rest(app, "POST", "/admin/v1/smtp/_search", {}, viewer)).status, 200);
    });

    it("answers 403 when a MESSAGE_SENDER reads providers", async () => {
      const res = await rest(app, "GET", "/admin/v1/email", undefined, sender);
      assert.equal(res.status, 403, res.text);
      assert.equal(res.body.message, "No matching permissions found (AUTH-5mWD2)");
    });

    it("checks the token before validating the request", async () => {
      const res = await rest(app, "POST", "/admin/v1/email/smtp", {}, null);
      assert.equal(res.status, 401, res.text);
    });

    it("stores nothing when a write is refused", async () => {
      const before = (await app.core.store.listEvents(app.core.instance.id)).length;
      for (const path of ["/admin/v1/email/smtp", "/admin/v1/smtp"]) await rest(app, "POST", path, smtpProvider(), viewer);
      await rest(app, "POST", "/admin/v1/email/http", { endpoint: "https://hooks.example.com/x" }, revoked);
      assert.equal((await app.core.store.listEvents(app.core.instance.id)).length, before);
    });
  });

  for (const transport of TRANSPORTS) {
    describe(`over ${transport}`, () => {
      it("answers UNAUTHENTICATED without a token", async () => {
        const { error } = await rpcError(adminClient(transport, app, null).listEmailProviders({}));
        assert.equal(error.code, Code.Unauthenticated);
        assert.equal(Code.Unauthenticated, 16);
      });

      it("answers UNAUTHENTICATED for a bad token", async () => {
        const { error, detail } = await rpcError(adminClient(transport, app, "Bearer nope").getEmailProvider({}));
        assert.equal(error.code, Code.Unauthenticated);
        assert.equal(detail?.id, "AUTH-7fs2e");
      });

      it("answers UNAUTHENTICATED for a revoked token", async () => {
        const { error } = await rpcError(adminClient(transport, app, revoked).listSMTPConfigs({}));
        assert.equal(error.code, Code.Unauthenticated);
      });

      it("answers PERMISSION_DENIED when an IAM_OWNER_VIEWER writes", async () => {
        const { error, detail } = await rpcError(
          adminClient(transport, app, viewer).addEmailProviderSMTP({ senderAddress: "a@example.com", senderName: "A", host: "h.example.com:25" }),
        );
        assert.equal(error.code, Code.PermissionDenied);
        assert.equal(error.rawMessage, "No matching permissions found (AUTH-5mWD2)");
        assert.equal(detail?.id, "AUTH-5mWD2");
      });

      it("lets an IAM_OWNER_VIEWER list providers", async () => {
        const listed = await adminClient(transport, app, viewer).listEmailProviders({});
        assert.ok(listed.details);
      });
    });
  }

  describe("the Test RPCs", () => {
    it("require iam.write on every transport", async () => {
      for (const transport of TRANSPORTS) {
        const client = adminClient(transport, app, viewer);
        const smtp = { senderAddress: "a@example.com", senderName: "A", host: "smtp.example.com:25", receiverAddress: "b@example.com" };
        const calls = [
          () => client.testEmailProviderSMTP(smtp),
          () => client.testEmailProviderSMTPById({ id: "1", receiverAddress: "b@example.com" }),
          () => client.testSMTPConfig(smtp),
          () => client.testSMTPConfigById({ id: "1", receiverAddress: "b@example.com" }),
        ];
        for (const call of calls) assert.equal((await rpcError(call())).error.code, Code.PermissionDenied, transport);
      }
    });
  });
});
