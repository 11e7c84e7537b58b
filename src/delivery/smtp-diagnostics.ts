import { lookup } from "node:dns/promises";
import { isIP, Socket, connect as netConnect } from "node:net";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import MailComposer from "nodemailer/lib/mail-composer";
import SMTPConnection, { type SMTPConnectionAuth } from "nodemailer/lib/smtp-connection";
import XOAuth2 from "nodemailer/lib/xoauth2";
import { urlForMessages, type SecretBox, type SmtpSettings } from "../domain/provider.js";
import { OAuth2TokenSource, isTokenEndpointError } from "./oauth2-tokens.js";
import {
  SMTP_TIMEOUTS,
  connectionOptionsOf,
  decideTls,
  endpointOf,
  isPlaintextAnswer,
  tlsOptionsOf,
  type ConnectionTls,
  type SmtpEndpoint,
} from "./smtp-connection-plan.js";
import { isCertificateError, replyCodeOf, replyTextOf, type SmtpError } from "./smtp-failure.js";

/** The protocol steps of a test, in the order they run. EHLO covers the greeting and EHLO. */
export type DiagnosticStepName = "DNS" | "connect" | "TLS" | "EHLO" | "STARTTLS" | "AUTH" | "MAIL FROM" | "RCPT TO" | "DATA" | "QUIT";

export interface DiagnosticStep {
  name: DiagnosticStepName;
  ok: boolean;
  /** The server's reply (code and text) or what happened, without secrets. */
  reply?: string;
  /** The SMTP reply code, when the step got one. */
  code?: number;
  durationMs: number;
  /** What to check when the step failed. */
  hint?: string;
}

export interface DiagnosticReport {
  ok: boolean;
  steps: DiagnosticStep[];
  /** The failing step, if any (also the last entry of `steps`). */
  failed?: DiagnosticStep;
  /** The SMTP conversation, "C: ..." / "S: ..." / "* ..." lines, with AUTH and secrets redacted. */
  transcript: string[];
}

const TEST_SUBJECT = "Test email";
const TEST_BODY = "This is a test email to check if your SMTP provider works fine";

const REDACTED = "[redacted]";

class StepFailed extends Error {
  constructor(readonly step: DiagnosticStep) {
    super(step.reply ?? step.name);
  }
}

/** Records the SMTP conversation and redacts AUTH exchanges and every known secret. */
class Transcript {
  readonly lines: { at: number; text: string }[] = [];
  private inAuth = false;
  private readonly secrets: string[] = [];

  addSecret(secret: string | undefined): void {
    if (!secret) return;
    this.secrets.push(secret, Buffer.from(secret).toString("base64"));
  }

  note(text: string): void {
    this.lines.push({ at: performance.now(), text: `* ${text}` });
  }

  client(line: string): void {
    let text = line;
    if (/^AUTH\s/i.test(line)) {
      const [, mechanism, payload] = /^AUTH\s+(\S+)(?:\s+(.*))?$/i.exec(line) ?? [];
      text = `AUTH ${mechanism ?? ""}${payload ? ` ${REDACTED}` : ""}`;
      this.inAuth = true;
    } else if (this.inAuth) {
      text = REDACTED;
    }
    this.lines.push({ at: performance.now(), text: `C: ${text}` });
  }

  server(line: string): void {
    if (this.inAuth && !/^334[ -]/.test(line)) this.inAuth = false;
    this.lines.push({ at: performance.now(), text: `S: ${line}` });
  }

  scrub(text: string): string {
    let out = text;
    for (const secret of this.secrets) out = out.split(secret).join(REDACTED);
    return out;
  }

  /** The first client line at or after `from` starting with `prefix`, and the server reply after it. */
  exchange(prefix: string, from = 0): { index: number; at: number; reply?: string; replyAt?: number } | undefined {
    const index = this.lines.findIndex((l, i) => i >= from && l.text.toUpperCase().startsWith(`C: ${prefix}`));
    if (index < 0) return undefined;
    const reply = this.lines.slice(index + 1).find((l) => l.text.startsWith("S: "));
    return { index, at: this.lines[index]!.at, reply: reply && this.scrub(reply.text.slice(3)), replyAt: reply?.at };
  }

  render(): string[] {
    return this.lines.map((l) => this.scrub(l.text));
  }

  /** A bunyan-style logger for nodemailer's transaction log. */
  logger() {
    const record = (entry: { tnx?: string }, message: unknown) => {
      if (typeof message !== "string") return;
      for (const line of message.split(/\r?\n/)) {
        if (entry?.tnx === "client") this.client(line);
        else if (entry?.tnx === "server") this.server(line);
      }
    };
    const ignore = () => undefined;
    return { debug: record, trace: ignore, info: ignore, warn: ignore, error: ignore, fatal: ignore };
  }
}

/** A nodemailer (or socket) error: an Error with the SMTP fields smtp-failure reads. */
type NodemailerError = Error & SmtpError;

const since = (start: number) => Math.round(performance.now() - start);

export interface SmtpDiagnosticOptions {
  secrets: SecretBox;
  ehloName: string;
  tokens?: OAuth2TokenSource;
}

/**
 * Runs one real SMTP transaction step by step with the given (possibly unsaved) settings and
 * reports every step: DNS, connect, TLS or STARTTLS, AUTH, MAIL FROM, RCPT TO, DATA, QUIT.
 * The first failing step ends the test; nothing is retried and nothing is stored.
 */
export class SmtpDiagnostic {
  private readonly tokens: OAuth2TokenSource;

  constructor(private readonly options: SmtpDiagnosticOptions) {
    this.tokens = options.tokens ?? new OAuth2TokenSource();
  }

  async run(settings: SmtpSettings, receiver: string): Promise<DiagnosticReport> {
    const transcript = new Transcript();
    const steps: DiagnosticStep[] = [];
    const sockets: Socket[] = [];
    let connection: SMTPConnection | undefined;
    try {
      const endpoint = endpointOf(settings);
      const addresses = await this.step(steps, "DNS", () => this.resolve(endpoint));
      const address = { hostname: addresses[0]!, port: endpoint.port };
      const decided = await decideTls(settings, address);
      if (settings.tls === "auto") transcript.note(autoTlsNote(address, decided));
      const tls = decided.tls;
      const socket = await this.step(steps, "connect", () => this.connect(addresses, endpoint.port, transcript));
      sockets.push(socket);
      let channel: Socket = socket;
      if (tls === "implicit") {
        channel = await this.step(steps, "TLS", () => this.handshake(socket, settings, endpoint, transcript));
        sockets.push(channel);
      }
      connection = new SMTPConnection({
        ...connectionOptionsOf(settings, tls, endpoint, this.options.ehloName),
        connection: channel,
        secure: tls === "implicit",
        secured: tls === "implicit",
        logger: transcript.logger(),
        transactionLog: true,
      });
      await this.session(connection, steps, transcript, tls);
      if (settings.auth.kind !== "none") await this.authenticate(connection, settings, steps, transcript);
      await this.transaction(connection, settings, receiver, steps, transcript);
      await this.quit(connection, steps, transcript);
      return { ok: true, steps, transcript: transcript.render() };
    } catch (err) {
      const failed = err instanceof StepFailed ? err.step : { name: steps.length ? "connect" as const : "DNS" as const, ok: false, reply: transcript.scrub((err as Error).message), durationMs: 0 };
      failed.reply = failed.reply && transcript.scrub(failed.reply);
      if (!(err instanceof StepFailed)) steps.push(failed);
      return { ok: false, steps, failed, transcript: transcript.render() };
    } finally {
      connection?.close();
      for (const s of sockets) s.destroy();
    }
  }

  /** Runs one step that is a single operation; a thrown error becomes the failed step. */
  private async step<T>(steps: DiagnosticStep[], name: DiagnosticStepName, run: () => Promise<{ value: T; reply?: string }>): Promise<T> {
    const start = performance.now();
    try {
      const { value, reply } = await run();
      steps.push({ name, ok: true, reply, durationMs: since(start) });
      return value;
    } catch (err) {
      const step = failedStep(name, err as NodemailerError, since(start));
      steps.push(step);
      throw new StepFailed(step);
    }
  }

  private async resolve(endpoint: SmtpEndpoint): Promise<{ value: string[]; reply: string }> {
    if (isIP(endpoint.hostname)) return { value: [endpoint.hostname], reply: `${endpoint.hostname} is an address; nothing to resolve` };
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(Object.assign(new Error(`DNS lookup of ${endpoint.hostname} timed out`), { code: "ETIMEOUT" })), SMTP_TIMEOUTS.dnsMs).unref(),
    );
    const found = await Promise.race([lookup(endpoint.hostname, { all: true }), timeout]);
    const addresses = found.map((a) => a.address);
    return { value: addresses, reply: `${endpoint.hostname} resolves to ${addresses.join(", ")}` };
  }

  private async connect(addresses: string[], port: number, transcript: Transcript): Promise<{ value: Socket; reply: string }> {
    let lastError: Error | undefined;
    for (const host of addresses) {
      try {
        const socket = await new Promise<Socket>((resolve, reject) => {
          const s = netConnect({ host, port });
          const timer = setTimeout(() => {
            s.destroy();
            reject(Object.assign(new Error(`no answer from ${host}:${port} within ${SMTP_TIMEOUTS.connectionMs / 1000} s`), { code: "ETIMEDOUT" }));
          }, SMTP_TIMEOUTS.connectionMs);
          s.once("connect", () => {
            clearTimeout(timer);
            s.removeAllListeners("error");
            resolve(s);
          });
          s.once("error", (err) => {
            clearTimeout(timer);
            reject(err);
          });
        });
        transcript.note(`connected to ${host}:${port}`);
        return { value: socket, reply: `connected to ${host}:${port}` };
      } catch (err) {
        lastError = err as Error;
        transcript.note(`connecting to ${host}:${port} failed: ${(err as Error).message}`);
      }
    }
    throw lastError ?? new Error("no address to connect to");
  }

  private handshake(socket: Socket, settings: SmtpSettings, endpoint: SmtpEndpoint, transcript: Transcript): Promise<{ value: TLSSocket; reply: string }> {
    return new Promise((resolve, reject) => {
      const secure = tlsConnect({ socket, ...tlsOptionsOf(settings, endpoint) });
      const timer = setTimeout(() => {
        secure.destroy();
        reject(Object.assign(new Error("TLS handshake timed out"), { code: "ETIMEDOUT" }));
      }, SMTP_TIMEOUTS.greetingMs);
      secure.once("secureConnect", () => {
        clearTimeout(timer);
        secure.removeAllListeners("error");
        const reply = `${secure.getProtocol() ?? "TLS"} ${secure.getCipher().name}${secure.authorized ? ", certificate verified" : ", certificate not verified"}`;
        transcript.note(`TLS established: ${reply}`);
        resolve({ value: secure, reply });
      });
      secure.once("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  /** Greeting and EHLO, then STARTTLS when it is required. */
  private session(connection: SMTPConnection, steps: DiagnosticStep[], transcript: Transcript, tls: ConnectionTls): Promise<void> {
    const start = performance.now();
    return new Promise<void>((resolve, reject) => {
      const fail = (err: NodemailerError) => {
        const startTls = tls === "starttls" ? transcript.exchange("STARTTLS") : undefined;
        if (startTls || err.command === "STARTTLS") {
          steps.push({ name: "EHLO", ok: true, reply: transcript.exchange("EHLO")?.reply, durationMs: Math.round((startTls?.at ?? performance.now()) - start) });
          const step = failedStep("STARTTLS", err, since(startTls?.at ?? start));
          steps.push(step);
          return reject(new StepFailed(step));
        }
        const step = failedStep("EHLO", err, since(start));
        steps.push(step);
        reject(new StepFailed(step));
      };
      connection.once("error", fail);
      connection.once("end", () => fail(Object.assign(new Error("the server closed the connection"), { code: "ECONNECTION" })));
      connection.connect(() => {
        connection.removeListener("error", fail);
        connection.removeAllListeners("end");
        const startTls = tls === "starttls" ? transcript.exchange("STARTTLS") : undefined;
        const ehlo = transcript.exchange("EHLO");
        steps.push({ name: "EHLO", ok: true, reply: ehlo?.reply, durationMs: Math.round((startTls?.at ?? performance.now()) - start) });
        if (startTls) {
          const socket = (connection as unknown as { _socket: TLSSocket })._socket;
          const verified = socket?.authorized ? ", certificate verified" : ", certificate not verified";
          transcript.note(`TLS established: ${socket?.getProtocol?.() ?? "TLS"}${verified}`);
          steps.push({ name: "STARTTLS", ok: true, reply: `${startTls.reply ?? ""}${verified}`, durationMs: since(startTls.at) });
        }
        resolve();
      });
    });
  }

  private async authenticate(connection: SMTPConnection, settings: SmtpSettings, steps: DiagnosticStep[], transcript: Transcript): Promise<void> {
    const start = performance.now();
    const auth = settings.auth;
    const fail = (err: NodemailerError): never => {
      const step = failedStep("AUTH", err, since(start));
      steps.push(step);
      throw new StepFailed(step);
    };
    let login: SMTPConnectionAuth;
    if (auth.kind === "plain") {
      if (!auth.password) return fail(Object.assign(new Error("no password is stored for this provider"), { code: "ENOAUTH" }));
      const pass = this.options.secrets.open(auth.password);
      transcript.addSecret(pass);
      login = { user: settings.user, pass };
    } else if (auth.kind === "xoauth2") {
      if (!auth.clientSecret) return fail(Object.assign(new Error("no client secret is stored for this provider"), { code: "ENOAUTH" }));
      const clientSecret = this.options.secrets.open(auth.clientSecret);
      transcript.addSecret(clientSecret);
      const credentials = { tokenEndpoint: auth.tokenEndpoint, clientId: auth.clientId, clientSecret, scopes: auth.scopes };
      let token;
      try {
        token = await this.tokens.token(credentials);
      } catch (err) {
        return fail(err as NodemailerError);
      }
      transcript.addSecret(token.accessToken);
      transcript.note(`access token received from ${urlForMessages(auth.tokenEndpoint)}`);
      const oauth2 = new XOAuth2({
        user: settings.user,
        accessToken: token.accessToken,
        expires: token.expiresAt,
        provisionCallback: (_user, renew, callback) => {
          this.tokens.token(credentials, renew).then(
            (t) => {
              transcript.addSecret(t.accessToken);
              callback(null, t.accessToken, t.expiresAt);
            },
            (err: Error) => callback(err),
          );
        },
      });
      login = { type: "OAuth2", user: settings.user, method: "XOAUTH2", oauth2 };
    } else {
      return;
    }
    await new Promise<void>((resolve, reject) => {
      connection.login(login, (err) => {
        if (!err) return resolve();
        const step = failedStep("AUTH", err, since(start));
        steps.push(step);
        reject(new StepFailed(step));
      });
    });
    const exchange = transcript.exchange("AUTH");
    const reply = lastServerReply(transcript);
    steps.push({ name: "AUTH", ok: true, reply, code: replyCodeOf(reply), durationMs: since(exchange?.at ?? start) });
  }

  private async transaction(connection: SMTPConnection, settings: SmtpSettings, receiver: string, steps: DiagnosticStep[], transcript: Transcript): Promise<void> {
    const from = transcript.lines.length;
    const message = await new MailComposer({
      from: { name: settings.senderName, address: settings.senderAddress },
      to: receiver,
      subject: TEST_SUBJECT,
      text: TEST_BODY,
    })
      .compile()
      .build();
    const start = performance.now();
    const error = await new Promise<NodemailerError | undefined>((resolve) => {
      connection.send({ from: settings.senderAddress, to: [receiver] }, message, (err) => resolve(err ?? undefined));
    });
    const order: DiagnosticStepName[] = ["MAIL FROM", "RCPT TO", "DATA"];
    const failedAt: DiagnosticStepName | undefined = error
      ? error.command === "MAIL FROM"
        ? "MAIL FROM"
        : error.command === "RCPT TO"
          ? "RCPT TO"
          : "DATA"
      : undefined;
    let previousEnd = start;
    for (const name of order) {
      const exchange = transcript.exchange(name === "DATA" ? "DATA" : name, from);
      if (name === failedAt) {
        const step = failedStep(name, error!, since(exchange?.at ?? previousEnd));
        steps.push(step);
        throw new StepFailed(step);
      }
      // DATA's outcome is the reply after the message body, the last server line so far.
      const reply = name === "DATA" ? lastServerReply(transcript) : exchange?.reply;
      const end = name === "DATA" ? performance.now() : (exchange?.replyAt ?? performance.now());
      steps.push({ name, ok: true, reply, code: replyCodeOf(reply), durationMs: Math.round(end - (exchange?.at ?? previousEnd)) });
      previousEnd = end;
    }
  }

  private quit(connection: SMTPConnection, steps: DiagnosticStep[], transcript: Transcript): Promise<void> {
    const start = performance.now();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(finish, SMTP_TIMEOUTS.greetingMs);
      function finish() {
        clearTimeout(timer);
        const reply = transcript.exchange("QUIT")?.reply;
        // A server that hangs up without answering QUIT has still taken the message.
        steps.push({ name: "QUIT", ok: true, reply, code: replyCodeOf(reply), durationMs: since(start) });
        resolve();
      }
      connection.once("end", finish);
      connection.quit();
    });
  }
}

/** What the transcript says about how `auto` was decided; an inconclusive probe claims nothing about the server. */
function autoTlsNote(endpoint: SmtpEndpoint, decided: { tls: ConnectionTls; conclusive: boolean }): string {
  if (endpoint.port === 465) return "port 465: implicit TLS";
  if (!decided.conclusive) return "the probe could not tell whether the server speaks TLS on connect: STARTTLS required";
  return decided.tls === "implicit" ? "the server speaks TLS on connect: implicit TLS" : "the server speaks plaintext on connect: STARTTLS required";
}

function lastServerReply(transcript: Transcript): string | undefined {
  const line = [...transcript.lines].reverse().find((l) => l.text.startsWith("S: "));
  return line && transcript.scrub(line.text.slice(3));
}

/** A failed step with the server's reply (or what happened) and what to check. */
function failedStep(name: DiagnosticStepName, err: NodemailerError, durationMs: number): DiagnosticStep {
  // The server's reply as describeSmtpError gives it, but without the command: the step names it.
  const reply = replyTextOf(err) ?? describeError(err);
  return { name, ok: false, reply, code: err.responseCode, durationMs, hint: hintFor(name, err) };
}

/**
 * What happened when there is no reply. Unlike describeSmtpError (the outbox's wording), this
 * shortens OpenSSL errors to their reason and names the cause only when the message does not.
 */
function describeError(err: NodemailerError): string {
  const cause = err.originalCode ?? err.code;
  // OpenSSL's "<hex>:error:<hex>:SSL routines:<function>:<reason>:<file>:<line>:" down to its reason.
  const message = (err.message ?? "unknown error").replace(/\r?\n/g, " ").replace(/[0-9A-F]+:error:[0-9A-F]+:SSL routines:[^:]*:([^:]+):\S*\s*/g, "$1").trim();
  return cause && !message.includes(cause) ? `${message} (${cause})` : message;
}

function hintFor(step: DiagnosticStepName, err: NodemailerError): string {
  const cause = err.originalCode ?? err.code ?? "";
  const code = err.responseCode ?? 0;
  if (isCertificateError({ code: cause, message: err.message })) {
    return "the server's certificate is not trusted; give the server a certificate from a trusted CA for this host name, or allow self-signed certificates for this provider";
  }
  switch (step) {
    case "DNS":
      return cause === "EAI_AGAIN" || cause === "ETIMEOUT"
        ? "the DNS server did not answer; check the resolver or try again"
        : "the host name does not resolve; check it for typos";
    case "connect":
      if (cause === "ECONNREFUSED") return "nothing accepts connections on that port; check the port (587 for STARTTLS, 465 for implicit TLS, 25 for relays) and that the server runs";
      if (cause === "ETIMEDOUT") return "the server did not answer; a firewall may be dropping the connection, check the host and port";
      return "could not contact the SMTP server; check the host, the port and firewalls";
    case "TLS":
      if (isPlaintextAnswer(err)) return "the server does not speak TLS on connect; use STARTTLS (usually port 587) instead of implicit TLS";
      return "the TLS handshake failed; check that the port expects implicit TLS (usually 465)";
    case "EHLO":
      if (cause === "ECONNECTION" && !code) return "the server closed the connection before the session began; if the port expects implicit TLS (465), enable TLS";
      return "the server refused the session; check that this host may connect and that the EHLO name is accepted";
    case "STARTTLS":
      if (code >= 500 || /not supported|STARTTLS/i.test(err.message)) {
        return "the server does not offer STARTTLS on this port; use implicit TLS (usually port 465), or disable TLS only for a trusted plaintext relay";
      }
      if (isPlaintextAnswer(err)) return "the STARTTLS upgrade failed; the port may expect implicit TLS (usually 465)";
      return "the STARTTLS upgrade failed; check the server's TLS configuration";
    case "AUTH":
      if (isTokenEndpointError(err)) return "the OAuth token request failed; check the token endpoint, client id, client secret and scopes";
      if (code === 535 || code === 534) return "the server refused the credentials; check the user and password (or token and its scopes)";
      if (code === 504 || code === 502 || /PLAIN or LOGIN/.test(err.message)) return "the server does not support this authentication mechanism; check which one the account needs";
      if (code === 530 || code === 538) return "the server requires encryption before authentication; enable TLS";
      if (err.code === "ENOAUTH") return "set the password (or client secret) for this provider";
      return "authentication failed; check the user and password";
    case "MAIL FROM":
      return "the server refused the sender address; it must be an address this account may send as";
    case "RCPT TO":
      return code >= 500
        ? "the server refused the recipient; it may not relay to this address for this account"
        : "the server temporarily refused the recipient; try again later";
    case "DATA":
      return "the server refused the message; check its size limits and content policy";
    case "QUIT":
      return "the server did not close the session cleanly";
  }
}
