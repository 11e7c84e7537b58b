// Runs the test suite on the embedded SQLite, then again on PostgreSQL. Without PostgreSQL the
// second run is skipped with one line saying how to run it, except in CI (CI=true), where that
// is a failure.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";

const adminUrl = process.env.MAILROOM_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

function testFiles(dir) {
  return readdirSync(dir)
    .flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? testFiles(path) : path.endsWith(".test.ts") ? [path] : [];
    })
    .sort();
}

function run(label, env, files) {
  console.log(`\n# ${label}`);
  const result = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-concurrency=2", ...files], {
    stdio: "inherit",
    env: { ...process.env, ...env },
  });
  return result.status ?? 1;
}

async function postgresReachable() {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

// test/cluster/ runs several nodes on one database: PostgreSQL only.
const all = testFiles("test");
const singleNode = all.filter((f) => !f.startsWith(join("test", "cluster")));
let status = run("suite on SQLite", { MAILROOM_TEST_DATABASE: "sqlite" }, singleNode);
if (await postgresReachable()) {
  status = run("suite on PostgreSQL", { MAILROOM_TEST_DATABASE: "postgres" }, all) || status;
} else if (process.env.CI) {
  console.error(`\n# PostgreSQL is required in CI but ${new URL(adminUrl).host} cannot be reached`);
  status = 1;
} else {
  console.log(`\n# PostgreSQL suite skipped: nothing answers at ${new URL(adminUrl).host}; start PostgreSQL (or set MAILROOM_TEST_POSTGRES_URL) and run npm test again`);
}
process.exit(status);
