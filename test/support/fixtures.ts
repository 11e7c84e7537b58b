import assert from "node:assert/strict";
import { rest } from "./app.js";

let counter = 0;

/** A valid AddEmailProviderSMTPRequest JSON body; `overrides` replace or add fields. */
export function smtpProvider(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  counter += 1;
  return {
    senderAddress: `noreply${counter}@example.com`,
    senderName: `Example ${counter}`,
    host: "smtp.example.com:587",
    tls: true,
    user: "mailer",
    replyToAddress: "support@example.com",
    description: `provider ${counter}`,
    plain: { password: `initial-secret-${counter}` },
    ...overrides,
  };
}

/** Adds an SMTP provider over REST and returns its id. */
export async function addSmtp(app: { url: string; auth: string }, overrides: Record<string, unknown> = {}): Promise<string> {
  const res = await rest(app, "POST", "/admin/v1/email/smtp", smtpProvider(overrides));
  if (res.status !== 200) throw new Error(`adding an SMTP provider failed: ${res.status} ${res.text}`);
  return res.body.id as string;
}

/** Adds a plain (tls=false) SMTP provider for `host` over REST and returns its id; `extra` replaces or adds fields. */
export async function addRelay(app: { url: string; auth: string }, host: string, extra: Record<string, unknown> = {}): Promise<string> {
  const added = await rest(app, "POST", "/admin/v1/email/smtp", {
    senderAddress: "noreply@example.com",
    senderName: "Example",
    host,
    tls: false,
    ...extra,
  });
  assert.equal(added.status, 200, added.text);
  return added.body.id;
}

/** Activates a provider over REST. */
export async function activate(app: { url: string; auth: string }, id: string): Promise<void> {
  const res = await rest(app, "POST", `/admin/v1/email/${id}/_activate`, {});
  assert.equal(res.status, 200, res.text);
}

/** Adds an HTTP provider over REST and returns its id and signing key. */
export async function addHttp(
  app: { url: string; auth: string },
  endpoint = "https://hooks.example.com/mail",
): Promise<{ id: string; signingKey: string }> {
  const res = await rest(app, "POST", "/admin/v1/email/http", { endpoint, description: "webhook" });
  if (res.status !== 200) throw new Error(`adding an HTTP provider failed: ${res.status} ${res.text}`);
  return { id: res.body.id, signingKey: res.body.signingKey };
}

/** The RFC 3339 UTC timestamp format of the proto3 JSON mapping. */
export const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
