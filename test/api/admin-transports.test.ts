import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { EmailProviderState, SMTPConfigState } from "../../src/gen/zitadel/settings_pb.js";
import { startTestApp, type TestApp } from "../support/app.js";
import { adminClient, rpcError, TRANSPORTS, type AdminClient } from "../support/clients.js";

// The same handlers answer on gRPC (h2c), gRPC-Web and Connect; a representative set per transport.

describe("the admin API on the RPC transports", () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });
  after(() => app.stop());

  for (const transport of TRANSPORTS) {
    describe(`over ${transport}`, () => {
      let client: AdminClient;
      before(() => {
        client = adminClient(transport, app);
      });

      const addSmtp = async () =>
        (
          await client.addEmailProviderSMTP({
            senderAddress: `${transport}@example.com`,
            senderName: transport,
            host: "smtp.example.com:587",
            tls: true,
            user: "mailer",
            auth: { case: "plain", value: { password: "rpc-secret" } },
          })
        ).id;

      it("adds an SMTP provider and reads it back by id", async () => {
        const added = await client.addEmailProviderSMTP({
          senderAddress: `${transport}@example.com`,
          senderName: transport,
          host: "[2001:db8::1]:2525",
          user: "mailer",
          replyToAddress: "reply@example.com",
          description: "rpc",
          auth: { case: "plain", value: { password: "rpc-secret" } },
        });
        assert.match(added.id, /^\d{18}$/);
        assert.equal(added.details?.resourceOwner, app.core.instance.id);
        assert.ok(added.details!.sequence > 0n);
        const { config } = await client.getEmailProviderById({ id: added.id });
        assert.equal(config?.state, EmailProviderState.EMAIL_PROVIDER_INACTIVE);
        assert.equal(config?.description, "rpc");
        assert.equal(config?.config.case, "smtp");
        const smtp = config?.config.case === "smtp" ? config.config.value : undefined;
        assert.equal(smtp?.host, "[2001:db8::1]:2525");
        assert.equal(smtp?.replyToAddress, "reply@example.com");
        assert.equal(smtp?.auth.case, "plain");
      });

      it("adds an SMTP provider with xoauth2 client credentials and shows the client id only", async () => {
        const { id } = await client.addEmailProviderSMTP({
          senderAddress: `${transport}@example.com`,
          senderName: transport,
          host: "smtp.office365.com:587",
          tls: true,
          user: "mailer@example.com",
          auth: {
            case: "xoauth2",
            value: {
              tokenEndpoint: "https://login.example.com/token",
              scopes: ["smtp"],
              oauth2Type: { case: "clientCredentials", value: { clientId: "cid", clientSecret: "csecret" } },
            },
          },
        });
        const { config } = await client.getEmailProviderById({ id });
        const smtp = config?.config.case === "smtp" ? config.config.value : undefined;
        assert.equal(smtp?.auth.case, "xoauth2");
        const xoauth2 = smtp?.auth.case === "xoauth2" ? smtp.auth.value : undefined;
        assert.equal(xoauth2?.tokenEndpoint, "https://login.example.com/token");
        assert.deepEqual(xoauth2?.scopes, ["smtp"]);
        assert.equal(xoauth2?.oauth2Type.case === "clientCredentials" && xoauth2.oauth2Type.value.clientId, "cid");
      });

      it("updates an SMTP provider and its password", async () => {
        const id = await addSmtp();
        await client.updateEmailProviderSMTP({
          id,
          senderAddress: "updated@example.com",
          senderName: "Updated",
          host: "smtp.example.com:465",
          tls: true,
        });
        const changed = await client.updateEmailProviderSMTPPassword({ id, password: "rpc-secret-2" });
        assert.ok(changed.details!.sequence > 0n);
        const { config } = await client.getEmailProviderById({ id });
        const smtp = config?.config.case === "smtp" ? config.config.value : undefined;
        assert.equal(smtp?.senderAddress, "updated@example.com");
        assert.equal(smtp?.host, "smtp.example.com:465");
      });

      it("adds an HTTP provider and rotates its signing key", async () => {
        const added = await client.addEmailProviderHTTP({ endpoint: "https://hooks.example.com/rpc", description: "hook" });
        assert.match(added.signingKey, /^[A-Za-z0-9]{36}$/);
        const kept = await client.updateEmailProviderHTTP({ id: added.id, endpoint: "https://hooks.example.com/rpc2" });
        assert.equal(kept.signingKey, undefined);
        const rotated = await client.updateEmailProviderHTTP({
          id: added.id,
          endpoint: "https://hooks.example.com/rpc2",
          expirationSigningKey: durationFromMs(0),
        });
        assert.match(rotated.signingKey ?? "", /^[A-Za-z0-9]{36}$/);
        assert.notEqual(rotated.signingKey, added.signingKey);
      });

      it("activates a provider, returns it as the active one, and deactivates it", async () => {
        const id = await addSmtp();
        const activated = await client.activateEmailProvider({ id });
        assert.ok(activated.details?.creationDate && activated.details.changeDate);
        assert.equal((await client.getEmailProvider({})).config?.id, id);
        await client.deactivateEmailProvider({ id });
        const { config } = await client.getEmailProviderById({ id });
        assert.equal(config?.state, EmailProviderState.EMAIL_PROVIDER_INACTIVE);
      });

      it("lists providers with the total count", async () => {
        const id = await addSmtp();
        const listed = await client.listEmailProviders({ query: { limit: 1000 } });
        assert.ok(listed.result.some((p) => p.id === id));
        assert.equal(listed.details?.totalResult, BigInt(listed.result.length));
      });

      it("removes a provider, after which reading it is NOT_FOUND", async () => {
        const id = await addSmtp();
        await client.removeEmailProvider({ id });
        const { error, detail } = await rpcError(client.getEmailProviderById({ id }));
        assert.equal(error.code, Code.NotFound);
        assert.equal(error.rawMessage, "SMTP configuration not found (QUERY-fwofw)");
        assert.deepEqual({ id: detail?.id, message: detail?.message }, { id: "QUERY-fwofw", message: "SMTP configuration not found" });
      });

      it("serves the deprecated SMTP-config RPCs from the same store", async () => {
        const { id } = await client.addSMTPConfig({
          senderAddress: "legacy@example.com",
          senderName: "Legacy",
          host: "smtp.example.com:25",
          replyToAddress: "reply@example.com",
        });
        await client.updateSMTPConfig({
          id,
          senderAddress: "legacy@example.com",
          senderName: "Legacy 2",
          host: "smtp.example.com:25",
          replyToAddress: "reply@example.com",
        });
        await client.updateSMTPConfigPassword({ id, password: "legacy-secret" });
        await client.activateSMTPConfig({ id });
        assert.equal((await client.getSMTPConfig({})).smtpConfig?.id, id);
        await client.deactivateSMTPConfig({ id });
        const { smtpConfig } = await client.getSMTPConfigById({ id });
        assert.equal(smtpConfig?.state, SMTPConfigState.SMTP_CONFIG_INACTIVE);
        assert.equal(smtpConfig?.senderName, "Legacy 2");
        const listed = await client.listSMTPConfigs({});
        assert.equal(listed.result.find((c) => c.id === id)?.replyToAddress, "reply@example.com");
        await client.removeSMTPConfig({ id });
        assert.equal((await rpcError(client.getSMTPConfigById({ id }))).error.code, Code.NotFound);
      });

      it("reports a request-validation error as INVALID_ARGUMENT in PGV wording", async () => {
        const { error } = await rpcError(client.addEmailProviderSMTP({ senderAddress: "", senderName: "A", host: "h:25" }));
        assert.equal(error.code, Code.InvalidArgument);
        assert.equal(error.rawMessage, "invalid AddEmailProviderSMTPRequest.SenderAddress: value length must be between 1 and 200 runes, inclusive");
      });

      it("reports activating the active provider as FAILED_PRECONDITION with its error id", async () => {
        const id = await addSmtp();
        await client.activateEmailProvider({ id });
        const { error, detail } = await rpcError(client.activateEmailProvider({ id }));
        assert.equal(error.code, Code.FailedPrecondition);
        assert.equal(detail?.id, "COMMAND-vUHBSmBzaw");
      });
    });
  }
});
