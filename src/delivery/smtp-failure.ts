import { isTokenEndpointError } from "./oauth2-tokens.js";

/** An SMTP failure as the outbox records it. */
interface SmtpFailure {
  permanent: boolean;
  smtpCode?: number;
  detail: string;
}

/** The fields of a nodemailer error (or a socket error) that tell what went wrong. */
export interface SmtpError {
  message?: string;
  code?: string;
  originalCode?: string;
  responseCode?: number;
  response?: string;
  command?: string;
  reason?: string;
}

/** Network errors: the server or the path to it is unwell; the same message may go through later. */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EHOSTDOWN",
  "ENETDOWN",
  "EAI_AGAIN",
  // A name that does not resolve is usually a typo, but a DNS outage looks the same from here;
  // retrying costs little, a message dead after a DNS blip costs a lost password reset.
  "ENOTFOUND",
  "ECONNECTION",
  "ESOCKET",
  "EDNS",
]);

/** Node's certificate verification failures: the server's certificate is not trusted as configured. */
export const CERTIFICATE_ERROR_CODES = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_REVOKED",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "INVALID_CA",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "HOSTNAME_MISMATCH",
]);

export function isCertificateError(err: { code?: string; message?: string }): boolean {
  if (err.code && CERTIFICATE_ERROR_CODES.has(err.code)) return true;
  return /self[- ]signed certificate|unable to verify the first certificate|certificate has expired|Hostname\/IP does not match|unable to get (local )?issuer certificate/i.test(
    err.message ?? "",
  );
}

const PROTOCOL_MISMATCH = /wrong version number|packet length too long|unknown protocol/i;

/**
 * Tells a temporary failure from a permanent one.
 *
 * - A reply decides when there is one: 5xx is permanent (RFC 5321, the spec), including 535
 *   authentication failures; 4xx (421, 451, 452, 454...) is temporary. 503 "bad sequence" is the
 *   one 5xx we treat as temporary: it says the session was in the wrong state, not that the
 *   message was refused, and a new connection clears it.
 * - Without a reply: network trouble (refused, reset, timeouts, DNS, a TLS handshake cut off) is
 *   temporary. A certificate that fails verification, a TLS/plaintext mismatch (implicit TLS
 *   against a STARTTLS port or the reverse) and configuration errors (missing credentials, a
 *   mechanism we refuse) are permanent: the same settings get the same answer every time, so
 *   the message is dead at once and visible, and can be requeued after the provider is fixed.
 * - Token endpoint failures follow HTTP: 4xx permanent, 408/429/5xx/network temporary.
 * - Anything unrecognised is temporary: retrying is cheaper than losing a message.
 */
export function classifySmtpFailure(error: unknown): SmtpFailure {
  const err = (typeof error === "object" && error !== null ? error : { message: String(error) }) as SmtpError;
  const detail = describeSmtpError(err);
  if (isTokenEndpointError(error)) return { permanent: error.permanent, detail };
  const code = err.responseCode;
  if (code && code >= 400 && code < 600) {
    return { permanent: code >= 500 && code !== 503, smtpCode: code, detail };
  }
  const cause = err.originalCode ?? err.code ?? "";
  if (isCertificateError({ code: cause, message: err.message })) return { permanent: true, detail };
  if (PROTOCOL_MISMATCH.test(err.message ?? "")) return { permanent: true, detail };
  if (NETWORK_CODES.has(cause) || cause === "ETIMEDOUT") return { permanent: false, detail };
  if (err.code === "EAUTH" || err.code === "ENOAUTH" || err.code === "ECONFIG" || err.code === "EENVELOPE") {
    return { permanent: true, detail };
  }
  return { permanent: false, detail };
}

/** A one-line description of an SMTP failure: the reply when there is one, else what happened. */
function describeSmtpError(err: SmtpError): string {
  const reply = replyTextOf(err);
  if (reply !== undefined) return err.command ? `${err.command}: ${reply}` : reply;
  const cause = err.originalCode && err.originalCode !== err.code ? ` (${err.originalCode})` : err.code ? ` (${err.code})` : "";
  return `${(err.message ?? "unknown error").replace(/\r?\n/g, " ")}${cause}`;
}

/** The server's reply on one line, when the error carries one (a reply and its code). */
export function replyTextOf(err: SmtpError): string | undefined {
  return err.response && err.responseCode ? err.response.replace(/\r?\n/g, " ").trim() : undefined;
}

/** The numeric code at the start of an SMTP reply, if any. */
export function replyCodeOf(reply: string | undefined): number | undefined {
  const match = /^(\d{3})/.exec(reply ?? "");
  return match ? Number(match[1]) : undefined;
}
