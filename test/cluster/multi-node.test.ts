import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { rest } from "../support/app.js";
import { activate, addRelay } from "../support/fixtures.js";
import { send } from "../support/messages.js";
import { startNode, type NodeProcess } from "../support/node-process.js";
import { createTestDatabase, type TestDatabase } from "../support/postgres.js";
import { startSmtpServer, type TestSmtpServer } from "../support/smtp-servers.js";
import { messageIdOf, until } from "../support/wait.js";

// Several mailroom processes on one PostgreSQL database. This file runs only in the PostgreSQL
// pass of `npm test` (scripts/test.mjs).

const TOKEN = "cluster-test-token-0123456789";
const AUTH = `Bearer ${TOKEN}`;
const CONCURRENCY = 16;

const ehloNameOf = (index: number) => `node-${index}.cluster.test`;

interface Cluster {
  nodes: NodeProcess[];
  database: TestDatabase;
  dataDirs: string[];
  stop(): Promise<void>;
}

async function startCluster(count: number, extraEnv: Record<string, string> = {}): Promise<Cluster> {
  const database = await createTestDatabase();
  const masterKey = randomBytes(32).toString("base64");
  const dataDirs = Array.from({ length: count }, () => mkdtempSync(join(tmpdir(), "mailroom-node-")));
  const env = (dir: string, index: number) => ({
    MAILROOM_DATA_DIR: dir,
    // The SMTP server sees which node delivered each message.
    MAILROOM_EHLO_NAME: ehloNameOf(index),
    MAILROOM_DATABASE_URL: database.url,
    MAILROOM_MASTER_KEY: masterKey,
    MAILROOM_BOOTSTRAP_TOKEN: TOKEN,
    MAILROOM_DELIVERY_CONCURRENCY: String(CONCURRENCY),
    MAILROOM_DELIVERY_LEASE_MS: "6000",
    MAILROOM_LOG_LEVEL: "info",
    ...extraEnv,
  });
  const nodes = await Promise.all(dataDirs.map((dir, index) => startNode(env(dir, index))));
  return {
    nodes,
    database,
    dataDirs,
    async stop() {
      await Promise.all(nodes.map((n) => (n.child.exitCode === null && n.child.signalCode === null ? n.kill("SIGTERM") : n.exited)));
      await database.drop();
      for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
    },
  };
}

const api = (node: NodeProcess) => ({ url: node.url, auth: AUTH });

const nodeIdPrefix = (node: NodeProcess) => `${hostname()}-${node.child.pid}-`;

describe("three nodes on one PostgreSQL database", () => {
  let smtp: TestSmtpServer;
  before(async () => {
    smtp = await startSmtpServer({ tls: "plain" });
  });
  after(() => smtp.close());

  it("delivers 10,000 messages with one node killed mid-run: none lost, duplicates only from the killed node's flight", async () => {
    const cluster = await startCluster(3);
    try {
      const [a, b, c] = cluster.nodes as [NodeProcess, NodeProcess, NodeProcess];
      await activate(api(a), await addRelay(api(a), smtp.host, { senderName: "Cluster" }));
      const total = 10_000;
      const accepted: string[] = [];
      let killedAt: number | undefined;
      let killing = false;
      let next = 0;
      const killAfter = 3000;
      const submitter = async (worker: number) => {
        for (let i = next++; i < total; i = next++) {
          for (let tries = 0; ; tries++) {
            const live = killing ? [a, c] : [a, b, c];
            const node = live[(i + worker + tries) % live.length]!;
            const res = await rest(api(node), "POST", "/v1/messages", { to: [`user${i}@example.com`], subject: `m${i}`, text: "x" }).catch(() => undefined);
            if (res?.status === 200) {
              accepted.push(res.body.messageId);
              break;
            }
            // Only node b's death makes a submission fail; send it again through a live node.
            assert.ok(tries < 5, `submission ${i} kept failing: ${res?.text}`);
          }
          if (i === killAfter) {
            await until("deliveries under way before the kill", () => smtp.received.length > 1000 || undefined, 60_000);
            killing = true;
            assert.equal(await b.kill("SIGKILL"), "SIGKILL");
            killedAt = smtp.received.length;
          }
        }
      };
      await Promise.all(Array.from({ length: 24 }, (_, w) => submitter(w)));
      assert.ok(killedAt !== undefined, "node b was killed mid-run");

      const pending = new Set(accepted);
      let seen = 0;
      await until(
        "every accepted message to arrive",
        () => {
          for (; seen < smtp.received.length; seen++) pending.delete(messageIdOf(smtp.received[seen]!.raw) ?? "");
          return pending.size === 0 || undefined;
        },
        180_000,
      );
      // Who delivered each message, in arrival order.
      const deliveries = new Map<string, string[]>();
      for (const mail of smtp.received) {
        const id = messageIdOf(mail.raw)!;
        deliveries.set(id, [...(deliveries.get(id) ?? []), mail.ehloName]);
      }
      const duplicates = [...deliveries].filter(([, by]) => by.length > 1);
      const lostLeases = [a, c].map((n) => n.output().split("lost the lease").length - 1);
      console.log(`# ${accepted.length} messages accepted by 3 nodes, node b killed after ${killedAt} deliveries: ${duplicates.length} duplicate(s), 0 lost; leases lost by live nodes: ${lostLeases}`);
      assert.ok(accepted.length >= total, `all ${total} submissions were accepted`);
      assert.ok(duplicates.length <= CONCURRENCY, `duplicates (${duplicates.length}) are at most node b's messages in flight (${CONCURRENCY})`);
      // A duplicate is a message node b sent but died before recording, sent once more by a live node.
      const killed = ehloNameOf(1);
      for (const [id, by] of duplicates) {
        if (by.length === 2 && by[0] === killed && by[1] !== killed) continue;
        const got = await rest(api(a), "GET", `/v1/messages/${id}`);
        assert.fail(`message ${id} was delivered by ${by.join(", ")}, not once by the killed node and once more by a live one; attempts: ${JSON.stringify(got.body.message?.attempts)}`);
      }
    } finally {
      await cluster.stop();
    }
  });

  it("uses a password rotated through node A for node B's next message", async () => {
    const accepted = new Set(["old-password"]);
    const guarded = await startSmtpServer({
      tls: "plain",
      authMethods: ["PLAIN"],
      accept: (_m, user, secret) => user === "mailer" && accepted.has(secret ?? ""),
    });
    const cluster = await startCluster(2);
    try {
      const [a, b] = cluster.nodes as [NodeProcess, NodeProcess];
      const provider = await addRelay(api(a), guarded.host, { senderName: "Cluster", user: "mailer", plain: { password: "old-password" } });
      await activate(api(a), provider);
      accepted.add("new-password");
      const rotated = await rest(api(a), "PUT", `/admin/v1/email/smtp/${provider}/password`, { password: "new-password" });
      assert.equal(rotated.status, 200, rotated.text);
      const ids: string[] = [];
      for (let i = 0; i < 40; i++) {
        ids.push(await send(api(b), { to: ["ann@example.com"], subject: `after ${i}`, text: "x" }));
      }
      await until("all 40 to arrive", () => guarded.received.length >= 40 || undefined, 60_000);
      const secretOf = new Map(guarded.received.map((m) => [messageIdOf(m.raw), m.secret]));
      for (const id of ids) assert.equal(secretOf.get(id), "new-password", `message ${id} used the rotated password`);
      let sentByB = 0;
      for (const id of ids) {
        const got = await rest(api(b), "GET", `/v1/messages/${id}`);
        if (got.body.message.attempts.some((t: { nodeId: string }) => t.nodeId.startsWith(nodeIdPrefix(b)))) sentByB += 1;
      }
      assert.ok(sentByB > 0, "node B delivered some of them itself");
    } finally {
      await cluster.stop();
      await guarded.close();
    }
  });

  it("leaves exactly one provider active after concurrent activations through different nodes", async () => {
    const cluster = await startCluster(3);
    try {
      const nodes = cluster.nodes;
      const ids: string[] = [];
      for (let i = 0; i < 9; i++) ids.push(await addRelay(api(nodes[i % 3]!), `smtp${i}.example.com:25`, { senderName: "Cluster" }));
      for (let round = 0; round < 3; round++) {
        const results = await Promise.all(ids.map((id, i) => rest(api(nodes[i % 3]!), "POST", `/admin/v1/email/${id}/_activate`, {})));
        for (const r of results) assert.ok(r.status === 200 || r.status === 400, r.text);
        const listed = await rest(api(nodes[round]!), "POST", "/admin/v1/email/_search", {});
        const active = listed.body.result.filter((p: { state: string }) => p.state === "EMAIL_PROVIDER_ACTIVE");
        assert.equal(active.length, 1);
      }
    } finally {
      await cluster.stop();
    }
  });
});
