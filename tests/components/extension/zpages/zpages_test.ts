import assert from "node:assert/strict";
import { main } from "../../../../main.ts";
import { zpagesConfigSchema } from "../../../../components/extension/zpages/config.ts";
import { freePort, waitForPort } from "../../../fixtures/interop/services.ts";

async function running(tap: boolean, maxStreams: number) {
  const [zpages, http] = [freePort(), freePort()];
  const yaml = `{
    extensions: { zpages: { endpoint: "127.0.0.1:${zpages}", max_streams: ${maxStreams}, tap: { enabled: ${tap} } } },
    receivers: { otlp: { protocols: { http: { endpoint: "127.0.0.1:${http}" } } } },
    processors: { batch: {} },
    exporters: { debug: {} },
    service: {
      extensions: [zpages],
      telemetry: { metrics: { level: none } },
      pipelines: {
        traces: { receivers: [otlp], processors: [batch], exporters: [debug] },
        logs/copy: { receivers: [otlp], exporters: [debug] }
      }
    }
  }`;
  const stop = Promise.withResolvers<void>();
  const lines: string[] = [];
  const run = main(["run", "--config", `yaml:${yaml}`], {
    io: { out: (t) => lines.push(t), err: (t) => lines.push(t) },
    stop: stop.promise,
  });
  await waitForPort(zpages);
  return {
    base: `http://127.0.0.1:${zpages}`,
    async close() {
      stop.resolve();
      assert.equal(await run, 0, lines.join("\n"));
    },
  };
}

Deno.test("zpages serves the Collector's servicez, pipelinez and extensionz pages", async () => {
  const tfo = await running(false, 4);
  try {
    const pipelinez = await (await fetch(`${tfo.base}/debug/pipelinez`)).text();
    assert.match(
      pipelinez,
      /<td>traces<\/td><td>traces<\/td><td>otlp<\/td><td>batch<\/td><td>debug<\/td>/,
    );
    assert.match(
      pipelinez,
      /<td>logs\/copy<\/td><td>logs<\/td><td>otlp<\/td><td>-<\/td><td>debug<\/td>/,
    );
    const extensionz = await (await fetch(`${tfo.base}/debug/extensionz`)).text();
    assert.match(extensionz, /<td>zpages<\/td><td>zpages<\/td>/);
    const servicez = await (await fetch(`${tfo.base}/debug/servicez`)).text();
    assert.match(servicez, /<td>State<\/td><td>running<\/td>/);
    const graph = await (await fetch(`${tfo.base}/api/graph`)).json();
    assert.deepEqual(graph.graph.nodes.map((n: { key: string }) => n.key), [
      "receiver:otlp",
      "processor:traces:batch",
      "exporter:debug",
    ]);
    const component = await (await fetch(`${tfo.base}/api/component?node=processor:traces:batch`))
      .json();
    assert.equal(component.type, "batch");
    assert.equal(component.tap, false);
    const missing = await fetch(`${tfo.base}/api/component?node=nope`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
  } finally {
    await tfo.close();
  }
});

Deno.test("zpages keeps the tap off unless enabled and bounds its live streams", async () => {
  const tfo = await running(false, 2);
  try {
    const tap = await fetch(`${tfo.base}/api/tap?node=receiver:otlp`);
    assert.equal(tap.status, 403);
    await tap.body?.cancel();
    const open = [await fetch(`${tfo.base}/api/events`), await fetch(`${tfo.base}/api/events`)];
    for (const response of open) assert.equal(response.status, 200);
    const third = await fetch(`${tfo.base}/api/events`);
    assert.equal(third.status, 503);
    await third.body?.cancel();
    // A stats frame arrives on an open stream.
    const reader = open[0]!.body!.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "";
    while (!seen.includes("event: stats")) seen += (await reader.read()).value ?? "";
    await reader.cancel();
    await open[1]!.body?.cancel();
  } finally {
    await tfo.close();
  }
});

Deno.test("zpages refuses Go's expvar and listens on loopback by default", () => {
  assert.equal(zpagesConfigSchema.parse({}).endpoint, "127.0.0.1:55679");
  assert.equal(zpagesConfigSchema.parse({}).tap.enabled, false);
  const expvar = zpagesConfigSchema.safeParse({ expvar: { enabled: true } });
  assert.ok(!expvar.success);
  assert.match(expvar.error.issues[0]!.message, /Go runtime variables/);
});

Deno.test("zpages answers a component panel while a page listens, with its metrics and config", async () => {
  const tfo = await running(true, 4);
  try {
    const events = await fetch(`${tfo.base}/api/events`);
    const reader = events.body!.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "";
    // Two frames: the second surely came with the panel's data from the service side.
    while (seen.split("event: stats").length < 3) seen += (await reader.read()).value ?? "";
    const panel = await (await fetch(`${tfo.base}/api/component?node=exporter:debug`)).json();
    assert.equal(panel.type, "debug");
    assert.equal(panel.tap, true);
    assert.ok(
      panel.metrics.some((l: string) => l.startsWith("otelcol_exporter_sent_spans{")),
      panel.metrics.join("\n"),
    );
    assert.ok(Array.isArray(panel.logs));
    const missing = await fetch(`${tfo.base}/api/component?node=nope`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
    await reader.cancel();
  } finally {
    await tfo.close();
  }
});
