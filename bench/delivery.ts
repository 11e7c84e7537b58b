// End-to-end delivery throughput: messages accepted by mailroom's send API and received by a
// local SMTP server, against the same messages through a bare pooled nodemailer transport.
//
//   npm run bench:delivery [-- --messages 5000 --clients 32 --warmup 500]
//
// 32 API clients submit concurrently, as an application's worker pool would; the bare transport
// likewise gets every sendMail call at once and queues them on its pool.
//
// mailroom runs as a child process (`mailroom serve`, SQLite in a fresh data dir); the SMTP sink
// runs in a second child process that both senders share, so neither sender's event loop also
// has to receive the mail. The bare transport runs after mailroom has stopped.
import nodemailer from "nodemailer";
import { DEFAULT_POOL_CONNECTIONS, POOL_MESSAGES_PER_CONNECTION, mailOf } from "../src/delivery/smtp-channel.js";
import type { SmtpSettings } from "../src/domain/provider.js";
import { activateSinkProvider, notification, startBenchNode, type BenchNode } from "./support/mailroom.js";
import { commandLine, cpuMsOf, fixed, intOptions, machineNote, printTable, quantile, rate, runConcurrently } from "./support/measure.js";
import { startSmtpSink, type SmtpSink } from "./support/sink.js";

const options = intOptions({ messages: 5000, clients: 32, warmup: 500 });

/** CPU ms per measured message each process used from now until the returned function is called. */
function cpuMeter(pids: (number | undefined)[]): () => (number | undefined)[] {
  const before = pids.map(cpuMsOf);
  return () => pids.map((pid, i) => {
    const after = cpuMsOf(pid);
    return after === undefined || before[i] === undefined ? undefined : (after - before[i]!) / options.messages;
  });
}

async function untilSent(node: BenchNode, expected: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const sent = await node.api.call<{ totalResult: string }>("GET", "/v1/messages?state=sent&limit=1");
    if (Number(sent.totalResult) === expected) return;
    if (Date.now() > deadline) throw new Error(`mailroom reports ${sent.totalResult} messages sent, expected ${expected}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function throughMailroom(sink: SmtpSink) {
  const node = await startBenchNode({ clients: options.clients });
  try {
    await activateSinkProvider(node.api, sink.host);
    const send = (i: number) => node.api.call("POST", "/v1/messages", notification(i));
    await sink.reset();
    await runConcurrently(options.warmup, options.clients, send);
    await sink.waitFor(options.warmup);
    await sink.reset();

    const cpu = cpuMeter([node.process.child.pid, sink.pid]);
    const submitted = await runConcurrently(options.messages, options.clients, (i) => send(options.warmup + i));
    const received = await sink.waitFor(options.messages);
    const [mailroomCpu, sinkCpu] = cpu();
    // The sink has each message before mailroom records its attempt; wait for the records.
    await untilSent(node, options.warmup + options.messages);
    return {
      elapsedMs: received - submitted.started,
      acceptMs: submitted.elapsedMs,
      p50: quantile(submitted.latencies, 0.5),
      p99: quantile(submitted.latencies, 0.99),
      cpu: { sender: mailroomCpu, sink: sinkCpu },
    };
  } finally {
    await node.stop();
  }
}

async function throughBareTransport(sink: SmtpSink) {
  const transport = nodemailer.createTransport({
    pool: true,
    host: "127.0.0.1",
    port: sink.port,
    secure: false,
    ignoreTLS: true,
    maxConnections: DEFAULT_POOL_CONNECTIONS,
    maxMessages: POOL_MESSAGES_PER_CONNECTION,
  });
  const smtp: SmtpSettings = {
    host: sink.host,
    senderAddress: "noreply@example.com",
    senderName: "Mailroom Bench",
    replyToAddress: "",
    user: "",
    tls: "none",
    verifyCertificates: true,
    auth: { kind: "none" },
  };
  // The same composition mailroom's SMTP channel uses, so both send identical MIME.
  const send = (i: number) =>
    transport.sendMail(
      mailOf(smtp, { id: String(i), headerMessageId: `<bench-${i}@mailroom.bench>`, cc: [], bcc: [], acceptedAt: new Date(), ...notification(i) }),
    );
  try {
    await sink.reset();
    await Promise.all(Array.from({ length: options.warmup }, (_, i) => send(i)));
    await sink.reset();
    const cpu = cpuMeter([process.pid, sink.pid]);
    const started = performance.now();
    await Promise.all(Array.from({ length: options.messages }, (_, i) => send(options.warmup + i)));
    const received = await sink.waitFor(options.messages);
    const [senderCpu, sinkCpu] = cpu();
    return { elapsedMs: received - started, cpu: { sender: senderCpu, sink: sinkCpu } };
  } finally {
    transport.close();
  }
}

const machine = await machineNote();
const sink = await startSmtpSink();
try {
  const mailroom = await throughMailroom(sink);
  const bare = await throughBareTransport(sink);
  const mailroomRate = rate(options.messages, mailroom.elapsedMs);
  const bareRate = rate(options.messages, bare.elapsedMs);
  console.log(`\n${commandLine("bench:delivery")}`);
  console.log(
    `${options.messages} messages (after ${options.warmup} warm-up), ${options.clients} API clients, ` +
      `${DEFAULT_POOL_CONNECTIONS} SMTP connections, Node ${process.version}, ${machine}\n`,
  );
  const cpuCell = (ms: number | undefined) => (ms === undefined ? "-" : fixed(ms, 2));
  printTable(
    ["path", "msgs/s", "seconds", "accept p50 ms", "accept p99 ms", "sender CPU ms/msg", "sink CPU ms/msg"],
    [
      [
        "mailroom (API -> outbox -> SMTP)",
        fixed(mailroomRate),
        fixed(mailroom.elapsedMs / 1000, 2),
        fixed(mailroom.p50, 2),
        fixed(mailroom.p99, 2),
        cpuCell(mailroom.cpu.sender),
        cpuCell(mailroom.cpu.sink),
      ],
      ["bare pooled nodemailer", fixed(bareRate), fixed(bare.elapsedMs / 1000, 2), "-", "-", cpuCell(bare.cpu.sender), cpuCell(bare.cpu.sink)],
    ],
  );
  console.log(`\nratio mailroom / bare: ${fixed(mailroomRate / bareRate, 2)}`);
  console.log(`API accept rate alone: ${fixed(rate(options.messages, mailroom.acceptMs))} msgs/s`);
} finally {
  await sink.close();
}
