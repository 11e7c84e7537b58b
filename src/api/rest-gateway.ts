import type { ConnectNodeAdapterOptions } from "@connectrpc/connect-node";
import { ScalarType, fromJson, getOption, hasOption, toJson, type DescMethodUnary, type JsonValue } from "@bufbuild/protobuf";
import { reflect } from "@bufbuild/protobuf/reflect";
import { Code, ConnectError, createHandlerContext, type Interceptor, type MethodImplSpec, type ServiceImplSpec } from "@connectrpc/connect";
// Connect's own unary invocation (marked internal, hence @connectrpc/connect is pinned exactly).
import { invokeUnaryImplementation } from "@connectrpc/connect/protocol";
import { http } from "../gen/google/api/annotations_pb.js";
import { httpStatusOf, statusBody, withoutRequestText } from "./errors.js";

// REST/JSON transcoding driven by the (google.api.http) annotations of the served services: the
// route table is derived from the proto files, and every call runs through the same handlers and
// interceptors as gRPC, gRPC-Web and Connect (Connect's own unary invocation, without a second
// serialization round trip).

type NodeHandler = NonNullable<ConnectNodeAdapterOptions["fallback"]>;
export type NodeRequest = Parameters<NodeHandler>[0];
export type NodeResponse = Parameters<NodeHandler>[1];

export const MAX_BODY_BYTES = 1024 * 1024;

interface Route {
  verb: string;
  pattern: RegExp;
  params: string[];
  /** "*" for the whole body, "" for none. */
  body: string;
  method: DescMethodUnary;
  spec: Extract<MethodImplSpec, { kind: "unary" }>;
}

function compileTemplate(template: string): { pattern: RegExp; params: string[] } {
  const params: string[] = [];
  const source = template.replace(/[.*+?^$()|[\]\\]|\{([a-z_][a-z0-9_]*)(?:=\*)?\}/gi, (token, param: string | undefined) => {
    if (param) {
      params.push(param);
      return "([^/]+)";
    }
    return `\\${token}`;
  });
  return { pattern: new RegExp(`^${source}$`), params };
}

export function routesOf(services: ServiceImplSpec[]): Route[] {
  const routes: Route[] = [];
  for (const service of services) {
    for (const spec of Object.values(service.methods)) {
      const method = spec.method;
      if (spec.kind !== "unary" || !hasOption(method, http)) continue;
      const rule = getOption(method, http);
      const { case: verb, value } = rule.pattern;
      if (!verb || verb === "custom" || typeof value !== "string") continue;
      routes.push({ verb: verb.toUpperCase(), ...compileTemplate(value), body: rule.body, method: spec.method, spec });
    }
  }
  // Literal segments beat parameters: "/email/smtp" must not be read as "/email/{id}".
  return routes.sort((a, b) => a.params.length - b.params.length);
}

/** Query parameters of a GET/DELETE route, bound to the request's top-level fields by name. */
function queryToJson(method: DescMethodUnary, params: URLSearchParams): JsonValue {
  const json: Record<string, JsonValue> = {};
  for (const key of new Set(params.keys())) {
    const field = method.input.fields.find((f) => f.name === key || f.jsonName === key);
    if (!field) continue;
    const values = params.getAll(key);
    // Decoding drops an enum value it does not know (unknown fields are ignored for ZITADEL's
    // sake); a filter the caller misspelled must not silently become no filter at all.
    if (field.fieldKind === "enum") {
      for (const v of values) {
        if (!field.enum.values.some((e) => e.name === v || String(e.number) === v)) {
          throw new HttpError(400, Code.InvalidArgument, `${field.name}: must be one of ${field.enum.values.map((e) => e.name).join(", ")} (got "${v}")`);
        }
      }
    }
    const scalar = (v: string): JsonValue => (field.fieldKind === "scalar" && field.scalar === ScalarType.BOOL ? v === "true" : v);
    json[field.jsonName] = field.fieldKind === "list" ? values.map(scalar) : scalar(values[values.length - 1]!);
  }
  return json;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: Code,
    message: string,
  ) {
    super(message);
  }
}

/** Reads a request body up to `limit` bytes; more is a 413. */
export async function readBody(req: NodeRequest, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? NaN);
  if (declared > limit) throw new HttpError(413, Code.InvalidArgument, `request body exceeds the limit of ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, Code.InvalidArgument, `request body exceeds the limit of ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export function parseJsonBody(raw: Buffer): JsonValue {
  if (raw.length === 0) return {};
  try {
    return JSON.parse(raw.toString("utf8")) as JsonValue;
  } catch (err) {
    throw new HttpError(400, Code.InvalidArgument, `request body is not valid JSON: ${withoutRequestText((err as Error).message)}`);
  }
}

export function sendJson(res: NodeResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

export function sendStatus(res: NodeResponse, err: ConnectError | HttpError): void {
  if (err instanceof HttpError) {
    sendJson(res, err.status, { code: err.code, message: err.message });
  } else {
    sendJson(res, httpStatusOf(err.code), statusBody(err));
  }
}

export class RestGateway {
  private readonly routes: Route[];

  constructor(
    services: ServiceImplSpec[],
    private readonly interceptors: Interceptor[],
  ) {
    this.routes = routesOf(services);
  }

  /** Handles the request when a route matches its path; returns false otherwise. */
  async handle(req: NodeRequest, res: NodeResponse): Promise<boolean> {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    const candidates = this.routes
      .map((route) => ({ route, match: route.pattern.exec(path) }))
      .filter((c): c is { route: Route; match: RegExpExecArray } => c.match !== null);
    if (candidates.length === 0) return false;
    const chosen = candidates.find((c) => c.route.verb === req.method);
    if (!chosen) {
      const allow = [...new Set(candidates.map((c) => c.route.verb))].join(", ");
      res.setHeader("allow", allow);
      sendJson(res, 405, { code: Code.Unimplemented, message: `method ${req.method} is not allowed on ${path}; allowed: ${allow}` });
      return true;
    }
    try {
      await this.invoke(chosen.route, chosen.match, req, res);
    } catch (err) {
      sendStatus(res, err instanceof HttpError ? err : ConnectError.from(err));
    }
    return true;
  }

  private async invoke(route: Route, match: RegExpExecArray, req: NodeRequest, res: NodeResponse): Promise<void> {
    const { method } = route;
    const raw = await readBody(req);
    const json = route.body === "*" ? parseJsonBody(raw) : queryToJson(method, new URL(req.url ?? "/", "http://localhost").searchParams);
    if (json === null || typeof json !== "object" || Array.isArray(json)) {
      throw new HttpError(400, Code.InvalidArgument, `request body must be a JSON object of ${method.input.typeName}`);
    }
    let input;
    try {
      input = fromJson(method.input, json, { ignoreUnknownFields: true });
    } catch (err) {
      throw new HttpError(400, Code.InvalidArgument, `invalid ${method.input.name}: ${withoutRequestText((err as Error).message)}`);
    }
    const message = reflect(method.input, input);
    route.params.forEach((name, i) => {
      const field = method.input.fields.find((f) => f.name === name);
      if (!field) return;
      try {
        message.set(field, decodeURIComponent(match[i + 1]!));
      } catch {
        throw new HttpError(400, Code.InvalidArgument, `path parameter ${name} is not valid percent-encoding`);
      }
    });
    const header = new Headers();
    const authorization = req.headers.authorization;
    if (authorization) header.set("authorization", authorization);
    const context = createHandlerContext({
      service: method.parent,
      method,
      protocolName: "rest",
      requestMethod: route.verb,
      url: req.url ?? "/",
      requestHeader: header,
    });
    const output = await invokeUnaryImplementation(route.spec, context, input, this.interceptors);
    sendJson(res, 200, toJson(method.output, output));
  }
}

