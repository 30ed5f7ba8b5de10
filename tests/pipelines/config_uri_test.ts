import assert from "node:assert/strict";
import { loadConfig, toPlain } from "../../pipelines/config.ts";
import { formatDiagnostic } from "../../pipelines/diagnostics.ts";

const BASE = `exporters:
  debug:
    verbosity: basic
`;

async function load(files: string[], env: Record<string, string> = {}) {
  const read: string[] = [];
  const result = await loadConfig({
    files,
    env,
    readFile: (path) => {
      read.push(path);
      return path === "/etc/tfo/c.yaml"
        ? Promise.resolve(BASE)
        : Promise.reject(new Error(`No such file: ${path}`));
    },
  });
  return {
    plain: result.raw === undefined ? undefined : toPlain(result.raw.root),
    lines: result.diagnostics.map(formatDiagnostic),
    read,
    sources: result.raw?.sources,
  };
}

Deno.test("--config file:PATH reads the file, named by its path", async () => {
  const { plain, lines, read, sources } = await load(["file:/etc/tfo/c.yaml"]);
  assert.deepEqual(lines, []);
  assert.deepEqual(read, ["/etc/tfo/c.yaml"]);
  assert.deepEqual(sources, ["/etc/tfo/c.yaml"]);
  assert.deepEqual(plain, { exporters: { debug: { verbosity: "basic" } } });
});

Deno.test("--config env:VAR reads YAML from the variable, and says so when it is unset", async () => {
  const { plain, lines } = await load(["file:/etc/tfo/c.yaml", "env:TFO_CFG"], {
    TFO_CFG: "exporters:\n  debug:\n    verbosity: detailed\n",
  });
  assert.deepEqual(lines, []);
  assert.deepEqual(plain, { exporters: { debug: { verbosity: "detailed" } } });
  const unset = await load(["env:NOPE"]);
  assert.equal(unset.plain, undefined);
  assert.deepEqual(unset.lines, [
    "env:NOPE  cannot read the config source: the environment variable NOPE is not set",
  ]);
});

Deno.test("--config yaml: nests keys joined by :: and merges over earlier sources", async () => {
  const { plain, lines } = await load([
    "/etc/tfo/c.yaml",
    "yaml:exporters::debug::verbosity: detailed",
    "yaml:exporters::debug::sampling_initial: 3",
  ]);
  assert.deepEqual(lines, []);
  assert.deepEqual(plain, {
    exporters: { debug: { verbosity: "detailed", sampling_initial: 3 } },
  });
  const flow = await load(["yaml:{a::b: 1, a::c: 2}"]);
  assert.deepEqual(flow.plain, { a: { b: 1, c: 2 } });
});

Deno.test("--config http: sources are refused with a clear message", async () => {
  const { plain, lines } = await load(["https://example.com/c.yaml"]);
  assert.equal(plain, undefined);
  assert.match(lines[0]!, /http and https config sources are not supported/);
});
