/**
 * Backend faults against real servers on 127.0.0.1, with the exporter helper's retries: which
 * failures are retried, after how long, and how many attempts reach the backend. Intervals are
 * short (50 ms) so the tests stay fast; a Retry-After of 1 second is waited for for real.
 */
import assert from "node:assert/strict";
import { otlphttpConfigSchema } from "../../../../components/exporter/otlphttp/config.ts";
import { otlphttpExporterFactory } from "../../../../components/exporter/otlphttp/factory.ts";
import { type Consumer, ConsumerError } from "../../../../lib/consumer/consumer.ts";
import { encodeTracesResponse } from "../../../../lib/otlp/mod.ts";
import { tracesPayload } from "../../../fixtures/graph_kit.ts";
import { closedPort, settingsFor } from "../otlp/_kit.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

/** Retries 50 ms apart, without jitter, for at most 5 s. */
const FAST_RETRY = {
  initial_interval: "50ms",
  randomization_factor: 0,
  multiplier: 1,
  max_interval: "50ms",
  max_elapsed_time: "5s",
};

const NO_QUEUE = { enabled: false };

function ok(): Response {
  return new Response(encodeTracesResponse(undefined) as Uint8Array<ArrayBuffer>, {
    headers: { "content-type": "application/x-protobuf" },
  });
}

/** An OTLP/HTTP server answering the n-th request (from 0) with `answer(n)`; records arrival times. */
function server(answer: (n: number) => Response | Promise<Response>, port = 0) {
  const arrivals: number[] = [];
  const s = Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, async (req) => {
    await req.bytes();
    const n = arrivals.length;
    arrivals.push(performance.now());
    return await answer(n);
  });
  return { url: `http://127.0.0.1:${s.addr.port}`, arrivals, close: () => s.shutdown() };
}

async function exporterFor(input: Record<string, unknown>) {
  const config = otlphttpConfigSchema.parse({
    compression: "none",
    retry_on_failure: FAST_RETRY,
    sending_queue: NO_QUEUE,
    ...input,
  });
  const kit = settingsFor("otlphttp", config);
  const exporter = otlphttpExporterFactory.create(kit.settings, ["traces"]);
  await exporter.start({ getExtension: () => undefined, status: () => "running" });
  const traces = exporter.consumers.traces as Consumer<"traces">;
  const metric = (name: string, labels: Record<string, string> = {}) =>
    kit.registry.value(name, { exporter: "otlphttp", ...labels });
  return { exporter, traces, metric };
}

async function rejection(promise: Promise<unknown>): Promise<ConsumerError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ConsumerError, `a ConsumerError, got ${error}`);
    return error;
  }
  assert.fail("expected a rejection");
}

for (const status of [429, 503]) {
  Deno.test(`otlphttp exporter retries HTTP ${status} after its Retry-After, then delivers`, async () => {
    const backend = server((n) =>
      n === 0 ? new Response(null, { status, headers: { "retry-after": "1" } }) : ok()
    );
    const { exporter, traces, metric } = await exporterFor({ endpoint: backend.url });
    await traces.consume(tracesPayload("a", "b"));
    await exporter.shutdown();
    await backend.close();
    assert.equal(backend.arrivals.length, 2);
    const gap = backend.arrivals[1]! - backend.arrivals[0]!;
    assert.ok(gap >= 950 && gap < 3000, `waited ${gap}ms, not the 50ms backoff`);
    assert.equal(metric("otelcol_exporter_sent_spans"), 2);
    assert.equal(metric("otelcol_exporter_send_failed_spans"), 0);
  });
}

for (const status of [400, 500]) {
  Deno.test(`otlphttp exporter never retries HTTP ${status} (permanent)`, async () => {
    const backend = server(() => new Response("no", { status }));
    const { exporter, traces, metric } = await exporterFor({ endpoint: backend.url });
    const error = await rejection(traces.consume(tracesPayload("a")));
    await new Promise((resolve) => setTimeout(resolve, 150)); // three backoffs' worth
    await exporter.shutdown();
    await backend.close();
    assert.equal(error.permanent, true);
    assert.equal(backend.arrivals.length, 1);
    assert.equal(metric("otelcol_exporter_send_failed_spans"), 1);
  });
}

Deno.test("otlphttp exporter retries a refused connection until the server comes up", async () => {
  const port = closedPort();
  const { exporter, traces, metric } = await exporterFor({ endpoint: `http://127.0.0.1:${port}` });
  const began = performance.now();
  const delivered = traces.consume(tracesPayload("a"));
  await new Promise((resolve) => setTimeout(resolve, 300));
  const backend = server(() => ok(), port);
  await delivered;
  const took = performance.now() - began;
  await exporter.shutdown();
  await backend.close();
  assert.equal(backend.arrivals.length, 1, "one attempt reached it, once it was up");
  assert.ok(took >= 300, `${took}ms`);
  assert.equal(metric("otelcol_exporter_sent_spans"), 1);
});

/** A TCP server whose n-th connection (from 0) reads a request and gets `reply(n)`, then closes. */
function rawServer(reply: (n: number) => string) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let connections = 0;
  const done = (async () => {
    for await (const conn of listener) {
      const n = connections++;
      await conn.read(new Uint8Array(65536));
      await conn.write(new TextEncoder().encode(reply(n))).catch(() => 0);
      conn.close();
    }
  })();
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    connections: () => connections,
    async close() {
      listener.close();
      await done.catch(() => {});
    },
  };
}

Deno.test("otlphttp exporter retries a connection reset in the middle of the response body", async () => {
  const backend = rawServer((n) =>
    n === 0
      ? "HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 100\r\n\r\n\x0a"
      : "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
  );
  const { exporter, traces, metric } = await exporterFor({ endpoint: backend.url });
  await traces.consume(tracesPayload("a"));
  await exporter.shutdown();
  await backend.close();
  assert.equal(backend.connections(), 2);
  assert.equal(metric("otelcol_exporter_sent_spans"), 1);
});

Deno.test("otlphttp exporter times out on a backend that never answers, then retries", async () => {
  const { promise: never, resolve: release } = Promise.withResolvers<Response>();
  const backend = server((n) => n === 0 ? never : ok());
  const { exporter, traces, metric } = await exporterFor({
    endpoint: backend.url,
    timeout: "200ms",
  });
  await traces.consume(tracesPayload("a"));
  await exporter.shutdown();
  release(ok());
  await backend.close();
  assert.equal(backend.arrivals.length, 2);
  const gap = backend.arrivals[1]! - backend.arrivals[0]!;
  assert.ok(gap >= 240, `the timeout (200ms) and the backoff (50ms) passed: ${gap}ms`);
  assert.equal(metric("otelcol_exporter_sent_spans"), 1);
});

Deno.test("otlphttp exporter with a queue accepts at once and delivers through 503s by shutdown", async () => {
  const backend = server((n) => n < 2 ? new Response(null, { status: 503 }) : ok());
  const { exporter, traces, metric } = await exporterFor({
    endpoint: backend.url,
    sending_queue: { num_consumers: 1 },
  });
  await traces.consume(tracesPayload("a"));
  assert.ok(backend.arrivals.length <= 1, "accepted once queued, before delivery");
  await exporter.shutdown();
  await backend.close();
  assert.equal(backend.arrivals.length, 3);
  assert.equal(metric("otelcol_exporter_sent_spans"), 1);
  assert.equal(metric("otelcol_exporter_queue_size", { data_type: "traces" }), 0);
});
