import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { Principal } from "../../auth/tokens.js";
import type { SmtpInput } from "../../domain/provider.js";
import { AdminService } from "../../gen/zitadel/admin_pb.js";
import type { ProviderService } from "../../service/provider-service.js";
import { principalOf } from "../context.js";
import { changeDetails, emailProviderOf, listDetails, smtpConfigOf, smtpInputOf } from "./converters.js";

/** Runs the SMTP test RPCs; provided by delivery. */
export interface SmtpTester {
  testSettings(principal: Principal, input: SmtpInput, receiver: string, storedId: string): Promise<void>;
  testStored(principal: Principal, id: string, receiver: string): Promise<void>;
}

/** zitadel.admin.v1.AdminService: thin handlers over ProviderService; both route families share them. */
export function adminService(providers: ProviderService, tester: SmtpTester): ServiceImpl<typeof AdminService> {
  const signingKeyOf = (p: Parameters<ProviderService["openSigningKey"]>[0]) => providers.openSigningKey(p);

  const list = async (ctx: HandlerContext, query: { offset: bigint; limit: number; asc: boolean } | undefined) =>
    providers.list(principalOf(ctx), { offset: Number(query?.offset ?? 0n), limit: query?.limit ?? 0, asc: query?.asc ?? false });

  return {
    async listEmailProviders(req, ctx) {
      const { total, providers: result, sequence } = await list(ctx, req.query);
      return { details: listDetails(total, sequence), result: result.map((p) => emailProviderOf(p, signingKeyOf(p))) };
    },
    async getEmailProvider(_req, ctx) {
      const p = await providers.getActive(principalOf(ctx));
      return { config: emailProviderOf(p, signingKeyOf(p)) };
    },
    async getEmailProviderById(req, ctx) {
      const p = await providers.get(principalOf(ctx), req.id);
      return { config: emailProviderOf(p, signingKeyOf(p)) };
    },
    async addEmailProviderSMTP(req, ctx) {
      const { id, details } = await providers.addSmtp(principalOf(ctx), smtpInputOf(req));
      return { id, details: changeDetails(details) };
    },
    async updateEmailProviderSMTP(req, ctx) {
      return { details: changeDetails(await providers.updateSmtp(principalOf(ctx), req.id, smtpInputOf(req))) };
    },
    async updateEmailProviderSMTPPassword(req, ctx) {
      return { details: changeDetails(await providers.setSmtpPassword(principalOf(ctx), req.id, req.password)) };
    },
    async addEmailProviderHTTP(req, ctx) {
      const { id, signingKey, details } = await providers.addHttp(principalOf(ctx), req.endpoint, req.description);
      return { id, signingKey, details: changeDetails(details) };
    },
    async updateEmailProviderHTTP(req, ctx) {
      const { signingKey, details } = await providers.updateHttp(principalOf(ctx), req.id, {
        endpoint: req.endpoint,
        description: req.description,
        rotateSigningKey: req.expirationSigningKey !== undefined,
      });
      return { signingKey, details: changeDetails(details) };
    },
    async activateEmailProvider(req, ctx) {
      return { details: changeDetails(await providers.activate(principalOf(ctx), req.id)) };
    },
    async deactivateEmailProvider(req, ctx) {
      return { details: changeDetails(await providers.deactivate(principalOf(ctx), req.id)) };
    },
    async removeEmailProvider(req, ctx) {
      return { details: changeDetails(await providers.remove(principalOf(ctx), req.id)) };
    },
    async testEmailProviderSMTP(req, ctx) {
      await tester.testSettings(principalOf(ctx), smtpInputOf(req), req.receiverAddress, req.id);
      return {};
    },
    async testEmailProviderSMTPById(req, ctx) {
      await tester.testStored(principalOf(ctx), req.id, req.receiverAddress);
      return {};
    },

    async getSMTPConfig(_req, ctx) {
      return { smtpConfig: smtpConfigOf(await providers.getActive(principalOf(ctx))) };
    },
    async getSMTPConfigById(req, ctx) {
      return { smtpConfig: smtpConfigOf(await providers.get(principalOf(ctx), req.id)) };
    },
    async listSMTPConfigs(req, ctx) {
      const { total, providers: result, sequence } = await list(ctx, req.query);
      return { details: listDetails(total, sequence), result: result.map(smtpConfigOf) };
    },
    async addSMTPConfig(req, ctx) {
      const { id, details } = await providers.addSmtp(principalOf(ctx), smtpInputOf(req));
      return { id, details: changeDetails(details) };
    },
    async updateSMTPConfig(req, ctx) {
      return { details: changeDetails(await providers.updateSmtp(principalOf(ctx), req.id, smtpInputOf(req))) };
    },
    async updateSMTPConfigPassword(req, ctx) {
      return { details: changeDetails(await providers.setSmtpPassword(principalOf(ctx), req.id, req.password)) };
    },
    async activateSMTPConfig(req, ctx) {
      return { details: changeDetails(await providers.activate(principalOf(ctx), req.id)) };
    },
    async deactivateSMTPConfig(req, ctx) {
      return { details: changeDetails(await providers.deactivate(principalOf(ctx), req.id)) };
    },
    async removeSMTPConfig(req, ctx) {
      return { details: changeDetails(await providers.remove(principalOf(ctx), req.id)) };
    },
    async testSMTPConfig(req, ctx) {
      await tester.testSettings(principalOf(ctx), smtpInputOf(req), req.receiverAddress, req.id);
      return {};
    },
    async testSMTPConfigById(req, ctx) {
      await tester.testStored(principalOf(ctx), req.id, req.receiverAddress);
      return {};
    },
  };
}
