import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import type { AddressInfo, Server } from "node:net";
import { generate } from "selfsigned";
import { SMTPServer, type SMTPServerOptions } from "smtp-server";

/** A self-signed certificate for 127.0.0.1 and localhost, made once per test process. */
let certificate: Promise<{ key: string; cert: string }> | undefined;
export function selfSignedCertificate(): Promise<{ key: string; cert: string }> {
  certificate ??= generate([{ name: "commonName", value: "localhost" }], {
    keySize: 2048,
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "subjectAltName", altNames: [{ type: 2, value: "localhost" }, { type: 7, ip: "127.0.0.1" }] },
    ],
  }).then((pems) => ({ key: pems.private, cert: pems.cert }));
  return certificate;
}

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
  /** The authenticated user, or undefined when the session did not authenticate. */
  user?: string;
  /** The password (or XOAUTH2 token) the session authenticated with. */
  secret?: string;
  authMethod?: string;
  secure: boolean;
  /** The name the client announced in EHLO/HELO. */
  ehloName: string;
}

export interface SmtpServerMode {
  /** "plain": no TLS at all; "starttls": STARTTLS offered; "implicit": TLS from the first byte. */
  tls: "plain" | "starttls" | "implicit";
  /** SASL mechanisms offered; none offers no AUTH. */
  authMethods?: ("PLAIN" | "LOGIN" | "XOAUTH2" | "CRAM-MD5")[];
  /** Accepted credentials: user → password (PLAIN/LOGIN) or access token (XOAUTH2). */
  users?: Record<string, string>;
  /** Decides instead of `users`, e.g. for tokens issued at run time. */
  accept?: (method: string, user: string | undefined, secret: string | undefined) => boolean;
  /** Reject every recipient with this reply. */
  rcptReply?: { code: number; text: string };
  /** Reject every sender with this reply. */
  mailReply?: { code: number; text: string };
  /** Listen on this port instead of a free one (e.g. a server that comes back after an outage). */
  port?: number;
  /** Holds every session's greeting until `releaseGreetings`: a slow server, with clients waiting on it. */
  holdGreetings?: boolean;
}

export interface TestSmtpServer {
  /** host:port as a provider's `host` field. */
  host: string;
  port: number;
  received: ReceivedMail[];
  /** Authentication attempts, successful or not. */
  authAttempts: { method: string; user?: string; ok: boolean }[];
  /** Connections clients opened so far (TLS probes included). */
  connections(): number;
  /** Lets the sessions held by `holdGreetings` (and every later one) get their greeting. */
  releaseGreetings(): void;
  close(): Promise<void>;
}

/** Starts a real smtp-server on 127.0.0.1 on a free port. */
export async function startSmtpServer(mode: SmtpServerMode): Promise<TestSmtpServer> {
  const received: ReceivedMail[] = [];
  const authAttempts: TestSmtpServer["authAttempts"] = [];
  let connections = 0;
  let releaseGreetings = () => {};
  const greetings = mode.holdGreetings ? new Promise<void>((resolve) => (releaseGreetings = resolve)) : Promise.resolve();
  const users = mode.users ?? {};
  const cert = mode.tls === "plain" ? undefined : await selfSignedCertificate();
  const options: SMTPServerOptions = {
    secure: mode.tls === "implicit",
    ...(cert ?? {}),
    hideSTARTTLS: mode.tls === "plain",
    disabledCommands: mode.tls === "plain" ? ["STARTTLS"] : [],
    authMethods: mode.authMethods ?? [],
    authOptional: !mode.authMethods?.length,
    allowInsecureAuth: true,
    // Tests close servers with pooled client connections still open; do not wait for them.
    closeTimeout: 50,
    logger: false,
    onConnect(_session, callback) {
      void greetings.then(() => callback());
    },
    onAuth(auth, _session, callback) {
      const expected = auth.username === undefined ? undefined : users[auth.username];
      const secret = (auth.method === "XOAUTH2" ? auth.accessToken : auth.password) ?? undefined;
      const ok = mode.accept ? mode.accept(auth.method, auth.username, secret) : expected !== undefined && secret === expected;
      authAttempts.push({ method: auth.method, user: auth.username, ok });
      if (!ok) {
        if (auth.method === "XOAUTH2") return callback(null, { data: { status: "401", schemes: "bearer" } });
        return callback(Object.assign(new Error("Authentication credentials invalid"), { responseCode: 535 }));
      }
      callback(null, { user: { name: auth.username, secret, method: auth.method } });
    },
    onMailFrom(_address, _session, callback) {
      if (mode.mailReply) return callback(Object.assign(new Error(mode.mailReply.text), { responseCode: mode.mailReply.code }));
      callback();
    },
    onRcptTo(_address, _session, callback) {
      if (mode.rcptReply) return callback(Object.assign(new Error(mode.rcptReply.text), { responseCode: mode.rcptReply.code }));
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        const user = session.user as { name: string; secret: string; method: string } | undefined;
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString("utf8"),
          user: user?.name,
          secret: user?.secret,
          authMethod: user?.method,
          secure: session.secure,
          ehloName: session.hostNameAppearsAs,
        });
        callback();
      });
    },
  };
  const server = new SMTPServer(options);
  server.on("error", () => undefined);
  // Counted at the socket, before the SMTP session starts: a TLS probe may hang up before that.
  (server as unknown as { server: Server }).server.on("connection", () => (connections += 1));
  await new Promise<void>((resolve) => server.listen(mode.port ?? 0, "127.0.0.1", resolve));
  const port = ((server as unknown as { server: { address(): AddressInfo } }).server.address()).port;
  return {
    host: `127.0.0.1:${port}`,
    port,
    received,
    authAttempts,
    connections: () => connections,
    releaseGreetings: () => releaseGreetings(),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function unusedPort(): Promise<number> {
  const server = createHttpServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface TestTokenEndpoint {
  url: string;
  /** Form bodies of the token requests received. */
  requests: URLSearchParams[];
  /** The token handed out last. */
  issued: string[];
  close(): Promise<void>;
}

/** An OAuth 2.0 token endpoint (client-credentials grant) that issues numbered tokens. */
export async function startTokenEndpoint(opts: { clientId: string; clientSecret: string; expiresIn?: number }): Promise<TestTokenEndpoint> {
  const requests: URLSearchParams[] = [];
  const issued: string[] = [];
  const server: HttpServer = createHttpServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      const form = new URLSearchParams(body);
      requests.push(form);
      res.setHeader("content-type", "application/json");
      if (form.get("grant_type") !== "client_credentials" || form.get("client_id") !== opts.clientId || form.get("client_secret") !== opts.clientSecret) {
        res.statusCode = 401;
        res.end(JSON.stringify({ error: "invalid_client" }));
        return;
      }
      const token = `token-${issued.length + 1}`;
      issued.push(token);
      res.end(JSON.stringify({ access_token: token, token_type: "Bearer", expires_in: opts.expiresIn ?? 3600 }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/oauth2/token`,
    requests,
    issued,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
