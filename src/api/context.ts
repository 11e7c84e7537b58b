import { createContextKey, type HandlerContext } from "@connectrpc/connect";
import type { Principal } from "../auth/tokens.js";

/** The authenticated caller, set by the auth interceptor for every RPC that names a permission. */
export const principalKey = createContextKey<Principal | undefined>(undefined, { description: "authenticated principal" });

export function principalOf(ctx: HandlerContext): Principal {
  const principal = ctx.values.get(principalKey);
  if (!principal) throw new Error("no principal in context: the RPC declares no permission");
  return principal;
}
