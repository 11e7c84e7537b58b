import type { AttemptOutcome } from "../domain/message.js";
import type { Provider } from "../domain/provider.js";

/** A message as the worker hands it to a channel. */
export interface OutgoingMessage {
  /** mailroom's id of the message. */
  id: string;
  /** The RFC 5322 Message-ID header value, e.g. "<104484930230157678@mailroom>"; the same on every attempt. */
  headerMessageId: string;
  to: string[];
  cc: string[];
  bcc: string[];
  subject: string;
  text?: string;
  html?: string;
  /** Overrides the provider's reply-to address when set. */
  replyTo?: string;
  /** When the message was accepted; used for the Date header. */
  acceptedAt: Date;
}

export type { AttemptOutcome } from "../domain/message.js";

/** Names provider versions that a committed change made stale. */
export interface StaleProviders {
  instanceId: string;
  providerIds: string[];
  /** Versions below this sequence are stale; the change's own versions are at or above it. */
  fromSequence: number;
}

/** Sends messages through a provider; one per provider kind. */
export interface Channel {
  send(provider: Provider, message: OutgoingMessage): Promise<AttemptOutcome>;
  /** Drops pooled connections of stale provider versions (of every version with no argument). */
  retire(stale?: StaleProviders): void;
  close(): Promise<void>;
}
