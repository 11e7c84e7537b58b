import { isIPv6 } from "node:net";
import { DomainError, invalidArgument } from "./errors.js";
import {
  addRuleIds,
  changeRuleIds,
  eventTypes,
  formatHostPort,
  isMaskedPlaceholder,
  parseHostPort,
  type Provider,
  type ProviderEvent,
  type SecretBox,
  type SmtpInput,
  type SmtpRuleIds,
  type SmtpSettings,
  type TlsMode,
} from "./provider.js";
import { addSmtpProvider, removeProvider, updateSmtpProvider } from "./provider-commands.js";

// "The global email settings": a single-object view of the instance's active SMTP provider, for
// dialects that know one outgoing mail server instead of a list of providers. Changes made here
// are ordinary provider events, so every other view sees them at once.

/** One setting of the global view; errors name it so a dialect can name its own field. */
export type GlobalSetting = "host" | "port" | "senderAddress" | "user" | "password";

/** The three encryption modes the global view knows; `auto` is shown as one of them (see globalEncryptionOf). */
export type GlobalEncryption = "none" | "starttls" | "implicit";

/** The global settings as read: never a secret. */
export interface GlobalSmtpSettings {
  hostname: string;
  port: number;
  encryption: GlobalEncryption;
  allowSelfSignedCertificates: boolean;
  senderAddress: string;
  /** Empty when the provider does not authenticate. */
  user: string;
}

/** A partial change: absent settings keep their value. The password is plaintext, write-only. */
export interface GlobalSmtpPatch {
  hostname?: string;
  port?: number;
  encryption?: GlobalEncryption;
  allowSelfSignedCertificates?: boolean;
  senderAddress?: string;
  user?: string;
  password?: string;
}

const ruleIds: Record<GlobalSetting, string> = {
  host: "SETTINGS-h0stR1",
  port: "SETTINGS-p0rtR1",
  senderAddress: "SETTINGS-fr0mR1",
  user: "SETTINGS-us3rR1",
  password: "SETTINGS-pwdR1",
};

// The shared SMTP rules report under the add/change ids; in the global view the sender name is
// derived from the (already checked) address, so their generic field rule can only concern the user.
const settingOfSharedRule = (ids: SmtpRuleIds): [string, GlobalSetting][] => [
  [ids.sender, "senderAddress"],
  [ids.host, "host"],
  [ids.field, "user"],
];

const settingOfRuleId = new Map<string, GlobalSetting>([
  ...(Object.entries(ruleIds) as [GlobalSetting, string][]).map(([setting, id]): [string, GlobalSetting] => [id, setting]),
  ...settingOfSharedRule(addRuleIds),
  ...settingOfSharedRule(changeRuleIds),
]);

/** The setting a rule violation of the global view concerns, when it concerns one. */
export function globalSettingOf(err: DomainError): GlobalSetting | undefined {
  return settingOfRuleId.get(err.id);
}

/** The description of a provider created through the global view. */
const GLOBAL_PROVIDER_DESCRIPTION = "Global email settings";

/**
 * How a stored TLS mode looks in the global view. `auto` (implicit TLS when the server speaks it
 * on connect, otherwise STARTTLS) is shown as what it will do on the conventional ports: implicit
 * on 465, STARTTLS elsewhere.
 */
function globalEncryptionOf(tls: TlsMode, port: number): GlobalEncryption {
  if (tls === "auto") return port === 465 ? "implicit" : "starttls";
  return tls;
}

/** The global view of an SMTP provider's settings. */
export function globalSmtpSettingsOf(smtp: SmtpSettings): GlobalSmtpSettings {
  const address = parseHostPort(smtp.host) ?? { hostname: smtp.host, port: 0 };
  return {
    hostname: address.hostname,
    port: address.port,
    encryption: globalEncryptionOf(smtp.tls, address.port),
    allowSelfSignedCertificates: !smtp.verifyCertificates,
    senderAddress: smtp.senderAddress,
    // The view's rule is "empty user means no authentication"; a user stored without auth is not used.
    user: smtp.auth.kind === "none" ? "" : smtp.user,
  };
}

function checkHostname(value: string): string {
  const trimmed = value.trim();
  if (/[\r\n]/.test(trimmed)) throw invalidArgument(ruleIds.host, "host must not contain line breaks (CR or LF)");
  if (!trimmed) throw invalidArgument(ruleIds.host, "host must not be empty");
  const bare = trimmed.startsWith("[") && trimmed.endsWith("]") ? trimmed.slice(1, -1) : trimmed;
  const valid = bare.includes(":") ? isIPv6(bare) : parseHostPort(`${bare}:25`) !== undefined;
  if (!valid) {
    throw invalidArgument(ruleIds.host, `host "${trimmed}" must be a host name or IP address without port or scheme, e.g. smtp.example.com`);
  }
  return bare;
}

function checkPort(port: number): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalidArgument(ruleIds.port, `port must be an integer in 1..65535, got ${port}`);
  return port;
}

function requireSetting<T>(value: T | undefined, setting: GlobalSetting, what: string): T {
  if (value === undefined) throw invalidArgument(ruleIds[setting], `${what} is required when no global settings exist yet`);
  return value;
}

function resolveTls(requested: GlobalEncryption | undefined, stored: SmtpSettings | undefined, port: number): TlsMode {
  // Writing back what a read showed keeps the stored mode, so show-then-edit never turns `auto` into a stricter mode.
  if (stored && (requested === undefined || requested === globalEncryptionOf(stored.tls, port))) return stored.tls;
  // A new provider without an explicit choice is encrypted and never downgrades.
  return requested ?? "auto";
}

/**
 * Authentication follows the view's rules: an empty user means none; a user with a password means
 * PLAIN; without either in the patch the stored authentication is kept (an empty password too).
 */
function resolveAuth(patch: GlobalSmtpPatch, stored: SmtpSettings | undefined): { user: string; auth: SmtpInput["auth"] } {
  // A UI's masked placeholder ("********") stands for the stored password, like an empty one.
  const password = patch.password && !isMaskedPlaceholder(patch.password) ? patch.password : "";
  const user = patch.user ?? stored?.user ?? "";
  if (patch.user === "") {
    if (password) throw invalidArgument(ruleIds.password, "password must be empty when the user is empty (an empty user means no authentication)");
    return { user: "", auth: { kind: "none" } };
  }
  if (password) {
    if (!user) throw invalidArgument(ruleIds.password, "password needs a user; set the user too or leave the password empty");
    return { user, auth: { kind: "plain", password } };
  }
  if (patch.user !== undefined) {
    const auth = stored?.auth;
    const hasSecret = (auth?.kind === "plain" && auth.password !== null) || auth?.kind === "xoauth2";
    if (!hasSecret) throw invalidArgument(ruleIds.password, "password is required with a user when no password is stored");
  }
  return { user, auth: undefined };
}

/**
 * The full SMTP input a patch of the global settings asks for, merged over the stored settings
 * (`current`, the active SMTP provider) or, without one, for a new provider. The remaining field
 * rules are those of every dialect (resolveSmtpSettings).
 */
function globalSmtpInput(patch: GlobalSmtpPatch, current: Provider | undefined): SmtpInput {
  const stored = current?.config.kind === "smtp" ? current.config.smtp : undefined;
  const storedAddress = stored ? parseHostPort(stored.host) : undefined;
  const hostname = patch.hostname !== undefined ? checkHostname(patch.hostname) : requireSetting(storedAddress?.hostname, "host", "host");
  const port = patch.port !== undefined ? checkPort(patch.port) : requireSetting(storedAddress?.port, "port", "port");
  const senderAddress = requireSetting(patch.senderAddress ?? stored?.senderAddress, "senderAddress", "sender address");
  // The sender name defaults to the address; a name set elsewhere is kept when the address changes.
  const senderName = stored && stored.senderName !== stored.senderAddress ? stored.senderName : senderAddress.trim();
  const { user, auth } = resolveAuth(patch, stored);
  return {
    description: current?.description ?? GLOBAL_PROVIDER_DESCRIPTION,
    senderAddress,
    senderName,
    replyToAddress: stored?.replyToAddress ?? "",
    host: formatHostPort(hostname, port),
    user,
    tls: resolveTls(patch.encryption, stored, port),
    verifyCertificates: patch.allowSelfSignedCertificates === undefined ? stored?.verifyCertificates ?? true : !patch.allowSelfSignedCertificates,
    password: "",
    auth,
  };
}

/**
 * The events of an edit of the global settings given the instance's active provider: a change of
 * the active SMTP provider, or, when none is active (nothing, or an HTTP provider), a new SMTP
 * provider `newId` added and activated together.
 */
export function editGlobalSmtpSettings(active: Provider | undefined, patch: GlobalSmtpPatch, newId: string, box: SecretBox): ProviderEvent[] {
  if (active?.config.kind === "smtp") return updateSmtpProvider(active, globalSmtpInput(patch, active), box);
  const input = globalSmtpInput(patch, undefined);
  return [...addSmtpProvider(newId, input, box), { type: eventTypes.activated, payload: { id: newId } }];
}

/** The events that clear the global settings: the active SMTP provider is removed (then none is active). */
export function clearGlobalSmtpSettings(active: Provider | undefined): ProviderEvent[] {
  return active?.config.kind === "smtp" ? removeProvider(active) : [];
}
