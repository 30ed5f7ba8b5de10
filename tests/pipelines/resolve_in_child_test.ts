/**
 * The validating child's command line (`pipelines/resolve_in_child.ts`): the same `deno run`
 * flags and main module with the argument `run`, or the compiled binary itself; none when the
 * command line is unknown or not a `deno run` of a script.
 */
import assert from "node:assert/strict";
import { childCommand } from "../../pipelines/resolve_in_child.ts";

const DENO = "/usr/bin/deno";

Deno.test("under deno run the child keeps the runtime flags and the main module, and runs `run`", () => {
  const command = childCommand({
    standalone: false,
    cmdline: [
      "deno",
      "run",
      "-A",
      "--v8-flags=--max-semi-space-size=2",
      "/x/main.ts",
      "run",
      "--config",
      "a.yaml",
    ],
    args: ["run", "--config", "a.yaml"],
    marker: undefined,
  }, DENO);
  assert.deepEqual(command, {
    path: DENO,
    args: ["run", "-A", "--v8-flags=--max-semi-space-size=2", "/x/main.ts", "run"],
  });
});

Deno.test("a compiled binary starts itself with `run`", () => {
  const command = childCommand({
    standalone: true,
    cmdline: ["/opt/tfo", "run", "--config", "a.yaml"],
    args: ["run", "--config", "a.yaml"],
    marker: undefined,
  }, "/opt/tfo");
  assert.deepEqual(command, { path: "/opt/tfo", args: ["run"] });
});

Deno.test("no child command without a command line, outside deno run, or when the arguments differ", () => {
  const base = { standalone: false, args: ["run"], marker: undefined };
  assert.equal(typeof childCommand({ ...base, cmdline: undefined }, DENO), "string");
  assert.equal(
    typeof childCommand({ ...base, cmdline: ["deno", "test", "x.ts", "run"] }, DENO),
    "string",
  );
  assert.equal(typeof childCommand({ ...base, cmdline: ["deno", "run"] }, DENO), "string");
  assert.equal(
    typeof childCommand({ ...base, cmdline: ["deno", "run", "main.ts", "validate"] }, DENO),
    "string",
  );
});
