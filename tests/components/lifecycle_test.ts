/**
 * One lifecycle test over every registered factory: create → start → shutdown → shutdown again,
 * and shutdown without start. A component that leaks a timer, a port or a promise fails here
 * (Deno's test sanitizers).
 */
import assert from "node:assert/strict";
import type {
  Component,
  CreateSettings,
  Factory,
  Host,
  ServiceStatus,
} from "../../components/component.ts";
import { BUILTIN_FACTORIES } from "../../components/registry.ts";
import type { Consumer, SignalConsumers } from "../../lib/consumer/consumer.ts";
import { type Signal, SIGNALS } from "../../lib/pdata/types.ts";
import { NOOP_LOGGER } from "../../lib/telemetry/logger.ts";
import { MetricRegistry } from "../../lib/telemetry/metrics.ts";

const storageDir = Deno.makeTempDirSync({ prefix: "tfo-lifecycle-" });
globalThis.addEventListener("unload", () => Deno.removeSync(storageDir, { recursive: true }));

/** Configs for types whose defaults alone are not valid or would bind well-known ports. */
const TEST_CONFIGS: Readonly<Record<string, unknown>> = {
  "receiver/otlp": {
    protocols: { grpc: { endpoint: "127.0.0.1:0" }, http: { endpoint: "127.0.0.1:0" } },
  },
  "exporter/otlp_grpc": { endpoint: "127.0.0.1:1", tls: { insecure: true } },
  "exporter/otlp_http": { endpoint: "http://127.0.0.1:1" },
  "exporter/prometheus": { endpoint: "127.0.0.1:0" },
  "exporter/file": { path: `${storageDir}/file/out.json`, create_directory: true },
  "extension/health_check": { endpoint: "127.0.0.1:0" },
  "extension/file_storage": { directory: `${storageDir}/fs`, create_directory: true },
  "extension/apikeyauth": { keys: [{ id: "k", secret: "s", workspace_id: "w", tenant_id: "t" }] },
  "extension/telemetryflow": {
    endpoint: "http://127.0.0.1:1",
    api_key_id: "tfk_x",
    api_key_secret: "tfs_x",
  },
  "receiver/file_log": { include: [`${storageDir}/logs/*.log`] },
  "processor/memory_limiter": { check_interval: "1s", limit_mib: 4096 },
  "processor/attributes": { actions: [{ key: "a", action: "delete" }] },
  "processor/resource": { attributes: [{ key: "a", action: "delete" }] },
};

const sink: Consumer = { mutatesData: false, consume: () => Promise.resolve() };

function consumersFor(signals: readonly Signal[]): SignalConsumers {
  return Object.fromEntries(signals.map((s) => [s, sink])) as SignalConsumers;
}

function create(factory: Factory): Component {
  const config = factory.configSchema.parse(TEST_CONFIGS[`${factory.kind}/${factory.type}`] ?? {});
  const settings: CreateSettings<unknown> = {
    id: factory.type,
    config,
    logger: NOOP_LOGGER,
    meter: new MetricRegistry().meter(),
    buildInfo: { command: "tfo", version: "test" },
  };
  switch (factory.kind) {
    case "receiver":
      return factory.create(settings, consumersFor(SIGNALS.filter((s) => s in factory.signals)));
    case "processor": {
      const signal = SIGNALS.find((s) => s in factory.signals)!;
      return factory.create(settings, signal, sink);
    }
    case "exporter":
      return factory.create(settings, SIGNALS.filter((s) => s in factory.signals));
    case "connector": {
      const inputs = SIGNALS.filter((s) => s in factory.routes);
      const outputs = SIGNALS.filter((s) => inputs.some((i) => s in factory.routes[i]!));
      return factory.create(settings, inputs, consumersFor(outputs));
    }
    case "extension":
      return factory.create(settings);
  }
}

function hostWith(status: ServiceStatus): Host {
  return { getExtension: () => undefined, status: () => status };
}

for (const factory of BUILTIN_FACTORIES) {
  Deno.test(`${factory.kind} "${factory.type}" starts, stops, and stops twice`, async () => {
    const component = create(factory);
    await component.start(hostWith("running"));
    await component.shutdown();
    await component.shutdown();
  });

  Deno.test(`${factory.kind} "${factory.type}" stops without having started`, async () => {
    await create(factory).shutdown();
  });

  Deno.test(`${factory.kind} "${factory.type}" has defaults that its own schema accepts`, () => {
    const sample = TEST_CONFIGS[`${factory.kind}/${factory.type}`] ?? {};
    const parsed = factory.configSchema.safeParse(sample);
    assert.ok(parsed.success, JSON.stringify(parsed.error?.issues));
    const unknownKey = factory.configSchema.safeParse({
      ...(sample as object),
      no_such_key_anywhere: 1,
    });
    assert.equal(unknownKey.success, false, "unknown keys must be rejected");
  });
}
