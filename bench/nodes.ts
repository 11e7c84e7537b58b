// Delivery throughput with one mailroom node and with three nodes on one PostgreSQL database.
//
//   npm run bench:nodes [-- --messages 2000 --clients 6]
//
// Each configuration gets a fresh PostgreSQL database (dropped afterwards) and fresh
// `mailroom serve` child processes sharing MAILROOM_DATABASE_URL and MAILROOM_MASTER_KEY, each on
// its own port. The clients submit round-robin through every node; the rate is end to end, from
// the first submission to the last message received by the SMTP sink (its own child process).
import { randomBytes } from "node:crypto";
import { activateSinkProvider, createBenchDatabase, notification, startBenchNode, type BenchNode } from "./support/mailroom.js";
import { commandLine, cpuMsOf, fixed, intOptions, machineNote, printTable, quantile, rate, runConcurrently } from "./support/measure.js";
import { RetryCounter } from "./support/http.js";
import { startSmtpSink, type SmtpSink } from "./support/sink.js";

const options = intOptions({ messages: 2000, clients: 6, warmup: 200 });

async function deliverWith(nodeCount: number, sink: SmtpSink) {
  const database = await createBenchDatabase();
  const masterKey = randomBytes(32).toString("base64");
  const nodes: BenchNode[] = [];
  try {
    for (let i = 0; i < nodeCount; i++) nodes.push(await startBenchNode({ databaseUrl: database.url, masterKey, clients: options.clients }));
    await activateSinkProvider(nodes[0]!.api, sink.host);
    const retries = new RetryCounter();
    // Like an application would: an idempotency key per message, and a failed submission is
    // retried (through the next node). Retries are counted and reported, not hidden.
    const send = (i: number) => {
      const body = { ...notification(i), idempotencyKey: `bench-${i}` };
      return retries.run((attempt) => nodes[(i + attempt) % nodes.length]!.api.call("POST", "/v1/messages", body));
    };
    await sink.reset();
    await runConcurrently(options.warmup, options.clients, send);
    await sink.waitFor(options.warmup);
    await sink.reset();
    const pids = nodes.map((n) => n.process.child.pid);
    const cpuBefore = pids.map(cpuMsOf);
    const submitted = await runConcurrently(options.messages, options.clients, (i) => send(options.warmup + i));
    const received = await sink.waitFor(options.messages);
    const cpuAfter = pids.map(cpuMsOf);
    const cpuMs = cpuAfter.every((c, i) => c !== undefined && cpuBefore[i] !== undefined)
      ? cpuAfter.reduce((sum, c, i) => sum! + c! - cpuBefore[i]!, 0)! / options.messages
      : undefined;
    return {
      retried: retries.count,
      cpuMs,
      rate: rate(options.messages, received - submitted.started),
      acceptRate: rate(options.messages, submitted.elapsedMs),
      p50: quantile(submitted.latencies, 0.5),
      p99: quantile(submitted.latencies, 0.99),
    };
  } catch (err) {
    for (const node of nodes) console.error(`error log of the node on ${node.process.url}:\n${node.errorLog()}`);
    throw err;
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    await database.drop();
  }
}

const machine = await machineNote();
const sink = await startSmtpSink();
try {
  const one = await deliverWith(1, sink);
  const three = await deliverWith(3, sink);
  console.log(`\n${commandLine("bench:nodes")}`);
  console.log(
    `${options.messages} messages (after ${options.warmup} warm-up), ${options.clients} API clients round-robin over the nodes, ` +
      `PostgreSQL, Node ${process.version}, ${machine}\n`,
  );
  printTable(
    ["nodes", "msgs/s end to end", "accept msgs/s", "accept p50 ms", "accept p99 ms", "mailroom CPU ms/msg (all nodes)"],
    [one, three].map((r, i) => [
      String(i === 0 ? 1 : 3),
      fixed(r.rate),
      fixed(r.acceptRate),
      fixed(r.p50, 2),
      fixed(r.p99, 2),
      r.cpuMs === undefined ? "-" : fixed(r.cpuMs, 2),
    ]),
  );
  console.log(`\nratio 3 nodes / 1 node: ${fixed(three.rate / one.rate, 2)}`);
  const retried = one.retried + three.retried;
  if (retried) console.log(`submissions answered with a 5xx and retried: ${one.retried} (1 node), ${three.retried} (3 nodes)`);
} finally {
  await sink.close();
}
