import { isEmailAddress } from "./address.js";
import { failedPrecondition, invalidArgument } from "./errors.js";

export type MessageState = "queued" | "sending" | "sent" | "retrying" | "dead" | "cancelled";

const MAX_RECIPIENTS = 50;
/** Text and HTML bodies together, in bytes of UTF-8. */
export const MAX_BODY_BYTES = 512 * 1024;
export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;

export interface MessageDraft {
  to: string[];
  cc: string[];
  bcc: string[];
  subject: string;
  text: string;
  html: string;
  replyTo: string;
  idempotencyKey: string;
}

/** What one delivery attempt through one provider came to. */
export interface AttemptOutcome {
  ok: boolean;
  /** A failure no retry can fix (SMTP 5xx, a rejected configuration); the message is dead at once. */
  permanent: boolean;
  /** SMTP reply code of the deciding reply, when there was one. */
  smtpCode?: number;
  /** HTTP status for webhook providers. */
  httpStatus?: number;
  /** The server's reply text or a description of the failure; never a secret. */
  detail: string;
  durationMs: number;
}

/** An attempt as the message's log keeps it. */
export interface Attempt extends AttemptOutcome {
  time: Date;
  providerId: string;
  /** The mailroom node that made the attempt. */
  nodeId: string;
}

export interface Message extends MessageDraft {
  instanceId: string;
  id: string;
  state: MessageState;
  headerMessageId: string;
  createdAt: Date;
  updatedAt: Date;
  nextAttemptAt: Date | null;
  sentAt: Date | null;
  lastError: string;
  attempts: Attempt[];
}

const CRLF = /[\r\n]/;

/** Checks a message before it is accepted; throws INVALID_ARGUMENT naming the field and the rule. */
export function checkDraft(draft: MessageDraft): MessageDraft {
  const clean = (list: string[]) => list.map((a) => a.trim());
  const to = clean(draft.to);
  const cc = clean(draft.cc);
  const bcc = clean(draft.bcc);
  const total = to.length + cc.length + bcc.length;
  if (total === 0) throw invalidArgument("MSG-rcpt0", "to: at least one recipient is required (to, cc and bcc together)");
  if (total > MAX_RECIPIENTS) {
    throw invalidArgument("MSG-rcpt50", `to, cc, bcc: at most ${MAX_RECIPIENTS} recipients in all (got ${total})`);
  }
  for (const [field, list] of [["to", to], ["cc", cc], ["bcc", bcc]] as const) {
    list.forEach((address, i) => {
      if (CRLF.test(address) || !isEmailAddress(address, { displayName: true })) {
        throw invalidArgument("MSG-addr", `${field}[${i}]: "${address.replace(/[\r\n]/g, " ")}" is not a valid e-mail address`);
      }
    });
  }
  if (CRLF.test(draft.subject)) throw invalidArgument("MSG-subj", "subject: must not contain line breaks (CR or LF)");
  const replyTo = draft.replyTo.trim();
  if (replyTo && (CRLF.test(replyTo) || !isEmailAddress(replyTo, { displayName: true }))) {
    throw invalidArgument("MSG-rply", `replyTo: "${replyTo.replace(/[\r\n]/g, " ")}" is not a valid e-mail address`);
  }
  if (!draft.text && !draft.html) throw invalidArgument("MSG-body0", "text, html: one of them is required");
  const size = Buffer.byteLength(draft.text) + Buffer.byteLength(draft.html);
  if (size > MAX_BODY_BYTES) {
    throw invalidArgument("MSG-body512", `text, html: the bodies together must be at most ${MAX_BODY_BYTES} bytes (got ${size})`);
  }
  if (CRLF.test(draft.idempotencyKey)) throw invalidArgument("MSG-idem", "idempotencyKey: must not contain line breaks");
  return { ...draft, to, cc, bcc, replyTo };
}

/** Which transitions an operator may ask for. */
export function checkRequeue(state: MessageState): void {
  if (state === "sent" || state === "sending" || state === "queued") {
    throw failedPrecondition("MSG-rq1", `a ${state} message cannot be requeued; only dead, cancelled or retrying ones`);
  }
}

export function checkCancel(state: MessageState): void {
  if (state !== "queued" && state !== "retrying") {
    throw failedPrecondition("MSG-cn1", `a ${state} message cannot be cancelled; only queued or retrying ones`);
  }
}

export interface RetryPolicy {
  maxAttempts: number;
  maxAgeMs: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/**
 * When the next attempt after `attempts` failed ones is due, or null when the message is dead:
 * exponential backoff with full jitter between half and all of the step.
 */
export function nextAttemptDelay(policy: RetryPolicy, attempts: number, ageMs: number, random = Math.random): number | null {
  if (attempts >= policy.maxAttempts) return null;
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempts - 1));
  const delay = Math.round(step / 2 + random() * (step / 2));
  if (ageMs + delay > policy.maxAgeMs) return null;
  return delay;
}
