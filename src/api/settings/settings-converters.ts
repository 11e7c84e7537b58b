import type { GlobalEncryption, GlobalSetting, GlobalSmtpPatch, GlobalSmtpSettings } from "../../domain/global-settings.js";

// Wire <-> domain for the /email-settings dialect: field names, JSON types and the encryption
// names. The rules themselves (ranges, addresses, authentication) live in domain/global-settings.

/** A request the dialect rejects before it reaches the domain; `message` names the field. */
export class SettingsWireError extends Error {}

/** The wire name of each setting, for error messages. */
export const fieldOfSetting: Record<GlobalSetting, string> = {
  host: "smtp_host",
  port: "smtp_port",
  senderAddress: "from_email",
  user: "username",
  password: "password",
};

const encryptionNames: Record<string, GlobalEncryption> = { Plain: "none", StartTLS: "starttls", TLS: "implicit" };
const nameOfEncryption: Record<GlobalEncryption, string> = { none: "Plain", starttls: "StartTLS", implicit: "TLS" };
const ENCRYPTION_LIST = Object.keys(encryptionNames).join(", ");

const editFields = ["smtp_host", "smtp_port", "encryption", "allow_selfsigned_certs", "from_email", "username", "password"] as const;

type JsonObject = Record<string, unknown>;

const isObject = (value: unknown): value is JsonObject => value !== null && typeof value === "object" && !Array.isArray(value);

function typeName(value: unknown): string {
  if (typeof value === "number") return `the number ${value}`;
  if (Array.isArray(value)) return "an array";
  if (value === null) return "null";
  if (typeof value === "object") return "an object";
  return `a ${typeof value}`;
}

/** The `params` object of a request body; show and clear take no fields, edit the settings fields. */
export function paramsOf(body: unknown, allowed: readonly string[]): JsonObject {
  if (!isObject(body)) throw new SettingsWireError(`request body must be a JSON object with a "params" object, got ${typeName(body)}`);
  if (!("params" in body)) throw new SettingsWireError(`params is required: send {"params": {...}}`);
  const params = body.params;
  if (!isObject(params)) throw new SettingsWireError(`params must be a JSON object, got ${typeName(params)}`);
  const unknown = Object.keys(params).filter((key) => !allowed.includes(key));
  if (unknown.length > 0) {
    const known = allowed.length > 0 ? `known fields: ${allowed.join(", ")}` : "this endpoint takes no fields";
    throw new SettingsWireError(`${unknown.join(", ")}: unknown field in params (${known})`);
  }
  return params;
}

export const EDIT_FIELDS: readonly string[] = editFields;

// null is read as "absent", as JSON-RPC clients often send it for fields they do not set.
function optional<T>(params: JsonObject, field: string, check: (value: unknown) => value is T, expected: string): T | undefined {
  const value = params[field];
  if (value === undefined || value === null) return undefined;
  if (!check(value)) {
    // A secret sent with the wrong type is still a secret: name its type only.
    const got = field === "password" && typeof value !== "object" ? `a ${typeof value}` : typeName(value);
    throw new SettingsWireError(`${field} must be ${expected}, got ${got}`);
  }
  return value;
}

const isString = (v: unknown): v is string => typeof v === "string";
const isBoolean = (v: unknown): v is boolean => typeof v === "boolean";
const isInteger = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);

/** The partial change an edit's params ask for. */
export function patchOf(params: JsonObject): GlobalSmtpPatch {
  const encryption = optional(params, "encryption", isString, `one of ${ENCRYPTION_LIST}`);
  if (encryption !== undefined && !Object.hasOwn(encryptionNames, encryption)) {
    throw new SettingsWireError(`encryption must be one of ${ENCRYPTION_LIST}, got ${JSON.stringify(encryption)}`);
  }
  const patch: GlobalSmtpPatch = {
    hostname: optional(params, "smtp_host", isString, "a string"),
    port: optional(params, "smtp_port", isInteger, "an integer in 1..65535"),
    encryption: encryption === undefined ? undefined : encryptionNames[encryption],
    allowSelfSignedCertificates: optional(params, "allow_selfsigned_certs", isBoolean, "a boolean"),
    senderAddress: optional(params, "from_email", isString, "a string"),
    user: optional(params, "username", isString, "a string"),
    password: optional(params, "password", isString, "a string"),
  };
  return Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined));
}

/** The `result` of a response: the settings without any secret. */
export function resultOf(settings: GlobalSmtpSettings | undefined): JsonObject {
  if (!settings) return {};
  return {
    smtp_host: settings.hostname,
    smtp_port: settings.port,
    encryption: nameOfEncryption[settings.encryption],
    allow_selfsigned_certs: settings.allowSelfSignedCertificates,
    from_email: settings.senderAddress,
    username: settings.user,
  };
}
