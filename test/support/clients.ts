import type { Interceptor, Client, Transport } from "@connectrpc/connect";
import { ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { ErrorDetailSchema, type ErrorDetail } from "../../src/gen/zitadel/message_pb.js";
import { AdminService } from "../../src/gen/zitadel/admin_pb.js";

export type TransportName = "grpc" | "grpc-web" | "connect";

export const TRANSPORTS: TransportName[] = ["grpc", "grpc-web", "connect"];

/** Sends `authorization: <value>` on every call; null sends no header at all. */
function authorization(value: string | null): Interceptor {
  return (next) => async (req) => {
    if (value !== null) req.header.set("authorization", value);
    return next(req);
  };
}

/** A transport of the given kind to a running mailroom; gRPC goes over h2c. */
export function transportFor(name: TransportName, baseUrl: string, auth: string | null): Transport {
  const interceptors = [authorization(auth)];
  switch (name) {
    case "grpc":
      return createGrpcTransport({ baseUrl, interceptors });
    case "grpc-web":
      return createGrpcWebTransport({ baseUrl, httpVersion: "1.1", interceptors });
    case "connect":
      return createConnectTransport({ baseUrl, httpVersion: "1.1", interceptors });
  }
}

export type AdminClient = Client<typeof AdminService>;

export function adminClient(name: TransportName, app: { url: string; auth: string }, auth: string | null = app.auth): AdminClient {
  return createClient(AdminService, transportFor(name, app.url, auth));
}

/** Awaits a call that must fail and returns its ConnectError with the attached zitadel.v1.ErrorDetail. */
export async function rpcError(call: Promise<unknown>): Promise<{ error: ConnectError; detail?: ErrorDetail }> {
  try {
    await call;
  } catch (err) {
    const error = ConnectError.from(err);
    return { error, detail: error.findDetails(ErrorDetailSchema)[0] };
  }
  throw new Error("the call succeeded, but it was expected to fail");
}
