// Regenerates src/gen from proto/ offline: third-party protos come from an npm package, the
// compiler and the plugin from node_modules.
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);
const googleProtos = join(dirname(require.resolve("google-proto-files/package.json")), "google");
const deps = ".proto-deps/google/api";

rmSync(".proto-deps", { recursive: true, force: true });
mkdirSync(deps, { recursive: true });
for (const file of ["annotations.proto", "http.proto"]) {
  cpSync(join(googleProtos, "api", file), join(deps, file));
}
rmSync("src/gen", { recursive: true, force: true });
execFileSync("buf", ["generate"], { stdio: "inherit" });
