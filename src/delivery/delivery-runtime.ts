import type { Logger } from "pino";
import type { Config } from "../config.js";
import type { SecretBox } from "../domain/provider.js";
import type { StoreChange } from "../store/change-feed.js";
import type { Store } from "../store/store.js";
import { SmtpChannel } from "./smtp-channel.js";
import { WebhookChannel } from "./webhook-channel.js";
import { WebhookGuard } from "./webhook-guard.js";
import { DeliveryWorker, type Channels } from "./worker.js";

/** The delivery worker with its channels, reacting to committed changes. */
export interface DeliveryRuntime {
  /** A committed change: retire pools of changed providers and look at the outbox. */
  notify(change: StoreChange): void;
  stop(): Promise<void>;
}

export async function startDelivery(config: Config, store: Store, secrets: SecretBox, logger: Logger): Promise<DeliveryRuntime> {
  const channels: Channels = {
    smtp: new SmtpChannel({ secrets, ehloName: config.ehloName }),
    http: new WebhookChannel({ secrets, guard: new WebhookGuard(config.webhookDenyList) }),
  };
  const worker = new DeliveryWorker(
    store,
    channels,
    {
      nodeId: config.delivery.nodeId,
      concurrency: config.delivery.concurrency,
      leaseMs: config.delivery.leaseMs,
      pollMs: config.delivery.pollMs,
      retry: config.delivery,
      releaseLeasesOnStart: store.dialect === "sqlite",
    },
    logger,
  );
  const notify = (change: StoreChange) => {
    if (change.kind === "providers") {
      channels.smtp.retire(change);
      channels.http.retire(change);
    }
    worker.wake();
  };
  const unsubscribe = store.onChange(notify);
  await worker.start();
  return {
    notify,
    async stop() {
      unsubscribe();
      await worker.stop();
      await Promise.all([channels.smtp.close(), channels.http.close()]);
    },
  };
}
