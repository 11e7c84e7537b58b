import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { GrpcTransportOptions } from "@connectrpc/connect-node";
import { createServerTransport } from "@zitadel/client/node";
import { createAdminServiceClient } from "@zitadel/client/v1";
import { ADMIN_TOKEN, startTestApp, type TestApp } from "../support/app.js";

// The published ZITADEL TypeScript client, unmodified, manages mailroom's providers over gRPC.

describe("the @zitadel/client admin client", () => {
  let app: TestApp;
  let client: ReturnType<typeof createAdminServiceClient>;
  let id = "";
  before(async () => {
    app = await startTestApp();
    // httpVersion "2" is what its documentation passes; the options type of this release omits it.
    client = createAdminServiceClient(createServerTransport(ADMIN_TOKEN, { baseUrl: app.url, httpVersion: "2" } as GrpcTransportOptions));
  });
  after(() => app.stop());

  it("adds an SMTP provider", async () => {
    const added = await client.addEmailProviderSMTP({
      senderAddress: "zitadel@example.com",
      senderName: "ZITADEL",
      host: "smtp.example.com:587",
      tls: true,
      user: "mailer",
      password: "client-secret-password",
      description: "from @zitadel/client",
    });
    assert.match(added.id, /^\d{18}$/);
    assert.equal(added.details?.resourceOwner, app.core.instance.id);
    id = added.id;
  });

  it("lists it", async () => {
    const listed = await client.listEmailProviders({});
    assert.deepEqual(
      listed.result.map((p) => p.id),
      [id],
    );
    assert.equal(listed.details?.totalResult, 1n);
  });

  it("gets it by id with its settings", async () => {
    const { config } = await client.getEmailProviderById({ id });
    assert.equal(config?.description, "from @zitadel/client");
    assert.equal(config?.config.case, "smtp");
    assert.equal(config?.config.case === "smtp" && config.config.value.host, "smtp.example.com:587");
  });

  it("activates it and gets it as the active provider", async () => {
    await client.activateEmailProvider({ id });
    const { config } = await client.getEmailProvider({});
    assert.equal(config?.id, id);
    assert.equal(config?.state, 1);
  });

  it("updates it", async () => {
    await client.updateEmailProviderSMTP({
      id,
      senderAddress: "zitadel@example.com",
      senderName: "ZITADEL renamed",
      host: "smtp.example.com:465",
      tls: true,
      user: "mailer",
    });
    const { config } = await client.getEmailProviderById({ id });
    assert.equal(config?.config.case === "smtp" && config.config.value.senderName, "ZITADEL renamed");
  });

  it("adds an HTTP provider and reads it back", async () => {
    // This release of the client predates signing keys; it skips the field as an unknown one.
    const added = await client.addEmailProviderHTTP({ endpoint: "https://hooks.example.com/zitadel" });
    const { config } = await client.getEmailProviderById({ id: added.id });
    assert.equal(config?.config.case === "http" && config.config.value.endpoint, "https://hooks.example.com/zitadel");
  });

  it("removes the SMTP provider", async () => {
    await client.removeEmailProvider({ id });
    const listed = await client.listEmailProviders({});
    assert.ok(!listed.result.some((p) => p.id === id));
  });

  it("receives mailroom's errors with their code and message", async () => {
    await assert.rejects(client.getEmailProvider({}), (err: { code: number; rawMessage: string }) => {
      assert.equal(err.code, 5);
      assert.equal(err.rawMessage, "SMTP configuration not found (QUERY-fwofw)");
      return true;
    });
  });
});
