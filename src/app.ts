import { mkdirSync } from "node:fs";
import type { Logger } from "pino";
import { TokenService } from "./auth/tokens.js";
import { adminService } from "./api/zitadel/admin-service.js";
import { guard } from "./api/interceptors.js";
import { ApiServer, createRequestHandler, serviceRegistration } from "./api/server.js";
import { emailSettingsHandler } from "./api/settings/settings-handler.js";
import type { Config } from "./config.js";
import { WebhookGuard } from "./delivery/webhook-guard.js";
import { newId } from "./domain/ids.js";
import { AdminService } from "./gen/zitadel/admin_pb.js";
import { MessageService } from "./gen/mailroom/v1/messages_pb.js";
import { messageService } from "./api/mailroom/message-service.js";
import { SmtpDiagnostic } from "./delivery/smtp-diagnostics.js";
import { SmtpProviderTester } from "./delivery/smtp-tester.js";
import { diagnosticsService } from "./api/mailroom/diagnostics-service.js";
import { DiagnosticsService } from "./gen/mailroom/v1/diagnostics_pb.js";
import { OutboxService } from "./service/outbox-service.js";
import { startDeliveryThread } from "./delivery/delivery-thread-host.js";
import { loadKeyring, type Keyring } from "./secrets/keyring.js";
import { ProviderService } from "./service/provider-service.js";
import { openStore } from "./store/open-store.js";
import type { Instance, Store } from "./store/store.js";

/** The parts every command needs: configuration, store, keyring, default instance. */
export interface Core {
  config: Config;
  logger: Logger;
  store: Store;
  keyring: Keyring;
  instance: Instance;
  tokens: TokenService;
}

export async function openCore(config: Config, logger: Logger): Promise<Core> {
  if (!config.databaseUrl) mkdirSync(config.dataDir, { recursive: true });
  const keyring = loadKeyring(config, (message) => logger.warn(message));
  const store = await openStore(config, logger);
  // Nodes starting together on one database must agree on one default instance.
  const instance = await store.exclusive(() => store.ensureDefaultInstance(newId(), "default"));
  return { config, logger, store, keyring, instance, tokens: new TokenService(store) };
}

export interface RunningApp {
  url: string;
  /** The generated admin token, only on the first start without MAILROOM_BOOTSTRAP_TOKEN. */
  bootstrapToken?: string;
  close(): Promise<void>;
}

/** Starts the API on the configured port. */
export async function startApp(core: Core): Promise<RunningApp> {
  const { config, logger, store, keyring, instance, tokens } = core;
  let bootstrapToken: string | undefined;
  await store.exclusive(async () => {
    if (config.bootstrapToken) {
      await tokens.ensure(instance.id, config.bootstrapToken, "MAILROOM_BOOTSTRAP_TOKEN");
    } else if ((await store.listTokens(instance.id)).length === 0) {
      bootstrapToken = (await tokens.create(instance.id, "IAM_OWNER", "generated on first start")).token;
    }
  });

  const webhookGuard = new WebhookGuard(config.webhookDenyList);
  const providers = new ProviderService(store, keyring, webhookGuard);
  const delivery = await startDeliveryThread(config, logger);
  // On SQLite the delivery thread hears of this thread's commits only from here; on PostgreSQL it
  // listens to the database itself.
  const unsubscribe = store.dialect === "sqlite" ? store.onChange((change) => delivery.notify(change)) : () => undefined;
  const outbox = new OutboxService(store, config.ehloName);

  const smtpTester = new SmtpProviderTester(providers, new SmtpDiagnostic({ secrets: keyring, ehloName: config.ehloName }));
  const handler = createRequestHandler({
    services: [
      serviceRegistration(AdminService, adminService(providers, smtpTester)),
      serviceRegistration(MessageService, messageService(outbox)),
      serviceRegistration(DiagnosticsService, diagnosticsService(smtpTester)),
    ],
    interceptors: [guard(tokens, (err) => logger.error({ err }, "request failed"))],
    extraHandlers: [emailSettingsHandler({ tokens, providers, logError: (err) => logger.error({ err }, "email-settings request failed") })],
    logger,
  });
  const server = new ApiServer(handler);
  const address = await server.listen(config.listen.host, config.listen.port);
  const host = address.host.includes(":") ? `[${address.host}]` : address.host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${address.port}`,
    bootstrapToken,
    close() {
      // A second call (another signal, a test's clean-up) waits for the first.
      closing ??= (async () => {
        await server.close();
        unsubscribe();
        await delivery.stop();
      })();
      return closing;
    },
  };
}
