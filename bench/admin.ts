// Admin-API throughput over REST on SQLite and on PostgreSQL, in one run.
//
//   npm run bench:admin [-- --writes 400 --reads 2000 --clients 4]
//
// Each database gets a fresh mailroom child process (`mailroom serve`): SQLite in a new data dir,
// PostgreSQL in a new database that is dropped afterwards. Writes are AddEmailProviderSMTP and
// UpdateEmailProviderSMTP; reads are GetEmailProviderById and ListEmailProviders (first page of
// 20), each timed on its own with the same number of concurrent clients.
import { createBenchDatabase, startBenchNode, type BenchNode } from "./support/mailroom.js";
import { commandLine, fixed, intOptions, machineNote, printTable, quantile, rate, runConcurrently } from "./support/measure.js";
import { RetryCounter, type ApiClient } from "./support/http.js";

const options = intOptions({ writes: 400, reads: 2000, clients: 4 });

function providerBody(i: number, round: number) {
  return {
    senderAddress: `noreply${i}@example.com`,
    senderName: `Sender ${i} (${round})`,
    host: `smtp${i % 7}.example.com:587`,
    tls: true,
    user: `mailer${i}`,
    replyToAddress: "support@example.com",
    description: `provider ${i} round ${round}`,
  };
}

interface Figures {
  [operation: string]: { opsPerSecond: number; p50: number; p99: number; retried: number };
}

async function measure(node: BenchNode): Promise<Figures> {
  try {
    return await measureOn(node.api);
  } catch (err) {
    console.error(`mailroom's error log:\n${node.errorLog()}`);
    throw err;
  }
}

async function measureOn(api: ApiClient): Promise<Figures> {
  const figures: Figures = {};
  // A call answered with a 5xx is repeated (as a client would) and counted, so a run reports
  // failures instead of stopping at the first one. A retried call's latency includes its retries.
  const timed = async (name: string, count: number, op: (i: number) => Promise<unknown>) => {
    const retries = new RetryCounter();
    const run = await runConcurrently(count, options.clients, (i) => retries.run(() => op(i)));
    figures[name] = {
      opsPerSecond: rate(count, run.elapsedMs),
      p50: quantile(run.latencies, 0.5),
      p99: quantile(run.latencies, 0.99),
      retried: retries.count,
    };
  };
  // Warm-up: connections, JIT, statement caches.
  await runConcurrently(50, options.clients, (i) => api.call("POST", "/admin/v1/email/smtp", { ...providerBody(i, 0), plain: { password: "secret" } }));
  const ids: string[] = [];
  await timed("AddEmailProviderSMTP", options.writes, async (i) => {
    const { id } = await api.call<{ id: string }>("POST", "/admin/v1/email/smtp", { ...providerBody(i, 1), plain: { password: `secret-${i}` } });
    ids[i] = id;
  });
  await timed("UpdateEmailProviderSMTP", options.writes, (i) => api.call("PUT", `/admin/v1/email/smtp/${ids[i]}`, providerBody(i, 2)));
  await timed("GetEmailProviderById", options.reads, (i) => api.call("GET", `/admin/v1/email/${ids[i % ids.length]}`));
  await timed("ListEmailProviders", options.reads, () => api.call("POST", "/admin/v1/email/_search", { query: { limit: 20 } }));
  return figures;
}

async function onSqlite(): Promise<Figures> {
  const node = await startBenchNode({ clients: options.clients });
  try {
    return await measure(node);
  } finally {
    await node.stop();
  }
}

async function onPostgres(): Promise<Figures> {
  const database = await createBenchDatabase();
  try {
    const node = await startBenchNode({ databaseUrl: database.url, clients: options.clients });
    try {
      return await measure(node);
    } finally {
      await node.stop();
    }
  } finally {
    await database.drop();
  }
}

const machine = await machineNote();
const sqlite = await onSqlite();
const postgres = await onPostgres();
console.log(`\n${commandLine("bench:admin")}`);
console.log(`${options.writes} writes and ${options.reads} reads per operation, ${options.clients} REST clients, Node ${process.version}, ${machine}\n`);
printTable(
  ["operation", "SQLite ops/s", "p50 ms", "p99 ms", "PostgreSQL ops/s", "p50 ms", "p99 ms", "PostgreSQL/SQLite"],
  Object.keys(sqlite).map((name) => {
    const s = sqlite[name]!;
    const p = postgres[name]!;
    return [name, fixed(s.opsPerSecond), fixed(s.p50, 2), fixed(s.p99, 2), fixed(p.opsPerSecond), fixed(p.p50, 2), fixed(p.p99, 2), fixed(p.opsPerSecond / s.opsPerSecond, 2)];
  }),
);
for (const [database, figures] of [["SQLite", sqlite], ["PostgreSQL", postgres]] as const) {
  for (const [name, f] of Object.entries(figures)) {
    if (f.retried) console.log(`${database}: ${f.retried} ${name} call(s) answered with a 5xx and repeated`);
  }
}
