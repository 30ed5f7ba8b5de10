import assert from "node:assert/strict";
import { type GrpcCall, GrpcError } from "../../../../lib/net/grpc_server.ts";
import { GrpcCode } from "../../../../lib/net/rpc_status.ts";
import { NOOP_LOGGER } from "../../../../lib/telemetry/logger.ts";
import { MetricRegistry } from "../../../../lib/telemetry/metrics.ts";
import { admitProto, itemBudget } from "../../../../components/receiver/otlp/_budget.ts";
import { OtlpDecodeError, TRACES_PROTO } from "../../../../lib/otlp/mod.ts";
import { Payload, type ProtoDecoder } from "../../../../lib/pdata/payload.ts";
import { grpcMethods } from "../../../../components/receiver/otlp/_grpc_service.ts";
import { post, recorder, startHarness, tracesProto } from "./_helpers.ts";

const PB = { "content-type": "application/x-protobuf" };
const JSON_CT = { "content-type": "application/json" };
const TRACES = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/** ResourceSpans { ScopeSpans { Span { name (field 5) as the varint 1 } } }: sound framing. */
const NAME_AS_NUMBER = new Uint8Array([0x0a, 0x06, 0x12, 0x04, 0x12, 0x02, 0x28, 0x01]);

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

/** A traces request of `spans` empty spans in one scope: two bytes a span. */
function emptySpans(spans: number): Uint8Array<ArrayBuffer> {
  const scope = new Uint8Array(spans * 2);
  for (let i = 0; i < spans; i++) scope[i * 2] = 0x12;
  const scopeHeader = [0x12, ...varint(scope.length)];
  const rsLength = scopeHeader.length + scope.length;
  const head = [0x0a, ...varint(rsLength), ...scopeHeader];
  const out = new Uint8Array(head.length + scope.length);
  out.set(head);
  out.set(scope, head.length);
  return out;
}

Deno.test("otlp http receiver refuses a protobuf body the decoder would refuse, before the pipeline sees it", async () => {
  await using h = await startHarness({ http: null });
  const bad = await post(`${h.httpBase}/v1/traces`, NAME_AS_NUMBER, PB);
  assert.equal(bad.status, 400);
  assert.equal(h.sinks.traces.payloads.length, 0);
  const good = await post(`${h.httpBase}/v1/traces`, tracesProto("ok"), PB);
  assert.equal(good.status, 200);
  assert.equal(h.sinks.traces.payloads.length, 1);
});

Deno.test("otlp http receiver refuses a request over its item budget with 413, protobuf and JSON", async () => {
  await using h = await startHarness({ http: { max_request_body_size: 1024 * 1024 } });
  const budget = itemBudget(1024 * 1024);
  const over = await post(`${h.httpBase}/v1/traces`, emptySpans(budget + 1), PB);
  assert.equal(over.status, 413);
  const at = await post(`${h.httpBase}/v1/traces`, emptySpans(budget), PB);
  assert.equal(at.status, 200);
  assert.equal(h.sinks.traces.payloads[0]!.itemCount, budget);

  const spans = Array.from({ length: budget + 1 }, () => "{}").join(",");
  const json = `{"resourceSpans":[{"scopeSpans":[{"spans":[${spans}]}]}]}`;
  const jsonOver = await post(`${h.httpBase}/v1/traces`, json, JSON_CT);
  assert.equal(jsonOver.status, 413);
  // Braces inside strings are not objects.
  const braces = "{".repeat(budget + 10);
  const inString = `{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"${braces}"}]}]}]}`;
  assert.equal((await post(`${h.httpBase}/v1/traces`, inString, JSON_CT)).status, 200);
  assert.equal(h.sinks.traces.payloads.length, 2);
});

Deno.test("otlp grpc methods refuse an undecodable message INVALID_ARGUMENT and one over budget RESOURCE_EXHAUSTED", async () => {
  const traces = recorder<"traces">();
  const methods = grpcMethods({
    includeMetadata: false,
    next: { traces },
    logger: NOOP_LOGGER,
    meter: new MetricRegistry().meter({ receiver: "otlp" }),
    maxRecvMsgBytes: 1024 * 1024,
  });
  const call = (request: Uint8Array): GrpcCall => ({
    request,
    peer: "127.0.0.1:1",
    metadata: () => new Map(),
  });
  const handler = methods.get(TRACES)!;
  await assert.rejects(
    handler(call(NAME_AS_NUMBER)),
    (e: unknown) => e instanceof GrpcError && e.code === GrpcCode.INVALID_ARGUMENT,
  );
  await assert.rejects(
    handler(call(emptySpans(itemBudget(1024 * 1024) + 1))),
    (e: unknown) => e instanceof GrpcError && e.code === GrpcCode.RESOURCE_EXHAUSTED,
  );
  assert.equal(traces.payloads.length, 0);
  await handler(call(tracesProto("fine")));
  assert.equal(traces.payloads.length, 1);
});

/** The traces decoder, counting which of its two ways was used. */
function spyDecoder(): ProtoDecoder<"traces"> & { decodes: number; counts: number } {
  const spy = {
    decodes: 0,
    counts: 0,
    decode(bytes: Uint8Array) {
      spy.decodes++;
      return TRACES_PROTO.decode(bytes);
    },
    countItems(bytes: Uint8Array) {
      spy.counts++;
      return TRACES_PROTO.countItems(bytes);
    },
  };
  return spy;
}

Deno.test("admitProto decodes instead of counting only when the pipeline decodes and the body cannot exceed the budget", () => {
  const limit = 1024 * 1024;
  const body = tracesProto("a", "b", "c");
  const cases = [
    { decodes: true, bytes: body, decoded: 1, counted: 0 },
    { decodes: false, bytes: body, decoded: 0, counted: 1 },
    // Long enough to hold more than the budget: counted first, whatever the pipeline does.
    { decodes: true, bytes: emptySpans(itemBudget(limit)), decoded: 0, counted: 1 },
  ];
  for (const c of cases) {
    const spy = spyDecoder();
    const payload = Payload.fromProto("traces", c.bytes, spy);
    admitProto(payload, c.bytes.length, limit, c.decodes);
    assert.deepEqual([spy.decodes, spy.counts], [c.decoded, c.counted]);
    assert.equal(payload.itemCount, c.bytes === body ? 3 : itemBudget(limit));
    // Decoding to read keeps the encoded form for pass-through.
    assert.equal(payload.encodedProto, c.bytes);
  }
  const spy = spyDecoder();
  assert.throws(
    () => admitProto(Payload.fromProto("traces", NAME_AS_NUMBER, spy), 8, limit, true),
    OtlpDecodeError,
  );
  assert.equal(spy.decodes, 1);
});

Deno.test("otlp grpc methods in front of a pipeline that changes data refuse what the count would refuse", async () => {
  const traces = { ...recorder<"traces">(), mutatesData: true };
  const methods = grpcMethods({
    includeMetadata: false,
    next: { traces },
    logger: NOOP_LOGGER,
    meter: new MetricRegistry().meter({ receiver: "otlp" }),
    maxRecvMsgBytes: 1024 * 1024,
  });
  const call = (request: Uint8Array): GrpcCall => ({
    request,
    peer: "127.0.0.1:1",
    metadata: () => new Map(),
  });
  const handler = methods.get(TRACES)!;
  await assert.rejects(
    handler(call(NAME_AS_NUMBER)),
    (e: unknown) => e instanceof GrpcError && e.code === GrpcCode.INVALID_ARGUMENT,
  );
  await assert.rejects(
    handler(call(emptySpans(itemBudget(1024 * 1024) + 1))),
    (e: unknown) => e instanceof GrpcError && e.code === GrpcCode.RESOURCE_EXHAUSTED,
  );
  await handler(call(tracesProto("fine", "too")));
  assert.equal(traces.payloads.length, 1);
  assert.equal(traces.payloads[0]!.itemCount, 2);
});
