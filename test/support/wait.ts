/** Polls `fn` until it returns a truthy value; fails after `timeoutMs` naming what it waited for. */
export async function until<T>(what: string, fn: () => Promise<T | undefined | false | null> | T | undefined | false | null, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The mailroom message id inside a raw message's Message-ID header. */
export function messageIdOf(raw: string): string | undefined {
  return /^Message-ID:\s*<(\d+)@/im.exec(raw)?.[1];
}
