import assert from "node:assert/strict";
import type { Host } from "../../../components/component.ts";
import {
  type Consumer,
  ConsumerError,
  permanentError,
  retryableError,
} from "../../../lib/consumer/consumer.ts";
import { encodedPayload } from "../../../components/exporter/otlp/signals.ts";
import type { Signal } from "../../../lib/pdata/types.ts";
import {
  countsItsOwnSends,
  createExporterHelper,
  type ExporterHelperConfig,
  type ExporterHelperOptions,
  type PushFunc,
  retryOnFailureSchema,
  sendingQueueSchema,
} from "../../../lib/exporterhelper/exporter_helper.ts";
import type { Payload } from "../../../lib/pdata/payload.ts";
import { NOOP_LOGGER } from "../../../lib/telemetry/logger.ts";
import { instrumentExporterInput } from "../../../pipelines/instrument.ts";
import { spanNamesOf } from "../../fixtures/graph_kit.ts";
import { FakeClock, settle } from "./_fake_clock.ts";
import { consumerError, drive, observed, probe, RETRY_DEFAULTS, tracesPayload } from "./_kit.ts";
import { kvStorageHost } from "../../fixtures/queue/kit.ts";
import { loadConfigLibs } from "../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

const HOST: Host = { getExtension: () => undefined, status: () => "running" };

function config(
  queue: Record<string, unknown> = {},
  retry: Record<string, unknown> = {},
  timeout = 0,
): ExporterHelperConfig {
  return {
    timeout,
    retry_on_failure: retryOnFailureSchema.parse(retry),
    sending_queue: sendingQueueSchema.parse(queue),
  };
}

/** A push whose calls stay pending until the test answers them. */
function manualPush() {
  const calls: {
    payload: Payload<"traces">;
    signal: AbortSignal;
    resolve: () => void;
    reject: (e: unknown) => void;
  }[] = [];
  const push: PushFunc<"traces"> = (payload, signal) =>
    new Promise((resolve, reject) => calls.push({ payload, signal, resolve, reject }));
  return { calls, push };
}

function helperWith(
  cfg: ExporterHelperConfig,
  push: PushFunc<"traces">,
  options: ExporterHelperOptions = {},
) {
  const o = observed("otlphttp");
  const helper = createExporterHelper(
    { id: "otlphttp", logger: o.logger, meter: o.meter },
    cfg,
    { traces: push },
    options,
  );
  const traces = helper.consumers.traces as Consumer<"traces">;
  const metric = (name: string, labels: Record<string, string> = {}) =>
    o.registry.value(name, { exporter: "otlphttp", ...labels });
  return { helper, traces, metric, ...o };
}

Deno.test("exporter helper config has the Collector's defaults", () => {
  const c = config();
  assert.deepEqual(c.retry_on_failure, RETRY_DEFAULTS);
  assert.deepEqual(c.sending_queue, {
    enabled: true,
    num_consumers: 10,
    queue_size: 1000,
    block_on_overflow: false,
    blocking: false,
    wait_for_result: false,
    max_size_mib: 0,
    when_full: "refuse",
  });
  assert.deepEqual(sendingQueueSchema.parse({ batch: {} }).batch, {
    enabled: true,
    flush_timeout: 200,
    min_size: 8192,
    max_size: 0,
    partition: { metadata_keys: [] },
  });
  for (
    const bad of [
      { when_full: "drop_oldest", blocking: true },
      { when_full: "drop_oldest", block_on_overflow: true },
      { when_full: "drop_oldest", sizer: "items" },
      { wait_for_result: true, storage: "file_storage" },
      { sizer: "spans" },
      { concurrency_controller: "adaptive_concurrency" },
      { batch: { flush_timeout: 0 } },
      { batch: { min_size: 100, max_size: 10 } },
      { batch: { partition: { metadata_keys: ["Tenant", "tenant"] } } },
      { batch: { timeout: "1s" } },
      { num_consumers: 0 },
      { queue_size: 0 },
      { persistent: true },
    ]
  ) {
    assert.equal(sendingQueueSchema.safeParse(bad).success, false, JSON.stringify(bad));
  }
  for (
    const bad of [
      { randomization_factor: 2 },
      { max_elapsed_time: "1s" },
      { initial_interval: "-1s" },
      { backoff: "1s" },
    ]
  ) {
    assert.equal(retryOnFailureSchema.safeParse(bad).success, false, JSON.stringify(bad));
  }
  assert.equal(retryOnFailureSchema.parse({ max_elapsed_time: 0 }).max_elapsed_time, 0);
});

Deno.test("exporter helper without a queue resolves once delivered, after retries, and counts once", async () => {
  const clock = new FakeClock();
  let attempts = 0;
  const { helper, traces, metric } = helperWith(
    config({ enabled: false }),
    () => ++attempts < 3 ? Promise.reject(retryableError("HTTP 503")) : Promise.resolve(),
    { clock, random: () => 0.5 },
  );
  assert.equal(countsItsOwnSends(traces), true);
  await helper.start(HOST);
  const p = await drive(clock, traces.consume(tracesPayload("a", "b")));
  assert.equal(p.error, undefined);
  assert.equal(attempts, 3);
  assert.equal(metric("otelcol_exporter_sent_spans"), 2);
  assert.equal(metric("otelcol_exporter_send_failed_spans"), 0);
  await helper.shutdown();
});

Deno.test("exporter helper drops a permanent failure at once, counts it and logs it rate-limited", async () => {
  const clock = new FakeClock();
  let attempts = 0;
  const { helper, traces, metric, lines } = helperWith(
    config({ enabled: false }),
    () => {
      attempts++;
      return Promise.reject(permanentError("HTTP 400: bad span"));
    },
    { clock },
  );
  await helper.start(HOST);
  for (let i = 0; i < 3; i++) {
    const p = await drive(clock, traces.consume(tracesPayload("a")));
    assert.equal(consumerError(p).permanent, true);
  }
  assert.equal(attempts, 3, "one attempt per request, never a retry");
  assert.equal(metric("otelcol_exporter_send_failed_spans"), 3);
  const errors = lines.filter((l) => l.level === "error");
  assert.equal(errors.length, 1, "logged once per interval");
  assert.match(String(errors[0]?.msg ?? errors[0]?.message), /not retryable/);
  await clock.advance(10_000);
  await drive(clock, traces.consume(tracesPayload("a")));
  const again = lines.filter((l) => l.level === "error");
  assert.equal(again.length, 2);
  assert.equal(again[1]?.suppressed_since_last, 2);
  await helper.shutdown();
});

Deno.test("exporter helper counts a request whose retries ran out as failed, once", async () => {
  const clock = new FakeClock();
  let attempts = 0;
  const { helper, traces, metric } = helperWith(
    config({ enabled: false }, { max_elapsed_time: "30s" }),
    () => {
      attempts++;
      return Promise.reject(retryableError("HTTP 503"));
    },
    { clock, random: () => 0.5 },
  );
  await helper.start(HOST);
  const p = await drive(clock, traces.consume(tracesPayload("a", "b", "c")));
  assert.match(consumerError(p).message, /No more retries left/);
  assert.equal(attempts, 4, "waits 5 + 7.5 + 11.25s; the next 16.875s would pass 30s");
  assert.equal(metric("otelcol_exporter_send_failed_spans"), 3);
  assert.equal(metric("otelcol_exporter_sent_spans"), 0);
  await helper.shutdown();
});

Deno.test("exporter helper refuses before start and after shutdown, retryably", async () => {
  const { helper, traces } = helperWith(config(), () => Promise.resolve());
  await assert.rejects(traces.consume(tracesPayload("a")), /not started/);
  await helper.start(HOST);
  await helper.shutdown();
  await helper.shutdown();
  const p = probe(traces.consume(tracesPayload("a")));
  await settle();
  assert.match(consumerError(p).message, /shut down/);
  assert.equal(consumerError(p).permanent, false);
});

Deno.test("exporter helper without a queue returns a retrying request as retryable at shutdown", async () => {
  const clock = new FakeClock();
  const { helper, traces, metric } = helperWith(
    config({ enabled: false }),
    () => Promise.reject(retryableError("HTTP 503")),
    { clock },
  );
  await helper.start(HOST);
  const p = probe(traces.consume(tracesPayload("a")));
  await settle();
  assert.equal(clock.pending, 1, "waiting to retry");
  await helper.shutdown();
  assert.equal(p.settled, true);
  assert.equal(consumerError(p).permanent, false);
  assert.match(consumerError(p).message, /Interrupted due to shutdown/);
  assert.equal(metric("otelcol_exporter_send_failed_spans"), 1);
});

Deno.test("exporter helper with a queue resolves once queued and sends in the background", async () => {
  const { calls, push } = manualPush();
  const { helper, traces, metric } = helperWith(config({ num_consumers: 1 }), push);
  await helper.start(HOST);
  await traces.consume(tracesPayload("a"));
  await settle();
  assert.equal(calls.length, 1, "taken by the queue consumer");
  assert.equal(metric("otelcol_exporter_queue_size", { data_type: "traces" }), 1);
  assert.equal(metric("otelcol_exporter_queue_capacity", { data_type: "traces" }), 1000);
  assert.ok(metric("tfo_exporter_queue_bytes", { data_type: "traces" })! > 0);
  calls[0]!.resolve();
  await settle();
  assert.equal(metric("otelcol_exporter_queue_size", { data_type: "traces" }), 0);
  assert.equal(metric("tfo_exporter_queue_bytes", { data_type: "traces" }), 0);
  assert.equal(metric("otelcol_exporter_sent_spans"), 1);
  await helper.shutdown();
});

Deno.test("exporter helper refuses data retryably when the queue is full, and counts it", async () => {
  const { calls, push } = manualPush();
  const { helper, traces, metric } = helperWith(
    config({ num_consumers: 1, queue_size: 2 }),
    push,
  );
  await helper.start(HOST);
  await traces.consume(tracesPayload("a"));
  await traces.consume(tracesPayload("b"));
  const p = probe(traces.consume(tracesPayload("c", "d")));
  await settle();
  const error = consumerError(p);
  assert.equal(error.permanent, false);
  assert.match(error.message, /full/);
  assert.equal(metric("otelcol_exporter_enqueue_failed_spans"), 2);
  for (const c of calls) c.resolve();
  await settle();
  calls[1]?.resolve();
  await helper.shutdown();
});

Deno.test("exporter helper with blocking waits for room instead of refusing", async () => {
  const { calls, push } = manualPush();
  const { helper, traces } = helperWith(
    config({ num_consumers: 1, queue_size: 1, blocking: true }),
    push,
  );
  await helper.start(HOST);
  await traces.consume(tracesPayload("a"));
  const waiting = probe(traces.consume(tracesPayload("b")));
  await settle();
  assert.equal(waiting.settled, false, "waits while the queue is full");
  calls[0]!.resolve();
  await settle();
  assert.equal(waiting.settled, true);
  assert.equal(waiting.error, undefined);
  await settle();
  calls[1]!.resolve();
  await helper.shutdown();
});

Deno.test("exporter helper sends with num_consumers requests at once", async () => {
  const { calls, push } = manualPush();
  const { helper, traces } = helperWith(config({ num_consumers: 3 }), push);
  await helper.start(HOST);
  for (let i = 0; i < 5; i++) await traces.consume(tracesPayload(`s${i}`));
  await settle();
  assert.equal(calls.length, 3);
  calls[0]!.resolve();
  await settle();
  assert.equal(calls.length, 4);
  for (const c of calls) c.resolve();
  await settle();
  for (const c of calls) c.resolve();
  const stopped = helper.shutdown();
  await settle();
  for (const c of calls) c.resolve();
  await stopped;
  assert.deepEqual(calls.map((c) => spanNamesOf(c.payload.read())[0]), [
    "s0",
    "s1",
    "s2",
    "s3",
    "s4",
  ]);
});

Deno.test("exporter helper drains the memory queue at shutdown, retrying until delivered", async () => {
  const clock = new FakeClock();
  let attempts = 0;
  const delivered: string[] = [];
  const { helper, traces, metric } = helperWith(
    config({ num_consumers: 2 }),
    (payload) => {
      if (++attempts <= 4) return Promise.reject(retryableError("HTTP 503"));
      delivered.push(spanNamesOf(payload.read())[0]!);
      return Promise.resolve();
    },
    { clock, random: () => 0.5 },
  );
  await helper.start(HOST);
  for (const name of ["a", "b", "c"]) await traces.consume(tracesPayload(name));
  const stopped = await drive(clock, helper.shutdown());
  assert.equal(stopped.settled, true);
  assert.deepEqual(delivered.toSorted(), ["a", "b", "c"]);
  assert.equal(metric("otelcol_exporter_sent_spans"), 3);
  assert.equal(metric("otelcol_exporter_queue_size", { data_type: "traces" }), 0);
  await assert.rejects(traces.consume(tracesPayload("late")), /shut down/);
});

Deno.test("exporter helper drops what a queued request failed permanently, and counts it", async () => {
  const { helper, traces, metric } = helperWith(
    config({ num_consumers: 1 }),
    () => Promise.reject(permanentError("HTTP 400")),
  );
  await helper.start(HOST);
  await traces.consume(tracesPayload("a", "b"));
  await helper.shutdown();
  assert.equal(metric("otelcol_exporter_send_failed_spans"), 2);
  assert.equal(metric("otelcol_exporter_queue_size", { data_type: "traces" }), 0);
});

Deno.test("exporter helper aborts a slow attempt at the timeout and retries it", async () => {
  const clock = new FakeClock();
  const { calls, push } = manualPush();
  const { helper, traces } = helperWith(config({ enabled: false }, {}, 2000), push, {
    clock,
    random: () => 0.5,
  });
  await helper.start(HOST);
  const p = probe(traces.consume(tracesPayload("a")));
  await clock.advance(2000);
  assert.equal(calls[0]?.signal.aborted, true);
  assert.equal(calls.length, 1);
  await clock.advance(5000);
  assert.equal(calls.length, 2, "retried after the backoff");
  calls[1]!.resolve();
  await settle();
  assert.equal(p.settled, true);
  assert.equal(p.error, undefined);
  await helper.shutdown();
});

Deno.test("exporter helper keeps an interrupted entry of a persistent queue on disk for the next start", async () => {
  const kv = await Deno.openKv(":memory:");
  const { host, clients } = kvStorageHost(kv);

  try {
    const clock = new FakeClock();
    let attempts = 0;
    const first = helperWith(
      config({ storage: "file_storage", num_consumers: 1 }),
      () => {
        attempts++;
        return Promise.reject(retryableError("HTTP 503"));
      },
      { clock },
    );
    await first.helper.start(host);
    await first.traces.consume(tracesPayload("kept"));
    await settle();
    await settle();
    assert.equal(attempts, 1);
    await first.helper.shutdown();
    assert.equal(first.metric("otelcol_exporter_send_failed_spans"), 0, "not a failure");
    assert.ok(clients.every((c) => c.closed), "the storage client was closed");

    const delivered: string[] = [];
    const second = helperWith(
      config({ storage: "file_storage", num_consumers: 1 }),
      (payload) => {
        delivered.push(...spanNamesOf(payload.read()));
        return Promise.resolve();
      },
    );
    await second.helper.start(host);
    for (let i = 0; i < 50 && delivered.length === 0; i++) await settle();
    await second.helper.shutdown();
    assert.deepEqual(delivered, ["kept"]);
  } finally {
    kv.close();
  }
});

Deno.test("exporter helper fails to start when the storage extension is missing", async () => {
  const { helper } = helperWith(config({ storage: "file_storage" }), () => Promise.resolve());
  await assert.rejects(helper.start(HOST), /Cannot use storage "file_storage"/);
  await helper.shutdown();
});

Deno.test("the pipeline graph does not count sends of a helper-made consumer a second time", () => {
  const { traces, meter } = helperWith(config(), () => Promise.resolve());
  assert.equal(instrumentExporterInput("traces", traces, meter, NOOP_LOGGER), traces);
  const plain: Consumer<"traces"> = { mutatesData: false, consume: () => Promise.resolve() };
  assert.equal(countsItsOwnSends(plain), false);
  assert.notEqual(instrumentExporterInput("traces", plain, meter, NOOP_LOGGER), plain);
});

Deno.test("exporter helper puts what beforeQueue returns into its queue, and refuses as permanent what it cannot take", async () => {
  const pushed: Payload<"traces">[] = [];
  const { helper, traces, metric } = helperWith(
    config({ num_consumers: 1 }),
    (payload) => {
      pushed.push(payload);
      return Promise.resolve();
    },
    {
      beforeQueue: <S extends Signal>(payload: Payload<S>) => {
        if (payload.itemCount > 2) throw new Error("too big for this test");
        return encodedPayload(payload);
      },
    },
  );
  await helper.start(HOST);
  await traces.consume(tracesPayload("a", "b"));
  await assert.rejects(
    traces.consume(tracesPayload("x", "y", "z")),
    (e: unknown) =>
      e instanceof ConsumerError && e.permanent && /too big for this test/.test(e.message),
  );
  await helper.shutdown();
  assert.equal(pushed.length, 1);
  assert.notEqual(pushed[0]!.encodedParts, undefined, "the queue held the encoded form");
  assert.deepEqual(spanNamesOf(pushed[0]!.read()), ["a", "b"]);
  assert.equal(metric("otelcol_exporter_sent_spans"), 2);
});
