import assert from "node:assert/strict";
import {
  asFactory,
  type CreateSettings,
  type Host,
  type ServiceStatus,
} from "../../../../components/component.ts";
import {
  goDuration,
  HealthCheckExtension,
  healthCheckFactory,
} from "../../../../components/extension/health_check/factory.ts";
import {
  type HealthCheckConfig,
  healthCheckConfigSchema,
} from "../../../../components/extension/health_check/config.ts";
import { startHttpServer } from "../../../../lib/net/http_server.ts";
import { NOOP_LOGGER } from "../../../../lib/telemetry/logger.ts";
import { MetricRegistry } from "../../../../lib/telemetry/metrics.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

function settings(config: unknown): CreateSettings<HealthCheckConfig> {
  return {
    id: "health_check",
    config: healthCheckConfigSchema.parse(config),
    logger: NOOP_LOGGER,
    meter: new MetricRegistry().meter(),
    buildInfo: { command: "tfo", version: "test" },
  };
}

/** A host whose status the test sets. */
function fakeHost(initial: ServiceStatus): Host & { set(status: ServiceStatus): void } {
  let status = initial;
  return {
    getExtension: () => undefined,
    status: () => status,
    set: (s) => {
      status = s;
    },
  };
}

async function started(config: Record<string, unknown>, host: Host) {
  const ext = healthCheckFactory.create(settings({ endpoint: "127.0.0.1:0", ...config }));
  assert.ok(ext instanceof HealthCheckExtension);
  await ext.start(host);
  return { ext, base: `http://127.0.0.1:${ext.port}` };
}

async function get(url: string): Promise<{ status: number; type: string | null; body: string }> {
  const response = await fetch(url);
  return {
    status: response.status,
    type: response.headers.get("content-type"),
    body: await response.text(),
  };
}

Deno.test("health_check answers 503 while starting, 200 while running, 503 while stopping", async () => {
  const host = fakeHost("starting");
  const { ext, base } = await started({}, host);
  try {
    const starting = await get(base + "/");
    assert.equal(starting.status, 503);
    assert.equal(starting.type, "application/json");
    assert.deepEqual(JSON.parse(starting.body), {
      status: "Server not available",
      upSince: "0001-01-01T00:00:00Z",
      uptime: "",
    });

    host.set("running");
    const before = Date.now();
    const running = await get(base + "/");
    assert.equal(running.status, 200);
    const body = JSON.parse(running.body);
    assert.equal(body.status, "Server available");
    const upSince = Date.parse(body.upSince);
    assert.ok(upSince >= before - 1 && upSince <= Date.now(), body.upSince);
    assert.match(body.uptime, /^\d+(\.\d+)?(ns|µs|ms|s)$/);

    host.set("stopping");
    const stopping = await get(base + "/");
    assert.equal(stopping.status, 503);
    assert.equal(JSON.parse(stopping.body).status, "Server not available");
  } finally {
    await ext.shutdown();
  }
});

Deno.test("health_check serves its configured path and 404 elsewhere", async () => {
  const host = fakeHost("running");
  const { ext, base } = await started({ path: "/health/status" }, host);
  try {
    assert.equal((await get(base + "/health/status")).status, 200);
    assert.equal((await get(base + "/")).status, 404);
    assert.equal((await get(base + "/health/status/x")).status, 404);
  } finally {
    await ext.shutdown();
  }
});

Deno.test("health_check path ending in a slash answers below it too, as Go's mux does", async () => {
  const { ext, base } = await started({}, fakeHost("running"));
  try {
    assert.equal((await get(base + "/anything/below")).status, 200);
  } finally {
    await ext.shutdown();
  }
});

Deno.test("health_check answers with the configured response bodies", async () => {
  const host = fakeHost("starting");
  const { ext, base } = await started(
    { response_body: { healthy: "I'm OK", unhealthy: "I'm not well" } },
    host,
  );
  try {
    assert.deepEqual(
      await get(base + "/"),
      { status: 503, type: "text/plain; charset=utf-8", body: "I'm not well" },
    );
    host.set("running");
    assert.deepEqual(
      await get(base + "/"),
      { status: 200, type: "text/plain; charset=utf-8", body: "I'm OK" },
    );
  } finally {
    await ext.shutdown();
  }
});

Deno.test("health_check fails to start with a clear error when its port is in use", async () => {
  const taken = await startHttpServer("127.0.0.1:0", () => new Response());
  const endpoint = `127.0.0.1:${taken.port}`;
  const ext = healthCheckFactory.create(settings({ endpoint }));
  try {
    await assert.rejects(
      ext.start(fakeHost("starting")),
      { message: `Cannot listen on ${endpoint}: address already in use` },
    );
  } finally {
    await ext.shutdown();
    await taken.shutdown();
  }
});

Deno.test("health_check closes its port on shutdown, and shutdown twice is fine", async () => {
  const { ext, base } = await started({}, fakeHost("running"));
  await ext.shutdown();
  await ext.shutdown();
  await assert.rejects(fetch(base + "/"));
});

Deno.test("health_check defaults are the documented ones", () => {
  assert.deepEqual(healthCheckConfigSchema.parse({}), {
    endpoint: "127.0.0.1:13133",
    path: "/",
    check_collector_pipeline: { enabled: false, interval: 300_000, exporter_failure_threshold: 5 },
  });
  assert.deepEqual(
    healthCheckConfigSchema.parse({ response_body: { healthy: "ok" } }).response_body,
    { healthy: "ok", unhealthy: "" },
  );
});

Deno.test("health_check config rejects unknown keys, bad paths and the pipeline check", () => {
  const fails = (config: unknown, pattern: RegExp) => {
    const result = healthCheckConfigSchema.safeParse(config);
    assert.equal(result.success, false, JSON.stringify(config));
    assert.match(JSON.stringify(result.error!.issues), pattern);
  };
  fails({ endpont: "127.0.0.1:1" }, /endpont/);
  fails({ path: "health" }, /must start with/);
  fails({ endpoint: "13133" }, /host:port/);
  fails({ response_body: { healthy: "ok", extra: 1 } }, /extra/);
  fails({ check_collector_pipeline: { enabled: true } }, /not supported/);
  fails({ check_collector_pipeline: { interval: "soon" } }, /duration/);
  assert.ok(
    healthCheckConfigSchema.safeParse({
      check_collector_pipeline: { enabled: false, interval: "5m", exporter_failure_threshold: 5 },
    }).success,
  );
});

Deno.test("health_check writes uptimes the way Go writes durations", () => {
  assert.equal(goDuration(0), "0s");
  assert.equal(goDuration(500), "500ns");
  assert.equal(goDuration(1_500_000), "1.5ms");
  assert.equal(goDuration(49_013_251_800), "49.0132518s");
  assert.equal(goDuration(62_500_000_000), "1m2.5s");
  assert.equal(goDuration(3_600_000_000_000), "1h0m0s");
});

Deno.test("health_check upSince is when the service became ready, not the first request", async () => {
  const readyAt = Date.now() - 60_000; // ready a minute before anyone asked
  const host: Host = {
    getExtension: () => undefined,
    status: () => "running",
    readySince: () => readyAt,
  };
  const { ext, base } = await started({}, host);
  try {
    const body = JSON.parse((await get(base + "/")).body);
    assert.equal(body.upSince, new Date(readyAt).toISOString());
    assert.match(body.uptime, /^1m\d/, "a minute and a bit, as Go writes it");
  } finally {
    await ext.shutdown();
  }
});

Deno.test("health_check run by the service reports upSince as the moment the service became ready", async () => {
  const { Service } = await import("../../../../pipelines/service.ts");
  const { configFrom } = await import("../../../fixtures/interop/services.ts");
  const { TEST_FACTORIES } = await import("../../../fixtures/test_factories.ts");
  const config = await configFrom(
    `extensions: {health_check: {endpoint: "127.0.0.1:0"}}
receivers: {nop: {}}
exporters: {debug: {}}
service:
  extensions: [health_check]
  pipelines: {traces: {receivers: [nop], exporters: [debug]}}
`,
    [...TEST_FACTORIES, asFactory(healthCheckFactory)],
  );
  const service = new Service({
    config,
    logger: NOOP_LOGGER,
    buildInfo: { command: "tfo", version: "test" },
  });
  const before = Date.now();
  await service.start();
  const after = Date.now();
  try {
    await new Promise((resolve) => setTimeout(resolve, 50)); // the first request comes later
    const ext = service.getExtension("health_check");
    assert.ok(ext instanceof HealthCheckExtension);
    const body = JSON.parse((await get(`http://127.0.0.1:${ext.port}/`)).body);
    const upSince = Date.parse(body.upSince);
    assert.ok(upSince >= before && upSince <= after, `${body.upSince} is in the start`);
  } finally {
    await service.shutdown();
  }
});
