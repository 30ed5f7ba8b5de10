import assert from "node:assert/strict";
import { main } from "../../../../main.ts";
import { zpagesConfigSchema } from "../../../../components/extension/zpages/config.ts";
import { freePort, waitFor, waitForPort } from "../../../fixtures/interop/services.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

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
  // The extension listens before the receivers start (and tfo settles its start-up memory in
  // between): wait for the service itself to be running, as an operator's first look would.
  let servicez = "";
  await waitFor(
    "the service to be running",
    async () => {
      servicez = await (await fetch(`http://127.0.0.1:${zpages}/debug/servicez`)).text();
      return /<td>State<\/td><td>running<\/td>/.test(servicez);
    },
    10_000,
    25,
  ).catch((error) => {
    throw new Error(`${error}\n${servicez}\n${lines.join("\n")}`);
  });
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

Deno.test("zpages shows an exporter's queue and the age of its oldest queued item", async () => {
  // A backend that accepts connections and never answers: the request stays queued.
  const backend = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of backend) held.push(conn);
  })();
  const [zpages, http] = [freePort(), freePort()];
  const yaml = `{
    extensions: { zpages: { endpoint: "127.0.0.1:${zpages}" } },
    receivers: { otlp: { protocols: { http: { endpoint: "127.0.0.1:${http}" } } } },
    exporters: { otlphttp: { endpoint: "http://127.0.0.1:${
    (backend.addr as Deno.NetAddr).port
  }", timeout: 30s, retry_on_failure: { enabled: false } } },
    service: {
      extensions: [zpages],
      telemetry: { metrics: { level: none } },
      pipelines: { traces: { receivers: [otlp], exporters: [otlphttp] } }
    }
  }`;
  const stop = Promise.withResolvers<void>();
  const run = main(["run", "--config", `yaml:${yaml}`], {
    io: { out: () => {}, err: () => {} },
    stop: stop.promise,
  });
  try {
    await waitForPort(zpages);
    await waitForPort(http);
    const sent = await fetch(`http://127.0.0.1:${http}/v1/traces`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        resourceSpans: [{
          scopeSpans: [{
            spans: [{
              traceId: "0af7651916cd43dd8448eb211c80319c",
              spanId: "00f067aa0ba902b7",
              name: "queued",
              startTimeUnixNano: "1",
              endTimeUnixNano: "2",
            }],
          }],
        }],
      }),
    });
    assert.equal(sent.status, 200);
    await sent.body?.cancel();
    const events = await fetch(`http://127.0.0.1:${zpages}/api/events`);
    const reader = events.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    let node: { queueSize?: number; queueAgeSeconds?: number } | undefined;
    // Frames come once a second; the age grows while the backend holds the request.
    while (!(node?.queueAgeSeconds !== undefined && node.queueAgeSeconds >= 1)) {
      text += (await reader.read()).value ?? "";
      const frames = [...text.matchAll(/event: stats\ndata: (.*)\n\n/g)];
      const last = frames.at(-1);
      if (last !== undefined) node = JSON.parse(last[1]!).nodes["exporter:otlphttp"];
    }
    assert.equal(node.queueSize, 1);
    await reader.cancel();
  } finally {
    // The backend goes away first, so the queued request fails and the exporter stops at once.
    backend.close();
    await accepting.catch(() => {});
    for (const conn of held) conn.close();
    stop.resolve();
    assert.equal(await run, 0);
  }
});
