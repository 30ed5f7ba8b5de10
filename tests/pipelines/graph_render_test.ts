import assert from "node:assert/strict";
import { main } from "../../main.ts";

async function graph(yaml: string, ...flags: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(["graph", "--config", `yaml:${yaml}`, ...flags], {
    io: { out: (t) => out.push(t), err: (t) => err.push(t) },
  });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

const CONFIG = `{
  receivers: { otlp: { protocols: { http: { endpoint: "127.0.0.1:0" } } } },
  processors: { batch: {} },
  exporters: { debug: {} },
  connectors: { forward: {} },
  service: { pipelines: {
    traces: { receivers: [otlp], processors: [batch], exporters: [forward, debug] },
    traces/copy: { receivers: [forward], processors: [batch], exporters: [debug] },
    logs: { receivers: [otlp], exporters: [debug] }
  } }
}`;

Deno.test("tfo graph draws shared receivers, exporters and connectors once and processors per pipeline", async () => {
  const { code, out, err } = await graph(CONFIG);
  assert.equal(code, 0, err);
  const lines = out.split("\n");
  assert.equal(lines[0], "flowchart LR");
  const declared = (label: string) => lines.filter((l) => l.includes(`"${label}"`)).length;
  assert.equal(declared("receiver: otlp"), 1);
  assert.equal(declared("exporter: debug"), 1);
  assert.equal(declared("connector: forward"), 1);
  assert.equal(declared("processor: batch"), 2);
  const id = (label: string) =>
    lines.find((l) => l.includes(`"${label}"`))!.trim().match(/^n\d+/)![0];
  const [otlp, debug, forward] = [
    id("receiver: otlp"),
    id("exporter: debug"),
    id("connector: forward"),
  ];
  const edges = lines.filter((l) => l.includes("-->")).map((l) => l.trim());
  // logs has no processors: the receiver feeds the exporter directly.
  assert.ok(edges.includes(`${otlp} -->|logs| ${debug}`), edges.join("\n"));
  // the connector is the first pipeline's exporter and the second's receiver.
  assert.ok(edges.some((e) => e.endsWith(`-->|traces| ${forward}`)), edges.join("\n"));
  assert.ok(edges.some((e) => e.startsWith(`${forward} -->|traces|`)), edges.join("\n"));
  assert.equal(edges.length, new Set(edges).size, "each edge once");
  assert.equal(edges.length, 6);
});

Deno.test("tfo graph --format dot prints a Graphviz digraph with one cluster per pipeline with processors", async () => {
  const { code, out } = await graph(CONFIG, "--format", "dot");
  assert.equal(code, 0);
  assert.ok(out.startsWith("digraph tfo {\n  rankdir=LR;"));
  assert.equal(out.match(/subgraph cluster_/g)?.length, 2);
  assert.equal(out.match(/ -> /g)?.length, 6);
  assert.ok(out.endsWith("}"));
});

Deno.test("tfo graph refuses an unknown format and an invalid config, and other commands refuse --format", async () => {
  assert.equal((await graph(CONFIG, "--format", "svg")).code, 2);
  const invalid = await graph(`{ receivers: { nope: {} } }`);
  assert.equal(invalid.code, 2);
  assert.match(invalid.err, /unknown receiver type "nope"/);
  const err: string[] = [];
  const code = await main(["validate", "--config", `yaml:${CONFIG}`, "--format", "dot"], {
    io: { out: () => {}, err: (t) => err.push(t) },
  });
  assert.equal(code, 2);
  assert.match(err.join("\n"), /only "tfo graph" takes it/);
});
