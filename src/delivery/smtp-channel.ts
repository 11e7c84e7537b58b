import nodemailer, { type SendMailOptions, type Transporter } from "nodemailer";
import type { SMTPPoolOptions } from "nodemailer/lib/smtp-pool";
import type { Provider, SecretBox, SmtpSettings } from "../domain/provider.js";
import { OAuth2TokenSource } from "./oauth2-tokens.js";
import { connectionOptionsOf, decideTls, endpointOf } from "./smtp-connection-plan.js";
import { classifySmtpFailure, replyCodeOf } from "./smtp-failure.js";
import type { AttemptOutcome, Channel, OutgoingMessage } from "./types.js";

/** Connections each provider version's pool opens at most, unless the channel is told otherwise. */
export const DEFAULT_POOL_CONNECTIONS = 5;

/** Messages one pooled connection carries before nodemailer replaces it. */
export const POOL_MESSAGES_PER_CONNECTION = 100;

export interface SmtpChannelOptions {
  secrets: SecretBox;
  /** The name announced in EHLO (config.ehloName). */
  ehloName: string;
  /** Fetches and caches XOAUTH2 access tokens; without one the channel makes its own (as in the app). Tests pass one in. */
  tokens?: OAuth2TokenSource;
  /** Connections per provider version. */
  maxConnections?: number;
}

/**
 * What a provider version sends through: its pool, or, when `auto` TLS could not be decided (the
 * probe did not reach the server), a fresh one-shot transport per send with STARTTLS required.
 */
type Transports = { pooled: Transporter } | { oneShot: () => Transporter };

interface Pool {
  instanceId: string;
  providerId: string;
  /** Settled once per provider version: concurrent first sends share one secret lookup and probe. */
  transports: Promise<Transports>;
}

/**
 * Delivers through SMTP providers with nodemailer. Each provider version (instance, id, sequence)
 * gets its own connection pool, so a message never rides a connection opened with older settings:
 * a send for a newer sequence closes the older pools of that provider, and `retire` closes them
 * as soon as the worker learns of a change.
 */
export class SmtpChannel implements Channel {
  private readonly pools = new Map<string, Pool>();
  private readonly tokens: OAuth2TokenSource;

  constructor(private readonly options: SmtpChannelOptions) {
    this.tokens = options.tokens ?? new OAuth2TokenSource();
  }

  async send(provider: Provider, message: OutgoingMessage): Promise<AttemptOutcome> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    if (provider.config.kind !== "smtp") {
      return { ok: false, permanent: true, detail: `provider ${provider.id} is not an SMTP provider`, durationMs: elapsed() };
    }
    const smtp = provider.config.smtp;
    let oneShot: Transporter | undefined;
    try {
      const transport = await this.transportFor(provider, smtp);
      if (transport.oneShot) oneShot = transport.transporter;
      const info = await transport.transporter.sendMail(mailOf(smtp, message));
      const response = String(info.response ?? "");
      return { ok: true, permanent: false, smtpCode: replyCodeOf(response), detail: response, durationMs: elapsed() };
    } catch (err) {
      return { ok: false, ...classifySmtpFailure(err), durationMs: elapsed() };
    } finally {
      oneShot?.close();
    }
  }

  retire(instanceId?: string, providerIds?: string[]): void {
    for (const [key, pool] of this.pools) {
      if (instanceId !== undefined && pool.instanceId !== instanceId) continue;
      if (providerIds !== undefined && !providerIds.includes(pool.providerId)) continue;
      void this.closePool(key, pool);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools].map(([key, pool]) => this.closePool(key, pool)));
  }

  /** How many provider versions currently hold a pool (for tests and metrics). */
  get poolCount(): number {
    return this.pools.size;
  }

  private closePool(key: string, pool: Pool): Promise<void> {
    if (this.pools.get(key) === pool) this.pools.delete(key);
    // Idle connections close now; one still delivering a message finishes it and then closes.
    return pool.transports.then(
      (t) => ("pooled" in t ? t.pooled.close() : undefined),
      () => undefined,
    );
  }

  private async transportFor(provider: Provider, smtp: SmtpSettings): Promise<{ transporter: Transporter; oneShot: boolean }> {
    const key = `${provider.instanceId}/${provider.id}/${provider.sequence}`;
    let pool = this.pools.get(key);
    if (!pool) {
      for (const [otherKey, other] of this.pools) {
        if (other.instanceId === provider.instanceId && other.providerId === provider.id) void this.closePool(otherKey, other);
      }
      const entry: Pool = { instanceId: provider.instanceId, providerId: provider.id, transports: this.transportsOf(smtp) };
      this.pools.set(key, entry);
      // A version without a pool (no secret, an undecided probe) is looked at afresh by the next send.
      const forget = () => void (this.pools.get(key) === entry && this.pools.delete(key));
      entry.transports.then((t) => ("oneShot" in t ? forget() : undefined), forget);
      pool = entry;
    }
    const transports = await pool.transports;
    return "pooled" in transports ? { transporter: transports.pooled, oneShot: false } : { transporter: transports.oneShot(), oneShot: true };
  }

  private async transportsOf(smtp: SmtpSettings): Promise<Transports> {
    const endpoint = endpointOf(smtp);
    const auth = this.authOf(smtp);
    const decided = await decideTls(smtp, endpoint);
    const build = (pool: boolean) =>
      nodemailer.createTransport({
        ...connectionOptionsOf(smtp, decided.tls, endpoint, this.options.ehloName),
        pool,
        maxConnections: this.options.maxConnections ?? DEFAULT_POOL_CONNECTIONS,
        maxMessages: POOL_MESSAGES_PER_CONNECTION,
        disableFileAccess: true,
        disableUrlAccess: true,
        ...auth,
      } as SMTPPoolOptions);
    // `auto` against a server the probe could not reach: these sends go out (or fail) with
    // STARTTLS required, and the next one decides again instead of pooling on a guess.
    return decided.conclusive ? { pooled: build(true) } : { oneShot: () => build(false) };
  }

  /** Auth exactly as configured: none means no AUTH command at all, even when a user is set. */
  private authOf(smtp: SmtpSettings): Pick<SMTPPoolOptions, "auth" | "forceAuth"> {
    const auth = smtp.auth;
    switch (auth.kind) {
      case "none":
        return {};
      case "plain":
        if (!auth.password) throw Object.assign(new Error("the provider uses password authentication but has no password stored"), { code: "ECONFIG" });
        // forceAuth: a server that does not advertise AUTH still gets it; we never send unauthenticated instead.
        return { auth: { user: smtp.user, pass: this.options.secrets.open(auth.password) }, forceAuth: true };
      case "xoauth2": {
        if (!auth.clientSecret) throw Object.assign(new Error("the provider uses XOAUTH2 but has no client secret stored"), { code: "ECONFIG" });
        const sealedSecret = auth.clientSecret;
        const credentials = () => ({
          tokenEndpoint: auth.tokenEndpoint,
          clientId: auth.clientId,
          clientSecret: this.options.secrets.open(sealedSecret),
          scopes: auth.scopes,
        });
        return {
          auth: {
            type: "OAuth2",
            user: smtp.user,
            provisionCallback: (_user: string, renew: boolean, callback: (err: Error | null, token?: string, expires?: number) => void) => {
              this.tokens.token(credentials(), renew).then(
                (t) => callback(null, t.accessToken, t.expiresAt),
                (err: Error) => callback(err),
              );
            },
          },
          forceAuth: true,
        };
      }
    }
  }
}

/** The message as nodemailer composes it; nodemailer does the RFC 2047/MIME work. */
export function mailOf(smtp: SmtpSettings, message: OutgoingMessage): SendMailOptions {
  return {
    from: { name: smtp.senderName, address: smtp.senderAddress },
    replyTo: message.replyTo || smtp.replyToAddress || undefined,
    to: message.to,
    cc: message.cc.length ? message.cc : undefined,
    // Bcc goes into the envelope only; nodemailer leaves the header out.
    bcc: message.bcc.length ? message.bcc : undefined,
    subject: message.subject,
    text: message.text,
    html: message.html,
    messageId: message.headerMessageId,
    date: message.acceptedAt,
  };
}
