import { isIP, connect as netConnect } from "node:net";
import { connect as tlsConnect, type ConnectionOptions } from "node:tls";
import type { SMTPConnectionOptions } from "nodemailer/lib/smtp-connection";
import { parseHostPort, type SmtpSettings } from "../domain/provider.js";

/** How one connection is encrypted once `auto` has been decided. */
export type ConnectionTls = "none" | "starttls" | "implicit";

export interface SmtpEndpoint {
  hostname: string;
  port: number;
}

export const SMTP_TIMEOUTS = {
  connectionMs: 15_000,
  greetingMs: 15_000,
  socketMs: 60_000,
  dnsMs: 10_000,
  probeMs: 5_000,
} as const;

/** The endpoint of validated settings; the host was checked when the settings were resolved. */
export function endpointOf(settings: SmtpSettings): SmtpEndpoint {
  const parsed = parseHostPort(settings.host);
  if (!parsed) throw new Error(`SMTP host "${settings.host}" is not host:port`);
  return parsed;
}

/** TLS options for the SMTP server: verification as configured, SNI for names only (never an IP). */
export function tlsOptionsOf(settings: SmtpSettings, endpoint: SmtpEndpoint): ConnectionOptions {
  return {
    rejectUnauthorized: settings.verifyCertificates,
    servername: isIP(endpoint.hostname) ? undefined : endpoint.hostname,
    minVersion: "TLSv1.2",
  };
}

/**
 * A password is sent with PLAIN or LOGIN only, whichever the server offers (PLAIN first, as
 * nodemailer prefers it). A server that offers neither but CRAM-MD5 would otherwise get CRAM-MD5
 * silently; we refuse it instead, so what goes over the wire is always what the spec promises
 * ("PLAIN or LOGIN is chosen from what the server offers") and the error says why.
 */
export const passwordMechanismGuard: NonNullable<SMTPConnectionOptions["customAuth"]> = {
  "CRAM-MD5": (ctx) =>
    ctx.reject(
      new Error(`the server offers ${ctx.authMethods.join(", ") || "no"} authentication; mailroom sends a password with PLAIN or LOGIN only`),
    ),
};

/** nodemailer connection options for settings whose TLS mode has been decided. */
export function connectionOptionsOf(settings: SmtpSettings, tls: ConnectionTls, endpoint: SmtpEndpoint, ehloName: string): SMTPConnectionOptions {
  return {
    host: endpoint.hostname,
    port: endpoint.port,
    name: ehloName,
    secure: tls === "implicit",
    // STARTTLS must succeed when asked for; with `none` it is never attempted, even if offered.
    requireTLS: tls === "starttls",
    ignoreTLS: tls === "none",
    opportunisticTLS: false,
    tls: tlsOptionsOf(settings, endpoint),
    connectionTimeout: SMTP_TIMEOUTS.connectionMs,
    greetingTimeout: SMTP_TIMEOUTS.greetingMs,
    socketTimeout: SMTP_TIMEOUTS.socketMs,
    dnsTimeout: SMTP_TIMEOUTS.dnsMs,
    customAuth: passwordMechanismGuard,
    logger: false,
  };
}

/** What a first look at the server says about its port. */
export type TlsProbeResult = "implicit" | "plaintext" | "unknown";

/**
 * Tells whether a server speaks TLS on connect by starting a TLS handshake: a server that
 * answers with its plaintext greeting fails it at once ("wrong version number"). Certificates
 * are not judged here; the real connection verifies them. Anything inconclusive (refused,
 * reset, silent) is "unknown", which callers treat as STARTTLS-required: never a downgrade.
 */
export function probeImplicitTls(endpoint: SmtpEndpoint, timeoutMs: number = SMTP_TIMEOUTS.probeMs): Promise<TlsProbeResult> {
  return new Promise((resolve) => {
    let settled = false;
    const socket = netConnect({ host: endpoint.hostname, port: endpoint.port });
    const done = (result: TlsProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done("unknown"), timeoutMs);
    socket.once("error", () => done("unknown"));
    socket.once("connect", () => {
      const secure = tlsConnect({
        socket,
        rejectUnauthorized: false,
        servername: isIP(endpoint.hostname) ? undefined : endpoint.hostname,
      });
      secure.once("secureConnect", () => {
        secure.destroy();
        done("implicit");
      });
      secure.once("error", (err: NodeJS.ErrnoException) => {
        done(isPlaintextAnswer(err) ? "plaintext" : "unknown");
      });
    });
  });
}

/** A TLS client error that means the peer answered in plaintext (its SMTP greeting). */
export function isPlaintextAnswer(err: NodeJS.ErrnoException): boolean {
  return (
    err.code === "ERR_SSL_WRONG_VERSION_NUMBER" ||
    err.code === "ERR_SSL_PACKET_LENGTH_TOO_LONG" ||
    err.code === "ERR_SSL_HTTP_REQUEST" ||
    /wrong version number|packet length too long|unknown protocol/i.test(err.message)
  );
}

/**
 * Decides `auto`: port 465 is implicit TLS by convention; otherwise a probe decides, and when the
 * probe cannot tell, STARTTLS is required.
 */
export async function decideTls(settings: SmtpSettings, endpoint: SmtpEndpoint): Promise<{ tls: ConnectionTls; conclusive: boolean }> {
  if (settings.tls !== "auto") return { tls: settings.tls, conclusive: true };
  if (endpoint.port === 465) return { tls: "implicit", conclusive: true };
  const probe = await probeImplicitTls(endpoint);
  return { tls: probe === "implicit" ? "implicit" : "starttls", conclusive: probe !== "unknown" };
}
