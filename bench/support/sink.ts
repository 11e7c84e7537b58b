import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const ENTRY = fileURLToPath(new URL("./smtp-sink.ts", import.meta.url));

/** The SMTP sink running in a child process, so neither sender shares its event loop with it. */
export interface SmtpSink {
  host: string;
  port: number;
  pid: number | undefined;
  /** Starts counting from zero. */
  reset(): Promise<void>;
  /** Resolves (with the time it learned of it) once `count` messages arrived since the last reset. */
  waitFor(count: number): Promise<number>;
  close(): Promise<void>;
}

export async function startSmtpSink(): Promise<SmtpSink> {
  const child: ChildProcess = fork(ENTRY, [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const next = <T>(pick: (msg: any) => T | undefined) =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (msg: unknown) => {
        const value = pick(msg);
        if (value === undefined) return;
        child.off("message", onMessage);
        child.off("exit", onExit);
        resolve(value);
      };
      const onExit = (code: number | null) => reject(new Error(`the SMTP sink exited (${code})`));
      child.on("message", onMessage);
      child.once("exit", onExit);
    });
  const port = await next((m) => m.port as number | undefined);
  return {
    host: `127.0.0.1:${port}`,
    port,
    pid: child.pid,
    async reset() {
      const done = next((m) => (m.reset ? true : undefined));
      child.send({ reset: true });
      await done;
    },
    async waitFor(count) {
      const done = next((m) => m.reached as number | undefined);
      child.send({ waitFor: count });
      await done;
      return performance.now();
    },
    async close() {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.send({ close: true });
      await exited;
    },
  };
}
