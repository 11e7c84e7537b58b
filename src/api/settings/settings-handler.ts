import { hasPermission, permissionDenied, type Principal, type TokenService } from "../../auth/tokens.js";
import { DomainError } from "../../domain/errors.js";
import { globalSettingOf, globalSmtpSettingsOf } from "../../domain/global-settings.js";
import type { Provider } from "../../domain/provider.js";
import type { ProviderService } from "../../service/provider-service.js";
import { HttpError, MAX_BODY_BYTES, parseJsonBody, readBody, sendJson, type NodeRequest, type NodeResponse } from "../rest-gateway.js";
import { httpStatusOf, toConnectError } from "../errors.js";
import type { ExtraHandler } from "../server.js";
import { EDIT_FIELDS, SettingsWireError, fieldOfSetting, paramsOf, patchOf, resultOf } from "./settings-converters.js";

// The global email-settings dialect (Dbvisit StandbyMP style): POST /email-settings/{show,edit,clear}
// with {"params": {...}} in and {"successful": ..., "result" | "error": ...} out, every outcome in
// that envelope. The settings are the instance's active SMTP provider.

const PREFIX = "/email-settings/";

const permissionOf = { show: "iam.read", edit: "iam.write", clear: "iam.write" } as const;

type Action = keyof typeof permissionOf;

const isAction = (value: string): value is Action => Object.hasOwn(permissionOf, value);

export interface EmailSettingsDependencies {
  tokens: TokenService;
  providers: ProviderService;
  /** Receives unexpected errors; the caller only sees a generic message. */
  logError: (err: unknown) => void;
}

function sendFailure(res: NodeResponse, status: number, message: string): void {
  sendJson(res, status, { successful: false, error: { message } });
}

const statusOfKind: Partial<Record<DomainError["kind"], number>> = {
  invalid_argument: 400,
  failed_precondition: 400,
  unauthenticated: 401,
  permission_denied: 403,
  not_found: 404,
};

function sendError(res: NodeResponse, err: unknown, logError: (err: unknown) => void): void {
  if (err instanceof SettingsWireError) return sendFailure(res, 400, err.message);
  // readBody reports an oversized body as 413; the dialect answers every client error with 400.
  if (err instanceof HttpError) return sendFailure(res, 400, err.message);
  if (err instanceof DomainError && err.kind !== "internal") {
    const setting = globalSettingOf(err);
    if (err.kind === "unauthenticated") res.setHeader("www-authenticate", "Bearer");
    // The dialect's client errors keep their own statuses; any other kind maps as on the admin API.
    const status = statusOfKind[err.kind] ?? httpStatusOf(toConnectError(err).code);
    return sendFailure(res, status, setting ? `${fieldOfSetting[setting]}: ${err.message}` : err.message);
  }
  logError(err);
  sendFailure(res, 500, "internal error; the server log has the details");
}

async function readJson(req: NodeRequest): Promise<unknown> {
  const raw = await readBody(req, MAX_BODY_BYTES);
  if (raw.length === 0) throw new SettingsWireError(`request body is empty: send {"params": {...}}`);
  return parseJsonBody(raw);
}

const settingsOf = (provider: Provider | undefined) =>
  resultOf(provider?.config.kind === "smtp" ? globalSmtpSettingsOf(provider.config.smtp) : undefined);

async function perform(action: Action, providers: ProviderService, principal: Principal, body: unknown): Promise<Record<string, unknown>> {
  switch (action) {
    case "show":
      paramsOf(body, []);
      return settingsOf(await providers.getGlobalSmtp(principal));
    case "edit":
      return settingsOf(await providers.editGlobalSmtp(principal, patchOf(paramsOf(body, EDIT_FIELDS))));
    case "clear":
      paramsOf(body, []);
      await providers.clearGlobalSmtp(principal);
      return {};
  }
}

/** Serves /email-settings/*; other paths are left to the next handler. */
export function emailSettingsHandler(deps: EmailSettingsDependencies): ExtraHandler {
  return async (req, res) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (!path.startsWith(PREFIX)) return false;
    const action = path.slice(PREFIX.length);
    if (!isAction(action)) {
      sendFailure(res, 404, `no endpoint ${path}: use POST /email-settings/show, /email-settings/edit or /email-settings/clear`);
      return true;
    }
    if (req.method !== "POST") {
      res.setHeader("allow", "POST");
      sendFailure(res, 405, `method ${req.method} is not allowed on ${path}: use POST`);
      return true;
    }
    try {
      const principal = await deps.tokens.authenticate(req.headers.authorization);
      if (!hasPermission(principal, permissionOf[action])) throw permissionDenied();
      const result = await perform(action, deps.providers, principal, await readJson(req));
      sendJson(res, 200, { successful: true, result });
    } catch (err) {
      sendError(res, err, deps.logError);
    }
    return true;
  };
}
