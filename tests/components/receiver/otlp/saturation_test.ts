/**
 * A saturated pipeline: the otlp receiver in front of a real `otlphttp` exporter whose backend
 * stops answering. The receiver must refuse retryable (HTTP 503 with Retry-After, gRPC
 * `UNAVAILABLE` with `RetryInfo`) instead of buffering, hold no more request bytes than its
 * in-flight bound (read from tfo's own accounting, not from timing), and clients that retry must
 * get everything delivered exactly once when the backend recovers.
 */
import assert from "node:assert/strict";
import { otlphttpConfigSchema } from "../../../../components/exporter/otlphttp/config.ts";
import { otlphttpExporterFactory } from "../../../../components/exporter/otlphttp/factory.ts";
import type { Consumer } from "../../../../lib/consumer/consumer.ts";
import { GrpcCallError, GrpcClient } from "../../../../lib/net/grpc_client.ts";
import { InFlightBytes } from "../../../../lib/net/in_flight_bytes.ts";
import { decodeRpcStatus, GrpcCode } from "../../../../lib/net/rpc_status.ts";
import { decodeTracesRequest, encodeTracesResponse } from "../../../../lib/otlp/mod.ts";
import { settingsFor } from "../../exporter/otlp/_kit.ts";
import { makeReceiver, testHost, tracesProto } from "./_helpers.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

const TRACE_EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/** An OTLP/HTTP backend that records span names; while stalled it holds every request unanswered. */
function backend() {
  const names: string[] = [];
  let stalled = true;
  let held = 0;
  let resume: () => void = () => {};
  let resumed = new Promise<void>((r) => (resume = r));
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const body = await req.bytes();
    if (stalled) {
      held++;
      await resumed;
    }
    for (const rs of decodeTracesRequest(body).resourceSpans) {
      for (const ss of rs.scopeSpans) for (const span of ss.spans) names.push(span.name);
    }
    return new Response(encodeTracesResponse(undefined) as Uint8Array<ArrayBuffer>, {
      headers: { "content-type": "application/x-protobuf" },
    });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    names,
    get held() {
      return held;
    },
    recover() {
      stalled = false;
      resume();
    },
    stall() {
      stalled = true;
      resumed = new Promise<void>((r) => (resume = r));
    },
    close: () => server.shutdown(),
  };
}

/** Waits until `done()` holds, checking every 20 ms, for at most `ms`. */
async function until(done: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) assert.fail(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** What a retrying client saw. */
interface Client {
  refusals: number;
  retryAfters: Set<string>;
}

/** Sends `body` over HTTP until it is accepted, waiting Retry-After (scaled down) between tries. */
async function sendHttp(base: string, body: Uint8Array<ArrayBuffer>, seen: Client): Promise<void> {
  for (let attempt = 0; attempt < 500; attempt++) {
    const res = await fetch(`${base}/v1/traces`, {
      method: "POST",
      body,
      headers: { "content-type": "application/x-protobuf" },
    });
    await res.body?.cancel();
    if (res.status === 200) return;
    assert.ok(res.status === 503 || res.status === 429, `retryable, got HTTP ${res.status}`);
    seen.refusals++;
    const after = res.headers.get("retry-after");
    assert.ok(after !== null, "a refusal carries Retry-After");
    seen.retryAfters.add(after);
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail("never accepted");
}

/** Sends `body` over gRPC until it is accepted, checking the refusal's RetryInfo. */
async function sendGrpc(client: GrpcClient, body: Uint8Array, seen: Client): Promise<void> {
  for (let attempt = 0; attempt < 500; attempt++) {
    try {
      await client.unary(TRACE_EXPORT, body, { timeoutMs: 60_000 });
      return;
    } catch (error) {
      assert.ok(error instanceof GrpcCallError, String(error));
      assert.ok(
        error.code === GrpcCode.UNAVAILABLE || error.code === GrpcCode.RESOURCE_EXHAUSTED,
        `retryable, got code ${error.code}: ${error.message}`,
      );
      seen.refusals++;
      const details = error.statusDetails === undefined
        ? undefined
        : decodeRpcStatus(error.statusDetails);
      if (details?.retryAfterMs !== undefined) seen.retryAfters.add(String(details.retryAfterMs));
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  assert.fail("never accepted");
}

Deno.test("a saturated pipeline refuses retryable within its in-flight bound, and retrying clients deliver everything exactly once after recovery", async () => {
  const sink = backend();
  const config = otlphttpConfigSchema.parse({
    endpoint: sink.url,
    compression: "none",
    timeout: "60s",
    retry_on_failure: { enabled: false },
    sending_queue: { queue_size: 4, num_consumers: 2 },
  });
  const kit = settingsFor("otlphttp", config);
  const exporter = otlphttpExporterFactory.create(kit.settings, ["traces"]);
  await exporter.start(testHost());
  // Spans of about 4 KiB: a 64 KiB bound holds about 15 requests.
  const inFlight = new InFlightBytes(64 * 1024);
  const receiver = makeReceiver(
    { protocols: { grpc: { endpoint: "127.0.0.1:0" }, http: { endpoint: "127.0.0.1:0" } } },
    { traces: exporter.consumers.traces as Consumer<"traces"> },
    [],
    "otlp",
    { inFlight },
  );
  await receiver.start(testHost());
  const grpc = new GrpcClient({
    target: `127.0.0.1:${receiver.grpcPort}`,
    tls: undefined,
    compression: "none",
  });
  try {
    const pad = "p".repeat(4000);
    const names = Array.from({ length: 120 }, (_, i) => `span-${i}-${pad}`);
    const http: Client = { refusals: 0, retryAfters: new Set() };
    const rpc: Client = { refusals: 0, retryAfters: new Set() };
    const sends = names.map((name, i) =>
      i % 2 === 0
        ? sendHttp(`http://127.0.0.1:${receiver.httpPort}`, tracesProto(name), http)
        : sendGrpc(grpc, tracesProto(name), rpc)
    );
    // The backend holds what reached it; the queue fills; then the receiver refuses both ways.
    await until(
      () => http.refusals > 0 && rpc.refusals > 0 && sink.held >= 2,
      30_000,
      "refusals on both protocols and a backend holding a request per queue consumer",
    );
    assert.equal(sink.held, 2, "no more requests at the stalled backend than queue consumers");
    assert.ok(inFlight.peak <= inFlight.limit, `held ${inFlight.peak} > ${inFlight.limit}`);
    // Both the in-flight bound and the full queue ask for a second.
    assert.deepEqual([...http.retryAfters], ["1"]);
    assert.deepEqual([...rpc.retryAfters], ["1000"]);
    sink.recover();
    await Promise.all(sends);
    await until(() => sink.names.length >= names.length, 30_000, "every span at the backend");
    await exporter.shutdown();
    assert.deepEqual([...sink.names].sort(), [...names].sort(), "each span exactly once");
    assert.ok(inFlight.peak <= inFlight.limit, `held ${inFlight.peak} > ${inFlight.limit}`);
    assert.equal(inFlight.held, 0);
  } finally {
    grpc.close();
    await receiver.shutdown();
    await exporter.shutdown();
    sink.recover();
    await sink.close();
  }
});

Deno.test("the in-flight bound is shared by the HTTP and gRPC receivers of a process: neither holds more than the bound in sum", async () => {
  // A pipeline that never answers: every accepted request stays held.
  const pending: (() => void)[] = [];
  const never: Consumer<"traces"> = {
    mutatesData: false,
    consume: () => new Promise<void>((resolve) => pending.push(resolve)),
  };
  const inFlight = new InFlightBytes(256 * 1024);
  const protocols = { endpoint: "127.0.0.1:0" };
  const a = makeReceiver({ protocols: { http: protocols } }, { traces: never }, [], "otlp/a", {
    inFlight,
  });
  const b = makeReceiver({ protocols: { grpc: protocols } }, { traces: never }, [], "otlp/b", {
    inFlight,
  });
  await a.start(testHost());
  await b.start(testHost());
  const grpc = new GrpcClient({ target: `127.0.0.1:${b.grpcPort}`, tls: undefined });
  try {
    const body = tracesProto("q".repeat(16 * 1024));
    const results: string[] = [];
    const calls = Array.from({ length: 80 }, async (_, i) => {
      if (i % 2 === 0) {
        const res = await fetch(`http://127.0.0.1:${a.httpPort}/v1/traces`, {
          method: "POST",
          body,
          headers: { "content-type": "application/x-protobuf" },
        });
        await res.body?.cancel();
        results.push(`http ${res.status}`);
      } else {
        try {
          await grpc.unary(TRACE_EXPORT, body, { timeoutMs: 60_000 });
          results.push("grpc 0");
        } catch (error) {
          results.push(`grpc ${(error as GrpcCallError).code}`);
        }
      }
    });
    // About 15 requests fit; every other one is refused at once and answered.
    await until(() => results.length + pending.length >= 80, 30_000, "answers or holds");
    assert.ok(pending.length >= 2 && pending.length <= 16, `${pending.length} held`);
    assert.ok(results.includes("http 503"), results.join());
    assert.ok(results.includes(`grpc ${GrpcCode.UNAVAILABLE}`), results.join());
    assert.ok(inFlight.held <= inFlight.limit, `held ${inFlight.held} > ${inFlight.limit}`);
    assert.ok(inFlight.peak <= inFlight.limit, `peak ${inFlight.peak} > ${inFlight.limit}`);
    for (const resolve of pending.splice(0)) resolve();
    await Promise.all(calls);
    assert.equal(inFlight.held, 0);
  } finally {
    grpc.close();
    for (const resolve of pending.splice(0)) resolve();
    await a.shutdown();
    await b.shutdown();
  }
});
