import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import type { Factory, LazyFactory } from "../../components/component.ts";
import { BUILTIN_COMPONENTS, lazy } from "../../components/registry.ts";
import { factoriesFor } from "../../pipelines/factories.ts";
import { loadConfig } from "../../pipelines/config.ts";
import { validateWith } from "../../pipelines/validate.ts";
import { main } from "../../main.ts";

const mainPath = fileURLToPath(new URL("../../main.ts", import.meta.url));

async function rawOf(text: string) {
  const { raw, diagnostics } = await loadConfig({ files: [], texts: [{ name: "t.yaml", text }] });
  assert.deepEqual(diagnostics.filter((d) => d.severity === "error"), []);
  return raw!;
}

/** Registry rows around the real debug and forward factories that count their loads. */
function countingRows() {
  const loads = new Map<string, number>();
  const count = (name: string) => loads.set(name, (loads.get(name) ?? 0) + 1);
  const rows: LazyFactory[] = [
    lazy("exporter", "debug", async () => {
      count("debug");
      return (await import("../../components/exporter/debug/factory.ts")).debugFactory;
    }),
    lazy("connector", "forward", async () => {
      count("forward");
      return (await import("../../components/connector/forward/factory.ts")).forwardFactory;
    }),
    lazy("processor", "batch", async () => {
      count("batch");
      return (await import("../../components/processor/batch/factory.ts")).batchFactory;
    }, ["batcher"]),
    lazy("receiver", "broken", () => Promise.reject(new Error("module not found"))),
  ];
  return { rows, loads };
}

Deno.test("every registry row loads a factory of its kind that answers to the row's names", async () => {
  for (const row of BUILTIN_COMPONENTS) {
    const factory = await row.load();
    const name = `${row.kind}/${row.type}`;
    assert.equal(factory.kind, row.kind, name);
    assert.equal(factory.type, row.type, name);
    assert.deepEqual([...(factory.aliases ?? [])], [...(row.aliases ?? [])], name);
    assert.equal(await row.load(), factory, `${name}: a second load gives the same factory`);
  }
});

Deno.test("a row whose factory was written under an older type gets the row's type and names", async () => {
  const row = lazy(
    "exporter",
    "debug_new",
    async () => (await import("../../components/exporter/debug/factory.ts")).debugFactory,
    ["debug"],
  );
  const factory: Factory = await row.load();
  assert.equal(factory.type, "debug_new");
  assert.deepEqual(factory.aliases, ["debug"]);
});

Deno.test("a config loads only the factories it names, by type or older name, once", async () => {
  const { rows, loads } = countingRows();
  const raw = await rawOf(`
exporters:
  debug:
  debug/2:
processors:
  batcher:
service:
  pipelines:
    logs: {receivers: [], exporters: [debug]}
`);
  const { factories, known } = await factoriesFor(raw, rows);
  assert.deepEqual(factories.map((f) => f.type).sort(), ["batch", "debug"]);
  assert.deepEqual(Object.fromEntries(loads), { debug: 1, batch: 1 });
  assert.equal(known.length, rows.length);
  await factoriesFor(raw, rows);
  assert.deepEqual(Object.fromEntries(loads), { debug: 1, batch: 1 }, "a module loads once");
});

Deno.test("an unknown type still lists every known type, loaded or not", async () => {
  const { rows, loads } = countingRows();
  const raw = await rawOf(`
exporters:
  debugg:
service:
  pipelines:
    logs: {receivers: [], exporters: [debugg]}
`);
  const { diagnostics } = await validateWith(raw, rows);
  const unknown = diagnostics.find((d) => d.path === "exporters.debugg");
  assert.match(
    unknown!.message,
    /unknown exporter type "debugg" \(known: debug\); did you mean "debug"\?/,
  );
  const misplaced = await validateWith(
    await rawOf("exporters:\n  forward:\nservice:\n  pipelines: {}\n"),
    rows,
  );
  assert.match(
    misplaced.diagnostics.find((d) => d.path === "exporters.forward")!.message,
    /"forward" is a connector, define it under connectors/,
  );
  assert.equal(loads.size, 0, "nothing named a known type, so nothing was loaded");
});

Deno.test("a component module that cannot be loaded is an error naming it, not a crash", async () => {
  const { rows } = countingRows();
  const out: string[] = [];
  const yaml = await Deno.makeTempFile({ suffix: ".yaml" });
  try {
    await Deno.writeTextFile(
      yaml,
      "receivers:\n  broken:\nexporters:\n  debug:\nservice:\n  pipelines:\n" +
        "    logs: {receivers: [broken], exporters: [debug]}\n",
    );
    const code = await main(["validate", "--config", yaml], {
      factories: rows,
      io: { out: (t) => out.push(t), err: (t) => out.push(t) },
    });
    assert.equal(code, 2);
    assert.match(out.join("\n"), /receivers: Cannot load receiver "broken": module not found/);
  } finally {
    await Deno.remove(yaml);
  }
});

Deno.test("the CLI imports no component module statically: each loads when a config names it", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", mainPath],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(output.success, new TextDecoder().decode(output.stderr));
  const info = JSON.parse(new TextDecoder().decode(output.stdout)) as {
    roots: string[];
    modules: {
      specifier: string;
      dependencies?: { code?: { specifier: string }; isDynamic?: boolean }[];
    }[];
  };
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  const reached = new Set<string>();
  const stack = [...info.roots];
  while (stack.length > 0) {
    const s = stack.pop()!;
    if (reached.has(s)) continue;
    reached.add(s);
    for (const d of bySpecifier.get(s)?.dependencies ?? []) {
      if (d.code !== undefined && d.isDynamic !== true) stack.push(d.code.specifier);
    }
  }
  const components = [...reached].filter((s) => /\/components\/[a-z]+\/[^/]+\//.test(s));
  assert.deepEqual(components, [], "statically imported by main.ts");
  // Every row's module is in the graph as a dynamic import, so `deno compile` embeds it.
  const dynamic = new Set(
    info.modules.flatMap((m) =>
      (m.dependencies ?? []).filter((d) => d.isDynamic === true).map((d) => d.code?.specifier)
    ),
  );
  const factories = [...dynamic].filter((s) => s?.endsWith("/factory.ts"));
  assert.ok(factories.length >= new Set(BUILTIN_COMPONENTS.map((c) => c.type)).size - 1);
});
