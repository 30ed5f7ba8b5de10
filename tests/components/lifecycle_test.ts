/**
 * One lifecycle test over every registered factory, configured by the example of its folder
 * (`components/<kind>/<type>/example.yaml`, a config fragment such as `receivers: {otlp: …}`):
 * create → start → consume one item per signal → shutdown → shutdown again, and shutdown without
 * start. A component that leaks a timer, a port or a promise fails here (Deno's test sanitizers);
 * a consumer that declares `mutatesData: false` and changes the data it was given fails too.
 */
import assert from "node:assert/strict";
import type {
  Component,
  CreateSettings,
  Factory,
  Host,
  Kind,
  ServiceStatus,
} from "../../components/component.ts";
import { BUILTIN_FACTORIES } from "../../components/builtin_factories.ts";
import type { Consumer, SignalConsumers } from "../../lib/consumer/consumer.ts";
import { OTLP_SIGNALS } from "../../lib/otlp/signals.ts";
import {
  cumulativeSumOf,
  newLogRecord,
  newMetric,
  newNumberDataPoint,
  newResource,
  newScope,
} from "../../lib/pdata/new.ts";
import { Payload } from "../../lib/pdata/payload.ts";
import { type Signal, type SignalData, SIGNALS } from "../../lib/pdata/types.ts";
import { NOOP_LOGGER } from "../../lib/telemetry/logger.ts";
import { MetricRegistry } from "../../lib/telemetry/metrics.ts";
import { loadConfig, toPlain } from "../../pipelines/config.ts";
import { parseNode } from "../../pipelines/_schema_issues.ts";
import { SECTIONS } from "../../pipelines/validate.ts";
import { tracesOf } from "../fixtures/graph_kit.ts";
import { ebpfSkipReason } from "../fixtures/ebpf/env.ts";
import { loadConfigLibs } from "../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

const root = new URL("../../components/", import.meta.url);
const exampleDir = Deno.makeTempDirSync({ prefix: "tfo-lifecycle-" });
Deno.mkdirSync(`${exampleDir}/logs`);
globalThis.addEventListener("unload", () => Deno.removeSync(exampleDir, { recursive: true }));

/** One component's example: its folder and its config as the schema produced it. */
interface Example {
  readonly folder: string;
  /** The config as written, environment references expanded. */
  readonly input: unknown;
  readonly config: unknown;
}

/** Every folder `components/<kind>/<type>/`, relative to `components/`. */
function componentFolders(): string[] {
  const out: string[] = [];
  for (const kind of Deno.readDirSync(root)) {
    if (!kind.isDirectory) continue;
    for (const type of Deno.readDirSync(new URL(`${kind.name}/`, root))) {
      if (type.isDirectory) out.push(`${kind.name}/${type.name}`);
    }
  }
  return out.sort();
}

/** The examples of every folder, by `kind/type`, parsed as `tfo validate` parses a component. */
async function loadExamples(): Promise<Map<string, Example>> {
  // Current names and older ones (an example may use either), by `kind/type`.
  const factories = new Map(
    BUILTIN_FACTORIES.flatMap((f) =>
      [f.type, ...(f.aliases ?? [])].map((name) => [`${f.kind}/${name}`, f] as const)
    ),
  );
  const kindOf = new Map(Object.entries(SECTIONS).map(([kind, section]) => [section, kind]));
  const out = new Map<string, Example>();
  for (const folder of componentFolders()) {
    const file = new URL(`${folder}/example.yaml`, root);
    const loaded = await loadConfig({
      files: [file.pathname],
      env: { TFO_EXAMPLE_DIR: exampleDir },
    });
    const errors = loaded.diagnostics.filter((d) => d.severity === "error");
    assert.deepEqual(errors, [], `components/${folder}/example.yaml`);
    const top = loaded.raw!.root;
    for (const [section, entry] of top.entries) {
      // A full example config may wire its component into a pipeline.
      if (section === "service") continue;
      const kind = kindOf.get(section) as Kind | undefined;
      assert.ok(kind !== undefined, `${folder}/example.yaml: "${section}" is not a section`);
      assert.equal(entry.value.kind, "map", `${folder}/example.yaml: ${section}`);
      if (entry.value.kind !== "map") continue;
      for (const [id, component] of entry.value.entries) {
        const factory = factories.get(`${kind}/${id.split("/")[0]}`);
        assert.ok(factory !== undefined, `${folder}/example.yaml: no ${kind} "${id}"`);
        const type = factory.type;
        const parsed = parseNode(
          factory.configSchema,
          component.value,
          [section, id],
          component.keyPos,
          { nullAsEmpty: true },
        );
        assert.ok(parsed.ok, `${folder}/example.yaml: ${JSON.stringify(parsed.diagnostics)}`);
        const input = toPlain(component.value) ?? {};
        out.set(`${kind}/${type}`, { folder, input, config: parsed.value });
      }
    }
  }
  return out;
}

const examples = await loadExamples();

Deno.test("every component folder has an example, and every registered factory is in one", () => {
  const withExample = new Set([...examples.values()].map((e) => e.folder));
  assert.deepEqual(componentFolders().filter((f) => !withExample.has(f)), []);
  const missing = BUILTIN_FACTORIES.map((f) => `${f.kind}/${f.type}`).filter((k) =>
    !examples.has(k)
  );
  assert.deepEqual(missing, []);
});

/** One item of each signal, with attributes a processor could touch. */
function sampleData(): { readonly [S in Signal]: SignalData[S] } {
  const resource = newResource({ attributes: [{ key: "service.name", value: "lifecycle" }] });
  const attributes = [{ key: "user.email", value: "a@example.com" }];
  const traces = tracesOf("one");
  traces.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.attributes = [...attributes];
  return {
    traces,
    metrics: {
      resourceMetrics: [{
        resource,
        schemaUrl: "",
        scopeMetrics: [{
          scope: newScope({ name: "lifecycle" }),
          schemaUrl: "",
          metrics: [
            newMetric({
              name: "requests",
              data: cumulativeSumOf([newNumberDataPoint({ value: 1, attributes })], true),
            }),
          ],
        }],
      }],
    },
    logs: {
      resourceLogs: [{
        resource: newResource({ attributes: [{ key: "service.name", value: "lifecycle" }] }),
        schemaUrl: "",
        scopeLogs: [{
          scope: newScope({ name: "lifecycle" }),
          schemaUrl: "",
          logRecords: [newLogRecord({ body: "one line", attributes: [...attributes] })],
        }],
      }],
    },
  };
}

const sink: Consumer = { mutatesData: false, consume: () => Promise.resolve() };

function consumersFor(signals: readonly Signal[]): SignalConsumers {
  return Object.fromEntries(signals.map((s) => [s, sink])) as SignalConsumers;
}

/** The component and its consumers by signal (none for receivers and extensions). */
function create(factory: Factory): { component: Component; consumers: SignalConsumers } {
  const settings: CreateSettings<unknown> = {
    id: factory.type,
    config: examples.get(`${factory.kind}/${factory.type}`)!.config,
    logger: NOOP_LOGGER,
    meter: new MetricRegistry().meter(),
    buildInfo: { command: "tfo", version: "test" },
  };
  switch (factory.kind) {
    case "receiver": {
      const signals = SIGNALS.filter((s) => s in factory.signals);
      return { component: factory.create(settings, consumersFor(signals)), consumers: {} };
    }
    case "processor": {
      // One instance per pipeline signal, as the graph makes them; shut down together.
      const processors = SIGNALS.filter((s) => s in factory.signals).map((signal) =>
        [signal, factory.create(settings, signal, sink)] as const
      );
      const component: Component = {
        start: async (host) => {
          for (const [, p] of processors) await p.start(host);
        },
        shutdown: async () => {
          for (const [, p] of processors) await p.shutdown();
        },
      };
      return { component, consumers: Object.fromEntries(processors) as SignalConsumers };
    }
    case "exporter": {
      const exporter = factory.create(settings, SIGNALS.filter((s) => s in factory.signals));
      return { component: exporter, consumers: exporter.consumers };
    }
    case "connector": {
      const inputs = SIGNALS.filter((s) => s in factory.routes);
      const outputs = SIGNALS.filter((s) => inputs.some((i) => s in factory.routes[i]!));
      // A connector that picks pipelines (routing) gets the sink for any of them.
      const connector = factory.create(settings, inputs, consumersFor(outputs), () => sink);
      return { component: connector, consumers: connector.consumers };
    }
    case "extension":
      return { component: factory.create(settings), consumers: {} };
  }
}

function hostWith(status: ServiceStatus): Host {
  return { getExtension: () => undefined, status: () => status };
}

/**
 * Gives each consumer one item of its signal; a read-only one must leave the data as it was.
 * Whether the consumer accepts is not the point (an exporter's backend is not there).
 */
async function consumeOneOfEach(consumers: SignalConsumers, what: string): Promise<void> {
  const data = sampleData();
  for (const signal of SIGNALS) {
    const consumer = consumers[signal] as Consumer<typeof signal> | undefined;
    if (consumer === undefined) continue;
    const item = data[signal] as SignalData[typeof signal];
    const encode = OTLP_SIGNALS[signal].encodeProto as (d: SignalData[typeof signal]) => Uint8Array;
    const before = encode(item);
    await consumer.consume(Payload.of(signal, item)).catch(() => {});
    if (!consumer.mutatesData) {
      assert.deepEqual(encode(item), before, `${what} changed the ${signal} it was given`);
    }
  }
}

/**
 * Why a component cannot start on this machine: the ebpf receiver needs root and bpf(2); the
 * k8s_cluster receiver a Kubernetes API (its tests use a fake one).
 */
function cannotStart(factory: Factory): string | undefined {
  if (factory.kind !== "receiver") return undefined;
  if (factory.type === "ebpf") return ebpfSkipReason();
  if (factory.type === "k8s_cluster" && Deno.env.get("KUBERNETES_SERVICE_HOST") === undefined) {
    return "not in a Kubernetes pod (tests/components/receiver/k8s_cluster uses a fake API server)";
  }
  return undefined;
}

for (const factory of BUILTIN_FACTORIES) {
  const name = `${factory.kind} "${factory.type}"`;
  const why = cannotStart(factory);
  if (why !== undefined) console.warn(`${name}: start skipped: ${why}`);
  Deno.test({
    name: `${name} starts, consumes one item per signal, stops, and stops twice`,
    ignore: why !== undefined,
  }, async () => {
    const { component, consumers } = create(factory);
    await component.start(hostWith("running"));
    try {
      await consumeOneOfEach(consumers, name);
    } finally {
      await component.shutdown();
    }
    await component.shutdown();
  });

  Deno.test(`${name} stops without having started`, async () => {
    await create(factory).component.shutdown();
  });

  Deno.test(`${name} rejects an unknown key next to its example`, () => {
    const { input } = examples.get(`${factory.kind}/${factory.type}`)!;
    assert.ok(factory.configSchema.safeParse(input).success);
    const parsed = factory.configSchema.safeParse({
      ...(input as object),
      no_such_key_anywhere: 1,
    });
    assert.ok(!parsed.success, "unknown keys must be rejected");
    assert.ok(parsed.error.issues.some((i) => i.code === "unrecognized_keys"));
  });
}
