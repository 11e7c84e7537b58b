import { readFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { parseArgs } from "node:util";

/** The q-quantile (0..1) of already sorted values, nearest rank. */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/**
 * Runs `total` operations with `concurrency` workers pulling from one counter; returns each
 * operation's latency in ms (sorted) and the wall time of the whole run.
 */
export async function runConcurrently(total: number, concurrency: number, op: (i: number) => Promise<unknown>) {
  const latencies: number[] = new Array(total);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, total) }, async () => {
      for (let i = next++; i < total; i = next++) {
        const t = performance.now();
        await op(i);
        latencies[i] = performance.now() - t;
      }
    }),
  );
  const elapsedMs = performance.now() - started;
  return { latencies: latencies.sort((a, b) => a - b), elapsedMs, started };
}

export const rate = (count: number, ms: number) => (count * 1000) / ms;

/** Prints rows as an aligned table. */
export function printTable(header: string[], rows: (string | number)[][]): void {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  console.log(line(cells[0]!));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of cells.slice(1)) console.log(line(r));
}

export const fixed = (n: number, digits = 0) => n.toFixed(digits);

/** Integer options given as `--name N`, with defaults. */
export function intOptions<T extends Record<string, number>>(defaults: T): T {
  const { values } = parseArgs({
    options: Object.fromEntries(Object.keys(defaults).map((k) => [k, { type: "string" as const }])),
    strict: true,
  });
  const out: Record<string, number> = { ...defaults };
  for (const [k, v] of Object.entries(values)) {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${k} must be a positive integer (got "${v}")`);
    out[k] = n;
  }
  return out as T;
}

/** The command line that reproduces this run, for the report. */
export function commandLine(script: string): string {
  const args = process.argv.slice(2);
  return `npm run ${script}${args.length ? ` -- ${args.join(" ")}` : ""}`;
}

/** CPU time (user + system) a process has used so far in ms, from /proc; undefined elsewhere. */
export function cpuMsOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** Linux's USER_HZ; 100 on every mainstream architecture. */
const CLOCK_TICKS = 100;

function cpuTimes(): { idle: number; total: number } | undefined {
  try {
    const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    return { idle: fields[3]! + (fields[4] ?? 0), total: fields.reduce((a, b) => a + b, 0) };
  } catch {
    return undefined;
  }
}

/**
 * The machine before the run: cores, and how busy they were over the last second (from /proc/stat;
 * the load average would still count the previous benchmark). Other work makes figures lower.
 */
export async function machineNote(): Promise<string> {
  const cores = availableParallelism();
  const before = cpuTimes();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const after = cpuTimes();
  if (!before || !after) return `${cores} cores, load average ${loadavg()[0]!.toFixed(2)} at start`;
  const busy = 1 - (after.idle - before.idle) / (after.total - before.total);
  const note = busy > 0.1 ? " (other work was running: figures are lower and noisier)" : "";
  return `${cores} cores, ${Math.round(busy * 100)}% busy in the second before the run${note}`;
}
