import pRetry from "p-retry";
import type { Logger } from "pino";
import { nextAttemptDelay, type Attempt, type RetryPolicy } from "../domain/message.js";
import type { Provider } from "../domain/provider.js";
import type { AttemptRecord, AttemptResolution, OutboxClaim } from "../store/outbox.js";
import type { Store } from "../store/store.js";
import type { AttemptOutcome, Channel, OutgoingMessage } from "./types.js";

interface WorkerOptions {
  /** Identifies this process's leases in the outbox. */
  nodeId: string;
  /** Messages in flight at once. */
  concurrency: number;
  /** How long a claim holds without renewal; a crashed node's messages are reclaimed after it. */
  leaseMs: number;
  /** Longest sleep between looks at the outbox when nothing wakes the worker. */
  pollMs: number;
  retry: RetryPolicy;
  /** Single node on its own database: leases left by a previous run are ended at start. */
  releaseLeasesOnStart: boolean;
}

/** Most attempts written in one transaction. */
const MAX_RECORDS_PER_WRITE = 256;
/** How long wake-ups are gathered after a claim found the outbox empty. */
const CLAIM_GATHER_MS = 5;
/** How long a busy worker gathers finished attempts before writing them. */
const RECORD_WINDOW_MS = 5;
/** Longest pause between two tries to write finished attempts. */
const RECORD_RETRY_MAX_MS = 2_000;

interface PendingRecord {
  record: AttemptRecord;
  done(recorded: boolean): void;
  failed(err: unknown): void;
}

export interface Channels {
  smtp: Channel;
  http: Channel;
}

/**
 * Takes due messages from the outbox and sends each through the provider that is active at the
 * moment of sending. Every state change is in the store, so a restart resumes where it stopped.
 */
export class DeliveryWorker {
  private running = false;
  private readonly inflight = new Map<string, Promise<void>>();
  private wakeUp: (() => void) | undefined;
  private woken = false;
  private loopDone: Promise<void> = Promise.resolve();
  private heartbeat: NodeJS.Timeout | undefined;
  private pendingRecords: PendingRecord[] = [];
  private recording = false;
  /** When a claim last found fewer due messages than it had room for. */
  private drainedAt = 0;

  constructor(
    private readonly store: Store,
    private readonly channels: Channels,
    private readonly options: WorkerOptions,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    if (this.options.releaseLeasesOnStart) {
      const released = await this.store.outbox.releaseLeases(new Date(), { expiredOnly: false });
      if (released) this.logger.warn({ messages: released }, "resuming messages that were in flight when the previous run stopped");
    }
    this.running = true;
    this.heartbeat = setInterval(() => void this.renewLeases(), Math.max(100, Math.floor(this.options.leaseMs / 4)));
    this.heartbeat.unref();
    this.loopDone = this.loop();
  }

  /** Looks at the outbox now (a message was accepted, a provider changed). */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /** Stops claiming and waits for the attempts in flight to be recorded. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loopDone;
    await Promise.allSettled(this.inflight.values());
    clearInterval(this.heartbeat);
  }

  /** Keeps this node's claims alive and takes back those another node left to expire. */
  private async renewLeases(): Promise<void> {
    try {
      await this.store.outbox.renewLeases(this.options.nodeId, [...this.inflight.keys()], this.options.leaseMs, new Date());
      const released = await this.store.outbox.releaseLeases(new Date(), { expiredOnly: true });
      if (released) {
        this.logger.warn({ messages: released }, "taking over messages whose claim expired (a node stopped or stalled)");
        this.wake();
      }
    } catch (err) {
      this.logger.error({ err }, "renewing outbox leases failed");
    }
  }

  private async loop(): Promise<void> {
    while (this.running) {
      // Right after a claim found the outbox empty, wake-ups (one per accepted message, and on
      // PostgreSQL from every node) are gathered for a moment so that one claim serves many.
      const gather = this.drainedAt + CLAIM_GATHER_MS - Date.now();
      if (gather > 0) await new Promise((resolve) => setTimeout(resolve, gather));
      this.woken = false;
      // While more than half the slots are busy, finished attempts only free slots: the next claim
      // then takes many messages in one write instead of one per finished attempt.
      const free = this.inflight.size * 2 <= this.options.concurrency ? this.options.concurrency - this.inflight.size : 0;
      let claimed = 0;
      if (free > 0) {
        try {
          const claims = await this.store.outbox.claim(this.options.nodeId, free, this.options.leaseMs, new Date());
          for (const claim of claims) this.dispatch(claim);
          claimed = claims.length;
          if (claimed < free) this.drainedAt = Date.now();
        } catch (err) {
          this.logger.error({ err }, "claiming messages from the outbox failed");
        }
      }
      // A full batch means more may be due right now.
      if (!this.running || this.woken || (free > 0 && claimed === free)) continue;
      await this.sleep(free === 0 ? this.options.pollMs : await this.sleepMs());
    }
  }

  private async sleepMs(): Promise<number> {
    try {
      const due = await this.store.outbox.nextDue();
      if (due) return Math.max(5, Math.min(this.options.pollMs, due.getTime() - Date.now()));
    } catch (err) {
      this.logger.error({ err }, "reading the outbox failed");
    }
    return this.options.pollMs;
  }

  /** Ends on the timer, on wake(), or when an attempt in flight finishes. */
  private sleep(ms: number): Promise<void> {
    if (this.woken) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }

  private dispatch(claim: OutboxClaim): void {
    const id = claim.message.id;
    const work = this.deliver(claim)
      .catch((err: unknown) => this.logger.error({ err, message: id }, "delivery attempt failed unexpectedly"))
      .finally(() => {
        this.inflight.delete(id);
        this.wakeUp?.();
      });
    this.inflight.set(id, work);
  }

  private async deliver(claim: OutboxClaim): Promise<void> {
    const { message } = claim;
    const { nodeId } = this.options;
    // Read at the moment of sending: a change committed before this line governs this message.
    const provider = await this.store.getActiveProvider(message.instanceId);
    if (!provider) {
      await this.store.outbox.release(nodeId, message.id, new Date());
      return;
    }
    const started = new Date();
    const outcome = await this.send(provider, {
      id: message.id,
      headerMessageId: message.headerMessageId,
      to: message.to,
      cc: message.cc,
      bcc: message.bcc,
      subject: message.subject,
      text: message.text || undefined,
      html: message.html || undefined,
      replyTo: message.replyTo || undefined,
      acceptedAt: message.createdAt,
    });
    const attempt: Attempt = { ...outcome, time: started, providerId: provider.id, nodeId: this.options.nodeId };
    const resolution = this.resolve(claim, outcome);
    const recorded = await this.record({ id: message.id, attempt, resolution });
    const fields = { message: message.id, provider: provider.id, state: resolution.state, code: outcome.smtpCode ?? outcome.httpStatus };
    if (!recorded) this.logger.warn(fields, "lost the lease on a message while sending it; another node owns it now");
    else if (resolution.state === "dead") this.logger.warn({ ...fields, reason: outcome.detail }, "message is dead");
    else if (resolution.state === "retrying") this.logger.info({ ...fields, reason: outcome.detail, next: resolution.nextAttemptAt }, "delivery failed; will retry");
    else this.logger.debug(fields, "message sent");
  }

  /**
   * Queues an attempt for the next write. Attempts that finish while a write is under way go
   * into the following one, so a busy worker commits many attempts per transaction.
   */
  private record(record: AttemptRecord): Promise<boolean> {
    return new Promise((done, failed) => {
      this.pendingRecords.push({ record, done, failed });
      if (!this.recording) void this.writeRecords();
    });
  }

  private async writeRecords(): Promise<void> {
    this.recording = true;
    // With other attempts in flight, those finishing within a few milliseconds join this write.
    const window = this.inflight.size > 1 ? RECORD_WINDOW_MS : 0;
    await new Promise((resolve) => setTimeout(resolve, window));
    while (this.pendingRecords.length > 0) {
      const batch = this.pendingRecords.splice(0, MAX_RECORDS_PER_WRITE);
      const records = batch.map((p) => p.record);
      try {
        // A finished attempt is never dropped for a failed write (a deadlock victim, a database
        // restart): its message stays in flight, so its lease is renewed, until the write succeeds.
        // Dropping it would let the lease run out and send the message a second time.
        const recorded = await pRetry(() => this.store.outbox.recordAttempts(this.options.nodeId, records), {
          retries: Number.POSITIVE_INFINITY,
          minTimeout: 20,
          maxTimeout: RECORD_RETRY_MAX_MS,
          randomize: true,
          // While stopping, what cannot be written is left to the lease: the message goes out again.
          shouldRetry: () => this.running,
          onFailedAttempt: ({ error, attemptNumber }) =>
            this.logger.warn({ err: error, attempt: attemptNumber, messages: records.map((r) => r.id) }, "recording delivery attempts failed; retrying"),
        });
        batch.forEach((p, i) => p.done(recorded[i]!));
      } catch (err) {
        for (const p of batch) p.failed(err);
      }
    }
    this.recording = false;
  }

  private async send(provider: Provider, message: OutgoingMessage): Promise<AttemptOutcome> {
    const started = performance.now();
    try {
      return await (provider.config.kind === "smtp" ? this.channels.smtp : this.channels.http).send(provider, message);
    } catch (err) {
      this.logger.error({ err, message: message.id }, "channel failed");
      return { ok: false, permanent: false, detail: "internal error in the delivery channel", durationMs: performance.now() - started };
    }
  }

  private resolve(claim: OutboxClaim, outcome: AttemptOutcome): AttemptResolution {
    if (outcome.ok) return { state: "sent", nextAttemptAt: null, lastError: "" };
    if (outcome.permanent) return { state: "dead", nextAttemptAt: null, lastError: outcome.detail };
    const now = Date.now();
    const delay = nextAttemptDelay(this.options.retry, claim.attemptCount + 1, now - claim.ageBaseAt.getTime());
    if (delay === null) return { state: "dead", nextAttemptAt: null, lastError: `gave up after retries: ${outcome.detail}` };
    return { state: "retrying", nextAttemptAt: new Date(now + delay), lastError: outcome.detail };
  }
}
