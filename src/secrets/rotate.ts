import type { Core } from "../app.js";
import { ConfigError } from "../config.js";
import { Keyring, keyIdOf, readKeyFile, writeKeyFile } from "./keyring.js";

/**
 * Re-encrypts every stored secret under a new master key. With a key file, the file first lists
 * the new key before the old ones (so running servers seal with it and still open old values),
 * then the secrets are re-sealed in one transaction, then the old keys are dropped from the file.
 */
export async function rotateMasterKey(core: Core, newKeyFile: string | undefined, generated: Buffer): Promise<string> {
  const old = core.keyring;
  const newKey = newKeyFile ? readKeyFile(newKeyFile)[0]! : generated;
  if (keyIdOf(newKey) === old.primaryKeyId) throw new ConfigError("the new key is the current key");
  const source = old.source;
  if (source.kind === "env" && !newKeyFile) {
    throw new ConfigError(
      "the master key comes from MAILROOM_MASTER_KEY: put the new key in a file, run `mailroom keys rotate --new-key-file FILE`, " +
        "then set MAILROOM_MASTER_KEY to the new key and restart",
    );
  }
  const oldKeys = source.kind === "file" ? readKeyFile(source.path) : [];
  if (source.kind === "file") writeKeyFile(source.path, [newKey, ...oldKeys]);
  const next = new Keyring([newKey], { kind: "env" });
  const count = await core.store.resealSecrets((sealed) => next.seal(old.open(sealed)));
  if (source.kind === "file") writeKeyFile(source.path, [newKey]);
  const where =
    source.kind === "file"
      ? `key file ${source.path} now holds only the new key`
      : "now set MAILROOM_MASTER_KEY to the new key and restart mailroom";
  return `re-encrypted ${count} secret value(s) under key ${keyIdOf(newKey)}; ${where}`;
}
