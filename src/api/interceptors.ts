import type { DescMethod } from "@bufbuild/protobuf";
import type { Interceptor } from "@connectrpc/connect";
import { hasPermission, permissionDenied, type TokenService } from "../auth/tokens.js";
import { permission } from "../gen/mailroom/options/v1/options_pb.js";
import { principalKey } from "./context.js";
import { asConnectError } from "./errors.js";
import { cachedOption } from "./proto-options.js";
import { validateRequest } from "./validation.js";

/** The (mailroom.options.v1.permission) of a method, read once; "" when it needs none. */
function permissionOf(method: DescMethod): string {
  return cachedOption(method, permission) ?? "";
}

/**
 * Every RPC passes here, whatever the transport: errors become wire errors, then the bearer token
 * is checked against the method's (mailroom.options.v1.permission), then the request's field rules.
 */
export function guard(tokens: TokenService, logError: (err: unknown) => void): Interceptor {
  return (next) => async (req) => {
    try {
      const required = permissionOf(req.method);
      if (required) {
        const principal = await tokens.authenticate(req.header.get("authorization"));
        if (!hasPermission(principal, required)) throw permissionDenied();
        req.contextValues.set(principalKey, principal);
      }
      if (!req.stream) validateRequest(req.method.input, req.message);
      return await next(req);
    } catch (err) {
      throw asConnectError(err, logError);
    }
  };
}
