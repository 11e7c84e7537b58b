import nodemailer, { type SendMailOptions, type Transporter } from "nodemailer";
import type { SMTPPoolOptions } from "nodemailer/lib/smtp-pool";
import type { Provider, SecretBox, SmtpSettings } from "../domain/provider.js";
import { OAuth2TokenSource } from "./oauth2-tokens.js";
import { connectionOptionsOf, decideTls, endpointOf } from "./smtp-connection-plan.js";
import { classifySmtpFailure, replyCodeOf } from "./smtp-failure.js";
import type { AttemptOutcome, Channel, OutgoingMessage, StaleProviders } from "./types.js";

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
  /** instance/provider/sequence: the provider version the pool was built for. */
  key: string;
  instanceId: string;
  providerId: string;
  sequence: number;
  /** Settled once per provider version: concurrent first sends share one secret lookup and probe. */
  transports: Promise<Transports>;
  /** Sends using the pool right now. */
  sending: number;
  /** No new send gets the pool; it closes when its last send ends. */
  retired: boolean;
}

/**
 * Delivers through SMTP providers with nodemailer. Each provider version (instance, id, sequence)
 * gets its own connection pool, so a message never rides a connection opened with older settings:
 * a send for a newer sequence retires the older pools of that provider, and `retire` retires them
 * as soon as the worker learns of a change. A retired pool takes no new sends and closes once the
 * sends it already took have ended: retiring never fails a message.
 */
export class SmtpChannel implements Channel {
  /** The pool of each provider version that new sends use, by version key. */
  private readonly pools = new Map<string, Pool>();
  /** Retired pools whose last sends are still under way. */
  private readonly draining = new Set<Pool>();
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
    const pool = this.acquire(provider, smtp);
    let oneShot: Transporter | undefined;
    try {
      const transports = await pool.transports;
      const transporter = "pooled" in transports ? transports.pooled : (oneShot = transports.oneShot());
      const info = await transporter.sendMail(mailOf(smtp, message));
      const response = String(info.response ?? "");
      return { ok: true, permanent: false, smtpCode: replyCodeOf(response), detail: response, durationMs: elapsed() };
    } catch (err) {
      return { ok: false, ...classifySmtpFailure(err), durationMs: elapsed() };
    } finally {
      oneShot?.close();
      pool.sending -= 1;
      if (pool.retired && pool.sending === 0) void this.closePool(pool);
    }
  }

  /** Retires the pools of the stale provider versions, or of every version without an argument. */
  retire(stale?: StaleProviders): void {
    for (const pool of [...this.pools.values()]) {
      if (stale) {
        if (pool.instanceId !== stale.instanceId || !stale.providerIds.includes(pool.providerId)) continue;
        // A send may already have built the pool of the version this change committed.
        if (pool.sequence >= stale.fromSequence) continue;
      }
      this.retirePool(pool);
    }
  }

  async close(): Promise<void> {
    const all = [...this.pools.values(), ...this.draining];
    this.pools.clear();
    await Promise.all(all.map((pool) => this.closePool(pool)));
  }

  /** How many provider versions currently hold a pool for new sends (for tests and metrics). */
  get poolCount(): number {
    return this.pools.size;
  }

  /**
   * The pool for the provider version a send read, counted as in use by that send. Only the newest
   * version keeps one: a newer version retires older pools, and a send that read its provider just
   * before a change (an older version than a pool already built) gets a pool of its own that
   * closes after it.
   */
  private acquire(provider: Provider, smtp: SmtpSettings): Pool {
    const key = `${provider.instanceId}/${provider.id}/${provider.sequence}`;
    const existing = this.pools.get(key);
    if (existing) {
      existing.sending += 1;
      return existing;
    }
    const pool: Pool = {
      key,
      instanceId: provider.instanceId,
      providerId: provider.id,
      sequence: provider.sequence,
      transports: this.transportsOf(smtp),
      sending: 1,
      retired: false,
    };
    let superseded = false;
    for (const other of [...this.pools.values()]) {
      if (other.instanceId !== provider.instanceId || other.providerId !== provider.id) continue;
      if (other.sequence < provider.sequence) this.retirePool(other);
      else superseded = true;
    }
    if (superseded) {
      this.retirePool(pool);
      return pool;
    }
    this.pools.set(key, pool);
    // A version without a pool (no secret, an undecided probe) is looked at afresh by the next send.
    const forget = () => void (this.pools.get(key) === pool && this.pools.delete(key));
    pool.transports.then((t) => ("oneShot" in t ? forget() : undefined), forget);
    return pool;
  }

  private retirePool(pool: Pool): void {
    if (this.pools.get(pool.key) === pool) this.pools.delete(pool.key);
    pool.retired = true;
    if (pool.sending === 0) void this.closePool(pool);
    else this.draining.add(pool);
  }

  private closePool(pool: Pool): Promise<void> {
    this.draining.delete(pool);
    return pool.transports.then(
      (t) => ("pooled" in t ? t.pooled.close() : undefined),
      () => undefined,
    );
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
