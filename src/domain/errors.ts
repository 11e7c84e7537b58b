/** The kinds of failure the domain reports; transports map each to their own status. */
export type ErrorKind =
  | "invalid_argument"
  | "not_found"
  | "already_exists"
  | "failed_precondition"
  | "unauthenticated"
  | "permission_denied"
  | "resource_exhausted"
  | "unimplemented"
  | "unavailable"
  | "internal";

/**
 * An error a user can act on: a stable id naming the error site and a sentence without it.
 * `message` is the wire form, "<text> (<id>)".
 */
export class DomainError extends Error {
  constructor(
    readonly kind: ErrorKind,
    readonly id: string,
    readonly text: string,
  ) {
    super(`${text} (${id})`);
    this.name = "DomainError";
  }
}

export const invalidArgument = (id: string, text: string) => new DomainError("invalid_argument", id, text);
export const notFound = (id: string, text: string) => new DomainError("not_found", id, text);
export const failedPrecondition = (id: string, text: string) => new DomainError("failed_precondition", id, text);
