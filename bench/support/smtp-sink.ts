// A fast SMTP sink in its own process: plain SMTP on loopback, no auth, reads and discards each
// message and counts it. Started by sink.ts; talks to the benchmark over IPC.
import { SMTPServer } from "smtp-server";
import type { AddressInfo } from "node:net";

let received = 0;
let waiting: { count: number } | undefined;

function settle(): void {
  if (waiting && received >= waiting.count) {
    waiting = undefined;
    process.send!({ reached: received });
  }
}

const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ["AUTH", "STARTTLS"],
  hideSTARTTLS: true,
  logger: false,
  closeTimeout: 50,
  size: 10 * 1024 * 1024,
  onData(stream, _session, callback) {
    stream.on("data", () => undefined);
    stream.on("end", () => {
      received += 1;
      callback();
      settle();
    });
  },
});
server.on("error", () => undefined);

process.on("message", (msg: { waitFor?: number; reset?: boolean; close?: boolean }) => {
  if (msg.reset) {
    received = 0;
    process.send!({ reset: true });
  }
  if (msg.waitFor !== undefined) {
    waiting = { count: msg.waitFor };
    settle();
  }
  if (msg.close) server.close(() => process.exit(0));
});

server.listen(0, "127.0.0.1", () => {
  const { port } = (server as unknown as { server: { address(): AddressInfo } }).server.address();
  process.send!({ port });
});
