import { createHmac } from "node:crypto";
import { lookup as dnsLookup } from "node:dns";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import type { LookupFunction } from "node:net";
import type { Provider, SecretBox } from "../domain/provider.js";
import type { AttemptOutcome, Channel, OutgoingMessage } from "./types.js";
import { hostOf, type WebhookGuard } from "./webhook-guard.js";

export interface WebhookChannelOptions {
  secrets: SecretBox;
  guard: WebhookGuard;
  /** Whole-request deadline; ZITADEL uses 5 s. */
  timeoutMs?: number;
  now?: () => Date;
}

/** The JSON body of a webhook delivery, in ZITADEL's shape. */
interface WebhookPayload {
  contextInfo: {
    recipientEmailAddress: string;
    eventType: "mailroom.message";
    provider: { id: string; description: string };
  };
  templateData: { subject: string; text: string; html: string };
  args: { messageId: string; to: string[]; cc: string[]; bcc: string[]; replyTo: string };
}

function webhookPayloadOf(provider: Provider, message: OutgoingMessage): WebhookPayload {
  return {
    contextInfo: {
      recipientEmailAddress: message.to[0] ?? "",
      eventType: "mailroom.message",
      provider: { id: provider.id, description: provider.description },
    },
    templateData: { subject: message.subject, text: message.text ?? "", html: message.html ?? "" },
    args: { messageId: message.id, to: message.to, cc: message.cc, bcc: message.bcc, replyTo: message.replyTo ?? "" },
  };
}

/** `t=<unix seconds>,v1=<hex HMAC-SHA256(key, "<t>.<body>")>`, as ZITADEL signs webhooks. */
function webhookSignature(signingKey: string, body: string, at: Date): string {
  const t = Math.floor(at.getTime() / 1000);
  const v1 = createHmac("sha256", signingKey).update(`${t}.${body}`).digest("hex");
  return `t=${t},v1=${v1}`;
}

class BlockedAddressError extends Error {
  readonly code = "EBLOCKED";
}

/**
 * Delivers through HTTP providers: a signed JSON POST. The deny-list is checked against the
 * address actually dialed (a custom lookup), so a name that resolves differently at send time
 * than at save time cannot reach a private range; redirects are never followed.
 *
 * Outcomes: 2xx is delivered. Any other answer (a redirect is never followed), a timeout or a
 * network error is a failed attempt that is retried, as the contract says for webhooks: the
 * receiving side is the operator's own code, and a fix there should let waiting messages through.
 */
export class WebhookChannel implements Channel {
  constructor(private readonly options: WebhookChannelOptions) {}

  async send(provider: Provider, message: OutgoingMessage): Promise<AttemptOutcome> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    if (provider.config.kind !== "http") {
      return { ok: false, permanent: true, detail: `provider ${provider.id} is not an HTTP provider`, durationMs: elapsed() };
    }
    const url = new URL(provider.config.http.endpoint);
    const body = JSON.stringify(webhookPayloadOf(provider, message));
    const signature = webhookSignature(this.options.secrets.open(provider.config.http.signingKey), body, (this.options.now ?? (() => new Date()))());
    const literal = hostOf(url);
    if (this.options.guard.isBlockedAddress(literal)) {
      return { ok: false, permanent: true, detail: `endpoint address ${literal} is on the webhook deny-list`, durationMs: elapsed() };
    }
    try {
      const res = await this.post(url, body, signature);
      const status = res.statusCode ?? 0;
      if (status >= 200 && status < 300) return { ok: true, permanent: false, httpStatus: status, detail: `HTTP ${status}`, durationMs: elapsed() };
      const detail = status >= 300 && status < 400 ? `HTTP ${status} redirect to ${res.headers.location ?? "(none)"} not followed` : `HTTP ${status} ${res.statusMessage ?? ""}`.trim();
      return { ok: false, permanent: false, httpStatus: status, detail, durationMs: elapsed() };
    } catch (err) {
      if (err instanceof BlockedAddressError) return { ok: false, permanent: true, detail: err.message, durationMs: elapsed() };
      const e = err as NodeJS.ErrnoException;
      return { ok: false, permanent: false, detail: `${e.message}${e.code && !e.message.includes(e.code) ? ` (${e.code})` : ""}`, durationMs: elapsed() };
    }
  }

  /** Webhook deliveries hold no pooled state tied to a provider version. */
  retire(): void {}

  async close(): Promise<void> {}

  private post(url: URL, body: string, signature: string): Promise<IncomingMessage> {
    const guard = this.options.guard;
    const lookup: LookupFunction = (hostname, options, callback) => {
      dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
        if (err) return (callback as (e: Error) => void)(err);
        const list = addresses as unknown as { address: string; family: number }[];
        const blocked = guard.firstBlocked(list.map((a) => a.address));
        if (blocked) return (callback as (e: Error) => void)(new BlockedAddressError(`endpoint host ${hostname} resolves to ${blocked}, which is on the webhook deny-list`));
        if (options.all) return (callback as (e: null, a: typeof list) => void)(null, list);
        (callback as (e: null, a: string, f: number) => void)(null, list[0]!.address, list[0]!.family);
      });
    };
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    const timeoutMs = this.options.timeoutMs ?? 5000;
    return new Promise((resolve, reject) => {
      const req = send(url, {
        method: "POST",
        lookup,
        agent: false,
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
          "user-agent": "mailroom",
          "ZITADEL-Signature": signature,
        },
      });
      const timer = setTimeout(() => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs / 1000} s`), { code: "ETIMEDOUT" })), timeoutMs);
      req.once("response", (res) => {
        res.resume();
        res.once("end", () => clearTimeout(timer));
        res.once("error", () => clearTimeout(timer));
        resolve(res);
      });
      req.once("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      req.end(body);
    });
  }
}
