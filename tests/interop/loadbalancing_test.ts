/**
 * The `loadbalancing` exporter in front of real tfo collectors (in-process services with an OTLP
 * gRPC receiver and a recorder): every span of a trace reaches one collector, three collectors
 * share traces within 10% of even, and when a collector stops and the resolver drops it, the data
 * its backend queue had accepted moves to the other collector — nothing acknowledged is lost.
 */
import assert from "node:assert/strict";
import { createOtlpExporter } from "../../components/exporter/otlp/factory.ts";
import { otlpConfigSchema } from "../../components/exporter/otlp/config.ts";
import { createLoadBalancingExporter } from "../../components/exporter/loadbalancing/factory.ts";
import { loadBalancingConfigSchema } from "../../components/exporter/loadbalancing/config.ts";
import type {
  BackendsListener,
  Resolver,
} from "../../components/exporter/loadbalancing/resolver.ts";
import type { Host } from "../../components/component.ts";
import { hexId } from "../../lib/pdata/format.ts";
import { newResource, newScope, newSpan } from "../../lib/pdata/new.ts";
import { Payload } from "../../lib/pdata/payload.ts";
import type { TracesData } from "../../lib/pdata/types.ts";
import {
  configFrom,
  type RunningService,
  startService,
  waitFor,
} from "../fixtures/interop/services.ts";
import { BUILTIN_FACTORIES } from "../../components/builtin_factories.ts";
import { settingsFor } from "../components/exporter/otlp/_kit.ts";
import { loadConfigLibs } from "../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

const COLLECTOR = `
receivers:
  otlp:
    protocols:
      grpc: { endpoint: 127.0.0.1:0 }
exporters:
  recorder:
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [recorder] }
`;

/** `count` traces of `spans` spans each, trace IDs random, span names `<first>+i`. */
function traces(count: number, spans: number, tag: string): TracesData {
  const list = [];
  for (let t = 0; t < count; t++) {
    const traceId = crypto.getRandomValues(new Uint8Array(16));
    for (let s = 0; s < spans; s++) {
      list.push(newSpan({
        traceId,
        spanId: crypto.getRandomValues(new Uint8Array(8)),
        name: `${tag}-${t}-${s}`,
      }));
    }
  }
  return {
    resourceSpans: [{
      resource: newResource({ attributes: [{ key: "service.name", value: "lb-test" }] }),
      schemaUrl: "",
      scopeSpans: [{ scope: newScope({ name: "lb" }), schemaUrl: "", spans: list }],
    }],
  };
}

/** Every span a collector recorded: name → trace ID. */
function spansOf(collector: RunningService): Map<string, string> {
  const out = new Map<string, string>();
  const recording = collector.kit.recordings.get("recorder");
  for (const payload of recording?.payloads ?? []) {
    for (const rs of (payload.read() as TracesData).resourceSpans) {
      for (const ss of rs.scopeSpans) {
        for (const span of ss.spans) out.set(span.name, hexId(span.traceId));
      }
    }
  }
  return out;
}

const HOST: Host = {
  getExtension: () => undefined,
  reportStatus: () => {},
} as unknown as Host;

Deno.test("an agent's loadbalancing exporter keeps traces whole and splits them evenly over three collectors", async () => {
  await using c1 = await startService(COLLECTOR);
  await using c2 = await startService(COLLECTOR);
  await using c3 = await startService(COLLECTOR);
  const collectors = [c1, c2, c3];
  const hostnames = collectors.map((c) => `127.0.0.1:${c.port("otlp", "grpc")}`);
  await using agent = await startService(`
receivers:
  otlp:
    protocols:
      grpc: { endpoint: 127.0.0.1:0 }
exporters:
  loadbalancing:
    protocol:
      otlp:
        tls: { insecure: true }
    resolver:
      static:
        hostnames: [${hostnames.join(", ")}]
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [loadbalancing] }
`);
  // The client: a plain otlp exporter to the agent, answering only once the agent accepted.
  const client = createOtlpExporter(
    settingsFor(
      "otlp",
      otlpConfigSchema.parse({
        endpoint: `127.0.0.1:${agent.port("otlp", "grpc")}`,
        tls: { insecure: true },
        sending_queue: { enabled: false },
        retry_on_failure: { enabled: false },
      }),
    ).settings,
    ["traces"],
  );
  await client.start(HOST);
  const TRACES = 6000;
  const SPANS = 2;
  try {
    for (let i = 0; i < 30; i++) {
      await client.consumers.traces!.consume(
        Payload.of("traces", traces(TRACES / 30, SPANS, `r${i}`)),
      );
    }
  } finally {
    await client.shutdown();
  }
  await waitFor(
    "every span to reach a collector",
    () => collectors.reduce((n, c) => n + spansOf(c).size, 0) === TRACES * SPANS,
    30_000,
  );
  const ownerOfTrace = new Map<string, number>();
  const tracesPer = collectors.map((c, i) => {
    const ids = new Set(spansOf(c).values());
    for (const id of ids) {
      assert.equal(ownerOfTrace.get(id), undefined, `trace ${id} reached two collectors`);
      ownerOfTrace.set(id, i);
    }
    return ids.size;
  });
  assert.equal(ownerOfTrace.size, TRACES);
  for (const n of tracesPer) {
    assert.ok(
      Math.abs(n / (TRACES / 3) - 1) < 0.1,
      `each collector has its third of the traces within 10%: ${tracesPer.join(", ")}`,
    );
  }
});

/** A resolver the test changes, as the dns resolver reports a changed answer. */
function manualResolver(initial: string[]): Resolver & { set(list: string[]): Promise<void> } {
  let listener: BackendsListener | undefined;
  return {
    async start(l) {
      listener = l;
      await l(initial);
    },
    async shutdown() {},
    async set(list) {
      await listener!(list);
    },
  };
}

Deno.test("a collector that stops and leaves the resolver hands its queued traces to the other, losing none", async () => {
  await using c1 = await startService(COLLECTOR);
  const c2 = await startService(COLLECTOR);
  let c2Stopped = false;
  try {
    const e1 = `127.0.0.1:${c1.port("otlp", "grpc")}`;
    const e2 = `127.0.0.1:${c2.port("otlp", "grpc")}`;
    const resolver = manualResolver([e1, e2]);
    const config = loadBalancingConfigSchema.parse({
      protocol: {
        otlp: {
          tls: { insecure: true },
          timeout: "2s",
          retry_on_failure: {
            initial_interval: "100ms",
            max_interval: "200ms",
            max_elapsed_time: "10s",
          },
        },
      },
      resolver: { static: { hostnames: [e1, e2] } },
    });
    const kit = settingsFor("loadbalancing", config);
    const lb = createLoadBalancingExporter(kit.settings, ["traces"], { resolver });
    await lb.start(HOST);
    try {
      const consume = lb.consumers.traces!;
      await consume.consume(Payload.of("traces", traces(200, 3, "before")));
      await waitFor(
        "the first traces to arrive",
        () => spansOf(c1).size + spansOf(c2).size === 600,
      );
      const c2Before = new Set(spansOf(c2).values()).size;
      assert.ok(c2Before > 0 && spansOf(c1).size > 0, "both collectors got traces");

      await c2.service.shutdown();
      c2Stopped = true;
      // Accepted (queued per backend) although the second collector is down.
      for (let i = 0; i < 5; i++) {
        await consume.consume(Payload.of("traces", traces(100, 3, `after${i}`)));
      }
      await resolver.set([e1]);
      await waitFor(
        "every acknowledged span to reach a collector",
        () => spansOf(c1).size + spansOf(c2).size === 600 + 1500,
        30_000,
      ).catch((e) => {
        throw new Error(`${e.message}: c1 ${spansOf(c1).size}, c2 ${spansOf(c2).size}`);
      });
      const s1 = spansOf(c1);
      for (let i = 0; i < 5; i++) {
        for (let t = 0; t < 100; t++) {
          for (let s = 0; s < 3; s++) {
            assert.ok(s1.has(`after${i}-${t}-${s}`), `after${i}-${t}-${s} reached collector 1`);
          }
        }
      }
      // Traces of the second collector from before its stop stayed there; none moved twice.
      assert.equal(new Set(spansOf(c2).values()).size, c2Before);
      assert.equal(
        kit.registry.value("otelcol_loadbalancer_num_backends", { exporter: "loadbalancing" }),
        1,
      );
    } finally {
      await lb.shutdown();
    }
  } finally {
    if (!c2Stopped) await c2.service.shutdown();
  }
});

Deno.test("the dns resolver finds a collector through the system resolver and sends to it", async () => {
  await using c1 = await startService(COLLECTOR);
  const config = loadBalancingConfigSchema.parse({
    protocol: { otlp: { tls: { insecure: true } } },
    resolver: { dns: { hostname: "127.0.0.1", port: c1.port("otlp", "grpc"), interval: "1s" } },
  });
  const kit = settingsFor("loadbalancing", config);
  const lb = createLoadBalancingExporter(kit.settings, ["traces"]);
  await lb.start(HOST);
  try {
    await lb.consumers.traces!.consume(Payload.of("traces", traces(50, 2, "dns")));
    await waitFor("the spans to arrive", () => spansOf(c1).size === 100);
    const resolutions = kit.registry.value("otelcol_loadbalancer_num_resolutions", {
      exporter: "loadbalancing",
      success: "true",
    });
    assert.ok((resolutions ?? 0) >= 1, `resolutions counted: ${resolutions}`);
  } finally {
    await lb.shutdown();
  }
});

function agentConfig(hostnames: string[]): string {
  return `
receivers:
  otlp:
    protocols:
      grpc: { endpoint: 127.0.0.1:0 }
exporters:
  loadbalancing:
    protocol:
      otlp:
        tls: { insecure: true }
        retry_on_failure: { initial_interval: 100ms, max_interval: 200ms, max_elapsed_time: 10s }
    resolver:
      static:
        hostnames: [${hostnames.join(", ")}]
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [loadbalancing] }
`;
}

Deno.test("a live reload that drops a stopped collector from the static list moves its queued traces to the other", async () => {
  await using c1 = await startService(COLLECTOR);
  const c2 = await startService(COLLECTOR);
  const e1 = `127.0.0.1:${c1.port("otlp", "grpc")}`;
  const e2 = `127.0.0.1:${c2.port("otlp", "grpc")}`;
  await using agent = await startService(agentConfig([e1, e2]), { shutdownTimeoutMs: 15_000 });
  const client = createOtlpExporter(
    settingsFor(
      "otlp",
      otlpConfigSchema.parse({
        endpoint: `127.0.0.1:${agent.port("otlp", "grpc")}`,
        tls: { insecure: true },
        sending_queue: { enabled: false },
        retry_on_failure: { enabled: false },
      }),
    ).settings,
    ["traces"],
  );
  await client.start(HOST);
  try {
    await c2.service.shutdown();
    for (let i = 0; i < 4; i++) {
      await client.consumers.traces!.consume(Payload.of("traces", traces(100, 2, `q${i}`)));
    }
  } finally {
    await client.shutdown();
  }
  const outcome = await agent.service.reload(
    await configFrom(agentConfig([e1]), [...BUILTIN_FACTORIES, ...agent.kit.factories]),
  );
  assert.ok(outcome.ok, "the reload succeeded");
  await waitFor(
    "every acknowledged span to reach the remaining collector",
    () => spansOf(c1).size + spansOf(c2).size === 800,
    20_000,
  ).catch((e) => {
    throw new Error(`${e.message}: c1 ${spansOf(c1).size}, c2 ${spansOf(c2).size}`);
  });
  assert.ok(spansOf(c2).size === 0, "the stopped collector got nothing");
});
