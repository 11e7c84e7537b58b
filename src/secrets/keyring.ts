import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { DomainError } from "../domain/errors.js";
import type { Sealed, SecretBox } from "../domain/provider.js";

const VERSION = "v1";

/** Where the master key comes from; decides how `keys rotate` can replace it. */
export type KeySource = { kind: "env" } | { kind: "file"; path: string; generated: boolean };

export function keyIdOf(key: Buffer): string {
  return createHash("sha256").update(key).digest("hex").slice(0, 16);
}

export function parseKey(base64: string, origin: string): Buffer {
  const key = Buffer.from(base64.trim(), "base64");
  if (key.length !== 32) {
    throw new Error(`${origin} must be the base64 encoding of exactly 32 bytes (got ${key.length} bytes)`);
  }
  return key;
}

/** Reads a key file: one base64 key per line, the first is current, the others only decrypt. */
export function readKeyFile(path: string): Buffer[] {
  const lines = readFileSync(path, "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  if (lines.length === 0) throw new Error(`key file ${path} holds no key`);
  return lines.map((l, i) => parseKey(l, `line ${i + 1} of key file ${path}`));
}

export function writeKeyFile(path: string, keys: Buffer[]): void {
  const tmp = `${path}.tmp`;
  const body = "# mailroom master keys: the first encrypts, the others only decrypt\n" + keys.map((k) => k.toString("base64")).join("\n") + "\n";
  writeFileSync(tmp, body, { mode: 0o600 });
  renameSync(tmp, path);
}

/**
 * AES-256-GCM under the master key. Each sealed value carries the id of the key that sealed it,
 * so values sealed under a previous key still open while `mailroom keys rotate` re-encrypts them.
 */
export class Keyring implements SecretBox {
  private keys = new Map<string, Buffer>();
  private primary!: { id: string; key: Buffer };
  private fileVersion = 0;

  constructor(
    keys: Buffer[],
    readonly source: KeySource,
  ) {
    this.load(keys);
    if (source.kind === "file") this.fileVersion = statSync(source.path).mtimeMs;
  }

  /** A file-backed keyring follows the file, which `mailroom keys rotate` may replace at any time. */
  private refresh(force = false): void {
    if (this.source.kind !== "file") return;
    const version = statSync(this.source.path).mtimeMs;
    if (!force && version === this.fileVersion) return;
    this.fileVersion = version;
    this.load(readKeyFile(this.source.path));
  }

  private load(keys: Buffer[]): void {
    const [first] = keys;
    if (!first) throw new Error("a keyring needs at least one key");
    this.keys = new Map(keys.map((k) => [keyIdOf(k), k]));
    this.primary = { id: keyIdOf(first), key: first };
  }

  get primaryKeyId(): string {
    return this.primary.id;
  }

  keyIdOfSealed(sealed: Sealed): string | undefined {
    return sealed.split(":")[1];
  }

  seal(plaintext: string): Sealed {
    this.refresh();
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.primary.key, iv);
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]);
    return `${VERSION}:${this.primary.id}:${iv.toString("base64url")}:${body.toString("base64url")}`;
  }

  open(sealed: Sealed): string {
    const [version, keyId, iv, body] = sealed.split(":");
    if (version !== VERSION || !keyId || !iv || !body) {
      throw new DomainError("internal", "SECRET-f0rmat", "a stored secret is not in a known format");
    }
    let key = this.keys.get(keyId);
    if (!key) {
      this.refresh(true);
      key = this.keys.get(keyId);
    }
    if (!key) {
      throw new DomainError("internal", "SECRET-n0key", `a stored secret was sealed under key ${keyId}, which is not configured`);
    }
    const raw = Buffer.from(body, "base64url");
    const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"));
    decipher.setAuthTag(raw.subarray(raw.length - 16));
    try {
      return Buffer.concat([decipher.update(raw.subarray(0, raw.length - 16)), decipher.final()]).toString("utf8");
    } catch {
      throw new DomainError("internal", "SECRET-t4mper", `a stored secret sealed under key ${keyId} failed authentication`);
    }
  }
}

export interface KeyringOptions {
  masterKey?: string;
  masterKeyFile?: string;
  dataDir: string;
}

/** Loads the master key from the environment or a file, generating one in the data dir on first start. */
export function loadKeyring(options: KeyringOptions, warn: (message: string) => void): Keyring {
  if (options.masterKey) return new Keyring([parseKey(options.masterKey, "MAILROOM_MASTER_KEY")], { kind: "env" });
  if (options.masterKeyFile) {
    return new Keyring(readKeyFile(options.masterKeyFile), { kind: "file", path: options.masterKeyFile, generated: false });
  }
  const path = `${options.dataDir}/master.key`;
  if (!existsSync(path)) {
    writeKeyFile(path, [randomBytes(32)]);
    warn(
      `no MAILROOM_MASTER_KEY or MAILROOM_MASTER_KEY_FILE set: generated a master key in ${path}; ` +
        "back it up, since the stored secrets cannot be read without it",
    );
  }
  return new Keyring(readKeyFile(path), { kind: "file", path, generated: true });
}
