import { Worker } from "node:worker_threads";
import type { Logger } from "pino";
import type { Config } from "../config.js";
import type { StoreChange } from "../store/change-feed.js";
import type { DeliveryRuntime } from "./delivery-runtime.js";
import type { FromDeliveryThread, ToDeliveryThread } from "./delivery-thread.js";

const ENTRY = new URL("./delivery-thread-entry.mjs", import.meta.url);

/**
 * Starts delivery on its own thread and resolves once it runs. If the thread dies, the process
 * exits: accepted mail is safe in the store and a supervisor's restart resumes delivery.
 */
export async function startDeliveryThread(config: Config, logger: Logger): Promise<DeliveryRuntime> {
  const thread = new Worker(ENTRY, { workerData: { config } });
  let stopping = false;
  const send = (message: ToDeliveryThread) => thread.postMessage(message);
  await new Promise<void>((resolve, reject) => {
    const onMessage = (message: FromDeliveryThread) => {
      if (message.kind === "ready") resolve();
      if (message.kind === "failed") reject(new Error(`delivery could not start: ${message.message}`));
    };
    thread.on("message", onMessage);
    thread.once("error", reject);
    thread.once("exit", (code) => reject(new Error(`delivery thread exited (${code}) while starting`)));
  });
  thread.removeAllListeners("error");
  thread.removeAllListeners("exit");
  thread.on("error", (err) => {
    logger.fatal({ err }, "the delivery thread failed; exiting so that a restart resumes delivery");
    process.exit(1);
  });
  thread.on("exit", (code) => {
    if (stopping) return;
    logger.fatal({ code }, "the delivery thread stopped unexpectedly; exiting so that a restart resumes delivery");
    process.exit(1);
  });
  return {
    notify: (change: StoreChange) => send({ kind: "change", change }),
    async stop() {
      stopping = true;
      const stopped = new Promise<void>((resolve) => {
        thread.on("message", (message: FromDeliveryThread) => message.kind === "stopped" && resolve());
        thread.once("exit", () => resolve());
      });
      send({ kind: "stop" });
      await stopped;
      await thread.terminate();
    },
  };
}
