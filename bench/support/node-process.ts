import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../../bin/mailroom.js", import.meta.url));

/**
 * Extra node flags for the mailroom children, e.g. MAILROOM_BENCH_NODE_ARGS="--cpu-prof
 * --cpu-prof-dir=/tmp/prof" to profile them (NODE_OPTIONS refuses --cpu-prof).
 */
const NODE_ARGS = (process.env.MAILROOM_BENCH_NODE_ARGS ?? "").split(/\s+/).filter(Boolean);

export interface NodeProcess {
  url: string;
  child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<number | string>;
}

/** Runs `mailroom serve` in a child process and waits for its ready line (logged at info). */
export async function startNode(env: Record<string, string>, timeoutMs = 30_000): Promise<NodeProcess> {
  const child = spawn(process.execPath, [...NODE_ARGS, BIN, "serve"], {
    env: { ...process.env, MAILROOM_LISTEN: "127.0.0.1:0", MAILROOM_WEBHOOK_DENY_LIST: "none", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | string>((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal ?? -1)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`no ready line within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    child.stdout!.on("data", () => {
      const match = /mailroom ready on (http:\/\/\S+?)"/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`mailroom exited (${code}) before it was ready:\n${output}`));
    });
  });
  return {
    url,
    child,
    output: () => output,
    async kill(signal = "SIGTERM") {
      child.kill(signal);
      return exited;
    },
  };
}
