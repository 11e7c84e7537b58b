import { randomBytes } from "node:crypto";
import { Command, Option } from "commander";
import { openCore, startApp, type Core } from "./app.js";
import { isRole, rolePermissions } from "./auth/tokens.js";
import { ConfigError, environmentHelp, readConfig } from "./config.js";
import { createLogger } from "./logger.js";
import { rotateMasterKey } from "./secrets/rotate.js";

async function withCore<T>(fn: (core: Core) => Promise<T>): Promise<T> {
  const config = readConfig();
  const core = await openCore(config, createLogger(config.logLevel));
  try {
    return await fn(core);
  } finally {
    await core.store.close();
  }
}

async function serve(): Promise<void> {
  const config = readConfig();
  const logger = createLogger(config.logLevel);
  const core = await openCore(config, logger);
  const app = await startApp(core);
  if (app.bootstrapToken) {
    process.stdout.write(
      `\nmailroom admin token (IAM_OWNER of the default instance, shown only this once):\n\n  ${app.bootstrapToken}\n\n` +
        `try: curl -s -X POST ${app.url}/admin/v1/email/_search -H "Authorization: Bearer <token>" -d '{}'\n\n`,
    );
  }
  logger.info({ url: app.url, instance: core.instance.id, store: core.store.dialect }, `mailroom ready on ${app.url}`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down: finishing in-flight requests");
    void (async () => {
      await app.close();
      await core.store.close();
      logger.info("stopped");
      process.exit(0);
    })();
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

export function buildCli(): Command {
  const program = new Command("mailroom").description("Outgoing email: providers, secrets and durable delivery.");
  program
    .command("serve")
    .description("serve the admin and send APIs (gRPC, gRPC-Web, Connect, REST) on one port")
    .addHelpText("after", `\n${environmentHelp}`)
    .action(serve);

  const token = program.command("token").description("manage API tokens of the default instance");
  token
    .command("create")
    .description("create a token and print it (only its hash is stored)")
    .addOption(new Option("--role <role>", "role of the token").choices(Object.keys(rolePermissions)).makeOptionMandatory())
    .option("--description <text>", "what the token is for", "")
    .action(async (opts: { role: string; description: string }) => {
      if (!isRole(opts.role)) throw new ConfigError(`unknown role ${opts.role}`);
      const role = opts.role;
      await withCore(async (core) => {
        const { id, token: value } = await core.tokens.create(core.instance.id, role, opts.description);
        process.stderr.write(`created ${role} token ${id}\n`);
        process.stdout.write(`${value}\n`);
      });
    });
  token
    .command("revoke <id>")
    .description("end a token at once")
    .action(async (id: string) => {
      await withCore(async (core) => {
        if (!(await core.store.revokeToken(id))) throw new ConfigError(`no active token with id ${id}`);
        process.stdout.write(`revoked token ${id}\n`);
      });
    });
  token
    .command("list")
    .description("list the tokens of the default instance (never their values)")
    .action(async () => {
      await withCore(async (core) => {
        for (const t of await core.store.listTokens(core.instance.id)) {
          const state = t.revokedAt ? `revoked ${t.revokedAt.toISOString()}` : "active";
          process.stdout.write(`${t.id}\t${t.role}\t${state}\t${t.createdAt.toISOString()}\t${t.description}\n`);
        }
      });
    });

  program
    .command("keys")
    .description("manage the master key")
    .command("rotate")
    .description("re-encrypt every stored secret under a new master key")
    .option("--new-key-file <path>", "file holding the new key (base64 of 32 bytes); default: generate one")
    .action(async (opts: { newKeyFile?: string }) => {
      await withCore(async (core) => {
        const result = await rotateMasterKey(core, opts.newKeyFile, randomBytes(32));
        process.stdout.write(`${result}\n`);
      });
    });
  return program;
}

export async function runCli(argv: string[]): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
  } catch (err) {
    process.stderr.write(`mailroom: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(err instanceof ConfigError ? 2 : 1);
  }
}
