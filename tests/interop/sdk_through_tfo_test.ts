/**
 * The OpenTelemetry JS SDK → tfo A → tfo B, field by field. The SDK's exporters (gRPC,
 * HTTP/protobuf, HTTP/JSON) send spans, metrics and log records into A's otlp receiver; A forwards
 * them with every exporter and encoding (`otlp` gzip and none, `otlphttp` proto and json, gzip and
 * none) to B, where each route ends in its own recorder. What B decoded must equal, exactly, the
 * SDK's own serialization of the same telemetry decoded with lib/otlp.
 */
import assert from "node:assert/strict";
import type { Signal } from "../../lib/pdata/types.ts";
import {
  featuresOf,
  makeBatch,
  SDK_PROTOCOLS,
  type SdkBatch,
  sdkExport,
} from "../fixtures/interop/sdk_data.ts";
import {
  concatData,
  normalize,
  recorded,
  recordedItems,
  type RunningService,
  startService,
  waitFor,
} from "../fixtures/interop/services.ts";
import { countItems } from "../../lib/pdata/count.ts";

/** A→B routes: the exporter config at A and the protocol B's receiver for it speaks. */
const ROUTES = {
  "otlp_gzip": { protocol: "grpc", exporter: "otlp", settings: { compression: "gzip" } },
  "otlp_none": { protocol: "grpc", exporter: "otlp", settings: { compression: "none" } },
  "otlphttp_proto_gzip": {
    protocol: "http",
    exporter: "otlphttp",
    settings: { encoding: "proto", compression: "gzip" },
  },
  "otlphttp_proto_none": {
    protocol: "http",
    exporter: "otlphttp",
    settings: { encoding: "proto", compression: "none" },
  },
  "otlphttp_json_gzip": {
    protocol: "http",
    exporter: "otlphttp",
    settings: { encoding: "json", compression: "gzip" },
  },
  "otlphttp_json_none": {
    protocol: "http",
    exporter: "otlphttp",
    settings: { encoding: "json", compression: "none" },
  },
} as const;
type Route = keyof typeof ROUTES;
const ROUTE_NAMES = Object.keys(ROUTES) as Route[];
const SIGNALS: readonly Signal[] = ["traces", "metrics", "logs"];

/** B: one receiver per route (on a free port), each feeding its own recorder, for every signal. */
function downstreamYaml(): string {
  const receivers = ROUTE_NAMES.map((r) =>
    `  otlp/${r}:\n    protocols:\n      ${ROUTES[r].protocol}:\n        endpoint: 127.0.0.1:0`
  );
  const exporters = ROUTE_NAMES.map((r) => `  recorder/${r}:`);
  const pipelines = ROUTE_NAMES.flatMap((r) =>
    SIGNALS.map((s) => `    ${s}/${r}: { receivers: [otlp/${r}], exporters: [recorder/${r}] }`)
  );
  return [
    "receivers:",
    ...receivers,
    "exporters:",
    ...exporters,
    "service:",
    "  pipelines:",
    ...pipelines,
  ].join("\n");
}

/** A: the otlp receiver (gRPC and HTTP) fanning out to every route's exporter, for every signal. */
function upstreamYaml(b: RunningService): string {
  const exporters = ROUTE_NAMES.map((r) => {
    const route = ROUTES[r];
    const port = b.port(`otlp/${r}`, route.protocol);
    const endpoint = route.exporter === "otlp"
      ? `127.0.0.1:${port}\n    tls: { insecure: true }`
      : `http://127.0.0.1:${port}`;
    const settings = Object.entries(route.settings).map(([k, v]) => `\n    ${k}: ${v}`).join("");
    return `  ${route.exporter}/${r}:\n    endpoint: ${endpoint}${settings}\n    timeout: 10s`;
  });
  const ids = ROUTE_NAMES.map((r) => `${ROUTES[r].exporter}/${r}`).join(", ");
  return [
    "receivers:",
    "  otlp:",
    "    protocols:",
    "      grpc: { endpoint: 127.0.0.1:0 }",
    "      http: { endpoint: 127.0.0.1:0 }",
    "exporters:",
    ...exporters,
    "service:",
    "  pipelines:",
    ...SIGNALS.map((s) => `    ${s}: { receivers: [otlp], exporters: [${ids}] }`),
  ].join("\n");
}

/** What each signal's SDK batch must exercise, so that equality is not trivially true. */
const FEATURES: Readonly<Record<Signal, readonly string[]>> = {
  traces: [
    "attr:string",
    "attr:bigint",
    "attr:number",
    "attr:boolean",
    "attr:array",
    "attr:bytes",
    "attr:kvlist",
    "kind:1",
    "kind:2",
    "kind:3",
    "kind:4",
    "kind:5",
    "status:0",
    "status:1",
    "status:2",
    "parent",
    "traceState",
    "schemaUrl",
    "droppedAttributes",
    "droppedEvents",
    "droppedLinks",
    "eventAttributes",
    "richLink",
    "nanoseconds",
  ],
  metrics: [
    "type:sum",
    "type:gauge",
    "type:histogram",
    "type:exponentialHistogram",
    "temporality:1",
    "temporality:2",
    "value:bigint",
    "value:number",
    "minmax",
    "attr:string",
    "attr:bigint",
    "attr:boolean",
  ],
  logs: [
    "body:string",
    "body:bigint",
    "body:number",
    "body:boolean",
    "body:bytes",
    "body:array",
    "body:kvlist",
    "body:empty",
    "attr:kvlist",
    "attr:bytes",
    "eventName",
    "traceContext",
    "severityText",
    "nanoseconds",
  ],
};

function itemsOf(batch: SdkBatch<Signal>): string {
  const e = batch.expected as unknown as Record<string, { length: number }>;
  return `${Object.values(e)[0]?.length} resource(s)`;
}

for (const signal of SIGNALS) {
  for (const protocol of SDK_PROTOCOLS) {
    Deno.test(`${signal} from the OpenTelemetry JS SDK (${protocol}) arrive unchanged through tfo A to tfo B over every exporter and encoding`, async (t) => {
      const batch = await makeBatch(signal);
      const features = featuresOf(batch);
      assert.deepEqual(
        FEATURES[signal].filter((f) => !features.has(f)),
        [],
        "the SDK batch covers",
      );
      await using b = await startService(downstreamYaml());
      await using a = await startService(upstreamYaml(b));
      await sdkExport(batch, protocol, {
        httpBase: `http://127.0.0.1:${a.port("otlp", "http")}`,
        grpcAddress: `127.0.0.1:${a.port("otlp", "grpc")}`,
      });
      // A answers the SDK once every exporter took the data; an exporter with a sending queue
      // takes it before B has it, so wait (bounded) for B to hold every item.
      const items = countItems(signal, batch.expected);
      for (const route of ROUTE_NAMES) {
        await t.step(`via ${ROUTES[route].exporter} ${route}`, async () => {
          await waitFor(
            `${items} ${signal} items at B via ${route}`,
            () => recordedItems(b.kit, `recorder/${route}`, signal) >= items,
          );
          const got = recorded(b.kit, `recorder/${route}`, signal);
          assert.equal(got.length, 1, `one ${signal} request reached B via ${route}`);
          assert.deepStrictEqual(
            normalize(concatData(signal, got)),
            normalize(batch.expected),
            `${signal} (${itemsOf(batch)}) via ${route} equal what the SDK serialized`,
          );
        });
      }
    });
  }
}
