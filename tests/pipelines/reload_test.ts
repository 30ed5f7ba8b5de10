/**
 * Live reload, told as stories over the graph kit's components: what a reload keeps, what it
 * replaces, and that a config which is invalid or cannot start leaves the old graph serving.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import {
  asFactory,
  type ExporterFactory,
  type ExtensionFactory,
  type Factory,
  type ReceiverFactory,
} from "../../components/component.ts";
import { batchFactory } from "../../components/processor/batch/factory.ts";
import type { Consumer, SignalConsumers } from "../../lib/consumer/consumer.ts";
import { NOOP_LOGGER } from "../../lib/telemetry/logger.ts";
import { MetricRegistry } from "../../lib/telemetry/metrics.ts";
import {
  formatDiagnostic,
  hasErrors,
  loadConfig,
  type ResolvedConfig,
  sortDiagnostics,
} from "../../pipelines/config.ts";
import { validateConfig } from "../../pipelines/validate.ts";
import {
  type ConfigLayer,
  type LoadedConfig,
  Reloader,
  type RemoteConfig,
} from "../../pipelines/reload.ts";
import { Service } from "../../pipelines/service.ts";
import { createTestKit, type TestKit, tracesPayload } from "../fixtures/graph_kit.ts";

/** Extra test components: an exporter that cannot start, a receiver with a setting, an extension. */
function extraFactories(kit: TestKit, remote: FakeRemote, controls: Controls): Factory[] {
  const failing: ExporterFactory<unknown> = {
    kind: "exporter",
    type: "unstartable",
    configSchema: z.strictObject({}),
    signals: { traces: "development" },
    create(settings, signals) {
      const consumers: Record<string, Consumer> = {};
      for (const s of signals) {
        consumers[s] = {
          mutatesData: false,
          consume: () => Promise.resolve(),
        };
      }
      return {
        consumers: consumers as SignalConsumers,
        start() {
          kit.events.push(`start exporter/${settings.id}`);
          return Promise.reject(new Error("backend unreachable"));
        },
        shutdown() {
          kit.events.push(`stop exporter/${settings.id}`);
          return Promise.resolve();
        },
      };
    },
  };
  // A receiver holding something exclusive (say a port), named by its `port` setting.
  const held = new Set<number>();
  const portSchema = z.strictObject({
    port: z.number().int(),
    fail_start: z.boolean().default(false),
    label: z.string().default(""),
  });
  const portReceiver: ReceiverFactory<z.output<typeof portSchema>> = {
    kind: "receiver",
    type: "portrcv",
    configSchema: portSchema,
    signals: { traces: "development" },
    create(settings, next) {
      return {
        start() {
          kit.events.push(`start receiver/${settings.id}:${settings.config.port}`);
          if (held.has(settings.config.port) || settings.config.fail_start) {
            return Promise.reject(new Error("address already in use"));
          }
          held.add(settings.config.port);
          kit.receivers.set(settings.id, {
            next,
            push: (p) => (next[p.signal] as Consumer).consume(p),
          });
          return Promise.resolve();
        },
        async shutdown() {
          kit.events.push(`stop receiver/${settings.id}:${settings.config.port}`);
          await controls.stopGate;
          held.delete(settings.config.port);
        },
      };
    },
  };
  const remoteSchema = z.strictObject({ tag: z.string().default("") });
  const remoteExtension: ExtensionFactory<z.output<typeof remoteSchema>> = {
    kind: "extension",
    type: "remote",
    configSchema: remoteSchema,
    stability: "development",
    create(settings) {
      return {
        capabilities: { remoteConfig: remote },
        start() {
          kit.events.push(`start extension/${settings.id}`);
          return Promise.resolve();
        },
        shutdown() {
          kit.events.push(`stop extension/${settings.id}`);
          return Promise.resolve();
        },
      };
    },
  };
  return [asFactory(failing), asFactory(portReceiver), asFactory(remoteExtension)];
}

/** Knobs of the extra components. */
interface Controls {
  /** Stopping a `portrcv` waits for it. */
  stopGate?: Promise<void>;
}

/** A remote config source the test controls. */
class FakeRemote implements RemoteConfig {
  text: string | undefined;
  readonly listeners = new Set<(text: string) => void>();
  current(): string | undefined {
    return this.text;
  }
  subscribe(listener: (text: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  publish(text: string): void {
    this.text = text;
    for (const l of this.listeners) l(text);
  }
}

/** Loads `local` with `layers` over it, as `tfo run` does. */
async function load(
  local: string,
  factories: readonly Factory[],
  layers: readonly ConfigLayer[] = [],
): Promise<LoadedConfig> {
  const texts = new Map(layers.map((l) => [l.name, l.text]));
  const loaded = await loadConfig({
    files: ["local.yaml", ...texts.keys()],
    readFile: (name) => Promise.resolve(texts.get(name) ?? local),
  });
  let config: ResolvedConfig | undefined;
  let diagnostics = loaded.diagnostics;
  if (loaded.raw !== undefined) {
    const validated = validateConfig(loaded.raw, factories);
    diagnostics = sortDiagnostics([...diagnostics, ...validated.diagnostics], loaded.raw.sources);
    config = hasErrors(diagnostics) ? undefined : validated.config;
  }
  return { config, diagnostics: diagnostics.map(formatDiagnostic) };
}

/** A started service over the kit, a reloader reading `harness.yaml`, and a log of its lines. */
async function start(yaml: string) {
  const kit = createTestKit();
  const remote = new FakeRemote();
  const controls: Controls = {};
  const factories = [
    ...kit.factories,
    ...extraFactories(kit, remote, controls),
    asFactory(batchFactory),
  ];
  const registry = new MetricRegistry();
  const first = await load(yaml, factories);
  assert.ok(first.config, first.diagnostics.join("\n"));
  const service = new Service({
    config: first.config,
    logger: NOOP_LOGGER,
    registry,
    buildInfo: { command: "tfo", version: "test" },
  });
  await service.start();
  const logs: string[] = [];
  const logger = {
    ...NOOP_LOGGER,
    info: (m: string, f?: object) => logs.push(`info ${m} ${JSON.stringify(f ?? {})}`),
    warn: (m: string, f?: object) => logs.push(`warn ${m} ${JSON.stringify(f ?? {})}`),
    error: (m: string, f?: object) => logs.push(`error ${m} ${JSON.stringify(f ?? {})}`),
  };
  const harness = {
    yaml,
    loads: 0,
    controls,
    kit,
    remote,
    service,
    registry,
    logs,
    reloader: undefined as unknown as Reloader,
    reloads(result: string) {
      return registry.value("tfo_config_reloads", { result }) ?? 0;
    },
    async [Symbol.asyncDispose]() {
      await harness.reloader.close();
      await service.shutdown();
    },
  };
  harness.reloader = new Reloader({
    service,
    logger,
    meter: registry.meter(),
    load: (layers) => {
      harness.loads++;
      return load(harness.yaml, factories, layers);
    },
  });
  harness.reloader.start();
  return harness;
}

const PIPELINE = `
receivers:
  testrcv:
processors:
  renamer:
    suffix: "+v1"
exporters:
  recorder:
service:
  pipelines:
    traces: { receivers: [testrcv], processors: [renamer], exporters: [recorder] }
`;

Deno.test("a reload keeps the unchanged receiver and exporter and applies the changed processor", async () => {
  await using h = await start(PIPELINE);
  const receiver = h.service.graph!.nodes.find((n) => n.kind === "receiver")!;
  const exporter = h.service.graph!.nodes.find((n) => n.kind === "exporter")!;
  const push = h.kit.receivers.get("testrcv")!.push;
  await push(tracesPayload("before"));

  h.yaml = PIPELINE.replace("+v1", "+v2");
  h.kit.events.length = 0;
  assert.equal(await h.reloader.request("SIGHUP"), "success");

  const graph = h.service.graph!;
  assert.equal(graph.nodes.find((n) => n.kind === "receiver"), receiver, "same receiver object");
  assert.equal(graph.nodes.find((n) => n.kind === "exporter"), exporter, "same exporter object");
  assert.deepEqual(h.kit.events, ["start processor/renamer", "stop processor/renamer"]);
  // The push function the receiver had before the reload now reaches the new processor.
  await push(tracesPayload("after"));
  assert.deepEqual(h.kit.recordings.get("recorder")!.spanNames, ["before+v1", "after+v2"]);
  assert.equal(h.reloads("success"), 1);
  assert.ok(h.logs.some((l) => l.startsWith("info Config reloaded")), h.logs.join("\n"));
});

Deno.test("data pushed while a reload swaps the pipelines is all delivered, none twice", async () => {
  await using h = await start(`
receivers:
  testrcv:
processors:
  batch:
    timeout: 1h
  renamer:
    suffix: "+v1"
exporters:
  recorder:
    delay_ms: 1
service:
  pipelines:
    traces: { receivers: [testrcv], processors: [renamer, batch], exporters: [recorder] }
`);
  const push = h.kit.receivers.get("testrcv")!.push;
  const acknowledged: string[] = [];
  let sending = true;
  const sender = (async () => {
    for (let i = 0; sending || i < 20; i++) {
      const name = `s${i}`;
      // Not awaited one by one: the batch holds them until the old batch processor drains.
      void push(tracesPayload(name)).then(() => acknowledged.push(name));
      await new Promise((r) => setTimeout(r, 1));
    }
  })();
  await new Promise((r) => setTimeout(r, 10));
  h.yaml = h.yaml.replace("+v1", "+v2").replace("timeout: 1h", "timeout: 1ms");
  assert.equal(await h.reloader.request("SIGHUP"), "success");
  await new Promise((r) => setTimeout(r, 10));
  sending = false;
  await sender;
  const recorded = h.kit.recordings.get("recorder")!.spanNames;
  const deadline = Date.now() + 5_000;
  while (acknowledged.length < recorded.length || recorded.length === 0) {
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  await h.service.shutdown();
  const names = recorded.map((n) => n.replace(/\+v\d$/, ""));
  assert.equal(new Set(names).size, names.length, "nothing delivered twice");
  for (const name of acknowledged) assert.ok(names.includes(name), `${name} was acknowledged`);
  assert.ok(recorded.some((n) => n.endsWith("+v1")), "spans before the reload went the old way");
  assert.ok(recorded.some((n) => n.endsWith("+v2")), "spans after the reload go the new way");
  // The swap is atomic: every span sent before it went the old way, every one after the new way.
  const numbers = (suffix: string) =>
    recorded.filter((n) => n.endsWith(suffix)).map((n) => Number(n.slice(1, -suffix.length)));
  assert.ok(Math.max(...numbers("+v1")) < Math.min(...numbers("+v2")));
});

Deno.test("a removed exporter is stopped only after the old batch drained into it", async () => {
  await using h = await start(`
receivers:
  testrcv:
processors:
  batch:
    timeout: 1h
exporters:
  recorder/kept:
  recorder/removed:
service:
  pipelines:
    traces/a: { receivers: [testrcv], processors: [batch], exporters: [recorder/kept] }
    traces/b: { receivers: [testrcv], processors: [batch], exporters: [recorder/removed] }
`);
  const removed = h.kit.recordings.get("recorder/removed")!;
  const kept = h.kit.recordings.get("recorder/kept")!;
  const held = h.kit.receivers.get("testrcv")!.push(tracesPayload("held"));
  assert.deepEqual(removed.spanNames, []);

  h.yaml = `
receivers:
  testrcv:
processors:
  batch:
    timeout: 1h
exporters:
  recorder/kept:
service:
  pipelines:
    traces/a: { receivers: [testrcv], processors: [batch], exporters: [recorder/kept] }
`;
  h.kit.events.length = 0;
  assert.equal(await h.reloader.request("SIGHUP"), "success");
  await held;
  assert.deepEqual(removed.spanNames, ["held"], "the old batch drained into the removed exporter");
  assert.deepEqual(kept.spanNames, ["held"]);
  assert.deepEqual(h.kit.events, ["stop exporter/recorder/removed"]);
  assert.equal(h.kit.recordings.get("recorder/kept"), kept, "the kept exporter was not re-created");
});

Deno.test("an added pipeline with a new receiver and exporter works after the reload", async () => {
  await using h = await start(PIPELINE);
  h.yaml = `
receivers:
  testrcv:
  testrcv/2:
processors:
  renamer:
    suffix: "+v1"
exporters:
  recorder:
  recorder/2:
service:
  pipelines:
    traces: { receivers: [testrcv], processors: [renamer], exporters: [recorder] }
    traces/extra: { receivers: [testrcv/2, testrcv], exporters: [recorder/2] }
`;
  h.kit.events.length = 0;
  assert.equal(await h.reloader.request("SIGHUP"), "success");
  assert.deepEqual(h.kit.events, [
    "start exporter/recorder/2",
    "start processor/renamer",
    "start receiver/testrcv/2",
    "stop processor/renamer",
  ]);
  await h.kit.receivers.get("testrcv/2")!.push(tracesPayload("new"));
  await h.kit.receivers.get("testrcv")!.push(tracesPayload("both"));
  assert.deepEqual(h.kit.recordings.get("recorder/2")!.spanNames, ["new", "both"]);
  assert.deepEqual(h.kit.recordings.get("recorder")!.spanNames, ["both+v1"]);
});

Deno.test("an invalid config is refused with every diagnostic logged, and the old graph keeps serving", async () => {
  await using h = await start(PIPELINE);
  const before = h.service.graph;
  h.yaml = `
receivers:
  testrcv:
    no_such_key: 1
processors:
  renamer:
    suffix: 5
exporters:
  recorder:
service:
  pipelines:
    traces: { receivers: [testrcv], processors: [renamer], exporters: [recorder/missing] }
`;
  h.kit.events.length = 0;
  assert.equal(await h.reloader.request("SIGHUP"), "invalid");
  assert.equal(h.service.graph, before);
  assert.deepEqual(h.kit.events, [], "nothing was created, started or stopped");
  const diagnostics = h.logs.filter((l) => l.startsWith("error Invalid config"));
  assert.equal(diagnostics.length, 3, h.logs.join("\n"));
  assert.match(diagnostics[0]!, /local\.yaml:4:5 {2}receivers\.testrcv/);
  assert.match(diagnostics[1]!, /local\.yaml:7:13 {2}processors\.renamer\.suffix/);
  assert.match(diagnostics[2]!, /local\.yaml:12:.*recorder\/missing/);
  await h.kit.receivers.get("testrcv")!.push(tracesPayload("still"));
  assert.deepEqual(h.kit.recordings.get("recorder")!.spanNames, ["still+v1"]);
  assert.equal(h.reloads("invalid"), 1);
  assert.equal(h.reloads("success"), 0);
});

Deno.test("a new component that cannot start leaves the old graph serving, untouched", async () => {
  await using h = await start(PIPELINE);
  const before = h.service.graph;
  h.yaml = PIPELINE.replace("+v1", "+v2").replace(
    "exporters: [recorder] }",
    "exporters: [recorder, unstartable] }",
  ).replace("exporters:\n  recorder:", "exporters:\n  recorder:\n  unstartable:");
  h.kit.events.length = 0;
  assert.equal(await h.reloader.request("SIGHUP"), "failed");
  assert.equal(h.service.graph, before);
  assert.deepEqual(h.kit.events, ["start exporter/unstartable", "stop exporter/unstartable"]);
  assert.ok(
    h.logs.some((l) => /Cannot start exporter "unstartable": backend unreachable/.test(l)),
    h.logs.join("\n"),
  );
  await h.kit.receivers.get("testrcv")!.push(tracesPayload("still"));
  assert.deepEqual(h.kit.recordings.get("recorder")!.spanNames, ["still+v1"]);
  assert.equal(h.reloads("failed"), 1);
});

Deno.test("a new receiver that cannot start puts the kept receiver back on the old pipelines", async () => {
  await using h = await start(PIPELINE);
  h.yaml = PIPELINE.replace("+v1", "+v2")
    .replace(
      "receivers:\n  testrcv:",
      "receivers:\n  testrcv:\n  portrcv:\n    port: 1\n    fail_start: true",
    )
    .replace("receivers: [testrcv]", "receivers: [testrcv, portrcv]");
  assert.equal(await h.reloader.request("SIGHUP"), "failed");
  await h.kit.receivers.get("testrcv")!.push(tracesPayload("still"));
  assert.deepEqual(h.kit.recordings.get("recorder")!.spanNames, ["still+v1"]);
});

const PORTS = `
receivers:
  portrcv:
    port: 1
  testrcv:
exporters:
  recorder:
service:
  pipelines:
    traces: { receivers: [portrcv, testrcv], exporters: [recorder] }
`;

Deno.test("a changed receiver is replaced after its old instance released the port; the kept one holds data meanwhile", async () => {
  await using h = await start(PORTS);
  const kept = h.kit.receivers.get("testrcv")!;
  h.yaml = PORTS.replace("port: 1", "port: 1\n    label: changed");
  h.kit.events.length = 0;
  const gate = Promise.withResolvers<void>();
  h.controls.stopGate = gate.promise;
  const reload = h.reloader.request("SIGHUP");
  const deadline = Date.now() + 5_000;
  while (!h.kit.events.includes("stop receiver/portrcv:1") && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 1));
  }
  // The old instance is stopping: the kept receiver's data waits, neither refused nor lost.
  let delivered = false;
  const pushed = kept.push(tracesPayload("held")).then(() => delivered = true);
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(delivered, false, "held while the old receiver stops");
  assert.deepEqual(h.kit.recordings.get("recorder")!.spanNames, []);
  gate.resolve();
  assert.equal(await reload, "success", h.logs.join("\n"));
  await pushed;
  assert.deepEqual(h.kit.events, ["stop receiver/portrcv:1", "start receiver/portrcv:1"]);
  await h.kit.receivers.get("portrcv")!.push(tracesPayload("via-new"));
  await kept.push(tracesPayload("via-kept"));
  assert.deepEqual(h.kit.recordings.get("recorder")!.spanNames, ["held", "via-new", "via-kept"]);
});

Deno.test("a replaced receiver that cannot start brings the old config back", async () => {
  await using h = await start(PORTS);
  h.yaml = PORTS.replace("port: 1", "port: 1\n    fail_start: true");
  h.kit.events.length = 0;
  assert.equal(await h.reloader.request("SIGHUP"), "failed");
  assert.deepEqual(h.kit.events, [
    "stop receiver/portrcv:1",
    "start receiver/portrcv:1",
    "stop receiver/portrcv:1",
    "start receiver/portrcv:1",
  ]);
  await h.kit.receivers.get("portrcv")!.push(tracesPayload("restored"));
  await h.kit.receivers.get("testrcv")!.push(tracesPayload("kept"));
  assert.deepEqual(h.kit.recordings.get("recorder")!.spanNames, ["restored", "kept"]);
  assert.equal(h.service.status, "running");
});

Deno.test("a reload asked for during a reload runs once more afterwards; later asks join it", async () => {
  await using h = await start(PIPELINE);
  const first = h.reloader.request("SIGHUP");
  for (let i = 0; i < 100 && h.loads === 0; i++) await Promise.resolve();
  assert.equal(h.loads, 1, "the first reload is loading its config");
  const second = h.reloader.request("SIGHUP");
  const third = h.reloader.request("SIGHUP");
  assert.equal(second, third);
  assert.deepEqual(await Promise.all([first, second]), ["success", "success"]);
  assert.equal(h.loads, 2);
});

Deno.test("a remote config is merged over the local one and reloads the graph", async () => {
  const local = `
extensions:
  remote:
receivers:
  testrcv:
processors:
  renamer:
    suffix: "+local"
exporters:
  recorder:
service:
  extensions: [remote]
  pipelines:
    traces: { receivers: [testrcv], processors: [renamer], exporters: [recorder] }
`;
  await using h = await start(local);
  h.kit.events.length = 0;
  h.remote.publish(`processors:\n  renamer:\n    suffix: "+remote"\n`);
  const deadline = Date.now() + 5_000;
  while (h.reloads("success") < 1 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.equal(h.reloads("success"), 1, h.logs.join("\n"));
  assert.deepEqual(h.kit.events, ["start processor/renamer", "stop processor/renamer"]);
  await h.kit.receivers.get("testrcv")!.push(tracesPayload("a"));
  assert.deepEqual(h.kit.recordings.get("recorder")!.spanNames, ["a+remote"]);

  // The same text again is no change; an invalid one is refused, with its source named.
  h.remote.publish(`processors:\n  renamer:\n    suffix: "+remote"\n`);
  h.remote.publish(`processors:\n  renamer:\n    nope: 1\n`);
  while (h.reloads("invalid") < 1 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.equal(h.reloads("invalid"), 1);
  assert.ok(h.logs.some((l) => l.includes(`<remote config from extension \\"remote\\">:3:5`)));
  // A SIGHUP keeps the accepted remote layer, not the refused one.
  assert.equal(await h.reloader.request("SIGHUP"), "success");
  await h.kit.receivers.get("testrcv")!.push(tracesPayload("b"));
  assert.deepEqual(h.kit.recordings.get("recorder")!.spanNames, ["a+remote", "b+remote"]);
  assert.equal(h.loads, 3);
});

Deno.test("without local files to read again, a SIGHUP is a no-op with a log line", async () => {
  const kit = createTestKit();
  const factories = [...kit.factories];
  const { config } = await load(PIPELINE, factories);
  const service = new Service({
    config: config!,
    logger: NOOP_LOGGER,
    buildInfo: { command: "tfo", version: "test" },
  });
  await service.start();
  const logs: string[] = [];
  let loads = 0;
  const reloader = new Reloader({
    service,
    logger: { ...NOOP_LOGGER, info: (m) => logs.push(m) },
    meter: new MetricRegistry().meter(),
    localReloadable: false,
    load: () => {
      loads++;
      return load(PIPELINE, factories);
    },
  });
  assert.equal(await reloader.request("SIGHUP"), "skipped");
  assert.equal(loads, 0);
  assert.deepEqual(logs, ["Nothing to reload: tfo runs its embedded default config"]);
  await reloader.close();
  await service.shutdown();
});

Deno.test("a changed extension restarts with every extension that names it, old ones stopped first", async () => {
  const local = `
extensions:
  remote/a:
    tag: one
  remote/b:
    tag: remote/a
  remote/c:
receivers:
  testrcv:
exporters:
  recorder:
service:
  extensions: [remote/a, remote/b, remote/c]
  pipelines:
    traces: { receivers: [testrcv], exporters: [recorder] }
`;
  await using h = await start(local);
  const before = h.service.graph!.nodes;
  h.yaml = local.replace("tag: one", "tag: two");
  h.kit.events.length = 0;
  assert.equal(await h.reloader.request("SIGHUP"), "success", h.logs.join("\n"));
  assert.deepEqual(h.kit.events, [
    "stop extension/remote/b",
    "stop extension/remote/a",
    "start extension/remote/a",
    "start extension/remote/b",
  ]);
  const after = h.service.graph!.nodes;
  for (const id of ["remote/c", "testrcv", "recorder"]) {
    assert.equal(after.find((n) => n.id === id), before.find((n) => n.id === id), id);
  }
  await h.kit.receivers.get("testrcv")!.push(tracesPayload("x"));
  assert.deepEqual(h.kit.recordings.get("recorder")!.spanNames, ["x"]);
});
