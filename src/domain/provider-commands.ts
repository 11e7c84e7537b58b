import { failedPrecondition, invalidArgument, notFound } from "./errors.js";
import {
  addRuleIds,
  checkHttpUrl,
  changeRuleIds,
  diffSmtpSettings,
  eventTypes,
  isMaskedPlaceholder,
  resolveSmtpSettings,
  type Provider,
  type ProviderEvent,
  type SecretBox,
  type SmtpInput,
} from "./provider.js";

// The write side of providers: each function checks the rules against the current state and
// returns the events that record the change (none when nothing changes). No I/O happens here.

const NOT_FOUND_TEXT = "SMTP configuration not found";

export function addSmtpProvider(id: string, input: SmtpInput, box: SecretBox): ProviderEvent[] {
  const smtp = resolveSmtpSettings(input, box, addRuleIds);
  return [{ type: eventTypes.smtpAdded, payload: { id, description: input.description, smtp } }];
}

export function updateSmtpProvider(current: Provider | undefined, input: SmtpInput, box: SecretBox): ProviderEvent[] {
  if (!current || current.config.kind !== "smtp") throw notFound("COMMAND-j5IDFtt3T1", NOT_FOUND_TEXT);
  const next = resolveSmtpSettings(input, box, changeRuleIds, current.config.smtp);
  const changes = diffSmtpSettings(current.config.smtp, next, box);
  const description = input.description !== current.description ? { description: input.description } : {};
  if (Object.keys(changes).length === 0 && !("description" in description)) return [];
  return [{ type: eventTypes.smtpChanged, payload: { id: current.id, ...description, ...changes } }];
}

export function setSmtpPassword(current: Provider | undefined, password: string, box: SecretBox): ProviderEvent[] {
  if (!current || current.config.kind !== "smtp") throw notFound("COMMAND-rDHzqjGuKQ", NOT_FOUND_TEXT);
  if (isMaskedPlaceholder(password)) {
    throw invalidArgument("COMMAND-pWm4sk3d", "password is a masked placeholder (only * characters), not a password");
  }
  return [{ type: eventTypes.smtpPasswordChanged, payload: { id: current.id, password: password ? box.seal(password) : null } }];
}

/** Checks that a webhook endpoint is an absolute http(s) URL; the deny-list check needs DNS and runs outside. */
export function checkWebhookEndpoint(endpoint: string, errorId: string): string {
  return checkHttpUrl("endpoint", endpoint, errorId);
}

export function addHttpProvider(id: string, endpoint: string, description: string, signingKey: string, box: SecretBox): ProviderEvent[] {
  const checked = checkWebhookEndpoint(endpoint, "COMMAND-Sz84nFo3aK");
  return [{ type: eventTypes.httpAdded, payload: { id, description, endpoint: checked, signingKey: box.seal(signingKey) } }];
}

export function updateHttpProvider(
  current: Provider | undefined,
  change: { endpoint: string; description: string; newSigningKey?: string },
  box: SecretBox,
): ProviderEvent[] {
  if (!current || current.config.kind !== "http") throw notFound("COMMAND-xIrdledqv4", NOT_FOUND_TEXT);
  const endpoint = checkWebhookEndpoint(change.endpoint, "COMMAND-Sz84nFo3aL");
  const payload: Extract<ProviderEvent, { type: typeof eventTypes.httpChanged }>["payload"] = { id: current.id };
  if (endpoint !== current.config.http.endpoint) payload.endpoint = endpoint;
  if (change.description !== current.description) payload.description = change.description;
  if (change.newSigningKey) payload.signingKey = box.seal(change.newSigningKey);
  if (Object.keys(payload).length === 1) return [];
  return [{ type: eventTypes.httpChanged, payload }];
}

export function activateProvider(current: Provider | undefined): ProviderEvent[] {
  if (!current) throw notFound("COMMAND-E9K20hxOS9", NOT_FOUND_TEXT);
  if (current.state === "active") throw failedPrecondition("COMMAND-vUHBSmBzaw", "SMTP configuration is already active");
  return [{ type: eventTypes.activated, payload: { id: current.id } }];
}

export function deactivateProvider(current: Provider | undefined): ProviderEvent[] {
  if (!current) throw notFound("COMMAND-k39PJ", NOT_FOUND_TEXT);
  if (current.state !== "active") throw failedPrecondition("COMMAND-km8g3", "SMTP configuration already deactivated");
  return [{ type: eventTypes.deactivated, payload: { id: current.id } }];
}

export function removeProvider(current: Provider | undefined): ProviderEvent[] {
  if (!current) throw notFound("COMMAND-09CXlTDL6w", NOT_FOUND_TEXT);
  return [{ type: eventTypes.removed, payload: { id: current.id } }];
}
