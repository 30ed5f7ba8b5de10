/**
 * Tail sampling with `storage`: a tfo collector (otlp → tail_sampling with pending traces in
 * `file_storage` → otlphttp) takes 40 traces and acknowledges them, then is SIGKILLed while every
 * trace still waits out its 60 s `decision_wait`. Restarted (with a 1 s `decision_wait`, so the
 * restored traces are due at once), it must decide every pending trace from storage: the sink gets
 * every span of the 20 kept traces, none of the 20 others, and nothing is left pending — nor in
 * storage, which a third start shows.
 *
 * Loopback only, bounded by deadlines, stops by itself.
 */
import assert from "node:assert/strict";
import { encodeTracesJson } from "../../lib/otlp/json.ts";
import { newResource, newScope, newSpan } from "../../lib/pdata/new.ts";
import type { Span } from "../../lib/pdata/types.ts";
import { freePort, waitFor } from "../fixtures/interop/services.ts";
import { startRecordingSink } from "../fixtures/chaos/otlp_sink.ts";
import { metricValue, scrape, startTfo, type TfoProcess } from "../fixtures/chaos/tfo_process.ts";

function config(p: { http: number; metrics: number; sink: number; dir: string; wait: string }) {
  return `
extensions:
  file_storage: { directory: ${JSON.stringify(p.dir)}, create_directory: true }
receivers:
  otlp: { protocols: { http: { endpoint: 127.0.0.1:${p.http} } } }
processors:
  tail_sampling:
    decision_wait: ${p.wait}
    storage: file_storage
    early_decision: false
    policies:
      - { name: keep, type: boolean_attribute, boolean_attribute: { key: keep, value: true } }
exporters:
  otlp_http:
    endpoint: http://127.0.0.1:${p.sink}
    sending_queue: { enabled: false }
    retry_on_failure: { initial_interval: 100ms, max_interval: 500ms }
service:
  extensions: [file_storage]
  telemetry:
    logs: { level: info }
    metrics: { readers: [{ pull: { exporter: { prometheus: { host: 127.0.0.1, port: ${p.metrics} } } } }] }
  pipelines:
    traces: { receivers: [otlp], processors: [tail_sampling], exporters: [otlp_http] }
`;
}

function trace(t: number, keep: boolean): Span[] {
  const traceId = new Uint8Array(16);
  new DataView(traceId.buffer).setUint32(12, t + 1);
  traceId[0] = 0xab;
  return [0, 1, 2].map((i) =>
    newSpan({
      traceId,
      spanId: Uint8Array.from([1, 2, 3, 4, 5, 6, t, i + 1]),
      name: `t${t}-s${i}`,
      attributes: i === 2 ? [{ key: "keep", value: keep }] : [],
      startTimeUnixNano: 1_700_000_000_000_000_000n,
      endTimeUnixNano: 1_700_000_000_010_000_000n,
    })
  );
}

Deno.test({
  name: "tail sampling with storage decides pending traces after kill -9 and sends the kept ones",
  sanitizeResources: true,
  sanitizeOps: true,
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "tfo-tail-kill9-" });
  const sink = startRecordingSink();
  const ports = { http: freePort(), metrics: freePort() };
  const opts = { ...ports, sink: sink.port, dir: `${dir}/storage` };
  let tfo: TfoProcess | undefined;
  try {
    tfo = await startTfo("collector", dir, config({ ...opts, wait: "60s" }));
    const kept = new Set<string>();
    const dropped = new Set<string>();
    for (let t = 0; t < 40; t++) {
      const keep = t % 2 === 0;
      const spans = trace(t, keep);
      for (const s of spans) (keep ? kept : dropped).add(s.name);
      // The spans of a trace arrive in two requests, as from two services.
      for (const part of [spans.slice(0, 2), spans.slice(2)]) {
        const body = encodeTracesJson({
          resourceSpans: [{
            resource: newResource(),
            scopeSpans: [{ scope: newScope({ name: "chaos" }), spans: part, schemaUrl: "" }],
            schemaUrl: "",
          }],
        });
        const res = await fetch(`http://127.0.0.1:${ports.http}/v1/traces`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
        });
        await res.body?.cancel();
        assert.equal(res.status, 200, "the collector acknowledges the spans");
      }
    }
    const pending = async () =>
      metricValue(
        (await scrape(ports.metrics)) ?? "",
        "tfo_processor_tail_sampling_pending_traces",
      );
    assert.equal(await pending(), 40, "every trace waits for its decision");
    await tfo.killHard();
    assert.equal(sink.received.size, 0, "nothing was decided before the kill");

    tfo = await startTfo("collector", dir, config({ ...opts, wait: "1s" }));
    await waitFor("the kept spans at the sink", () => sink.received.size >= kept.size, 30_000, 100);
    await waitFor("no pending traces", async () => (await pending()) === 0, 10_000, 100);
    // A moment for anything that should not arrive.
    await new Promise((r) => setTimeout(r, 1500));
    for (const name of kept) assert.ok(sink.received.has(name), `kept span ${name} arrived`);
    for (const name of dropped) assert.ok(!sink.received.has(name), `dropped span ${name} did not`);
    assert.equal(await tfo.stop(), 0);
    // Decided traces were deleted from storage: a third start restores nothing.
    tfo = await startTfo("collector", dir, config({ ...opts, wait: "60s" }));
    assert.equal(await pending(), 0, "nothing left in storage");
    assert.equal(await tfo.stop(), 0);
    tfo = undefined;
  } finally {
    if (tfo !== undefined) await tfo.killHard();
    await sink.close();
    await Deno.remove(dir, { recursive: true });
  }
});
