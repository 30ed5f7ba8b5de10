import assert from "node:assert/strict";
import type { CreateSettings } from "../../../../components/component.ts";
import {
  findGc,
  parseCgroupLimit,
  parseMemTotal,
  readTotalMemory,
} from "../../../../components/processor/memory_limiter/_memory.ts";
import {
  type MemoryLimiterConfig,
  memoryLimiterConfigSchema,
} from "../../../../components/processor/memory_limiter/config.ts";
import {
  createMemoryLimiter,
  DATA_REFUSED_MESSAGE,
  memoryLimiterFactory,
  memoryLimiterFactoryWith,
  type MemoryLimiterProcessor,
  memoryLimits,
} from "../../../../components/processor/memory_limiter/factory.ts";
import { type Consumer, ConsumerError } from "../../../../lib/consumer/consumer.ts";
import { createLogger } from "../../../../lib/telemetry/logger.ts";
import { MetricRegistry } from "../../../../lib/telemetry/metrics.ts";
import { tracesPayload } from "../../../fixtures/graph_kit.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

const MIB = 1024 * 1024;

function settingsFor(input: Record<string, unknown>, id = "memory_limiter") {
  const config = memoryLimiterConfigSchema.parse(input);
  const registry = new MetricRegistry();
  const lines: Record<string, unknown>[] = [];
  const settings: CreateSettings<MemoryLimiterConfig> = {
    id,
    config,
    logger: createLogger({ level: "debug", write: (l) => lines.push(JSON.parse(l)) }),
    meter: registry.meter({ processor: id }),
    buildInfo: { command: "tfo", version: "test" },
  };
  return { settings, registry, lines };
}

function sink() {
  const received: number[] = [];
  const consumer: Consumer<"traces"> = {
    mutatesData: false,
    consume(payload) {
      received.push(payload.itemCount);
      return Promise.resolve();
    },
  };
  return { received, consumer };
}

/** A limiter over fake memory readings: 1000 MiB hard, 800 MiB soft. */
function fakeLimiter(extra: Record<string, unknown> = {}) {
  const memory: { used: number; afterGc?: number } = { used: 100 * MIB };
  let gcs = 0;
  let now = 0;
  const kit = settingsFor({ check_interval: "1h", limit_mib: 1000, ...extra });
  const next = sink();
  const limiter = createMemoryLimiter(kit.settings, "traces", next.consumer, {
    readMemory: () => memory.used,
    gc: () => {
      gcs++;
      memory.used = memory.afterGc ?? memory.used;
    },
    now: () => now,
  });
  return {
    limiter,
    memory,
    gcs: () => gcs,
    tick: (ms: number) => (now += ms),
    next,
    ...kit,
  };
}

async function refusal(promise: Promise<unknown>): Promise<ConsumerError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ConsumerError);
    return error;
  }
  assert.fail("expected a refusal");
}

Deno.test("memory_limiter config requires check_interval > 0 and a limit, as the Collector does", () => {
  const ok = memoryLimiterConfigSchema.parse({ check_interval: "1s", limit_mib: 4000 });
  assert.equal(ok.check_interval, 1000);
  assert.equal(ok.spike_limit_mib, 0);
  assert.equal(ok.min_gc_interval_when_soft_limited, 10_000);
  for (
    const [bad, path] of [
      [{ limit_mib: 100 }, "check_interval"],
      [{ check_interval: 0, limit_mib: 100 }, "check_interval"],
      [{ check_interval: "1s" }, "limit_mib"],
      [{ check_interval: "1s", limit_mib: 100, spike_limit_mib: 100 }, "spike_limit_mib"],
      [{ check_interval: "1s", limit_percentage: 101 }, "limit_percentage"],
      [
        { check_interval: "1s", limit_percentage: 50, spike_limit_percentage: 60 },
        "spike_limit_percentage",
      ],
      [{ check_interval: "1s", limit_mib: 100, ballast_size_mib: 1 }, ""],
    ] as const
  ) {
    const result = memoryLimiterConfigSchema.safeParse(bad);
    assert.equal(result.success, false, JSON.stringify(bad));
    if (path !== "") assert.equal(result.error!.issues[0]!.path[0], path, JSON.stringify(bad));
  }
});

Deno.test("memory_limiter limits: spike defaults to 20%, percentages are of total memory", () => {
  const c = (input: Record<string, unknown>) =>
    memoryLimiterConfigSchema.parse({ check_interval: "1s", ...input });
  assert.deepEqual(memoryLimits(c({ limit_mib: 1000 })), { hard: 1000 * MIB, soft: 800 * MIB });
  assert.deepEqual(memoryLimits(c({ limit_mib: 1000, spike_limit_mib: 100 })), {
    hard: 1000 * MIB,
    soft: 900 * MIB,
  });
  const total = () => 10_000 * MIB;
  assert.deepEqual(
    memoryLimits(c({ limit_percentage: 50, spike_limit_percentage: 10 }), total),
    { hard: 5000 * MIB, soft: 4000 * MIB },
  );
  assert.deepEqual(memoryLimits(c({ limit_percentage: 50 }), total), {
    hard: 5000 * MIB,
    soft: 4000 * MIB,
  });
  assert.deepEqual(
    memoryLimits(c({ limit_mib: 300, limit_percentage: 50 }), total).hard,
    300 * MIB,
    "limit_mib wins",
  );
  assert.throws(
    () => memoryLimits(c({ limit_percentage: 50 }), () => undefined),
    /Cannot read the total memory/,
  );
});

Deno.test("memory_limiter refuses data above the soft limit and recovers below it", async () => {
  const { limiter, memory, next, registry } = fakeLimiter({ min_gc_interval_when_soft_limited: 0 });
  assert.equal(limiter.mutatesData, false);
  await limiter.start({ getExtension: () => undefined, status: () => "running" });
  await limiter.consume(tracesPayload("a"));
  assert.deepEqual(next.received, [1]);

  memory.used = 850 * MIB; // above 800 MiB soft, below 1000 MiB hard
  limiter.check();
  const error = await refusal(limiter.consume(tracesPayload("a", "b")));
  assert.equal(error.permanent, false, "retryable: the receiver answers 503 / UNAVAILABLE");
  assert.equal(error.message, DATA_REFUSED_MESSAGE);
  assert.equal(error.retryAfterMs, 30_000, "the next check, at most 30s");
  await refusal(limiter.consume(tracesPayload("c")));
  assert.deepEqual(next.received, [1]);
  const labels = { processor: "memory_limiter" };
  assert.equal(registry.value("otelcol_processor_memory_limiter_refused_spans", labels), 3);
  assert.equal(registry.value("otelcol_processor_memory_limiter_accepted_spans", labels), 1);

  memory.used = 700 * MIB;
  limiter.check();
  await limiter.consume(tracesPayload("d"));
  assert.deepEqual(next.received, [1, 1]);
  assert.equal(registry.value("otelcol_processor_memory_limiter_accepted_spans", labels), 2);
  await limiter.shutdown();
});

Deno.test("memory_limiter forces a GC above the hard limit and stays open when it helps", async () => {
  const { limiter, memory, gcs, lines } = fakeLimiter();
  memory.used = 1100 * MIB;
  memory.afterGc = 500 * MIB;
  limiter.check();
  assert.equal(gcs(), 1);
  await limiter.consume(tracesPayload("a"));
  assert.ok(lines.some((l) => /above hard limit/.test(String(l.msg ?? l.message))));
});

Deno.test("memory_limiter forces a GC at the soft limit at most every min_gc_interval_when_soft_limited", async () => {
  const { limiter, memory, gcs, tick } = fakeLimiter({
    min_gc_interval_when_soft_limited: "10s",
  });
  memory.used = 900 * MIB;
  limiter.check();
  assert.equal(gcs(), 1, "first time above the soft limit");
  await refusal(limiter.consume(tracesPayload("a")));
  memory.used = 100 * MIB;
  limiter.check();
  memory.used = 900 * MIB;
  tick(5_000);
  limiter.check();
  assert.equal(gcs(), 1, "too soon for another");
  memory.used = 100 * MIB;
  limiter.check();
  memory.used = 900 * MIB;
  tick(6_000);
  limiter.check();
  assert.equal(gcs(), 2);
});

Deno.test("memory_limiter without a way to force GC still refuses and recovers", async () => {
  const kit = settingsFor({ check_interval: "1h", limit_mib: 100 });
  let used = 200 * MIB;
  const limiter = createMemoryLimiter(kit.settings, "traces", sink().consumer, {
    readMemory: () => used,
    gc: null,
  });
  limiter.check();
  await refusal(limiter.consume(tracesPayload("a")));
  used = 10 * MIB;
  limiter.check();
  await limiter.consume(tracesPayload("a"));
});

Deno.test("memory_limiter instances of one ID share a monitor and stop its timer with the last", async () => {
  const memory = { used: 100 * MIB, reads: 0 };
  const factory = memoryLimiterFactoryWith({
    readMemory: () => (memory.reads++, memory.used),
    gc: null,
  });
  const { settings } = settingsFor({ check_interval: "1h", limit_mib: 1000 }, "ml/shared");
  const a = factory.create(settings, "traces", sink().consumer) as MemoryLimiterProcessor<"traces">;
  const b = factory.create(settings, "traces", sink().consumer) as MemoryLimiterProcessor<"traces">;
  const other = factory.create(
    settingsFor({ check_interval: "1h", limit_mib: 1000 }, "ml/other").settings,
    "traces",
    sink().consumer,
  ) as MemoryLimiterProcessor<"traces">;
  const host = { getExtension: () => undefined, status: () => "running" as const };
  await a.start(host);
  await b.start(host);
  await other.start(host);
  assert.equal(factory.pool.size, 2, "one monitor per ID");
  // One measurement through one instance decides for both of its ID, and for no other ID.
  memory.used = 900 * MIB;
  const before = memory.reads;
  a.check();
  assert.equal(memory.reads, before + 1);
  await refusal(b.consume(tracesPayload("b")));
  await other.consume(tracesPayload("other"));
  memory.used = 100 * MIB;
  b.check();
  await a.consume(tracesPayload("a"));
  // The monitor (and its timer: the test's sanitizer fails on a leaked interval) stays while one
  // instance uses it and goes with the last.
  await a.shutdown();
  assert.equal(factory.pool.size, 2);
  await b.consume(tracesPayload("b"));
  await b.shutdown();
  await b.shutdown();
  assert.equal(factory.pool.size, 1);
  await other.shutdown();
  assert.equal(factory.pool.size, 0);
});

Deno.test("memory_limiter takes a changed limit_mib on reload while the old chain drains on the old one", async () => {
  const memory = { used: 1500 * MIB };
  const factory = memoryLimiterFactoryWith({ readMemory: () => memory.used, gc: null });
  const host = { getExtension: () => undefined, status: () => "running" as const };
  const old = factory.create(
    settingsFor({ check_interval: "1h", limit_mib: 1000 }).settings,
    "traces",
    sink().consumer,
  ) as MemoryLimiterProcessor<"traces">;
  await old.start(host);
  // A reload creates and starts the new chain before the old one is shut down.
  const reloaded = factory.create(
    settingsFor({ check_interval: "1h", limit_mib: 4000 }).settings,
    "traces",
    sink().consumer,
  ) as MemoryLimiterProcessor<"traces">;
  await reloaded.start(host);
  assert.equal(reloaded.limits.hard, 4000 * MIB);
  assert.equal(old.limits.hard, 1000 * MIB);
  await refusal(old.consume(tracesPayload("old")));
  await reloaded.consume(tracesPayload("new"));
  await old.shutdown();
  await reloaded.consume(tracesPayload("new"));
  // An unchanged config on the next reload keeps the same monitor.
  const same = factory.create(
    settingsFor({ check_interval: "1h", limit_mib: 4000 }).settings,
    "traces",
    sink().consumer,
  ) as MemoryLimiterProcessor<"traces">;
  await same.start(host);
  assert.equal(factory.pool.size, 1);
  await reloaded.shutdown();
  await same.shutdown();
  assert.equal(factory.pool.size, 0);
});

Deno.test("memory_limiter measures real memory: RSS, total memory and a GC function", () => {
  assert.ok(Deno.memoryUsage().rss > 0);
  const total = readTotalMemory();
  assert.ok(total === undefined || total > 64 * MIB, `${total}`);
  const gc = findGc();
  assert.equal(typeof gc, "function", "found through node:v8 and node:vm");
  gc!();
});

Deno.test("memory_limiter reads cgroup limits and MemTotal", () => {
  assert.equal(parseCgroupLimit("max\n"), undefined);
  assert.equal(parseCgroupLimit("1073741824\n"), 1024 * MIB);
  assert.equal(parseCgroupLimit("9223372036854771712"), undefined, "cgroup v1 for no limit");
  assert.equal(parseCgroupLimit(undefined), undefined);
  assert.equal(parseMemTotal("MemTotal:       16314736 kB\nMemFree: 1 kB\n"), 16314736 * 1024);
  assert.equal(parseMemTotal("nothing"), undefined);
});

Deno.test("the registered memory_limiter factory gives a reloaded limiter of one ID its new limits", async () => {
  const host = { getExtension: () => undefined, status: () => "running" as const };
  const make = (limit: number) =>
    memoryLimiterFactory.create(
      settingsFor({ check_interval: "1h", limit_mib: limit }).settings,
      "logs",
      { mutatesData: false, consume: () => Promise.resolve() },
    ) as MemoryLimiterProcessor<"logs">;
  const old = make(1_000_000);
  await old.start(host);
  const reloaded = make(2_000_000);
  await reloaded.start(host);
  try {
    assert.equal(reloaded.limits.hard, 2_000_000 * MIB);
  } finally {
    await old.shutdown();
    await reloaded.shutdown();
  }
});
