import { parentPort, workerData } from "node:worker_threads";
import type { Config } from "../config.js";
import { createLogger } from "../logger.js";
import { loadKeyring } from "../secrets/keyring.js";
import type { StoreChange } from "../store/change-feed.js";
import { openStore } from "../store/open-store.js";
import { startDelivery } from "./delivery-runtime.js";

// The delivery thread: its own store connection, keyring and channels, so sending mail runs on
// another core than the API. The API thread forwards the changes it commits; on PostgreSQL the
// thread also hears every node's changes itself.

export type ToDeliveryThread = { kind: "change"; change: StoreChange } | { kind: "stop" };
export type FromDeliveryThread = { kind: "ready" } | { kind: "stopped" } | { kind: "failed"; message: string };

const port = parentPort!;
const { config } = workerData as { config: Config };
const logger = createLogger(config.logLevel).child({ component: "delivery" });

try {
  const keyring = loadKeyring(config, (message) => logger.warn(message));
  // The API thread migrated the same database before it started this thread.
  const store = await openStore({ ...config, bookkeeping: true, migrate: false }, logger);
  const delivery = await startDelivery(config, store, keyring, logger);
  port.on("message", (message: ToDeliveryThread) => {
    if (message.kind === "change") return delivery.notify(message.change);
    void (async () => {
      await delivery.stop();
      await store.close();
      port.postMessage({ kind: "stopped" } satisfies FromDeliveryThread);
      port.close();
    })();
  });
  port.postMessage({ kind: "ready" } satisfies FromDeliveryThread);
} catch (err) {
  port.postMessage({ kind: "failed", message: err instanceof Error ? err.message : String(err) } satisfies FromDeliveryThread);
}
