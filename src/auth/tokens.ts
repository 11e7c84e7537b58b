import { createHash, randomBytes } from "node:crypto";
import { DomainError } from "../domain/errors.js";
import { newId } from "../domain/ids.js";
import type { Store } from "../store/store.js";

/** Roles and the permissions they grant. */
export const rolePermissions = {
  IAM_OWNER: ["iam.read", "iam.write", "message.send", "message.read"],
  IAM_OWNER_VIEWER: ["iam.read"],
  MESSAGE_SENDER: ["message.send", "message.read"],
} as const satisfies Record<string, readonly string[]>;

export type Role = keyof typeof rolePermissions;

export function isRole(value: string): value is Role {
  return Object.hasOwn(rolePermissions, value);
}

/** The caller behind a request. */
export interface Principal {
  tokenId: string;
  instanceId: string;
  role: Role;
}

export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

export function hasPermission(principal: Principal, permission: string): boolean {
  return (rolePermissions[principal.role] as readonly string[]).includes(permission);
}

export const permissionDenied = () => new DomainError("permission_denied", "AUTH-5mWD2", "No matching permissions found");

/** Issues, checks and revokes bearer tokens; only their SHA-256 is stored. */
export class TokenService {
  constructor(private readonly store: Store) {}

  async create(instanceId: string, role: Role, description: string): Promise<{ id: string; token: string }> {
    const token = `mr_${randomBytes(32).toString("base64url")}`;
    const id = newId();
    await this.store.createToken({ id, instanceId, role, tokenHash: hashToken(token), description });
    return { id, token };
  }

  /** Makes `token` an IAM_OWNER token of the instance (MAILROOM_BOOTSTRAP_TOKEN); idempotent. */
  async ensure(instanceId: string, token: string, description: string): Promise<void> {
    const existing = await this.store.findTokenByHash(hashToken(token));
    if (existing && !existing.revokedAt) return;
    if (existing) throw new Error("MAILROOM_BOOTSTRAP_TOKEN was revoked; choose another one");
    await this.store.createToken({ id: newId(), instanceId, role: "IAM_OWNER", tokenHash: hashToken(token), description });
  }

  async authenticate(authorization: string | null | undefined): Promise<Principal> {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
    if (!match) {
      throw new DomainError("unauthenticated", "AUTH-7fs1e", "authorization header missing or not of the form \"Bearer <token>\"");
    }
    const record = await this.store.findTokenByHash(hashToken(match[1]!));
    if (!record || record.revokedAt || !isRole(record.role)) {
      throw new DomainError("unauthenticated", "AUTH-7fs2e", "token is unknown or revoked");
    }
    return { tokenId: record.id, instanceId: record.instanceId, role: record.role };
  }
}
