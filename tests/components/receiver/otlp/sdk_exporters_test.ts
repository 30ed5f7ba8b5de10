// deno-lint-ignore-file no-import-prefix -- test-only npm peers, pinned here
/**
 * The real OpenTelemetry JS exporters (gRPC, HTTP/protobuf, HTTP/JSON) against the otlp receiver:
 * the spans a tracer made arrive with their names, IDs and attributes.
 */
import assert from "node:assert/strict";
import {
  BasicTracerProvider,
  SimpleSpanProcessor,
  type SpanExporter,
} from "npm:@opentelemetry/sdk-trace-base@2.12.1";
import { OTLPTraceExporter as GrpcExporter } from "npm:@opentelemetry/exporter-trace-otlp-grpc@0.301.0";
import { OTLPTraceExporter as ProtoExporter } from "npm:@opentelemetry/exporter-trace-otlp-proto@0.301.1";
import { OTLPTraceExporter as JsonExporter } from "npm:@opentelemetry/exporter-trace-otlp-http@0.301.0";
import type { Span } from "../../../../lib/pdata/types.ts";
import { type Harness, startHarness } from "./_helpers.ts";

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

async function sendSpans(exporter: SpanExporter, names: string[]) {
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer("tfo-test", "1.2.3");
  const sent: { name: string; traceId: string; spanId: string }[] = [];
  for (const name of names) {
    const span = tracer.startSpan(name, { attributes: { "http.route": "/cart", retries: 3 } });
    const ctx = span.spanContext();
    sent.push({ name, traceId: ctx.traceId, spanId: ctx.spanId });
    span.end();
  }
  await provider.forceFlush();
  await provider.shutdown();
  return sent;
}

function receivedSpans(
  payloads: { read(): { resourceSpans: { scopeSpans: { spans: Span[] }[] }[] } }[],
) {
  return payloads.flatMap((p) =>
    p.read().resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans))
  );
}

for (
  const [label, protocol, make] of [
    [
      "grpc",
      "grpc",
      (h: Harness) => new GrpcExporter({ url: `http://${h.grpcAddress}` }),
    ],
    [
      "http/protobuf",
      "http",
      (h: Harness) => new ProtoExporter({ url: `${h.httpBase}/v1/traces` }),
    ],
    [
      "http/json",
      "http",
      (h: Harness) => new JsonExporter({ url: `${h.httpBase}/v1/traces` }),
    ],
  ] as const
) {
  Deno.test(`otlp receiver takes spans from the OpenTelemetry JS ${label} exporter`, async () => {
    await using h = await startHarness({ [protocol]: null });
    const sent = await sendSpans(make(h), ["checkout", "pay"]);
    const spans = receivedSpans(h.sinks.traces.payloads);
    assert.deepEqual(
      spans.map((s) => ({ name: s.name, traceId: hex(s.traceId), spanId: hex(s.spanId) })),
      sent,
    );
    assert.deepEqual(spans[0]!.attributes, [
      { key: "http.route", value: "/cart" },
      { key: "retries", value: 3n },
    ]);
    const rs = h.sinks.traces.payloads[0]!.read().resourceSpans[0]!;
    assert.equal(rs.scopeSpans[0]!.scope.name, "tfo-test");
    assert.ok(rs.resource.attributes.some((a) => a.key === "service.name"));
  });
}
