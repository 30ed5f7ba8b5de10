import assert from "node:assert/strict";
import { ConsumerError, permanentError } from "../../../lib/consumer/consumer.ts";
import {
  classifyGrpcFailure,
  classifyHttpFailure,
  classifyNetworkFailure,
  parseRetryAfter,
} from "../../../lib/exporterhelper/classify.ts";
import {
  decodeRpcStatus,
  encodeRpcStatus,
  GrpcCode,
  grpcCodeName,
} from "../../../lib/net/rpc_status.ts";

Deno.test("HTTP statuses are classified as the OTLP specification lists them", () => {
  const retryable = [429, 502, 503, 504];
  for (
    const status of [
      400,
      401,
      402,
      403,
      404,
      405,
      408,
      409,
      413,
      414,
      431,
      500,
      501,
      505,
      ...retryable,
    ]
  ) {
    const error = classifyHttpFailure({ status, context: "Cannot export traces to x" });
    assert.ok(error instanceof ConsumerError);
    assert.equal(error.permanent, !retryable.includes(status), `HTTP ${status}`);
    assert.equal(error.message, `Cannot export traces to x: HTTP ${status}`);
  }
});

Deno.test("Retry-After becomes retryAfterMs on retryable statuses only", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  const r = classifyHttpFailure({
    status: 503,
    retryAfter: "12",
    context: "c",
    detail: "busy",
    now,
  });
  assert.equal(r.retryAfterMs, 12_000);
  assert.equal(r.message, "c: HTTP 503: busy");
  const p = classifyHttpFailure({ status: 400, retryAfter: "12", context: "c", now });
  assert.equal(p.permanent, true);
  assert.equal(p.retryAfterMs, undefined);
  const d = classifyHttpFailure({
    status: 429,
    retryAfter: "Thu, 01 Jan 2026 00:00:30 GMT",
    context: "c",
    now,
  });
  assert.equal(d.retryAfterMs, 30_000);
});

Deno.test("parseRetryAfter reads delay-seconds and HTTP dates and ignores garbage", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  assert.equal(parseRetryAfter("0", now), 0);
  assert.equal(parseRetryAfter(" 5 ", now), 5000);
  assert.equal(parseRetryAfter("Wed, 31 Dec 2025 23:59:00 GMT", now), 0, "a past date is now");
  assert.equal(parseRetryAfter("Thu, 01 Jan 2026 00:01:00 GMT", now), 60_000);
  for (const bad of [null, undefined, "", "-3", "1.5", "soon", "12abc"]) {
    assert.equal(parseRetryAfter(bad, now), undefined, String(bad));
  }
});

Deno.test("gRPC codes are classified as the OTLP specification lists them", () => {
  const retryable = new Set([
    "CANCELLED",
    "DEADLINE_EXCEEDED",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNAVAILABLE",
    "DATA_LOSS",
  ]);
  for (const [name, code] of Object.entries(GrpcCode)) {
    if (code === 0) continue;
    const error = classifyGrpcFailure({ code, details: "why", context: "c" });
    assert.equal(error.permanent, !retryable.has(name), name);
    assert.equal(error.message, `c: ${name}: why`);
    assert.equal(grpcCodeName(code), name);
  }
  assert.equal(grpcCodeName(99), "CODE_99");
});

Deno.test("RetryInfo makes RESOURCE_EXHAUSTED retryable and gives retryAfterMs", () => {
  const statusDetails = encodeRpcStatus({
    code: GrpcCode.RESOURCE_EXHAUSTED,
    message: "slow down",
    retryAfterMs: 1250,
  });
  const error = classifyGrpcFailure({
    code: GrpcCode.RESOURCE_EXHAUSTED,
    details: "",
    statusDetails,
    context: "c",
  });
  assert.equal(error.permanent, false);
  assert.equal(error.retryAfterMs, 1250);
  assert.equal(
    error.message,
    "c: RESOURCE_EXHAUSTED: slow down",
    "the message comes from the Status",
  );
  const without = classifyGrpcFailure({
    code: GrpcCode.RESOURCE_EXHAUSTED,
    details: "quota",
    statusDetails: encodeRpcStatus({ code: GrpcCode.RESOURCE_EXHAUSTED, message: "quota" }),
    context: "c",
  });
  assert.equal(without.permanent, true);
  assert.equal(without.retryAfterMs, undefined);
});

Deno.test("google.rpc.Status round-trips, and garbage decodes to undefined", () => {
  assert.deepEqual(
    decodeRpcStatus(encodeRpcStatus({ code: 14, message: "unavailable", retryAfterMs: 30_500 })),
    {
      code: 14,
      message: "unavailable",
      retryAfterMs: 30_500,
    },
  );
  assert.deepEqual(decodeRpcStatus(new Uint8Array()), {
    code: 0,
    message: "",
    retryAfterMs: undefined,
  });
  assert.equal(decodeRpcStatus(new Uint8Array([0x12, 0x7f, 0x41])), undefined, "truncated");
  assert.equal(decodeRpcStatus(new Uint8Array([0x0b])), undefined, "group wire type");
  assert.equal(decodeRpcStatus(new TextEncoder().encode("<html>")), undefined);
});

Deno.test("network failures are retryable and timeouts say so", () => {
  const refused = classifyNetworkFailure(
    "c",
    new TypeError("error sending request: connection refused"),
  );
  assert.equal(refused.permanent, false);
  assert.equal(refused.message, "c: error sending request: connection refused");
  const timeout = classifyNetworkFailure(
    "c",
    new DOMException("Signal timed out.", "TimeoutError"),
  );
  assert.equal(timeout.message, "c: timed out");
  assert.equal(timeout.permanent, false);
  const already = permanentError("bad");
  assert.equal(classifyNetworkFailure("c", already), already, "a ConsumerError passes through");
});
