import { invalidArgument } from "./errors.js";
import { isEmailAddress } from "./address.js";

/** A secret sealed by the keyring: opaque outside src/secrets. */
export type Sealed = string;

/** Seals and opens secrets; the domain never sees a key. */
export interface SecretBox {
  seal(plaintext: string): Sealed;
  open(sealed: Sealed): string;
}

/**
 * How the SMTP connection is encrypted.
 * - none: plain SMTP, STARTTLS is never attempted.
 * - auto: encrypted, implicit TLS when the server speaks TLS on connect, otherwise STARTTLS,
 *   which must succeed (the ZITADEL `tls=true`).
 * - starttls: STARTTLS required.
 * - implicit: TLS from the first byte (usually port 465).
 */
export type TlsMode = "none" | "auto" | "starttls" | "implicit";

export type SmtpAuth =
  | { kind: "none" }
  | { kind: "plain"; password: Sealed | null }
  | { kind: "xoauth2"; tokenEndpoint: string; scopes: string[]; clientId: string; clientSecret: Sealed | null };

export interface SmtpSettings {
  senderAddress: string;
  senderName: string;
  replyToAddress: string;
  host: string;
  user: string;
  tls: TlsMode;
  /** Certificates are verified unless the operator explicitly allows self-signed ones. */
  verifyCertificates: boolean;
  auth: SmtpAuth;
}

export interface HttpSettings {
  endpoint: string;
  signingKey: Sealed;
}

export type ProviderConfig = { kind: "smtp"; smtp: SmtpSettings } | { kind: "http"; http: HttpSettings };

export type ProviderState = "active" | "inactive";

export interface Provider {
  instanceId: string;
  id: string;
  description: string;
  state: ProviderState;
  config: ProviderConfig;
  createdAt: Date;
  changedAt: Date;
  /** The instance sequence of the provider's last change; also its configuration version. */
  sequence: number;
}

export const eventTypes = {
  smtpAdded: "instance.smtp.config.added",
  smtpChanged: "instance.smtp.config.changed",
  smtpPasswordChanged: "instance.smtp.config.password.changed",
  httpAdded: "instance.smtp.config.http.added",
  httpChanged: "instance.smtp.config.http.changed",
  activated: "instance.smtp.config.activated",
  deactivated: "instance.smtp.config.deactivated",
  removed: "instance.smtp.config.removed",
} as const;

type SmtpChanges = Partial<SmtpSettings>;

export type ProviderEvent =
  | { type: typeof eventTypes.smtpAdded; payload: { id: string; description: string; smtp: SmtpSettings } }
  | { type: typeof eventTypes.smtpChanged; payload: { id: string; description?: string } & SmtpChanges }
  | { type: typeof eventTypes.smtpPasswordChanged; payload: { id: string; password: Sealed | null } }
  | { type: typeof eventTypes.httpAdded; payload: { id: string; description: string; endpoint: string; signingKey: Sealed } }
  | {
      type: typeof eventTypes.httpChanged;
      payload: { id: string; description?: string; endpoint?: string; signingKey?: Sealed };
    }
  | { type: typeof eventTypes.activated | typeof eventTypes.deactivated | typeof eventTypes.removed; payload: { id: string } };

/** Where and when an event was recorded. */
export interface EventMeta {
  instanceId: string;
  sequence: number;
  time: Date;
}

/**
 * Folds one event into the provider it concerns. Returns undefined when the provider is removed.
 * Activation of another provider is not folded here: the store deactivates the previous one in
 * the same transaction.
 */
export function applyProviderEvent(current: Provider | undefined, event: ProviderEvent, meta: EventMeta): Provider | undefined {
  const touched = <T extends Provider>(p: T): T => ({ ...p, changedAt: meta.time, sequence: meta.sequence });
  switch (event.type) {
    case eventTypes.smtpAdded:
      return {
        instanceId: meta.instanceId,
        id: event.payload.id,
        description: event.payload.description,
        state: "inactive",
        config: { kind: "smtp", smtp: event.payload.smtp },
        createdAt: meta.time,
        changedAt: meta.time,
        sequence: meta.sequence,
      };
    case eventTypes.httpAdded:
      return {
        instanceId: meta.instanceId,
        id: event.payload.id,
        description: event.payload.description,
        state: "inactive",
        config: { kind: "http", http: { endpoint: event.payload.endpoint, signingKey: event.payload.signingKey } },
        createdAt: meta.time,
        changedAt: meta.time,
        sequence: meta.sequence,
      };
    case eventTypes.removed:
      return undefined;
  }
  if (!current) return undefined;
  switch (event.type) {
    case eventTypes.smtpChanged: {
      if (current.config.kind !== "smtp") return current;
      const { id: _id, description, ...smtp } = event.payload;
      return touched({
        ...current,
        description: description ?? current.description,
        config: { kind: "smtp", smtp: { ...current.config.smtp, ...smtp } },
      });
    }
    case eventTypes.smtpPasswordChanged: {
      if (current.config.kind !== "smtp") return current;
      const auth: SmtpAuth = { kind: "plain", password: event.payload.password };
      return touched({ ...current, config: { kind: "smtp", smtp: { ...current.config.smtp, auth } } });
    }
    case eventTypes.httpChanged: {
      if (current.config.kind !== "http") return current;
      const { id: _id, description, ...http } = event.payload;
      return touched({
        ...current,
        description: description ?? current.description,
        config: { kind: "http", http: { ...current.config.http, ...http } },
      });
    }
    case eventTypes.activated:
      return touched({ ...current, state: "active" });
    case eventTypes.deactivated:
      return touched({ ...current, state: "inactive" });
  }
}

// ---------------------------------------------------------------------------------------------
// Field rules shared by every dialect.

const CRLF = /[\r\n]/;

function rejectHeaderBreak(value: string, field: string, id: string): void {
  if (CRLF.test(value)) throw invalidArgument(id, `${field} must not contain line breaks (CR or LF)`);
}

/** Splits `host:port` like Go's net.SplitHostPort, but insists on a numeric port in 1..65535. */
export function parseHostPort(value: string): { hostname: string; port: number } | undefined {
  const match = /^(?:\[([0-9A-Fa-f:.]+(?:%[\w.-]+)?)\]|([^\s:/\[\]@?#]+)):(\d{1,5})$/.exec(value);
  if (!match) return undefined;
  const port = Number(match[3]);
  if (port < 1 || port > 65535) return undefined;
  return { hostname: (match[1] ?? match[2])!, port };
}

export function formatHostPort(hostname: string, port: number): string {
  return hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
}

/** A password made only of mask characters is a placeholder echoed back by a UI, never a secret. */
export function isMaskedPlaceholder(password: string): boolean {
  return /^[*•●]{3,}$/u.test(password);
}

/** The caller's view of authentication on add/update/test; secrets in plaintext. */
export type AuthInput =
  | { kind: "none" }
  | { kind: "plain"; password: string }
  | { kind: "xoauth2"; tokenEndpoint: string; scopes: string[]; clientId: string; clientSecret: string };

export interface SmtpInput {
  description: string;
  senderAddress: string;
  senderName: string;
  replyToAddress: string;
  host: string;
  user: string;
  /** ZITADEL's boolean, or an explicit mode from a richer dialect. */
  tls: boolean | TlsMode;
  verifyCertificates?: boolean;
  /** The legacy password field; used when `auth` is unset. */
  password: string;
  auth?: AuthInput;
}

/** Error ids per operation, so each error site keeps its own stable id. */
export interface SmtpRuleIds {
  sender: string;
  host: string;
  field: string;
}

export const addRuleIds: SmtpRuleIds = { sender: "COMMAND-SAAFpV8VKV", host: "COMMAND-EvAtufIinh", field: "COMMAND-Fi3ldAdd" };
export const changeRuleIds: SmtpRuleIds = { sender: "COMMAND-gyPUXOTA4N", host: "COMMAND-kZNVkuL32L", field: "COMMAND-Fi3ldChg" };

function resolveTls(requested: boolean | TlsMode, current: TlsMode | undefined): TlsMode {
  if (typeof requested !== "boolean") return requested;
  if (!requested) return "none";
  // tls=true keeps a stricter stored mode (starttls/implicit); a switch from none means "auto".
  return current && current !== "none" ? current : "auto";
}

/**
 * Builds the settings an add, update or test request asks for, applying every field rule.
 * With `current`, omitted secrets and an unset auth oneof keep what is stored.
 */
export function resolveSmtpSettings(input: SmtpInput, box: SecretBox, ids: SmtpRuleIds, current?: SmtpSettings): SmtpSettings {
  const senderAddress = input.senderAddress.trim();
  if (!senderAddress) throw invalidArgument(ids.sender, "sender address must not be empty");
  rejectHeaderBreak(senderAddress, "sender address", ids.sender);
  if (!isEmailAddress(senderAddress)) throw invalidArgument(ids.sender, `sender address "${senderAddress}" is not a valid e-mail address`);
  rejectHeaderBreak(input.senderName, "sender name", ids.field);
  const replyToAddress = input.replyToAddress.trim();
  rejectHeaderBreak(replyToAddress, "reply-to address", ids.field);
  if (replyToAddress && !isEmailAddress(replyToAddress)) {
    throw invalidArgument(ids.field, `reply-to address "${replyToAddress}" is not a valid e-mail address`);
  }
  rejectHeaderBreak(input.user, "user", ids.field);
  const host = input.host.trim();
  if (!host) throw invalidArgument(ids.host, "host must not be empty; give it as host:port, e.g. smtp.example.com:587");
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(host)) {
    throw invalidArgument(ids.host, `host "${host}" must be host:port without a scheme, e.g. smtp.example.com:587`);
  }
  if (!parseHostPort(host)) {
    throw invalidArgument(
      ids.host,
      `host "${host}" must be host:port with a port in 1..65535 (IPv6 in brackets, e.g. [2001:db8::1]:2525)`,
    );
  }
  return {
    senderAddress,
    senderName: input.senderName,
    replyToAddress,
    host,
    user: input.user,
    tls: resolveTls(input.tls, current?.tls),
    verifyCertificates: input.verifyCertificates ?? current?.verifyCertificates ?? true,
    auth: resolveAuth(input, box, current?.auth),
  };
}

/**
 * An absolute http(s) URL without credentials in it: a URL is shown in answers, attempt details
 * and logs, so it must hold no secret of its own.
 */
export function checkHttpUrl(field: string, value: string, errorId: string): string {
  const trimmed = value.trim();
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    throw invalidArgument(errorId, `${field} "${trimmed}" must be an absolute http or https URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw invalidArgument(errorId, `${field} "${trimmed}" must use http or https, not ${url.protocol.slice(0, -1)}`);
  }
  if (url.username || url.password) throw invalidArgument(errorId, `${field} must not carry credentials in the URL`);
  return trimmed;
}

/** A URL as messages show it: scheme, host and path, never a query that may carry a secret. */
export function urlForMessages(value: string): string {
  try {
    const url = new URL(value);
    return `${url.origin}${url.pathname}`;
  } catch {
    return "(not a URL)";
  }
}

function keepOrSeal(plaintext: string, stored: Sealed | null | undefined, box: SecretBox): Sealed | null {
  if (plaintext === "" || isMaskedPlaceholder(plaintext)) return stored ?? null;
  return box.seal(plaintext);
}

function resolveAuth(input: SmtpInput, box: SecretBox, stored: SmtpAuth | undefined): SmtpAuth {
  const storedPassword = stored?.kind === "plain" ? stored.password : null;
  const auth = input.auth;
  if (!auth) {
    if (stored) {
      // Update without the oneof: the stored kind stays; a legacy password sets PLAIN's password.
      if (stored.kind === "plain" || (stored.kind === "none" && input.password && !isMaskedPlaceholder(input.password))) {
        return { kind: "plain", password: keepOrSeal(input.password, storedPassword, box) };
      }
      return stored;
    }
    return input.user || input.password ? { kind: "plain", password: keepOrSeal(input.password, null, box) } : { kind: "none" };
  }
  switch (auth.kind) {
    case "none":
      return { kind: "none" };
    case "plain":
      return { kind: "plain", password: keepOrSeal(auth.password, storedPassword, box) };
    case "xoauth2": {
      const storedSecret = stored?.kind === "xoauth2" ? stored.clientSecret : null;
      return {
        kind: "xoauth2",
        tokenEndpoint: checkHttpUrl("tokenEndpoint", auth.tokenEndpoint, "COMMAND-x0a2tE1"),
        scopes: auth.scopes,
        clientId: auth.clientId,
        clientSecret: keepOrSeal(auth.clientSecret, storedSecret, box),
      };
    }
  }
}

function sameSecret(a: Sealed | null, b: Sealed | null, box: SecretBox): boolean {
  if (a === b) return true;
  if (a === null || b === null) return false;
  return box.open(a) === box.open(b);
}

function sameAuth(a: SmtpAuth, b: SmtpAuth, box: SecretBox): boolean {
  if (a.kind === "none" || b.kind === "none") return a.kind === b.kind;
  if (a.kind === "plain" || b.kind === "plain") {
    return a.kind === "plain" && b.kind === "plain" && sameSecret(a.password, b.password, box);
  }
  return (
    a.tokenEndpoint === b.tokenEndpoint &&
    a.clientId === b.clientId &&
    a.scopes.length === b.scopes.length &&
    a.scopes.every((s, i) => s === b.scopes[i]) &&
    sameSecret(a.clientSecret, b.clientSecret, box)
  );
}

/** The fields of `next` that differ from `current`; empty when the update changes nothing. */
export function diffSmtpSettings(current: SmtpSettings, next: SmtpSettings, box: SecretBox): SmtpChanges {
  const changes: SmtpChanges = {};
  for (const key of ["senderAddress", "senderName", "replyToAddress", "host", "user", "tls", "verifyCertificates"] as const) {
    if (current[key] !== next[key]) (changes as Record<string, unknown>)[key] = next[key];
  }
  if (!sameAuth(current.auth, next.auth, box)) changes.auth = next.auth;
  return changes;
}
