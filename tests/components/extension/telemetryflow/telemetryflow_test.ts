import assert from "node:assert/strict";
import type { CreateSettings, Extension, Host } from "../../../../components/component.ts";
import {
  type EnvLookup,
  type TelemetryflowConfig,
  telemetryflowConfigSchemaWith,
} from "../../../../components/extension/telemetryflow/config.ts";
import {
  REMOTE_CONFIG,
  TelemetryflowExtension,
  telemetryflowFactory,
  type TelemetryflowOptions,
} from "../../../../components/extension/telemetryflow/factory.ts";
import type { RemoteConfigSource } from "../../../../components/extension/telemetryflow/_remote_config.ts";
import type { SystemInfo } from "../../../../components/extension/telemetryflow/_system_info.ts";
import { fileStorageFactory } from "../../../../components/extension/file_storage/factory.ts";
import { fileStorageConfigSchema } from "../../../../components/extension/file_storage/config.ts";
import { clientAuthenticatorOf } from "../../../../lib/net/auth.ts";
import { createLogger, NOOP_LOGGER } from "../../../../lib/telemetry/logger.ts";
import { MetricRegistry } from "../../../../lib/telemetry/metrics.ts";
import { FakeClock } from "../../../fixtures/fake_clock.ts";
import { FakePlatform } from "../../../fixtures/telemetryflow/fake_platform.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

const KEY_ID = "tfk_test_key";
const SECRET = "tfs_very_secret_value";
const NO_ENV: EnvLookup = () => undefined;

function parse(config: Record<string, unknown>, env: EnvLookup = NO_ENV): TelemetryflowConfig {
  return telemetryflowConfigSchemaWith(env).parse(config);
}

/** Log lines of every extension made here, to check that no secret is ever written. */
const logLines: string[] = [];
const logger = createLogger({ level: "debug", write: (line) => logLines.push(line) });

function create(
  config: Record<string, unknown>,
  id = "telemetryflow",
  options?: TelemetryflowOptions,
): TelemetryflowExtension {
  const settings: CreateSettings<TelemetryflowConfig> = {
    id,
    config: parse({
      api_key_id: KEY_ID,
      api_key_secret: SECRET,
      backoff: { initial_interval: "50ms", max_interval: "200ms" },
      ...config,
    }),
    logger: logger.with({ "otelcol.component.id": id }),
    meter: new MetricRegistry().meter(),
    buildInfo: { command: "tfo", version: "9.9.9-test" },
  };
  return options === undefined
    ? telemetryflowFactory.create(settings) as TelemetryflowExtension
    : new TelemetryflowExtension(id, settings.config, settings.logger, "9.9.9-test", options);
}

function hostWith(extensions: Record<string, Extension> = {}): Host {
  return { getExtension: (id) => extensions[id], status: () => "running" };
}

async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function assertNoSecretLogged(): void {
  for (const line of logLines) assert.ok(!line.includes(SECRET), `secret in log line: ${line}`);
}

Deno.test("telemetryflow config has documented defaults and reads the environment", () => {
  const env: Record<string, string> = {
    TELEMETRYFLOW_API_ENDPOINT: "https://api.example.test",
    TELEMETRYFLOW_API_KEY_ID: "tfk_env",
    TELEMETRYFLOW_API_KEY_SECRET: "tfs_env",
    TELEMETRYFLOW_AGENT_ID: "agent-env",
    TELEMETRYFLOW_AGENT_NAME: "edge-1",
    TELEMETRYFLOW_ENVIRONMENT: "production",
    TELEMETRYFLOW_WORKSPACE_ID: "ws-env",
    TELEMETRYFLOW_TENANT_ID: "tenant-env",
    TELEMETRYFLOW_COLLECTOR_ID: "col-1",
    TELEMETRYFLOW_COLLECTOR_NAME: "central",
  };
  const c = parse({}, (name) => env[name]);
  assert.equal(c.endpoint, "https://api.example.test");
  assert.equal(c.api_key_id, "tfk_env");
  assert.equal(c.api_key_secret, "tfs_env");
  assert.deepEqual(c.agent, {
    id: "agent-env",
    name: "edge-1",
    environment: "production",
    tags: {},
  });
  assert.equal(c.workspace_id, "ws-env");
  assert.equal(c.tenant_id, "tenant-env");
  assert.deepEqual(c.collector, { id: "col-1", name: "central" });
  assert.equal(c.heartbeat.interval, 60_000);
  assert.equal(c.heartbeat.include_system_info, true);
  assert.equal(c.heartbeat.timeout, 10_000);
  assert.deepEqual(c.remote_config, { enabled: false, poll_interval: 300_000 });
  assert.deepEqual(c.backoff, {
    initial_interval: 5000,
    max_interval: 120_000,
    multiplier: 1.5,
    randomization_factor: 0.5,
  });
  assert.deepEqual(c.capabilities, []);

  // YAML wins over the environment.
  const yaml = parse({ endpoint: "http://yaml.test", workspace_id: "ws-yaml" }, (n) => env[n]);
  assert.equal(yaml.endpoint, "http://yaml.test");
  assert.equal(yaml.workspace_id, "ws-yaml");
});

Deno.test("telemetryflow config reports what is missing and rejects unknown keys", () => {
  const schema = telemetryflowConfigSchemaWith(NO_ENV);
  const missing = schema.safeParse({});
  assert.equal(missing.success, false);
  const messages = missing.error!.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
  assert.deepEqual(messages, [
    "endpoint: is required: set it or the environment variable TELEMETRYFLOW_API_ENDPOINT",
    "api_key_id: is required: set it or the environment variable TELEMETRYFLOW_API_KEY_ID",
    "api_key_secret: is required: set it or the environment variable TELEMETRYFLOW_API_KEY_SECRET",
  ]);
  const full = { endpoint: "http://x.test", api_key_id: "a", api_key_secret: "b" };
  assert.equal(schema.safeParse({ ...full, heartbeat: { intervall: "1s" } }).success, false);
  assert.equal(schema.safeParse({ ...full, no_such_key: 1 }).success, false);
  assert.equal(schema.safeParse({ ...full, heartbeat: { interval: 0 } }).success, false);
  // TELEMETRYFLOW_ENDPOINT naming an OTLP host:port is not taken as the API URL.
  const otlp = schema.safeParse({ api_key_id: "a", api_key_secret: "b" });
  assert.equal(otlp.success, false);
  const fromGeneral = telemetryflowConfigSchemaWith((n) =>
    n === "TELEMETRYFLOW_ENDPOINT" ? "https://api.example.test/" : undefined
  ).parse({ api_key_id: "a", api_key_secret: "b" });
  assert.equal(fromGeneral.endpoint, "https://api.example.test/");
  const hostPort = telemetryflowConfigSchemaWith((n) =>
    n === "TELEMETRYFLOW_ENDPOINT" ? "collector:4317" : undefined
  ).safeParse({ api_key_id: "a", api_key_secret: "b" });
  assert.equal(hostPort.success, false);
});

/** Every field of the issue's list (and the extras tfo sends), with its JSON type. */
const SYSTEM_INFO_FIELDS: Readonly<Record<string, "string" | "number" | "boolean" | "array">> = {
  hostname: "string",
  os: "string",
  osVersion: "string",
  platform: "string",
  platformFamily: "string",
  kernelVersion: "string",
  architecture: "string",
  uptime: "number",
  bootTime: "number",
  hostId: "string",
  timezone: "string",
  cpuCores: "number",
  cpuLogicalCores: "number",
  cpuPhysicalCores: "number",
  cpuModel: "string",
  cpuVendor: "string",
  cpuMhz: "number",
  cpuCacheSize: "number",
  cpuUsage: "number",
  cpuUserPercent: "number",
  cpuSystemPercent: "number",
  cpuIdlePercent: "number",
  cpuIowaitPercent: "number",
  cpuStealPercent: "number",
  cpuNicePercent: "number",
  cpuIrqPercent: "number",
  cpuSoftirqPercent: "number",
  cpuGuestPercent: "number",
  loadAvg1: "number",
  loadAvg5: "number",
  loadAvg15: "number",
  cpuPerCore: "array",
  memoryTotal: "number",
  memoryUsed: "number",
  memoryAvailable: "number",
  memoryFree: "number",
  memoryUsage: "number",
  memoryCached: "number",
  memoryBuffers: "number",
  memoryActive: "number",
  memoryInactive: "number",
  memoryWired: "number",
  memoryShared: "number",
  memorySlab: "number",
  memoryPageTables: "number",
  memoryCommitted: "number",
  memoryCommitLimit: "number",
  memoryDirty: "number",
  memoryWriteback: "number",
  swapTotal: "number",
  swapUsed: "number",
  swapFree: "number",
  swapUsage: "number",
  swapIn: "number",
  swapOut: "number",
  diskTotal: "number",
  diskUsed: "number",
  diskAvailable: "number",
  diskUsage: "number",
  diskInodes: "number",
  diskInodesFree: "number",
  diskInodesUsed: "number",
  diskInodesUsage: "number",
  diskReadBytes: "number",
  diskWriteBytes: "number",
  diskReadOps: "number",
  diskWriteOps: "number",
  diskReadTime: "number",
  diskWriteTime: "number",
  diskIOTime: "number",
  diskWeightedIO: "number",
  diskIOInProgress: "number",
  diskLatencyRead: "number",
  diskLatencyWrite: "number",
  diskPartitions: "array",
  networkBytesSent: "number",
  networkBytesRecv: "number",
  networkPacketsSent: "number",
  networkPacketsRecv: "number",
  networkErrorsIn: "number",
  networkErrorsOut: "number",
  networkDropsIn: "number",
  networkDropsOut: "number",
  tcpConnectionsEstablished: "number",
  tcpConnectionsTimeWait: "number",
  tcpConnectionsCloseWait: "number",
  tcpConnectionsListen: "number",
  tcpConnectionsSynSent: "number",
  tcpConnectionsSynRecv: "number",
  tcpConnectionsFinWait1: "number",
  tcpConnectionsFinWait2: "number",
  tcpConnectionsLastAck: "number",
  tcpConnectionsClosing: "number",
  networkInterfaces: "array",
  processCount: "number",
  processRunning: "number",
  processSleeping: "number",
  processStopped: "number",
  processZombie: "number",
  processBlocked: "number",
  threadCount: "number",
  contextSwitches: "number",
  interrupts: "number",
  softInterrupts: "number",
  openFileDescriptors: "number",
  maxFileDescriptors: "number",
  fileDescriptorsUsage: "number",
  entropyAvailable: "number",
  isContainer: "boolean",
  containerId: "string",
  containerRuntime: "string",
  containerName: "string",
  containerImage: "string",
  isVirtualized: "boolean",
  virtualizationType: "string",
  cloudProvider: "string",
  cloudInstanceId: "string",
  cloudInstanceType: "string",
  cloudRegion: "string",
  cloudZone: "string",
  agentVersion: "string",
  agentStartTime: "number",
  agentUptime: "number",
  collectionTime: "number",
  collectionDuration: "number",
};

function typeOf(value: unknown): string {
  return Array.isArray(value) ? "array" : typeof value;
}

async function procKb(key: string): Promise<number> {
  const line = (await Deno.readTextFile("/proc/meminfo")).split("\n").find((l) =>
    l.startsWith(`${key}:`)
  )!;
  return Number(line.split(/\s+/)[1]) * 1024;
}

function checkSystemInfo(info: Record<string, unknown>): void {
  for (const [field, type] of Object.entries(SYSTEM_INFO_FIELDS)) {
    assert.ok(field in info, `systemInfo.${field} is missing`);
    assert.equal(typeOf(info[field]), type, `systemInfo.${field} is not a ${type}`);
    if (type === "number") assert.ok(Number.isFinite(info[field]), `${field} is not finite`);
  }
  assert.ok(Object.keys(SYSTEM_INFO_FIELDS).length >= 100);
  for (const core of info.cpuPerCore as Record<string, unknown>[]) {
    assert.equal(typeof core.coreId, "number");
    assert.equal(typeof core.usage, "number");
    assert.ok((core.usage as number) >= 0 && (core.usage as number) <= 100);
  }
  for (const p of info.diskPartitions as Record<string, unknown>[]) {
    for (const k of ["device", "mountpoint", "fstype"]) assert.equal(typeof p[k], "string");
    for (const k of ["total", "used", "free", "usage", "inodes", "inodesFree", "inodesUsage"]) {
      assert.equal(typeof p[k], "number", `diskPartitions[].${k}`);
    }
  }
  for (const n of info.networkInterfaces as Record<string, unknown>[]) {
    assert.equal(typeof n.name, "string");
    assert.equal(typeof n.isUp, "boolean");
    assert.equal(typeof n.isLoopback, "boolean");
    assert.equal(typeof n.mtu, "number");
    assert.ok(Array.isArray(n.ipAddresses));
    for (const k of ["bytesSent", "bytesRecv", "packetsSent", "packetsRecv", "errorsIn"]) {
      assert.equal(typeof n[k], "number", `networkInterfaces[].${k}`);
    }
  }
}

Deno.test("telemetryflow registers with the contract's body and headers, then heartbeats with every system info field", async () => {
  const platform = FakePlatform.start();
  const ext = create({
    endpoint: platform.url,
    workspace_id: "ws-1",
    tenant_id: "tenant-1",
    capabilities: ["otlp_grpc", "otlp_http", "hostmetrics"],
    agent: { name: "edge-1", environment: "staging", tags: { region: "eu" } },
    heartbeat: { interval: "200ms" },
  });
  try {
    const began = performance.now();
    await ext.start(hostWith());
    assert.ok(performance.now() - began < 200, "start must not wait for the platform");
    await until("three heartbeats", () => platform.calls("/heartbeat").length >= 3);

    const [register] = platform.calls("/register");
    assert.equal(register!.method, "POST");
    assert.equal(register!.headers["x-api-key-id"], KEY_ID);
    assert.equal(register!.headers["x-api-key-secret"], SECRET);
    assert.equal(register!.headers["content-type"], "application/json");
    const body = register!.body as Record<string, unknown>;
    assert.equal(body.agent_id, undefined, "no agent_id before one is known");
    assert.equal(body.version, "9.9.9-test");
    assert.equal(body.hostname, Deno.hostname());
    const ipv4 = Deno.networkInterfaces().find((n) =>
      n.family === "IPv4" && !n.address.startsWith("127.")
    );
    assert.equal(body.ip_address, ipv4?.address ?? "");
    assert.equal(body.workspace_id, "ws-1");
    assert.equal(body.tenant_id, "tenant-1");
    assert.deepEqual(body.capabilities, ["otlp_grpc", "otlp_http", "hostmetrics"]);
    assert.deepEqual(body.tags, { region: "eu", environment: "staging" });
    assert.equal(body.name, "edge-1");
    const resource = body.resource_attributes as Record<string, string>;
    assert.equal(resource["os.type"], "linux");
    assert.equal(resource["host.arch"], Deno.build.arch === "x86_64" ? "amd64" : "arm64");
    assert.equal(resource["service.name"], "tfo");
    assert.equal(resource["service.version"], "9.9.9-test");
    assert.ok(resource["os.description"]!.length > 0);
    assert.ok(!Number.isNaN(Date.parse(body.registered_at as string)));

    const beats = platform.calls("/heartbeat");
    for (const beat of beats) {
      assert.equal(beat.path, "/api/v2/agents/agent-1/heartbeat");
      assert.equal(beat.headers["x-api-key-id"], KEY_ID);
      assert.equal(beat.headers["x-api-key-secret"], SECRET);
      assert.deepEqual(Object.keys(beat.body as object), ["systemInfo"]);
    }
    // Cadence: the first heartbeat follows the registration, then one per interval.
    const gaps = beats.slice(1).map((b, i) => b.at - beats[i]!.at);
    for (const gap of gaps) assert.ok(gap >= 180 && gap < 1500, `heartbeat gap ${gap} ms`);

    const info = (beats[2]!.body as { systemInfo: Record<string, unknown> }).systemInfo;
    checkSystemInfo(info);
    const stat = await Deno.readTextFile("/proc/stat");
    const cpuLines = stat.split("\n").filter((l) => /^cpu\d+ /.test(l)).length;
    const btime = Number(/^btime (\d+)/m.exec(stat)![1]);
    const [load1] = (await Deno.readTextFile("/proc/loadavg")).split(" ").map(Number);
    const uptime = Number((await Deno.readTextFile("/proc/uptime")).split(" ")[0]);
    const pids = [...Deno.readDirSync("/proc")].filter((e) => /^\d+$/.test(e.name)).length;
    const s = info as unknown as SystemInfo;
    assert.equal(s.memoryTotal, await procKb("MemTotal"));
    assert.equal(s.swapTotal, await procKb("SwapTotal"));
    assert.equal(s.cpuLogicalCores, cpuLines);
    assert.equal(s.cpuPerCore.length, cpuLines);
    assert.ok(Math.abs(s.loadAvg1 - load1!) < 0.5, `loadAvg1 ${s.loadAvg1} vs ${load1}`);
    assert.equal(s.hostname, Deno.hostname());
    assert.equal(s.bootTime, btime);
    assert.ok(Math.abs(s.uptime - uptime) < 5, `uptime ${s.uptime} vs ${uptime}`);
    assert.ok(s.processCount >= 1 && s.processCount <= pids * 2, `${s.processCount} processes`);
    assert.ok(s.threadCount >= s.processCount);
    assert.ok(s.cpuUsage >= 0 && s.cpuUsage <= 100);
    const states = s.cpuUserPercent + s.cpuSystemPercent + s.cpuIdlePercent + s.cpuIowaitPercent +
      s.cpuNicePercent + s.cpuIrqPercent + s.cpuSoftirqPercent + s.cpuStealPercent;
    assert.ok(Math.abs(states - 100) < 1, `CPU states sum to ${states}`);
    assert.ok(s.memoryUsed > 0 && s.memoryUsed < s.memoryTotal);
    assert.equal(s.os, "linux");
    assert.equal(s.agentVersion, "9.9.9-test");
    assert.ok(s.networkInterfaces.some((n) => n.name === "lo" && n.isLoopback));
    assert.ok(s.diskPartitions.some((p) => p.mountpoint === "/"));
    assert.ok(s.diskTotal > 0 && s.diskUsed <= s.diskTotal);
    assert.ok(s.collectionDuration > 0);
  } finally {
    await ext.shutdown();
    await platform.close();
  }
  assertNoSecretLogged();
});

for (const status of [404, 410] as const) {
  Deno.test(`telemetryflow registers again when a heartbeat gets ${status}`, async () => {
    const platform = FakePlatform.start();
    platform.goneStatus = status;
    const ext = create({ endpoint: platform.url, heartbeat: { interval: "100ms" } });
    try {
      await ext.start(hostWith());
      await until("a heartbeat", () => platform.calls("/heartbeat").length >= 1);
      platform.agents.clear(); // the platform forgets the agent
      await until("a second registration", () => platform.calls("/register").length >= 2);
      const beatsAfter = () =>
        platform.calls("/heartbeat").filter((b) => b.at > platform.calls("/register")[1]!.at);
      await until("heartbeats after it", () => beatsAfter().length >= 2);
      const again = platform.calls("/register")[1]!.body as Record<string, unknown>;
      assert.equal(again.agent_id, "agent-1", "re-registration sends the ID it had");
      assert.equal(ext.agentId, "agent-1");
    } finally {
      await ext.shutdown();
      await platform.close();
    }
  });
}

Deno.test("telemetryflow start does not wait for the platform to answer the registration", async () => {
  let arrived!: () => void;
  const requestArrived = new Promise<"request first">((resolve) =>
    arrived = () => resolve("request first")
  );
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async () => {
    arrived();
    await gate;
    return new Response("unavailable", { status: 503 });
  });
  const ext = create({ endpoint: `http://127.0.0.1:${server.addr.port}` }, "tf/held");
  try {
    // A start that awaited the registration could not resolve before the held request arrives.
    const first = await Promise.race([ext.start(hostWith()).then(() => "started"), requestArrived]);
    assert.equal(first, "started");
    assert.equal(await requestArrived, "request first", "registration is under way");
  } finally {
    release();
    await ext.shutdown();
    await server.shutdown();
  }
});

Deno.test("telemetryflow backs off while the API is down and carries on when it is back", async () => {
  const platform = FakePlatform.start();
  await platform.down();
  const clock = new FakeClock();
  const ext = create({ endpoint: platform.url, heartbeat: { interval: "1m" } }, "tf/down", {
    clock,
    random: () => 0.5,
  });
  const mine = (text: string) => logLines.filter((l) => l.includes("tf/down") && l.includes(text));
  try {
    await ext.start(hostWith());
    const failures = () => mine("Registration with TelemetryFlow failed").length;
    await clock.runUntil("six failed registrations", () => failures() >= 6);
    // Waits grow by the multiplier (1.5) from 50 ms up to max_interval (200 ms): no busy loop.
    assert.deepEqual(clock.requested.slice(0, 5), [50, 75, 113, 169, 200]);
    const warns = mine('"level":"warn"');
    assert.equal(warns.length, 1, `one warning per failure streak: ${warns.join("\n")}`);
    platform.up();
    await clock.runUntil(
      "registration and a heartbeat",
      () => platform.calls("/heartbeat").length >= 1,
    );
    assert.equal(mine("succeeded again").length, 1);
  } finally {
    await ext.shutdown();
    await platform.close();
  }
});

Deno.test("telemetryflow keeps the agent ID in file_storage across a restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tfo_telemetryflow_" });
  const platform = FakePlatform.start();
  const storageSettings = {
    id: "file_storage",
    config: fileStorageConfigSchema.parse({ directory: dir }),
    logger: NOOP_LOGGER,
    meter: new MetricRegistry().meter(),
    buildInfo: { command: "tfo", version: "test" },
  };
  try {
    for (let run = 0; run < 2; run++) {
      const storage = fileStorageFactory.create(storageSettings);
      const ext = create({
        endpoint: platform.url,
        storage: "file_storage",
        heartbeat: { interval: "1h" },
      });
      const host = hostWith({ file_storage: storage });
      await storage.start(host);
      await ext.start(host);
      await until("a heartbeat", () => platform.calls("/heartbeat").length >= run + 1);
      await ext.shutdown();
      await storage.shutdown();
    }
    const [first, second] = platform.calls("/register");
    assert.equal((first!.body as Record<string, unknown>).agent_id, undefined);
    assert.equal((second!.body as Record<string, unknown>).agent_id, "agent-1");
    assert.equal(platform.calls("/register").length, 2);
  } finally {
    await platform.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("telemetryflow is a client authenticator sending the three X-TelemetryFlow headers", async () => {
  const platform = FakePlatform.start();
  const ext = create({ endpoint: platform.url, heartbeat: { interval: "1h" } });
  const host = hostWith({ telemetryflow: ext });
  try {
    const auth = clientAuthenticatorOf(host, "telemetryflow");
    assert.deepEqual(auth.headers(), {
      "X-TelemetryFlow-Key-ID": KEY_ID,
      "X-TelemetryFlow-Key-Secret": SECRET,
    });
    await ext.start(host);
    await until("registration", () => ext.agentId !== undefined);
    assert.deepEqual(auth.headers(), {
      "X-TelemetryFlow-Key-ID": KEY_ID,
      "X-TelemetryFlow-Key-Secret": SECRET,
      "X-TelemetryFlow-Agent-ID": "agent-1",
    });
  } finally {
    await ext.shutdown();
    await platform.close();
  }
});

Deno.test("telemetryflow announces remote config changes to subscribers", async () => {
  const platform = FakePlatform.start();
  const yaml1 = "receivers:\n  otlp: {}\n";
  const yaml2 = "receivers:\n  otlp:\n    protocols: {grpc: {}}\n";
  platform.config = { status: 200, contentType: "application/yaml", body: yaml1 };
  const ext = create({
    endpoint: platform.url,
    heartbeat: { interval: "1h" },
    remote_config: { enabled: true, poll_interval: "100ms" },
  });
  const source = ext.capabilities[REMOTE_CONFIG] as RemoteConfigSource;
  const seen: string[] = [];
  const unsubscribe = source.subscribe((text) => seen.push(text));
  try {
    await ext.start(hostWith());
    await until("the first config", () => seen.length === 1);
    assert.equal(seen[0], yaml1);
    assert.equal(source.current(), yaml1);
    const polls = platform.calls("/config").length;
    await until("two more polls", () => platform.calls("/config").length >= polls + 2);
    assert.equal(seen.length, 1, "an unchanged config is not announced again");
    platform.config = {
      status: 200,
      contentType: "application/json",
      body: JSON.stringify({ config: yaml2 }),
    };
    await until("the changed config", () => seen.length === 2);
    assert.equal(seen[1], yaml2);
    assert.equal(platform.calls("/config")[0]!.headers["x-api-key-secret"], SECRET);
    unsubscribe();
    platform.config = { status: 200, contentType: "application/yaml", body: yaml1 };
    await until("the poller to fetch it", () => source.current() === yaml1);
    assert.equal(seen.length, 2, "an unsubscribed listener hears nothing");
  } finally {
    await ext.shutdown();
    await platform.close();
  }
});

Deno.test("telemetryflow stops all requests at shutdown, and shuts down without start or twice", async () => {
  const platform = FakePlatform.start();
  const ext = create({
    endpoint: platform.url,
    heartbeat: { interval: "50ms" },
    remote_config: { enabled: true, poll_interval: "50ms" },
  });
  await create({ endpoint: platform.url }).shutdown();
  try {
    await ext.start(hostWith());
    await until("heartbeats", () => platform.calls("/heartbeat").length >= 2);
    await ext.shutdown();
    await ext.shutdown();
    // A request sent just before the shutdown may still reach the platform on a loaded machine:
    // wait until arrivals settle, then no new one (heartbeats every 50 ms would show) may come.
    let count = platform.requests.length;
    for (let stable = 0; stable < 3;) {
      await new Promise((r) => setTimeout(r, 50));
      if (platform.requests.length === count) stable++;
      else [count, stable] = [platform.requests.length, 0];
    }
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(platform.requests.length, count, "no request after shutdown");
  } finally {
    await ext.shutdown();
    await platform.close();
  }
});

Deno.test("telemetryflow fails its start when its storage extension is not defined", async () => {
  const ext = create({ endpoint: "http://127.0.0.1:1", storage: "file_storage/missing" });
  await assert.rejects(
    () => ext.start(hostWith()),
    /Cannot use storage "file_storage\/missing" for extension "telemetryflow": no such extension/,
  );
  await ext.shutdown();
});

Deno.test("telemetryflow config treats empty values (unset ${env:VAR}) as absent", () => {
  const schema = telemetryflowConfigSchemaWith((n) =>
    n === "TELEMETRYFLOW_API_KEY_ID" ? "tfk_env" : undefined
  );
  const result = schema.safeParse({
    endpoint: "",
    api_key_id: "",
    api_key_secret: "",
    tenant_id: "",
  });
  assert.equal(result.success, false);
  assert.deepEqual(result.error!.issues.map((i) => i.path.join(".")), [
    "endpoint",
    "api_key_secret",
  ]);
  const ok = schema.parse({
    endpoint: "http://x.test",
    api_key_id: "",
    api_key_secret: "s",
    tenant_id: "",
  });
  assert.equal(ok.api_key_id, "tfk_env");
  assert.equal(ok.tenant_id, undefined);
});
