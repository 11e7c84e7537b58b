import { createHash } from "node:crypto";
import { urlForMessages } from "../domain/provider.js";

/** What an XOAUTH2 provider needs to get an access token (client-credentials grant). */
export interface ClientCredentials {
  tokenEndpoint: string;
  clientId: string;
  clientSecret: string;
  scopes: string[];
}

export interface AccessToken {
  accessToken: string;
  /** Epoch milliseconds after which the token is not used any more. */
  expiresAt: number;
}

/** The token endpoint refused or failed; `permanent` when retrying cannot help (4xx). */
export class TokenEndpointError extends Error {
  readonly tokenEndpointError = true;
  constructor(
    message: string,
    readonly permanent: boolean,
    readonly status?: number,
  ) {
    super(message);
    this.name = "TokenEndpointError";
  }
}

export function isTokenEndpointError(err: unknown): err is TokenEndpointError {
  return typeof err === "object" && err !== null && (err as { tokenEndpointError?: unknown }).tokenEndpointError === true;
}

const TOKEN_REQUEST_TIMEOUT_MS = 10_000;
/** Tokens are renewed this long before the endpoint says they expire, so none dies mid-session. */
const EXPIRY_MARGIN_MS = 60_000;
/** An endpoint that sends no expires_in gets its token reused for this long. */
const DEFAULT_LIFETIME_MS = 5 * 60_000;

/**
 * Fetches OAuth 2.0 client-credentials tokens for SASL XOAUTH2 and caches each until shortly
 * before it expires. Concurrent requests for the same credentials share one token request.
 */
export class OAuth2TokenSource {
  private readonly cache = new Map<string, AccessToken>();
  private readonly pending = new Map<string, Promise<AccessToken>>();

  constructor(private readonly now: () => number = Date.now) {}

  /** A valid token; with `renew` a fresh one even when the cached one has not expired. */
  async token(credentials: ClientCredentials, renew = false): Promise<AccessToken> {
    const key = cacheKey(credentials);
    const cached = this.cache.get(key);
    if (!renew && cached && cached.expiresAt > this.now()) return cached;
    const inFlight = this.pending.get(key);
    if (inFlight) return inFlight;
    const request = this.request(credentials).finally(() => this.pending.delete(key));
    this.pending.set(key, request);
    const token = await request;
    // Tokens of rotated credentials would otherwise stay forever.
    for (const [k, t] of this.cache) if (t.expiresAt <= this.now()) this.cache.delete(k);
    this.cache.set(key, token);
    return token;
  }

  private async request(c: ClientCredentials): Promise<AccessToken> {
    const form = new URLSearchParams({ grant_type: "client_credentials", client_id: c.clientId, client_secret: c.clientSecret });
    if (c.scopes.length) form.set("scope", c.scopes.join(" "));
    const endpoint = urlForMessages(c.tokenEndpoint);
    let res: Response;
    try {
      res = await fetch(c.tokenEndpoint, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
        body: form,
        redirect: "error",
        signal: AbortSignal.timeout(TOKEN_REQUEST_TIMEOUT_MS),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
      throw new TokenEndpointError(`token endpoint ${endpoint} could not be reached (${cause})`, false);
    }
    const text = await res.text().catch(() => "");
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // a non-JSON answer is reported by status below
    }
    if (!res.ok) {
      const reason = typeof body.error === "string" ? `: ${body.error}${typeof body.error_description === "string" ? ` (${body.error_description})` : ""}` : "";
      // 4xx means the credentials or the request are wrong: no retry fixes that. 408/429 and 5xx pass.
      const permanent = res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429;
      throw new TokenEndpointError(`token endpoint ${endpoint} answered HTTP ${res.status}${reason}`, permanent, res.status);
    }
    if (typeof body.access_token !== "string" || !body.access_token) {
      throw new TokenEndpointError(`token endpoint ${endpoint} answered without an access_token`, true, res.status);
    }
    const lifetimeMs = typeof body.expires_in === "number" && body.expires_in > 0 ? body.expires_in * 1000 : DEFAULT_LIFETIME_MS;
    const margin = Math.min(EXPIRY_MARGIN_MS, lifetimeMs / 2);
    return { accessToken: body.access_token, expiresAt: this.now() + lifetimeMs - margin };
  }
}

function cacheKey(c: ClientCredentials): string {
  // Hashed so the cache's keys never hold the client secret in the clear.
  return createHash("sha256").update(JSON.stringify([c.tokenEndpoint, c.clientId, c.clientSecret, c.scopes])).digest("hex");
}
