/**
 * The hostmetrics receiver: every default metric against this machine (cross-checked with /proc read
 * independently), exact values from a fake root, filters, missing sources, errors and lifecycle.
 */
import assert from "node:assert/strict";
import { hostmetricsConfigSchema } from "../../../../components/receiver/hostmetrics/config.ts";
import {
  createHostmetricsReceiver,
  hostmetricsReceiverFactory,
} from "../../../../components/receiver/hostmetrics/factory.ts";
import type { Payload } from "../../../../lib/pdata/payload.ts";
import {
  AggregationTemporality,
  type Metric,
  type MetricsData,
  type NumberDataPoint,
} from "../../../../lib/pdata/types.ts";
import { createLogger } from "../../../../lib/telemetry/logger.ts";
import { MetricRegistry } from "../../../../lib/telemetry/metrics.ts";
import { makeFakeRoot } from "../../../lib/host/_fake_root.ts";
import { FakeClock } from "../../../fixtures/fake_clock.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

const HOST = { getExtension: () => undefined, status: () => "running" as const };

const COLLECTOR_SCRAPERS = [
  "cpu",
  "memory",
  "disk",
  "filesystem",
  "network",
  "load",
  "paging",
  "processes",
  "process",
];
const TFO_SCRAPERS = ["pressure", "vmstat", "sockstat", "entropy", "filedescriptors", "thermal"];

interface Run {
  payloads: Payload<"metrics">[];
  logs: Record<string, unknown>[];
  registry: MetricRegistry;
}

/** Runs a receiver for `cycles` collections and stops it. */
async function collect(raw: Record<string, unknown>, cycles = 1): Promise<Run> {
  const config = hostmetricsConfigSchema.parse({
    initial_delay: "0s",
    collection_interval: "20ms",
    ...raw,
  });
  const payloads: Payload<"metrics">[] = [];
  const logs: Record<string, unknown>[] = [];
  const registry = new MetricRegistry();
  const { promise, resolve } = Promise.withResolvers<void>();
  const receiver = createHostmetricsReceiver(
    config,
    createLogger({ level: "debug", write: (l) => logs.push(JSON.parse(l)) }),
    registry.meter({ receiver: "hostmetrics" }),
    {
      metrics: {
        mutatesData: false,
        consume(p) {
          payloads.push(p);
          if (payloads.length === cycles) resolve();
          return Promise.resolve();
        },
      },
    },
  );
  await receiver.start(HOST);
  await promise;
  await receiver.shutdown();
  return { payloads: payloads.slice(0, cycles), logs, registry };
}

function hostMetrics(data: MetricsData): Map<string, Metric> {
  const out = new Map<string, Metric>();
  for (const sm of data.resourceMetrics[0]!.scopeMetrics) {
    for (const m of sm.metrics) out.set(m.name, m);
  }
  return out;
}

function points(m: Metric | undefined): NumberDataPoint[] {
  assert.ok(m !== undefined, "metric missing");
  assert.ok(m.data?.type === "sum" || m.data?.type === "gauge");
  return m.data.dataPoints;
}

function attr(p: NumberDataPoint, key: string): unknown {
  return p.attributes.find((a) => a.key === key)?.value;
}

function value(m: Metric | undefined, match: Record<string, string> = {}): number {
  const p = points(m).find((p) => Object.entries(match).every(([k, v]) => attr(p, k) === v));
  assert.ok(p !== undefined, `no point ${JSON.stringify(match)} in ${m?.name}`);
  return Number(p.value);
}

/** name → [unit, "sum"|"gauge", monotonic, attribute keys] for every default-on metric. */
const DEFAULTS: Record<string, [string, "sum" | "gauge", boolean, string[]]> = {
  "system.cpu.time": ["s", "sum", true, ["cpu", "state"]],
  "system.memory.usage": ["By", "sum", false, ["state"]],
  "system.disk.io": ["By", "sum", true, ["device", "direction"]],
  "system.disk.operations": ["{operations}", "sum", true, ["device", "direction"]],
  "system.disk.io_time": ["s", "sum", true, ["device"]],
  "system.disk.operation_time": ["s", "sum", true, ["device", "direction"]],
  "system.disk.weighted_io_time": ["s", "sum", true, ["device"]],
  "system.disk.pending_operations": ["{operations}", "sum", false, ["device"]],
  "system.disk.merged": ["{operations}", "sum", true, ["device", "direction"]],
  "system.filesystem.usage": ["By", "sum", false, [
    "device",
    "mode",
    "mountpoint",
    "type",
    "state",
  ]],
  "system.filesystem.inodes.usage": [
    "{inodes}",
    "sum",
    false,
    ["device", "mode", "mountpoint", "type", "state"],
  ],
  "system.network.packets": ["{packets}", "sum", true, ["device", "direction"]],
  "system.network.dropped": ["{packets}", "sum", true, ["device", "direction"]],
  "system.network.errors": ["{errors}", "sum", true, ["device", "direction"]],
  "system.network.io": ["By", "sum", true, ["device", "direction"]],
  "system.network.connections": ["{connections}", "sum", false, ["protocol", "state"]],
  "system.cpu.load_average.1m": ["{thread}", "gauge", false, []],
  "system.cpu.load_average.5m": ["{thread}", "gauge", false, []],
  "system.cpu.load_average.15m": ["{thread}", "gauge", false, []],
  "system.paging.usage": ["By", "sum", false, ["device", "state"]],
  "system.paging.operations": ["{operations}", "sum", true, ["direction", "type"]],
  "system.paging.faults": ["{faults}", "sum", true, ["type"]],
  "system.processes.count": ["{processes}", "sum", false, ["status"]],
  "system.processes.created": ["{processes}", "sum", true, []],
  "system.pressure.stall_time": ["s", "sum", true, ["resource", "stall_type"]],
  "system.pressure.stall_ratio": ["1", "gauge", false, ["resource", "stall_type", "window"]],
  "system.vmstat.events": ["{events}", "sum", true, ["counter"]],
  "system.context_switches": ["{switches}", "sum", true, []],
  "system.interrupts": ["{interrupts}", "sum", true, ["type"]],
  "system.sockstat.used": ["{sockets}", "sum", false, []],
  "system.sockstat.sockets": ["{sockets}", "sum", false, ["protocol", "state"]],
  "system.sockstat.memory": ["{pages}", "sum", false, ["protocol"]],
  "system.entropy.available": ["{bits}", "gauge", false, []],
  "system.filedescriptor.usage": ["{file_descriptors}", "sum", false, []],
  "system.filedescriptor.limit": ["{file_descriptors}", "sum", false, []],
  "system.thermal.temperature": ["Cel", "gauge", false, ["zone", "type"]],
};

const PROCESS_DEFAULTS: Record<string, [string, "sum", boolean, string[]]> = {
  "process.cpu.time": ["s", "sum", true, ["state"]],
  "process.memory.usage": ["By", "sum", false, []],
  "process.memory.virtual": ["By", "sum", false, []],
  "process.disk.io": ["By", "sum", true, ["direction"]],
};

function checkShape(m: Metric, [unit, type, monotonic, keys]: [string, string, boolean, string[]]) {
  assert.equal(m.unit, unit, m.name);
  assert.equal(m.data?.type, type, m.name);
  if (m.data?.type === "sum") {
    assert.equal(m.data.isMonotonic, monotonic, m.name);
    assert.equal(m.data.aggregationTemporality, AggregationTemporality.CUMULATIVE, m.name);
  }
  for (const p of points(m)) {
    assert.deepEqual(p.attributes.map((a) => a.key), keys, m.name);
    if (m.data?.type === "sum") assert.ok(p.startTimeUnixNano > 0n, `${m.name} start time`);
    assert.ok(p.timeUnixNano > 0n);
  }
}

async function readProcStatCpuSeconds(): Promise<number> {
  const line = (await Deno.readTextFile("/proc/stat")).split("\n")[0]!;
  const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
  return f.reduce((a, b) => a + b, 0) / 100;
}

Deno.test("hostmetrics emits every default metric of this machine, cross-checked with /proc", async () => {
  const swaps = (await Deno.readTextFile("/proc/swaps")).trim().split("\n").length - 1;
  const hasPsi = await Deno.stat("/proc/pressure/cpu").then(() => true, () => false);
  const hasThermal = await Deno.stat("/sys/class/thermal/thermal_zone0").then(
    () => true,
    () => false,
  );
  const loadBefore = await Deno.readTextFile("/proc/loadavg");
  const all = Object.fromEntries([...COLLECTOR_SCRAPERS, ...TFO_SCRAPERS].map((s) => [s, null]));
  const { payloads } = await collect({ scrapers: all });
  const cpuAfter = await readProcStatCpuSeconds();
  const loadAfter = await Deno.readTextFile("/proc/loadavg");
  const memTotal = Number(
    (await Deno.readTextFile("/proc/meminfo")).match(/^MemTotal:\s+(\d+) kB/m)![1],
  ) * 1024;
  const data = payloads[0]!.read();
  const metrics = hostMetrics(data);

  for (const [name, shape] of Object.entries(DEFAULTS)) {
    if (name === "system.paging.usage" && swaps === 0) continue;
    if (name.startsWith("system.pressure.") && !hasPsi) continue;
    if (name === "system.thermal.temperature" && !hasThermal) continue;
    const m = metrics.get(name);
    assert.ok(m !== undefined, `default metric ${name} missing`);
    checkShape(m, shape);
  }
  for (
    const optional of ["system.cpu.utilization", "system.memory.utilization", "process.threads"]
  ) {
    assert.equal(metrics.has(optional), false, optional);
  }
  // Scope names follow the Collector's for its scrapers.
  assert.ok(
    data.resourceMetrics[0]!.scopeMetrics.some((sm) =>
      sm.scope.name ===
        "github.com/open-telemetry/opentelemetry-collector-contrib/receiver/hostmetricsreceiver/internal/scraper/cpuscraper"
    ),
  );

  // CPU: the sum over CPUs and states is within a scrape's distance of /proc/stat read after.
  const cpuTotal = points(metrics.get("system.cpu.time")).reduce((a, p) => a + Number(p.value), 0);
  assert.ok(cpuTotal <= cpuAfter + 0.05, `${cpuTotal} <= ${cpuAfter}`);
  assert.ok(cpuAfter - cpuTotal < 2 * navigator.hardwareConcurrency, `${cpuTotal} ~ ${cpuAfter}`);
  // Memory: used + free + buffered + cached = MemTotal.
  const mem = metrics.get("system.memory.usage");
  const sum = ["used", "free", "buffered", "cached"].reduce(
    (a, s) => a + value(mem, { state: s }),
    0,
  );
  assert.equal(sum, memTotal);
  // Load: equals /proc/loadavg read just before or just after.
  const load1 = value(metrics.get("system.cpu.load_average.1m"));
  assert.ok(
    [loadBefore, loadAfter].some((l) => Number(l.split(" ")[0]) === load1),
    `${load1} vs ${loadBefore} / ${loadAfter}`,
  );
  // Boot time is the start time of system counters.
  const btime = (await Deno.readTextFile("/proc/stat")).match(/^btime (\d+)/m)![1];
  assert.equal(
    points(metrics.get("system.cpu.time"))[0]!.startTimeUnixNano,
    BigInt(btime!) * 10n ** 9n,
  );

  // Process resources: this test process is one of them, with its start time.
  const self = data.resourceMetrics.find((rm) =>
    rm.resource.attributes.some((a) => a.key === "process.pid" && a.value === BigInt(Deno.pid))
  );
  assert.ok(self !== undefined, "own process missing");
  assert.deepEqual(self.resource.attributes.map((a) => a.key), [
    "process.pid",
    "process.parent_pid",
    "process.executable.name",
    "process.executable.path",
    "process.command",
    "process.command_line",
    "process.owner",
  ]);
  const procMetrics = new Map(self.scopeMetrics[0]!.metrics.map((m) => [m.name, m]));
  for (const [name, shape] of Object.entries(PROCESS_DEFAULTS)) {
    const m = procMetrics.get(name);
    assert.ok(m !== undefined, `process metric ${name} missing`);
    checkShape(m, shape);
  }
  const rss = value(procMetrics.get("process.memory.usage"));
  assert.ok(rss > 1024 * 1024 && rss <= Deno.memoryUsage().rss * 2);
});

Deno.test("hostmetrics reads a fake root and reports exact values", async () => {
  const root = await makeFakeRoot();
  try {
    const all = Object.fromEntries([...COLLECTOR_SCRAPERS, ...TFO_SCRAPERS].map((s) => [s, null]));
    const { payloads } = await collect({ root_path: root, scrapers: all });
    const data = payloads[0]!.read();
    const m = hostMetrics(data);
    const boot = 1700000000n * 10n ** 9n;
    assert.equal(value(m.get("system.cpu.time"), { cpu: "cpu0", state: "user" }), 6);
    assert.equal(value(m.get("system.cpu.time"), { cpu: "cpu1", state: "wait" }), 0.25);
    assert.equal(value(m.get("system.cpu.time"), { cpu: "cpu0", state: "interrupt" }), 0.03);
    assert.equal(points(m.get("system.cpu.time")).length, 16);
    assert.equal(points(m.get("system.cpu.time"))[0]!.startTimeUnixNano, boot);
    const kb = 1024;
    assert.equal(value(m.get("system.memory.usage"), { state: "used" }), 8100000 * kb);
    assert.equal(value(m.get("system.memory.usage"), { state: "cached" }), 3400000 * kb);
    assert.equal(value(m.get("system.memory.usage"), { state: "slab_unreclaimable" }), 300000 * kb);
    assert.equal(value(m.get("system.disk.io"), { device: "sda", direction: "write" }), 4000 * 512);
    assert.equal(
      value(m.get("system.disk.operation_time"), { device: "sda", direction: "read" }),
      0.05,
    );
    assert.equal(value(m.get("system.disk.pending_operations"), { device: "sda1" }), 1);
    assert.equal(
      value(m.get("system.network.io"), { device: "eth0", direction: "receive" }),
      12345678901,
    );
    assert.equal(
      value(m.get("system.network.dropped"), { device: "eth0", direction: "transmit" }),
      4,
    );
    const conns = m.get("system.network.connections");
    assert.equal(points(conns).length, 12);
    assert.equal(value(conns, { protocol: "tcp", state: "ESTABLISHED" }), 2);
    assert.equal(value(conns, { protocol: "tcp", state: "TIME_WAIT" }), 2);
    assert.equal(value(conns, { protocol: "tcp", state: "LISTEN" }), 1);
    assert.equal(value(conns, { protocol: "tcp", state: "CLOSE_WAIT" }), 0);
    assert.equal(value(m.get("system.cpu.load_average.5m")), 1.25);
    assert.equal(
      value(m.get("system.paging.usage"), { device: "/dev/sda2", state: "used" }),
      97148 * kb,
    );
    assert.equal(
      value(m.get("system.paging.usage"), { device: "/dev/sda2", state: "free" }),
      2000000 * kb,
    );
    assert.equal(
      value(m.get("system.paging.operations"), { direction: "page_out", type: "major" }),
      20,
    );
    assert.equal(value(m.get("system.paging.faults"), { type: "minor" }), 49700);
    const procs = m.get("system.processes.count");
    assert.equal(value(procs, { status: "running" }), 3);
    assert.equal(value(procs, { status: "blocked" }), 1);
    assert.equal(value(procs, { status: "sleeping" }), 1);
    assert.equal(value(procs, { status: "zombies" }), 1);
    assert.equal(value(m.get("system.processes.created")), 4242);
    // Filesystems: physical types only by default; statfs of the mount under the root.
    const fs = points(m.get("system.filesystem.usage"));
    assert.deepEqual(
      [...new Set(fs.map((p) => attr(p, "mountpoint")))],
      ["/", "/data", "/mnt/my disk"],
    );
    assert.equal(attr(fs.find((p) => attr(p, "mountpoint") === "/data")!, "mode"), "ro");
    // tfo scrapers.
    assert.equal(
      value(m.get("system.pressure.stall_time"), { resource: "cpu", stall_type: "some" }),
      123.456789,
    );
    assert.equal(
      value(m.get("system.pressure.stall_ratio"), {
        resource: "io",
        stall_type: "full",
        window: "60s",
      }),
      0.005,
    );
    assert.equal(value(m.get("system.vmstat.events"), { counter: "oom_kill" }), 2);
    assert.equal(points(m.get("system.vmstat.events")).length, 8);
    assert.equal(value(m.get("system.context_switches")), 67890);
    assert.equal(value(m.get("system.interrupts"), { type: "soft" }), 555);
    assert.equal(value(m.get("system.sockstat.used")), 150);
    assert.equal(value(m.get("system.sockstat.sockets"), { protocol: "tcp", state: "tw" }), 7);
    assert.equal(value(m.get("system.sockstat.sockets"), { protocol: "tcp6", state: "inuse" }), 5);
    assert.equal(value(m.get("system.sockstat.memory"), { protocol: "udp" }), 2);
    assert.equal(value(m.get("system.entropy.available")), 256);
    assert.equal(value(m.get("system.filedescriptor.usage")), 2048);
    // 2^63-1 ("no limit") stays a valid int64.
    assert.equal(points(m.get("system.filedescriptor.limit"))[0]!.value, 2n ** 63n - 1n);
    assert.equal(value(m.get("system.thermal.temperature"), { zone: "thermal_zone1" }), 27.8);

    // Processes: one resource each, start time from the process start.
    const procRes = data.resourceMetrics.slice(1);
    assert.equal(procRes.length, 3);
    const server = procRes.find((rm) =>
      rm.resource.attributes.some((a) => a.key === "process.pid" && a.value === 100n)
    )!;
    assert.deepEqual(
      Object.fromEntries(server.resource.attributes.map((a) => [a.key, a.value])),
      {
        "process.pid": 100n,
        "process.parent_pid": 1n,
        "process.executable.name": "my server",
        "process.executable.path": "/usr/bin/my-server",
        "process.command": "/usr/bin/my-server",
        "process.command_line": "/usr/bin/my-server --port 8080",
        "process.owner": "alice",
      },
    );
    const pm = new Map(server.scopeMetrics[0]!.metrics.map((x) => [x.name, x]));
    assert.equal(value(pm.get("process.cpu.time"), { state: "user" }), 15);
    assert.equal(value(pm.get("process.cpu.time"), { state: "wait" }), 0.3);
    assert.equal(points(pm.get("process.cpu.time"))[0]!.startTimeUnixNano, boot + 120n * 10n ** 9n);
    assert.equal(value(pm.get("process.memory.usage")), 10240 * kb);
    assert.equal(value(pm.get("process.memory.virtual")), 102400 * kb);
    assert.equal(value(pm.get("process.disk.io"), { direction: "write" }), 6000);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("hostmetrics disables a missing PSI or thermal source with one log line", async () => {
  const root = await makeFakeRoot({ psi: false, thermal: false });
  try {
    const { payloads, logs } = await collect(
      { root_path: root, scrapers: { pressure: null, thermal: null, load: null } },
      3,
    );
    for (const p of payloads) {
      const names = [...hostMetrics(p.read()).keys()];
      assert.deepEqual(names, [
        "system.cpu.load_average.1m",
        "system.cpu.load_average.5m",
        "system.cpu.load_average.15m",
      ]);
    }
    const missing = logs.filter((l) => String(l.msg).startsWith("Host source not available"));
    assert.deepEqual(missing.map((l) => l.source).sort(), [
      "/proc/pressure/cpu, /proc/pressure/memory, /proc/pressure/io, /proc/pressure/irq",
      "/sys/class/thermal",
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("hostmetrics filters devices, interfaces, file systems and processes", async () => {
  const root = await makeFakeRoot();
  try {
    const { payloads } = await collect({
      root_path: root,
      scrapers: {
        disk: { include: { devices: ["sda"], match_type: "strict" } },
        network: { exclude: { interfaces: ["^(lo|docker)"], match_type: "regexp" } },
        filesystem: {
          include_virtual_filesystems: true,
          exclude_fs_types: { fs_types: ["proc"], match_type: "strict" },
          exclude_mount_points: { mount_points: ["^/mnt/"], match_type: "regexp" },
        },
        process: {
          include: { names: ["serv"], match_type: "regexp" },
          metrics: { "process.threads": { enabled: true }, "process.disk.io": { enabled: false } },
          resource_attributes: { "process.command_line": { enabled: false } },
        },
      },
    });
    const data = payloads[0]!.read();
    const m = hostMetrics(data);
    assert.deepEqual([...new Set(points(m.get("system.disk.io")).map((p) => attr(p, "device")))], [
      "sda",
    ]);
    assert.deepEqual(
      [...new Set(points(m.get("system.network.io")).map((p) => attr(p, "device")))],
      ["eth0"],
    );
    assert.deepEqual(
      [...new Set(points(m.get("system.filesystem.usage")).map((p) => attr(p, "mountpoint")))],
      ["/", "/run", "/data"],
    );
    const procRes = data.resourceMetrics.slice(1);
    assert.equal(procRes.length, 1);
    assert.equal(
      procRes[0]!.resource.attributes.some((a) => a.key === "process.command_line"),
      false,
    );
    const names = procRes[0]!.scopeMetrics[0]!.metrics.map((x) => x.name);
    assert.ok(names.includes("process.threads"));
    assert.ok(!names.includes("process.disk.io"));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("hostmetrics logs a failing scraper, counts its points and still emits the others", async () => {
  const root = await makeFakeRoot();
  await Deno.remove(`${root}/proc/diskstats`);
  try {
    const { payloads, logs, registry } = await collect({
      root_path: root,
      scrapers: { disk: null, load: null, process: { mute_process_io_error: false } },
    });
    const m = hostMetrics(payloads[0]!.read());
    assert.ok(m.has("system.cpu.load_average.1m"));
    assert.ok(!m.has("system.disk.io"));
    assert.ok(logs.some((l) => l.msg === "Scraper failed" && l.scraper === "disk"));
    // bash (pid 200) has no io file: a partial error of the process scraper.
    assert.ok(
      logs.some((l) => l.msg === "Scraper reported partial errors" && l.scraper === "process"),
    );
    const text = registry.render();
    assert.match(
      text,
      /otelcol_scraper_errored_metric_points\{[^}]*scraper="disk"[^}]*\} 7/,
    );
    assert.match(text, /otelcol_scraper_scraped_metric_points\{[^}]*scraper="load"[^}]*\} 3/);
    assert.match(text, /otelcol_receiver_accepted_metric_points\{[^}]*\} \d+/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("hostmetrics config rejects unknown keys, unknown metrics and filters without match_type", () => {
  const bad = [
    { scrapers: { cpu: { metrics: { "system.cpu.nope": { enabled: true } } } } },
    { scrapers: { nope: null } },
    { scrapers: { disk: { include: { devices: ["sda"] } } } },
    { scrapers: { process: { include: { names: ["("], match_type: "regexp" } } } },
    { collection_interval: "0s" },
    { root_path: "hostfs" },
  ];
  for (const config of bad) {
    assert.equal(hostmetricsConfigSchema.safeParse(config).success, false, JSON.stringify(config));
  }
  const ok = hostmetricsConfigSchema.parse({
    scrapers: { cpu: null, load: { cpu_average: true } },
  });
  assert.equal(ok.collection_interval, 60_000);
  assert.equal(ok.initial_delay, 1000);
  assert.deepEqual(ok.scrapers.cpu, { metrics: {} });
});

Deno.test("hostmetrics scrapes on its interval and shuts down twice without leaks", async () => {
  const config = hostmetricsConfigSchema.parse({
    collection_interval: "10s",
    initial_delay: "5s",
    scrapers: { load: null, memory: null },
  });
  let n = 0;
  const clock = new FakeClock();
  const receiver = createHostmetricsReceiver(
    config,
    createLogger({ write: () => {} }),
    new MetricRegistry().meter(),
    { metrics: { mutatesData: false, consume: () => Promise.resolve(void n++) } },
    { clock },
  );
  await receiver.start(HOST);
  // Fire timers until three cycles ran (a cycle reads real files between timers).
  await clock.runUntil("three cycles", () => n >= 3);
  assert.equal(n, 3);
  // The initial delay, then one interval per cycle (fake time stands still during a scrape).
  assert.deepEqual(clock.requested.slice(0, 3), [5000, 10_000, 10_000]);
  await receiver.shutdown();
  assert.equal(clock.pending, 0, "no timer left after shutdown");
  await receiver.shutdown();
  await clock.advance(60_000);
  assert.equal(n, 3, "no scrape after shutdown");
  await hostmetricsReceiverFactory.create(
    {
      id: "hostmetrics/2",
      config,
      logger: createLogger({ write: () => {} }),
      meter: new MetricRegistry().meter(),
      buildInfo: { command: "tfo", version: "test" },
    },
    {},
  ).shutdown();
});
