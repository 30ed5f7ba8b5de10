/**
 * Tail sampling under pressure, end to end: a tfo collector (otlp → tail_sampling with
 * `num_traces: 2000`, `max_memory_mib: 4`, `decision_wait: 30s` → otlp_http → sink) gets 20,000
 * distinct traces (10 × num_traces) as fast as it takes them, far faster than its decision wait.
 * Its own accounting must stay within both bounds, every eviction must be counted, every error
 * trace must still arrive, and the process must keep serving. RSS is reported, not asserted.
 *
 * Loopback only, bounded by deadlines, stops by itself.
 */
import assert from "node:assert/strict";
import { encodeTracesRequest } from "../../lib/otlp/traces_proto.ts";
import { newResource, newScope, newSpan } from "../../lib/pdata/new.ts";
import type { Span } from "../../lib/pdata/types.ts";
import { freePort, waitFor } from "../fixtures/interop/services.ts";
import { startRecordingSink } from "../fixtures/chaos/otlp_sink.ts";
import {
  metricValue,
  rssOf,
  scrape,
  startTfo,
  type TfoProcess,
} from "../fixtures/chaos/tfo_process.ts";

const TRACES = 20_000;
const PER_REQUEST = 200;

function config(p: { http: number; metrics: number; sink: number }) {
  return `
receivers:
  otlp: { protocols: { http: { endpoint: 127.0.0.1:${p.http} } } }
processors:
  tail_sampling:
    decision_wait: 30s
    num_traces: 2000
    max_memory_mib: 4
    policies:
      - { name: errors, type: status_code, status_code: { status_codes: [ERROR] } }
exporters:
  otlp_http:
    endpoint: http://127.0.0.1:${p.sink}
    retry_on_failure: { initial_interval: 100ms, max_interval: 500ms }
service:
  telemetry:
    logs: { level: info }
    metrics: { readers: [{ pull: { exporter: { prometheus: { host: 127.0.0.1, port: ${p.metrics} } } } }] }
  pipelines:
    traces: { receivers: [otlp], processors: [tail_sampling], exporters: [otlp_http] }
`;
}

function request(first: number): Uint8Array {
  const spans: Span[] = [];
  const payload = "p".repeat(1024);
  for (let t = first; t < first + PER_REQUEST; t++) {
    const traceId = new Uint8Array(16);
    new DataView(traceId.buffer).setUint32(0, 0x7a11);
    new DataView(traceId.buffer).setUint32(12, t + 1);
    for (let i = 0; i < 3; i++) {
      spans.push(newSpan({
        traceId,
        spanId: Uint8Array.from([0, 0, 0, i, (t >> 16) & 0xff, (t >> 8) & 0xff, t & 0xff, 1]),
        name: `t${t}-s${i}`,
        attributes: [{ key: "payload", value: payload }],
        status: { code: t % 100 === 0 && i === 2 ? 2 : 0, message: "" },
        startTimeUnixNano: 1_700_000_000_000_000_000n,
        endTimeUnixNano: 1_700_000_000_010_000_000n,
      }));
    }
  }
  return encodeTracesRequest({
    resourceSpans: [{
      resource: newResource(),
      scopeSpans: [{ scope: newScope({ name: "pressure" }), spans, schemaUrl: "" }],
      schemaUrl: "",
    }],
  });
}

Deno.test({
  name:
    "tail sampling with 10x num_traces pending stays within num_traces and max_memory_mib, counting evictions",
  sanitizeResources: true,
  sanitizeOps: true,
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "tfo-tail-pressure-" });
  const sink = startRecordingSink();
  const ports = { http: freePort(), metrics: freePort() };
  let tfo: TfoProcess | undefined;
  try {
    tfo = await startTfo("collector", dir, config({ ...ports, sink: sink.port }));
    let maxPending = 0;
    let maxBytes = 0;
    let maxRss = 0;
    const sample = async () => {
      const text = (await scrape(ports.metrics)) ?? "";
      maxPending = Math.max(
        maxPending,
        metricValue(text, "tfo_processor_tail_sampling_pending_traces") ?? 0,
      );
      maxBytes = Math.max(
        maxBytes,
        metricValue(text, "tfo_processor_tail_sampling_held_bytes") ?? 0,
      );
      maxRss = Math.max(maxRss, (await rssOf(tfo!.pid)) ?? 0);
      return text;
    };
    for (let first = 0; first < TRACES; first += PER_REQUEST) {
      const res = await fetch(`http://127.0.0.1:${ports.http}/v1/traces`, {
        method: "POST",
        headers: { "content-type": "application/x-protobuf" },
        body: request(first) as Uint8Array<ArrayBuffer>,
      });
      await res.body?.cancel();
      assert.equal(res.status, 200, "every request is taken");
      if (first % (PER_REQUEST * 10) === 0) await sample();
    }
    const text = await sample();
    const evicted =
      (metricValue(text, "tfo_processor_tail_sampling_evicted_traces", { reason: "memory" }) ?? 0) +
      (metricValue(text, "tfo_processor_tail_sampling_evicted_traces", { reason: "num_traces" }) ??
        0);
    const early = metricValue(text, "tfo_processor_tail_sampling_early_decisions") ?? 0;
    const pending = metricValue(text, "tfo_processor_tail_sampling_pending_traces") ?? -1;
    console.log(
      `pending ≤ ${maxPending}, held bytes ≤ ${maxBytes}, evicted ${evicted}, early ${early}, ` +
        `peak RSS ${(maxRss / 1024 / 1024).toFixed(0)} MiB`,
    );
    assert.ok(maxPending <= 2000, `pending traces stayed within num_traces (max ${maxPending})`);
    assert.ok(
      maxBytes <= 4 * 1024 * 1024,
      `held bytes stayed within max_memory_mib (max ${maxBytes})`,
    );
    assert.equal(
      pending + evicted + early,
      TRACES,
      "every trace is pending, evicted (decided) or decided early",
    );
    assert.ok(evicted >= TRACES - 2000 - early, `evictions were counted (${evicted})`);
    const errorSpans = TRACES / 100 * 3;
    await waitFor(
      "every error trace at the sink",
      () => sink.received.size >= errorSpans,
      30_000,
      100,
    );
    for (let t = 0; t < TRACES; t += 100) {
      assert.ok(sink.received.has(`t${t}-s0`), `error trace ${t} arrived`);
    }
    assert.equal(sink.received.size, errorSpans, "only error traces were kept");
    assert.equal(await tfo.stop(), 0, "the collector stops cleanly");
    tfo = undefined;
  } finally {
    if (tfo !== undefined) await tfo.killHard();
    await sink.close();
    await Deno.remove(dir, { recursive: true });
  }
});
