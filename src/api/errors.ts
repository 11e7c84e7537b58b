import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { DomainError, type ErrorKind } from "../domain/errors.js";
import { ErrorDetailSchema } from "../gen/zitadel/message_pb.js";

const codeOfKind: Record<ErrorKind, Code> = {
  invalid_argument: Code.InvalidArgument,
  not_found: Code.NotFound,
  already_exists: Code.AlreadyExists,
  failed_precondition: Code.FailedPrecondition,
  unauthenticated: Code.Unauthenticated,
  permission_denied: Code.PermissionDenied,
  resource_exhausted: Code.ResourceExhausted,
  unimplemented: Code.Unimplemented,
  unavailable: Code.Unavailable,
  internal: Code.Internal,
};

/** A domain error on the wire: `<text> (<id>)` with a zitadel.v1.ErrorDetail attached. */
export function toConnectError(err: DomainError): ConnectError {
  return new ConnectError(err.message, codeOfKind[err.kind], undefined, [
    { desc: ErrorDetailSchema, value: create(ErrorDetailSchema, { id: err.id, message: err.text }) },
  ]);
}

/** HTTP status of a gRPC code, as grpc-gateway maps them. */
export function httpStatusOf(code: Code): number {
  switch (code) {
    case Code.InvalidArgument:
    case Code.FailedPrecondition:
    case Code.OutOfRange:
      return 400;
    case Code.Unauthenticated:
      return 401;
    case Code.PermissionDenied:
      return 403;
    case Code.NotFound:
      return 404;
    case Code.AlreadyExists:
    case Code.Aborted:
      return 409;
    case Code.ResourceExhausted:
      return 429;
    case Code.Unimplemented:
      return 501;
    case Code.Unavailable:
      return 503;
    case Code.DeadlineExceeded:
      return 504;
    case Code.Canceled:
      return 499;
    default:
      return 500;
  }
}

/** The google.rpc.Status JSON body of a REST error. */
export function statusBody(err: ConnectError): Record<string, unknown> {
  const details = err.findDetails(ErrorDetailSchema).map((d) => ({
    "@type": "type.googleapis.com/zitadel.v1.ErrorDetail",
    id: d.id,
    message: d.message,
  }));
  return { code: err.code, message: err.rawMessage, ...(details.length ? { details } : {}) };
}

/**
 * Turns anything thrown by a handler into a ConnectError. Unexpected errors become INTERNAL with
 * a generic message; their text (which may hold anything) goes only to the log.
 */
export function asConnectError(err: unknown, log: (err: unknown) => void): ConnectError {
  if (err instanceof DomainError) {
    if (err.kind === "internal") log(err);
    return toConnectError(err);
  }
  if (err instanceof ConnectError) return err;
  log(err);
  return toConnectError(new DomainError("internal", "INTERNAL-x9f3k", "internal error; the server log has the details"));
}

const SECRET_FIELD_DECODE_ERROR = /(\.(?:password|client_secret|signing_key) from JSON: expected \w+), got .*$/s;
/** V8 quotes the text around a JSON syntax error: `Unexpected token 'x', ..."password":x..." is not valid JSON`. */
const JSON_SYNTAX_EXCERPT = /Unexpected token '[\s\S]*?', (?:\.\.\.)?"[\s\S]*"(?:\.\.\.)? is not valid JSON/;

/**
 * A request-decoding error without the request's own text: the parser quotes what surrounds a
 * syntax error, and protobuf-es echoes a field's value of the wrong type. Either may be a secret,
 * so the message keeps the rule and the field, not the value.
 */
export function withoutRequestText(message: string): string {
  return message.replace(JSON_SYNTAX_EXCERPT, "unexpected character").replace(SECRET_FIELD_DECODE_ERROR, "$1");
}
