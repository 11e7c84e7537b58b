import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { openCore, type Core } from "../../src/app.js";
import { readConfig } from "../../src/config.js";
import { createLogger } from "../../src/logger.js";
import { readKeyFile } from "../../src/secrets/keyring.js";
import { rest } from "../support/app.js";
import { runCli, startNode, type NodeProcess } from "../support/node-process.js";

// mailroom as an operator runs it: a child process on a data dir, stopped with SIGTERM, started
// again, and managed with the CLI while it runs.

const TOKEN = "lifecycle-bootstrap-token-0123456789";
const PASSWORD = "smtp-password-Zq8vX1";
const NEW_PASSWORD = "smtp-password-rotated-Pk3w";
const CLIENT_SECRET = "xoauth2-client-secret-Hy7u";
const REFUSED_PASSWORD = "refused-request-password-Wm2n";

/** Opens the data dir in this process (the server must be stopped) to look at stored secrets. */
async function withCore<T>(dataDir: string, fn: (core: Core) => Promise<T>): Promise<T> {
  const config = readConfig({ MAILROOM_DATA_DIR: dataDir, MAILROOM_LOG_LEVEL: "silent" });
  const core = await openCore(config, createLogger("silent"));
  try {
    return await fn(core);
  } finally {
    await core.store.close();
  }
}

function dataFilesText(dataDir: string): string {
  return ["mailroom.db", "mailroom.db-wal", "mailroom.db-shm"]
    .map((f) => join(dataDir, f))
    .filter(existsSync)
    .map((f) => readFileSync(f).toString("latin1"))
    .join("\n");
}

/** Asserts `text` holds none of the `secrets`; a failure names the secret's kind, never its value. */
function assertNoSecrets(text: string, where: string, secrets: Array<[kind: string, value: string]>): void {
  for (const [kind, value] of secrets) {
    assert.ok(value, `the test does not know the ${kind}`);
    assert.ok(!text.includes(value), `${where} contains the ${kind}`);
  }
}

/** The master keys in a key file, in the forms a leak would most likely take. */
function masterKeysIn(keyFile: string, label: string): Array<[kind: string, value: string]> {
  return readKeyFile(keyFile).flatMap((key, i): Array<[string, string]> => [
    [`${label} master key #${i + 1} (base64)`, key.toString("base64")],
    [`${label} master key #${i + 1} (base64url)`, key.toString("base64url")],
    [`${label} master key #${i + 1} (hex)`, key.toString("hex")],
  ]);
}

describe("a mailroom process on a data dir", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "mailroom-lifecycle-"));
  const env = { MAILROOM_DATA_DIR: dataDir, MAILROOM_BOOTSTRAP_TOKEN: TOKEN, MAILROOM_LOG_LEVEL: "trace" };
  let server: NodeProcess;
  let api: { url: string; auth: string };
  const responses: string[] = [];
  const ids: { plain?: string; xoauth2?: string; http?: string } = {};
  let signingKey = "";
  let logs = "";
  const keyFile = join(dataDir, "master.key");
  /** Every master key the data dir has held so far; filled as the test reads the key file. */
  const masterKeys: Array<[kind: string, value: string]> = [];
  /** What neither a response nor a log may ever contain. */
  const responseSecrets = (): Array<[kind: string, value: string]> => [
    ["SMTP password", PASSWORD],
    ["rotated SMTP password", NEW_PASSWORD],
    ["xoauth2 client secret", CLIENT_SECRET],
    ["refused request's password", REFUSED_PASSWORD],
  ];
  /** What a log or CLI output may never contain: the above plus the signing key, the token and the master keys. */
  const logSecrets = (): Array<[kind: string, value: string]> => [
    ...responseSecrets(),
    ["HTTP signing key", signingKey],
    ["bootstrap token", TOKEN],
    ...masterKeys,
  ];

  const call = async (method: string, path: string, body?: unknown, auth?: string | null) => {
    const res = await rest(api, method, path, body, auth === undefined ? api.auth : auth);
    responses.push(res.text);
    return res;
  };

  before(async () => {
    server = await startNode(env);
    // The first start generates the master key in the data dir.
    masterKeys.push(...masterKeysIn(keyFile, "first"));
    api = { url: server.url, auth: `Bearer ${TOKEN}` };
    const plain = await call("POST", "/admin/v1/email/smtp", {
      senderAddress: "noreply@example.com",
      senderName: "Example",
      host: "smtp.example.com:587",
      user: "mailer",
      plain: { password: PASSWORD },
    });
    ids.plain = plain.body.id;
    const xoauth2 = await call("POST", "/admin/v1/email/smtp", {
      senderAddress: "o365@example.com",
      senderName: "O365",
      host: "smtp.office365.com:587",
      tls: true,
      xoauth2: { tokenEndpoint: "https://login.example.com/token", scopes: ["smtp"], clientCredentials: { clientId: "cid", clientSecret: CLIENT_SECRET } },
    });
    ids.xoauth2 = xoauth2.body.id;
    const http = await call("POST", "/admin/v1/email/http", { endpoint: "https://hooks.example.com/mail" });
    ids.http = http.body.id;
    signingKey = http.body.signingKey;
    await call("PUT", `/admin/v1/email/smtp/${ids.plain}/password`, { password: NEW_PASSWORD });
    await call("POST", `/admin/v1/email/${ids.plain}/_activate`, {});
    // Refused requests that carry secrets: their errors must not echo them.
    await call("POST", "/admin/v1/email/smtp", { senderAddress: "a@example.com", senderName: "A", host: "no-port", plain: { password: REFUSED_PASSWORD } });
    await call("PUT", `/admin/v1/email/smtp/${ids.plain}`, { senderAddress: "", senderName: "A", host: "h:1", password: REFUSED_PASSWORD });
    await call("POST", "/admin/v1/email/smtp", `{"password": "${REFUSED_PASSWORD}", "host": 5}`);
    await call("PUT", `/admin/v1/email/smtp/${ids.plain}/password`, { password: REFUSED_PASSWORD }, "Bearer wrong");
  });
  after(async () => {
    if (server.child.exitCode === null) await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("never returns a password or client secret in any response", () => {
    const all = responses.join("\n");
    assertNoSecrets(all, "a response", responseSecrets());
  });

  it("returns the HTTP signing key on reads, as ZITADEL does", async () => {
    const res = await call("GET", `/admin/v1/email/${ids.http}`);
    assert.equal(res.body.config.http.signingKey, signingKey);
  });

  it("exits 0 on SIGTERM and logs that it stopped", async () => {
    assert.equal(await server.stop(), 0);
    logs = server.output();
    assert.match(logs, /shutting down/);
    assert.match(logs, /"msg":"stopped"/);
  });

  it("never writes a secret to its logs", () => {
    assert.match(logs, /mailroom ready/);
    assertNoSecrets(logs, "the logs of the first run", logSecrets());
  });

  it("stores no secret in plaintext in the database files, including the WAL", () => {
    const raw = dataFilesText(dataDir);
    assert.ok(raw.includes("smtp.office365.com"), "the database files hold the providers");
    assertNoSecrets(raw, "the database files", [
      ["SMTP password", PASSWORD],
      ["rotated SMTP password", NEW_PASSWORD],
      ["xoauth2 client secret", CLIENT_SECRET],
      ["HTTP signing key", signingKey],
      ["bootstrap token", TOKEN],
    ]);
  });

  it("keeps sealed secrets out of the event log payloads", async () => {
    await withCore(dataDir, async (core) => {
      const payloads = JSON.stringify((await core.store.listEvents(core.instance.id)).map((e) => e.payload));
      assertNoSecrets(payloads, "the event payloads", [
        ["SMTP password", PASSWORD],
        ["rotated SMTP password", NEW_PASSWORD],
        ["xoauth2 client secret", CLIENT_SECRET],
        ["HTTP signing key", signingKey],
      ]);
    });
  });

  it("keeps every provider, its state and its secrets across a restart", async () => {
    server = await startNode(env);
    api = { url: server.url, auth: `Bearer ${TOKEN}` };
    const listed = await call("POST", "/admin/v1/email/_search", { query: { asc: true } });
    assert.deepEqual(
      listed.body.result.map((p: { id: string; state: string }) => [p.id, p.state]),
      [
        [ids.plain, "EMAIL_PROVIDER_ACTIVE"],
        [ids.xoauth2, "EMAIL_PROVIDER_INACTIVE"],
        [ids.http, "EMAIL_PROVIDER_INACTIVE"],
      ],
    );
    assert.equal(listed.body.result[2].http.signingKey, signingKey);
    assertNoSecrets(listed.text, "the list response after the restart", responseSecrets());
    assert.equal(await server.stop(), 0);
    assertNoSecrets(server.output(), "the logs of the restarted process", logSecrets());
    await withCore(dataDir, async (core) => {
      const plain = await core.store.getProvider(core.instance.id, ids.plain!);
      const auth = plain?.config.kind === "smtp" ? plain.config.smtp.auth : undefined;
      assert.equal(auth?.kind === "plain" && auth.password && core.keyring.open(auth.password), NEW_PASSWORD);
      const xoauth2 = await core.store.getProvider(core.instance.id, ids.xoauth2!);
      const xauth = xoauth2?.config.kind === "smtp" ? xoauth2.config.smtp.auth : undefined;
      assert.equal(xauth?.kind === "xoauth2" && xauth.clientSecret && core.keyring.open(xauth.clientSecret), CLIENT_SECRET);
    });
  });

  it("re-encrypts every secret with `mailroom keys rotate` and still opens them", async () => {
    const before = readFileSync(keyFile, "utf8");
    const rotated = await runCli(["keys", "rotate"], env);
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.match(rotated.stdout, /re-encrypted \d+ secret value\(s\)/);
    assert.notEqual(readFileSync(keyFile, "utf8"), before);
    masterKeys.push(...masterKeysIn(keyFile, "rotated"));
    assertNoSecrets(`${rotated.stdout}\n${rotated.stderr}`, "the output of `mailroom keys rotate`", logSecrets());
    await withCore(dataDir, async (core) => {
      const plain = await core.store.getProvider(core.instance.id, ids.plain!);
      const auth = plain?.config.kind === "smtp" ? plain.config.smtp.auth : undefined;
      assert.equal(auth?.kind === "plain" && auth.password && core.keyring.keyIdOfSealed(auth.password), core.keyring.primaryKeyId);
      assert.equal(auth?.kind === "plain" && auth.password && core.keyring.open(auth.password), NEW_PASSWORD);
    });
    server = await startNode(env);
    api = { url: server.url, auth: `Bearer ${TOKEN}` };
    const http = await call("GET", `/admin/v1/email/${ids.http}`);
    assert.equal(http.body.config.http.signingKey, signingKey);
    assertNoSecrets(http.text, "the read after the rotation", responseSecrets());
    assert.equal(await server.stop(), 0);
    assertNoSecrets(server.output(), "the logs of the process started after the rotation", logSecrets());
  });
});

describe("the first start", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "mailroom-first-"));
  const env = { MAILROOM_DATA_DIR: dataDir, MAILROOM_LOG_LEVEL: "info" };
  let server: NodeProcess;
  let printed = "";
  before(async () => {
    server = await startNode(env);
    // The token is printed right before the ready line.
    printed = /mailroom admin token[^\n]*\n\n\s+(\S+)/.exec(server.output())?.[1] ?? "";
  });
  after(async () => {
    if (server.child.exitCode === null) await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("prints an IAM_OWNER token when MAILROOM_BOOTSTRAP_TOKEN is unset", async () => {
    assert.match(printed, /^mr_/);
    const res = await rest({ url: server.url, auth: `Bearer ${printed}` }, "POST", "/admin/v1/email/smtp", {
      senderAddress: "a@example.com",
      senderName: "A",
      host: "smtp.example.com:25",
    });
    assert.equal(res.status, 200, res.text);
  });

  it("creates a token of the given role with `mailroom token create`", async () => {
    const created = await runCli(["token", "create", "--role", "IAM_OWNER_VIEWER", "--description", "dashboards"], env);
    assert.equal(created.code, 0, created.stderr);
    const viewer = { url: server.url, auth: `Bearer ${created.stdout.trim()}` };
    assert.equal((await rest(viewer, "POST", "/admin/v1/email/_search", {})).status, 200);
    const write = await rest(viewer, "POST", "/admin/v1/email/http", { endpoint: "https://hooks.example.com/x" });
    assert.equal(write.status, 403, write.text);
  });

  it("refuses an unknown role in `mailroom token create`", async () => {
    const created = await runCli(["token", "create", "--role", "ROOT"], env);
    assert.notEqual(created.code, 0);
    assert.equal(created.stdout, "");
  });

  it("ends a token at once with `mailroom token revoke`", async () => {
    const created = await runCli(["token", "create", "--role", "IAM_OWNER"], env);
    const id = /token (\d+)/.exec(created.stderr)?.[1];
    const owner = { url: server.url, auth: `Bearer ${created.stdout.trim()}` };
    assert.equal((await rest(owner, "GET", "/admin/v1/smtp/1")).status, 404);
    const revoked = await runCli(["token", "revoke", id!], env);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.equal((await rest(owner, "GET", "/admin/v1/smtp/1")).status, 401);
  });

  it("does not print a token again on the next start", async () => {
    assert.equal(await server.stop(), 0);
    server = await startNode(env);
    assert.doesNotMatch(server.output(), /mailroom admin token/);
    assert.equal((await rest({ url: server.url, auth: `Bearer ${printed}` }, "POST", "/admin/v1/email/_search", {})).status, 200);
  });
});
