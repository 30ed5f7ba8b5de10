import assert from "node:assert/strict";
import {
  loadConfig,
  type LoadOptions,
  mergeNodes,
  nodeAt,
  parseSetFlag,
  type RawConfig,
  redactConfig,
  toPlain,
} from "../../pipelines/config.ts";
import {
  type Diagnostic,
  formatDiagnostic,
  hasErrors,
  sortDiagnostics,
} from "../../pipelines/diagnostics.ts";

const FIXTURES = new URL("../fixtures/config/", import.meta.url);
const fixture = (name: string) => new URL(name, FIXTURES).pathname;

/** Loads in-memory files (name → text) in order, with an explicit environment. */
async function load(
  files: Record<string, string>,
  extra: Partial<LoadOptions> = {},
): Promise<{ raw: RawConfig | undefined; diagnostics: Diagnostic[] }> {
  return await loadConfig({
    files: Object.keys(files),
    readFile: (path) => {
      const text = files[path];
      return text === undefined
        ? Promise.reject(new Error(`no such file ${path}`))
        : Promise.resolve(text);
    },
    env: {},
    ...extra,
  });
}

function plainAt(raw: RawConfig | undefined, path: (string | number)[]): unknown {
  assert.ok(raw, "config should load");
  const node = nodeAt(raw, path);
  return node === undefined ? undefined : toPlain(node);
}

function where(raw: RawConfig | undefined, path: (string | number)[]): string {
  assert.ok(raw);
  const node = nodeAt(raw, path);
  assert.ok(node, `no node at ${path.join(".")}`);
  return `${node.pos.file}:${node.pos.line}:${node.pos.col}`;
}

function lines(diagnostics: readonly Diagnostic[]): string[] {
  return diagnostics.map(formatDiagnostic);
}

Deno.test("loadConfig parses a file and keeps the line and column of every value", async () => {
  const { raw, diagnostics } = await load({
    "a.yaml": "receivers:\n  nop:\n    endpoint: 0.0.0.0:4317\n    max_items: 5\n",
  });
  assert.deepEqual(diagnostics, []);
  assert.equal(plainAt(raw, ["receivers", "nop", "max_items"]), 5);
  assert.equal(where(raw, ["receivers", "nop", "endpoint"]), "a.yaml:3:15");
  assert.equal(where(raw, ["receivers", "nop", "max_items"]), "a.yaml:4:16");
  assert.deepEqual(raw?.sources, ["a.yaml"]);
});

Deno.test("loadConfig reads files from disk by default", async () => {
  const path = fixture("valid.yaml");
  const { raw, diagnostics } = await loadConfig({ files: [path], env: { EU_API_KEY: "k" } });
  assert.equal(hasErrors(diagnostics), false);
  assert.equal(plainAt(raw, ["exporters", "otlphttp/eu", "api_key"]), "k");
});

Deno.test("loadConfig reports every YAML syntax error with its position", async () => {
  const path = fixture("syntax_errors.yaml");
  const { raw, diagnostics } = await loadConfig({ files: [path], env: {} });
  assert.equal(raw, undefined);
  assert.deepEqual(
    diagnostics.map((d) => [d.severity, d.file, d.line, d.col]),
    [["error", path, 5, 1], ["error", path, 8, 1], ["error", path, 10, 13]],
  );
  assert.match(diagnostics[0]!.message, /same column/);
  assert.match(diagnostics[1]!.message, /flow map/);
});

Deno.test("loadConfig reports syntax errors of every file and unreadable files together", async () => {
  const { raw, diagnostics } = await load({
    "a.yaml": "a: [1, 2\n",
    "missing.yaml": undefined as unknown as string,
    "b.yaml": "b:\n  - x\n  y: 1\n",
  });
  assert.equal(raw, undefined);
  assert.deepEqual(diagnostics.map((d) => [d.file, d.line]), [
    ["a.yaml", 2],
    ["missing.yaml", 0],
    ["b.yaml", 3],
  ]);
  assert.equal(
    formatDiagnostic(diagnostics[1]!),
    "missing.yaml  cannot read the config file: no such file missing.yaml",
  );
});

Deno.test("loadConfig reports duplicate keys and unknown aliases", async () => {
  const dup = await load({ "a.yaml": "a: 1\nb: 2\na: 3\n" });
  assert.equal(dup.raw, undefined);
  assert.deepEqual(lines(dup.diagnostics), ["a.yaml:3:1  map keys must be unique"]);
  const alias = await load({ "a.yaml": "a: *nowhere\n" });
  assert.equal(alias.raw, undefined);
  assert.deepEqual(lines(alias.diagnostics), ['a.yaml:1:4  a: unknown alias "*nowhere"']);
});

Deno.test("loadConfig rejects a config that is not a map and accepts an empty one", async () => {
  const list = await load({ "a.yaml": "- receivers\n" });
  assert.equal(list.raw, undefined);
  assert.match(list.diagnostics[0]!.message, /must be a map/);
  const empty = await load({ "a.yaml": "# nothing yet\n" });
  assert.deepEqual(empty.diagnostics, []);
  assert.equal(empty.raw?.root.entries.size, 0);
});

Deno.test("loadConfig without any source reports it", async () => {
  const { raw, diagnostics } = await loadConfig({ files: [], env: {} });
  assert.equal(raw, undefined);
  assert.equal(
    formatDiagnostic(diagnostics[0]!),
    "no config given: pass --config with a YAML file",
  );
});

Deno.test("loadConfig resolves anchors, aliases and << merge keys", async () => {
  const { raw, diagnostics } = await loadConfig({ files: [fixture("anchors.yaml")], env: {} });
  assert.deepEqual(diagnostics, []);
  assert.deepEqual(plainAt(raw, ["processors", "batch/big"]), {
    send_batch_size: 500,
    timeout: "2s",
  });
});

// ---------------------------------------------------------------------------------------------
// Environment expansion

Deno.test("loadConfig expands ${env:VAR}, ${VAR}, defaults and $$ in scalar strings", async () => {
  const { raw, diagnostics } = await load({
    "a.yaml": [
      "a: ${env:HOST}",
      "b: http://${HOST}:${env:PORT}/v1",
      "c: ${env:MISSING:-fallback}",
      "d: ${env:HOST:-unused}",
      "e: price $$5 and $${env:HOST} and a lone $ sign",
      "f:\n  - x-${HOST}",
      "${env:HOST}: keys are not expanded",
    ].join("\n"),
  }, { env: { HOST: "collector", PORT: "4318" } });
  assert.deepEqual(diagnostics, []);
  assert.deepEqual(toPlain(raw!.root), {
    a: "collector",
    b: "http://collector:4318/v1",
    c: "fallback",
    d: "collector",
    e: "price $5 and ${env:HOST} and a lone $ sign",
    f: ["x-collector"],
    "${env:HOST}": "keys are not expanded",
  });
});

Deno.test("an unset variable expands to an empty string with a warning at its value", async () => {
  const { raw, diagnostics } = await load({
    "a.yaml": "exporters:\n  otlp:\n    endpoint: http://${env:NOPE}:4318\n",
  });
  assert.equal(plainAt(raw, ["exporters", "otlp", "endpoint"]), "http://:4318");
  assert.deepEqual(lines(diagnostics), [
    'a.yaml:3:15  warning: exporters.otlp.endpoint: environment variable "NOPE" is not set; it ' +
    "expands to an empty string",
  ]);
});

Deno.test("a whole-value reference is typed like a YAML scalar unless quoted", async () => {
  const { raw, diagnostics } = await load({
    "a.yaml": [
      "port: ${env:PORT}",
      "ratio: ${env:RATIO}",
      "on: ${env:ON}",
      "quoted: '${env:PORT}'",
      "mixed: ${env:PORT}0",
      "text: ${env:WORD}",
      "colon: ${env:COLON}",
    ].join("\n"),
  }, { env: { PORT: "4318", RATIO: "0.25", ON: "true", WORD: "hello", COLON: "a: b" } });
  assert.deepEqual(diagnostics, []);
  assert.deepEqual(toPlain(raw!.root), {
    port: 4318,
    ratio: 0.25,
    on: true,
    quoted: "4318",
    mixed: "43180",
    text: "hello",
    colon: "a: b",
  });
  const port = nodeAt(raw!, ["port"]);
  assert.ok(port?.kind === "scalar");
  assert.equal(port.text, "4318", "the text is kept for fields that want a string");
});

Deno.test("bad references are errors at their value", async () => {
  const { diagnostics } = await load({
    "a.yaml": "a: ${file:/etc/x}\nb: ${env:1BAD}\nc: x${env:OPEN\n",
  });
  assert.deepEqual(lines(diagnostics), [
    'a.yaml:1:4  a: unsupported reference "${file:…}": only "${env:NAME}" is supported',
    'a.yaml:2:4  b: invalid environment variable name "1BAD" in "${env:1BAD}"',
    'a.yaml:3:4  c: unterminated "${" (write "$$" for a literal "$")',
  ]);
});

Deno.test("expansion happens after merging, so overridden values do not warn", async () => {
  const { raw, diagnostics } = await load({
    "base.yaml": "a: ${env:UNSET_IN_BASE}\n",
    "over.yaml": "a: ${env:SET}\n",
  }, { env: { SET: "yes-set" } });
  assert.deepEqual(diagnostics, []);
  assert.equal(plainAt(raw, ["a"]), "yes-set");
});

// ---------------------------------------------------------------------------------------------
// Merging and --set

Deno.test("several files deep-merge in order: maps merge, lists and scalars are replaced", async () => {
  const base = fixture("base.yaml");
  const over = fixture("override.yaml");
  const { raw, diagnostics } = await loadConfig({ files: [base, over], env: {} });
  assert.deepEqual(diagnostics, []);
  assert.deepEqual(plainAt(raw, ["receivers", "nop"]), { endpoint: "0.0.0.0:4317", max_items: 20 });
  assert.deepEqual(plainAt(raw, ["exporters", "otlphttp", "headers"]), {
    "x-from": "base",
    "x-tenant": "acme",
  });
  assert.deepEqual(plainAt(raw, ["service", "pipelines", "traces"]), {
    receivers: ["nop"],
    exporters: ["otlphttp"],
  });
  // `debug:` (null) in the override keeps the base file's map.
  assert.deepEqual(plainAt(raw, ["exporters", "debug"]), { verbosity: "basic" });
  // Positions come from the file whose value won.
  assert.equal(where(raw, ["receivers", "nop", "max_items"]), `${over}:3:16`);
  assert.equal(where(raw, ["receivers", "nop", "endpoint"]), `${base}:3:15`);
  assert.equal(where(raw, ["service", "pipelines", "traces", "exporters"]), `${over}:15:18`);
  assert.deepEqual(raw?.sources, [base, over]);
});

Deno.test("texts merge before files", async () => {
  const { raw } = await load(
    { "user.yaml": "a: from-file\n" },
    { texts: [{ name: "<default>", text: "a: from-text\nb: from-text\n" }] },
  );
  assert.deepEqual(toPlain(raw!.root), { a: "from-file", b: "from-text" });
  assert.deepEqual(raw?.sources, ["<default>", "user.yaml"]);
});

Deno.test("--set overrides last and reports its own position", async () => {
  const { raw, diagnostics } = await load({
    "a.yaml": "exporters:\n  otlp/2:\n    endpoint: a\n    tls: {insecure: false}\n",
  }, {
    set: [
      "exporters.otlp/2.endpoint=collector:4317",
      "exporters.otlp/2.tls.insecure=true",
      "service.pipelines.traces.exporters=[otlp/2, debug]",
      "processors::batch/a.b::timeout=5s",
      "exporters.otlp/2.headers={x-a: b}",
      "exporters.otlp/2.text=a: b",
      "exporters.otlp/2.empty=",
    ],
  });
  assert.deepEqual(diagnostics, []);
  assert.deepEqual(plainAt(raw, ["exporters", "otlp/2"]), {
    endpoint: "collector:4317",
    tls: { insecure: true },
    headers: { "x-a": "b" },
    text: "a: b",
    empty: null,
  });
  assert.deepEqual(plainAt(raw, ["service", "pipelines", "traces", "exporters"]), [
    "otlp/2",
    "debug",
  ]);
  assert.deepEqual(plainAt(raw, ["processors", "batch/a.b"]), { timeout: "5s" });
  assert.equal(where(raw, ["exporters", "otlp/2", "endpoint"]), "--set:1:27");
  assert.equal(where(raw, ["exporters", "otlp/2", "tls", "insecure"]), "--set:2:31");
  assert.equal(where(raw, ["exporters", "otlp/2", "headers", "x-a"]), "--set:5:32");
  assert.deepEqual(raw?.sources, ["a.yaml", "--set"]);
});

Deno.test("--set values are expanded too", async () => {
  const { raw } = await load({ "a.yaml": "" }, { set: ["a.b=${env:X}"], env: { X: "7" } });
  assert.equal(plainAt(raw, ["a", "b"]), 7);
});

Deno.test("malformed --set flags are errors at --set", async () => {
  const { raw, diagnostics } = await load({ "a.yaml": "a: 1\n" }, {
    set: ["novalue", "a..b=1", "ok=1"],
  });
  assert.equal(raw, undefined);
  assert.deepEqual(lines(diagnostics), [
    '--set:1:1  must be "path.to.key=value"',
    '--set:2:1  a..b: the path must be keys separated by "." (or "::"), none empty',
  ]);
  const flag = parseSetFlag("a.b=c", 0);
  assert.ok("node" in flag);
  assert.deepEqual(toPlain(flag.node), { a: { b: "c" } });
});

Deno.test("mergeNodes does not change its inputs", async () => {
  const a = (await load({ "a.yaml": "m: {x: 1, l: [1, 2]}\n" })).raw!.root;
  const b = (await load({ "b.yaml": "m: {y: 2, l: [3]}\n" })).raw!.root;
  const merged = mergeNodes(a, b);
  assert.deepEqual(toPlain(merged), { m: { x: 1, y: 2, l: [3] } });
  assert.deepEqual(toPlain(a), { m: { x: 1, l: [1, 2] } });
  assert.deepEqual(toPlain(b), { m: { y: 2, l: [3] } });
});

// ---------------------------------------------------------------------------------------------
// Diagnostics and redaction

Deno.test("sortDiagnostics orders by source, line and column and drops duplicates", () => {
  const d = (
    file: string,
    line: number,
    col: number,
    severity: Diagnostic["severity"] = "error",
  ) => ({
    severity,
    file,
    line,
    col,
    path: "p",
    message: "m",
  });
  const sorted = sortDiagnostics([
    d("b.yaml", 1, 1),
    d("a.yaml", 9, 1),
    d("a.yaml", 2, 7),
    d("--set", 1, 3),
    d("a.yaml", 2, 7),
    d("a.yaml", 2, 5, "warning"),
    d("a.yaml", 2, 5),
  ], ["b.yaml", "a.yaml", "--set"]);
  assert.deepEqual(sorted.map((x) => `${x.file}:${x.line}:${x.col}:${x.severity}`), [
    "b.yaml:1:1:error",
    "a.yaml:2:5:error",
    "a.yaml:2:5:warning",
    "a.yaml:2:7:error",
    "a.yaml:9:1:error",
    "--set:1:3:error",
  ]);
});

Deno.test("formatDiagnostic writes file:line:col, the path and the message", () => {
  const base = { file: "agent.yaml", line: 12, col: 5, path: "exporters.otlphttp.endpoint" };
  assert.equal(
    formatDiagnostic({ ...base, severity: "error", message: "must be an http or https URL" }),
    "agent.yaml:12:5  exporters.otlphttp.endpoint: must be an http or https URL",
  );
  assert.equal(
    formatDiagnostic({ ...base, severity: "warning", message: "is deprecated" }),
    "agent.yaml:12:5  warning: exporters.otlphttp.endpoint: is deprecated",
  );
});

Deno.test("redactConfig masks secrets and header values and keeps the rest", () => {
  const config = {
    endpoint: "https://x",
    api_key: "abc123",
    auth: { password: "hunter2", username: "bob", client_secret: "s" },
    headers: { "x-tenant": "acme", authorization: "Bearer t" },
    tokens: ["a", "b"],
    empty_token: "",
    port: 4318,
  };
  assert.deepEqual(redactConfig(config), {
    endpoint: "https://x",
    api_key: "[REDACTED]",
    auth: { password: "[REDACTED]", username: "bob", client_secret: "[REDACTED]" },
    headers: { "x-tenant": "[REDACTED]", authorization: "[REDACTED]" },
    tokens: ["[REDACTED]", "[REDACTED]"],
    empty_token: "",
    port: 4318,
  });
  assert.equal(config.api_key, "abc123", "the input is not changed");
});
