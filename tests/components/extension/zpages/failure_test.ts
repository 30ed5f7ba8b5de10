/**
 * A reload that validates but cannot start (a new receiver's port is taken) is shown by the
 * pipeline page with its error at the failed component's `file:line:col`, while the old graph
 * keeps running; when the reload replaced the zpages extension itself, the page comes back up on
 * its port (the old config is started again) and shows the failure there.
 */
import assert from "node:assert/strict";
import { BUILTIN_FACTORIES } from "../../../../components/builtin_factories.ts";
import { main } from "../../../../main.ts";
import { formatDiagnostic, hasErrors, loadConfig } from "../../../../pipelines/config.ts";
import { Reloader } from "../../../../pipelines/reload.ts";
import { Service } from "../../../../pipelines/service.ts";
import { sortDiagnostics } from "../../../../pipelines/diagnostics.ts";
import { validateConfig } from "../../../../pipelines/validate.ts";
import { NOOP_LOGGER } from "../../../../lib/telemetry/logger.ts";
import { MetricRegistry } from "../../../../lib/telemetry/metrics.ts";
import { freePort } from "../../../fixtures/interop/services.ts";

async function load(text: string) {
  const loaded = await loadConfig({ files: [], texts: [{ name: "c.yaml", text }] });
  let diagnostics = loaded.diagnostics;
  let config;
  if (loaded.raw !== undefined) {
    const validated = validateConfig(loaded.raw, BUILTIN_FACTORIES);
    diagnostics = sortDiagnostics([...diagnostics, ...validated.diagnostics]);
    config = hasErrors(diagnostics) ? undefined : validated.config;
  }
  return { config, diagnostics: diagnostics.map(formatDiagnostic) };
}

function yaml(zpages: number, http: number, o: { tap?: boolean; second?: number } = {}): string {
  return [
    "extensions:",
    "  zpages:",
    `    endpoint: 127.0.0.1:${zpages}`,
    `    tap: {enabled: ${o.tap === true}}`,
    "receivers:",
    "  otlp:",
    `    protocols: {http: {endpoint: 127.0.0.1:${http}}}`,
    ...(o.second === undefined ? [] : [
      "  otlp/second:",
      `    protocols: {http: {endpoint: 127.0.0.1:${o.second}}}`,
    ]),
    "exporters:",
    "  debug: {}",
    "service:",
    "  extensions: [zpages]",
    "  pipelines:",
    `    traces: {receivers: [otlp${o.second === undefined ? "" : ", otlp/second"}], ` +
    "exporters: [debug]}",
    "",
  ].join("\n");
}

interface Frame {
  graphVersion: number;
  failure?: { what: string; message: string; diagnostics: string[] };
}

/** The first stats frame the page's event stream sends. */
async function firstFrame(base: string): Promise<Frame> {
  const response = await fetch(`${base}/api/events`);
  assert.equal(response.status, 200);
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  try {
    for (;;) {
      const match = /event: stats\ndata: (.*)\n\n/.exec(text);
      if (match !== null) return JSON.parse(match[1]!) as Frame;
      const { value, done } = await reader.read();
      if (done) throw new Error(`the stream ended before a frame: ${text}`);
      text += value;
    }
  } finally {
    await reader.cancel();
  }
}

async function run(
  body: (ctx: {
    base: string;
    http: number;
    zpages: number;
    taken: number;
    reload(text: string): Promise<string>;
    service: Service;
  }) => Promise<void>,
) {
  const [zpages, http] = [freePort(), freePort()];
  const blocker = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const taken = (blocker.addr as Deno.NetAddr).port;
  let text = yaml(zpages, http);
  const first = await load(text);
  assert.ok(first.config, first.diagnostics.join("\n"));
  const registry = new MetricRegistry();
  const service = new Service({
    config: first.config,
    logger: NOOP_LOGGER,
    registry,
    buildInfo: { command: "tfo", version: "test" },
  });
  await service.start();
  const reloader = new Reloader({
    service,
    logger: NOOP_LOGGER,
    meter: registry.meter(),
    load: () => load(text),
  });
  reloader.start();
  try {
    await body({
      base: `http://127.0.0.1:${zpages}`,
      http,
      zpages,
      taken,
      reload: (next) => {
        text = next;
        return reloader.request("test");
      },
      service,
    });
  } finally {
    await reloader.close();
    await service.shutdown();
    blocker.close();
  }
}

/** The 1-based line of `needle` in `text`. */
function lineOf(text: string, needle: string): number {
  return text.split("\n").findIndex((l) => l.includes(needle)) + 1;
}

Deno.test("the pipeline page shows a reload that failed to start, at the failed component's position", async () => {
  await run(async ({ base, http, zpages, taken, reload, service }) => {
    const before = await (await fetch(`${base}/api/graph`)).json();
    const next = yaml(zpages, http, { second: taken });
    assert.equal(await reload(next), "failed");
    const frame = await firstFrame(base);
    assert.equal(frame.failure?.what, "reload");
    assert.match(frame.failure!.message, /Cannot start receiver "otlp\/second"/);
    assert.equal(frame.failure!.diagnostics.length, 1);
    const line = lineOf(next, "otlp/second:");
    assert.match(
      frame.failure!.diagnostics[0]!,
      new RegExp(`^c\\.yaml:${line}:3  receivers\\.otlp/second: Cannot start receiver`),
    );
    // The old graph still runs and is what the page draws.
    const after = await (await fetch(`${base}/api/graph`)).json();
    assert.deepEqual(after.graph.nodes, before.graph.nodes);
    assert.equal(service.status, "running");
    // A later reload that succeeds clears it.
    assert.equal(await reload(yaml(zpages, http, { tap: true })), "success");
    assert.equal((await firstFrame(base)).failure, undefined);
  });
});

Deno.test("the pipeline page comes back up and shows the failure when a failed reload replaced zpages itself", async () => {
  await run(async ({ base, http, zpages, taken, reload }) => {
    // The zpages config changes too, so the old instance is stopped before the new receiver
    // fails; the old config is then started again, page included.
    const next = yaml(zpages, http, { tap: true, second: taken });
    assert.equal(await reload(next), "failed");
    const frame = await firstFrame(base);
    assert.match(frame.failure!.message, /Cannot start receiver "otlp\/second"/);
    assert.match(frame.failure!.diagnostics[0]!, /^c\.yaml:\d+:3 {2}receivers\.otlp\/second: /);
    // It is the old zpages config that serves: the tap is off again.
    const tap = await fetch(`${base}/api/tap?node=receiver:otlp`);
    assert.equal(tap.status, 403);
    await tap.body?.cancel();
  });
});

Deno.test("the pipeline page shows a reload whose new zpages endpoint cannot be had, from the old port", async () => {
  await run(async ({ base, http, taken, reload }) => {
    const next = yaml(taken, http);
    assert.equal(await reload(next), "failed");
    const frame = await firstFrame(base);
    assert.match(frame.failure!.message, /Cannot start extension "zpages"/);
    assert.match(
      frame.failure!.diagnostics[0]!,
      new RegExp(`^c\\.yaml:${lineOf(next, "zpages:")}:3  extensions\\.zpages: `),
    );
  });
});

Deno.test("tfo run says where the component that failed to start is configured", async () => {
  const blocker = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const taken = (blocker.addr as Deno.NetAddr).port;
  const dir = await Deno.makeTempDir({ prefix: "tfo-start-fail-" });
  try {
    const path = `${dir}/c.yaml`;
    const text = yaml(freePort(), freePort(), { second: taken });
    await Deno.writeTextFile(path, text);
    const err: string[] = [];
    const status = await main(["run", "--config", path], {
      io: { out: () => {}, err: (t) => err.push(t) },
    });
    assert.equal(status, 1);
    const said = err.join("\n");
    assert.match(said, /^tfo: Cannot start receiver "otlp\/second": /m);
    assert.ok(
      said.includes(
        `  ${path}:${lineOf(text, "otlp/second:")}:3  receivers.otlp/second: Cannot start`,
      ),
      said,
    );
  } finally {
    blocker.close();
    await Deno.remove(dir, { recursive: true });
  }
});
