import { createServer as createHttp1Server, type Server as Http1Server, type ServerResponse } from "node:http";
import { createServer as createHttp2Server, type Http2Server, type Http2Session } from "node:http2";
import { createServer as createNetServer, type AddressInfo, type Socket } from "node:net";
import type { DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createConnectRouter, createServiceImplSpec, type ConnectRouter, type Interceptor, type ServiceImpl, type ServiceImplSpec } from "@connectrpc/connect";
import { createAsyncIterable, type UniversalServerResponse } from "@connectrpc/connect/protocol";
import { compressionBrotli, compressionGzip, universalRequestFromNodeRequest, universalResponseToNodeResponse } from "@connectrpc/connect-node";
import type { Logger } from "pino";
import { withoutRequestText } from "./errors.js";
import { MAX_BODY_BYTES, RestGateway, sendJson, type NodeRequest, type NodeResponse } from "./rest-gateway.js";

/** A service and its implementation, served on every transport. */
export interface ServiceRegistration {
  spec: ServiceImplSpec;
  register(router: ConnectRouter): void;
}

export function serviceRegistration<S extends DescService>(service: S, impl: ServiceImpl<S>): ServiceRegistration {
  return { spec: createServiceImplSpec(service, impl), register: (router) => router.service(service, impl) };
}

/** Handles a request outside the RPC services (e.g. the /email-settings dialect); false: not mine. */
export type ExtraHandler = (req: NodeRequest, res: NodeResponse) => Promise<boolean>;

export interface ServerOptions {
  services: ServiceRegistration[];
  interceptors: Interceptor[];
  extraHandlers?: ExtraHandler[];
  logger: Logger;
}

/** One request handler for gRPC, gRPC-Web, Connect, REST/JSON and the extra dialects. */
export function createRequestHandler(options: ServerOptions): (req: NodeRequest, res: NodeResponse) => void {
  const routes = (router: ConnectRouter) => {
    for (const registration of options.services) registration.register(router);
  };
  const rest = new RestGateway(
    options.services.map((s) => s.spec),
    options.interceptors,
  );
  const handlers: ExtraHandler[] = [(req, res) => rest.handle(req, res), ...(options.extraHandlers ?? [])];
  const fallback = (req: NodeRequest, res: NodeResponse) => {
    void (async () => {
      for (const handler of handlers) {
        if (await handler(req, res)) return;
      }
      sendJson(res, 404, { code: 5, message: `no route for ${req.method} ${new URL(req.url ?? "/", "http://x").pathname}` });
    })().catch((err: unknown) => {
      options.logger.error({ err }, "request handler failed");
      if (!res.headersSent) sendJson(res, 500, { code: 13, message: "internal error; the server log has the details" });
      else res.end();
    });
  };
  // connectNodeAdapter's own routing, with one step added: error answers pass through
  // withoutEchoedRequestText before they are written.
  const router = createConnectRouter({
    interceptors: options.interceptors,
    readMaxBytes: MAX_BODY_BYTES,
    acceptCompression: [compressionGzip, compressionBrotli],
  });
  routes(router);
  const rpcs = new Map(router.handlers.map((h) => [h.requestPath, h]));
  return (req, res) => {
    if (req.httpVersionMajor === 1) closeWhenBodyUnread(req, res as ServerResponse);
    const rpc = rpcs.get((req.url ?? "").split("?", 1)[0]!);
    if (!rpc) return fallback(req, res);
    rpc(universalRequestFromNodeRequest(req, res, undefined, undefined))
      .then(async (answer) => universalResponseToNodeResponse(await withoutEchoedRequestText(answer), res))
      .catch((err: unknown) => {
        if (ConnectError.from(err).code !== Code.Aborted) options.logger.error({ err, rpc: rpc.method.name }, "rpc handler failed");
      });
  };
}

/**
 * Connect and gRPC report a request they cannot decode with the decoder's message, which quotes
 * the request text or a field's value (see withoutRequestText). The Connect protocol carries it in
 * a JSON error body, gRPC in the grpc-message header or trailer; both are rewritten without it.
 */
async function withoutEchoedRequestText(answer: UniversalServerResponse): Promise<UniversalServerResponse> {
  for (const headers of [answer.header, answer.trailer]) {
    const message = headers?.get("grpc-message");
    if (message) headers!.set("grpc-message", encodeURIComponent(withoutRequestText(decodeURIComponent(message))));
  }
  const isJsonError = answer.status >= 400 && answer.header?.get("content-type") === "application/json" && !answer.header.has("content-encoding");
  if (!isJsonError || !answer.body) return answer;
  const chunks: Uint8Array[] = [];
  for await (const chunk of answer.body) chunks.push(chunk);
  const error = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { message?: string };
  if (typeof error.message === "string") error.message = withoutRequestText(error.message);
  const body = Buffer.from(JSON.stringify(error));
  answer.header!.delete("content-length");
  return { ...answer, body: createAsyncIterable([body]) };
}

/**
 * An answer sent before the request body was read to its end (a message over the size limit)
 * leaves the rest of the body on an HTTP/1 connection, which then cannot carry another request:
 * such an answer says "Connection: close".
 */
function closeWhenBodyUnread(req: NodeRequest, res: ServerResponse): void {
  const writeHead = res.writeHead;
  res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
    if (!req.complete) this.shouldKeepAlive = false;
    return writeHead.apply(this, args as never);
  } as ServerResponse["writeHead"];
}

const HTTP2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n");

/** A listening mailroom port: HTTP/1.1 and HTTP/2 without TLS (h2c, prior knowledge) on one socket. */
export class ApiServer {
  private readonly http1: Http1Server;
  private readonly http2: Http2Server;
  private readonly sockets = new Set<Socket>();
  private readonly sessions = new Set<Http2Session>();
  private readonly net = createNetServer((socket) => this.accept(socket));

  constructor(handler: (req: NodeRequest, res: NodeResponse) => void) {
    this.http1 = createHttp1Server(handler as never);
    // Sockets reach the HTTP/1 server from our own listener, so it never emits "listening" itself;
    // that event starts its connection tracking, without which closeIdleConnections() is a no-op
    // (shutdown then waits for clients' keep-alive) and headers/request timeouts are not enforced.
    this.http1.emit("listening");
    this.http2 = createHttp2Server(handler as never);
    this.http2.on("session", (session: Http2Session) => {
      this.sessions.add(session);
      session.once("close", () => this.sessions.delete(session));
    });
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.once("close", () => this.sockets.delete(socket));
    socket.once("error", () => socket.destroy());
    // Peek at the first bytes: the HTTP/2 connection preface selects the HTTP/2 server.
    socket.once("readable", () => {
      const head: Buffer | null = socket.read();
      if (head === null) return socket.destroy();
      socket.unshift(head);
      const isHttp2 = head.subarray(0, HTTP2_PREFACE.length).equals(HTTP2_PREFACE.subarray(0, Math.min(head.length, HTTP2_PREFACE.length)));
      (isHttp2 ? this.http2 : this.http1).emit("connection", socket);
    });
  }

  async listen(host: string, port: number): Promise<{ host: string; port: number }> {
    await new Promise<void>((resolve, reject) => {
      this.net.once("error", reject);
      this.net.listen(port, host, () => {
        this.net.off("error", reject);
        resolve();
      });
    });
    const address = this.net.address() as AddressInfo;
    return { host: address.address, port: address.port };
  }

  /** Stops accepting, lets in-flight requests finish (up to `graceMs`), then closes what is left. */
  async close(graceMs = 10_000): Promise<void> {
    const closed = new Promise<void>((resolve) => this.net.close(() => resolve()));
    for (const session of this.sessions) session.close();
    this.http1.closeIdleConnections();
    const idle = setInterval(() => this.http1.closeIdleConnections(), 50);
    const forced = setTimeout(() => {
      for (const socket of this.sockets) socket.destroy();
    }, graceMs);
    forced.unref();
    await closed;
    clearInterval(idle);
    clearTimeout(forced);
  }
}
