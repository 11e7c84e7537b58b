import { Agent, request } from "node:http";

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** Counts the calls that had to be repeated because the server answered 5xx. */
export class RetryCounter {
  count = 0;

  /** Runs `call`, repeating it up to twice more after a 5xx answer. */
  async run<T>(call: (attempt: number) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await call(attempt);
      } catch (err) {
        if (attempt >= 2 || !(err instanceof ApiError) || err.status < 500) throw err;
        this.count += 1;
      }
    }
  }
}

/** A keep-alive JSON client for one mailroom node, as an application would hold one. */
export class ApiClient {
  private readonly agent: Agent;

  constructor(
    readonly url: string,
    private readonly token: string,
    maxSockets = 8,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets });
  }

  call<T = any>(method: string, path: string, body?: unknown): Promise<T> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise<T>((resolve, reject) => {
      const req = request(
        this.url + path,
        {
          method,
          agent: this.agent,
          headers: {
            authorization: `Bearer ${this.token}`,
            ...(payload ? { "content-type": "application/json", "content-length": payload.length } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            if (res.statusCode !== 200) return reject(new ApiError(`${method} ${path}: ${res.statusCode} ${text}`, res.statusCode ?? 0));
            resolve(text ? JSON.parse(text) : undefined);
          });
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
