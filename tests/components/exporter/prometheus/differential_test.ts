/**
 * tfo's prometheus exporter against the Collector's (contrib v0.161.0, built by
 * `bench/peers.sh`): the same OTLP requests go into a `tfo run` child and an
 * `otelcol-contrib` child, each with two prometheus exporters (defaults; and OpenMetrics with
 * timestamps, a namespace, const labels and resource attributes as labels), and the scrapes must
 * be equal line for line after sorting, in the text format and in OpenMetrics. The input is one
 * hand-made batch covering every metric type and naming rule, its delta continuation, and the JS
 * SDK's batch. Nothing needs normalising: both get the same bytes. Skipped, saying so, when the
 * Collector is not built.
 *
 * Known, deliberate difference kept out of the input: where two point attributes sanitize to the
 * same label name, tfo joins the values with `;` (the compatibility specification) while the
 * Collector drops the series; see the accumulator tests.
 */
import assert from "node:assert/strict";
import { makeMetrics } from "../../../fixtures/interop/sdk_data.ts";
import { freePort, waitForPort } from "../../../fixtures/interop/services.ts";
import { decodeMetricsJson, encodeMetricsRequest } from "../../../../lib/otlp/mod.ts";
import { OTELCOL_CONTRIB, type Peer, spawnOtelcol, spawnTfo } from "./_peers.ts";

const T = "1700000000000000000";
const T10 = "1700000010123456789";
const T20 = "1700000020000000000";
const kv = (key: string, value: unknown) => ({ key, value });
const str = (s: string) => ({ stringValue: s });

const RESOURCE = [
  kv("service.name", str("shop")),
  kv("service.namespace", str("prod")),
  kv("service.instance.id", str("i-1")),
  kv("host.name", str("h1")),
  kv("k8s.pod.uid", str("abc")),
  kv("cores", { intValue: "8" }),
  kv("weight", { doubleValue: 0.75 }),
  kv("tags", { arrayValue: { values: [str("a"), { intValue: "1" }] } }),
];

const EXEMPLAR = {
  timeUnixNano: "1700000009500000000",
  asDouble: 0.25,
  traceId: "5b8efff798038103d269b633813fc60c",
  spanId: "eee19b7ec3c1b174",
};

function metrics(delta: boolean) {
  const sumDelta = delta
    ? { startTimeUnixNano: T10, timeUnixNano: T20, asInt: "7", exemplars: [EXEMPLAR] }
    : { startTimeUnixNano: T, timeUnixNano: T10, asInt: "5", exemplars: [EXEMPLAR] };
  const histDelta = delta
    ? {
      startTimeUnixNano: T10,
      timeUnixNano: T20,
      count: "3",
      sum: 3,
      bucketCounts: ["1", "1", "1"],
      explicitBounds: [0.5, 1],
      exemplars: [EXEMPLAR, { ...EXEMPLAR, asDouble: 7 }],
    }
    : {
      startTimeUnixNano: T,
      timeUnixNano: T10,
      count: "6",
      sum: 4.5,
      bucketCounts: ["2", "2", "2"],
      explicitBounds: [0.5, 1],
      exemplars: [EXEMPLAR, { ...EXEMPLAR, asDouble: 7 }],
    };
  const main = [
    {
      name: "jobs.done",
      unit: "{job}",
      description: 'Jobs \\ done\n"today"',
      sum: {
        aggregationTemporality: 1,
        isMonotonic: true,
        dataPoints: [{ ...sumDelta, attributes: [kv("queue", str("q1"))] }],
      },
    },
    {
      name: "rpc.duration",
      unit: "s",
      histogram: {
        aggregationTemporality: 1,
        dataPoints: [{ ...histDelta, attributes: [kv("rpc.method", str("Get"))] }],
      },
    },
  ];
  if (delta) return main;
  return [
    ...main,
    {
      name: "http.server.duration",
      unit: "ms",
      description: "Duration",
      histogram: {
        aggregationTemporality: 2,
        dataPoints: [{
          attributes: [
            kv("http.method", str("GET")),
            kv("1st", { boolValue: true }),
            kv("_under", { doubleValue: 1.5 }),
          ],
          startTimeUnixNano: T,
          timeUnixNano: T10,
          count: "1234567",
          sum: 12345678.9,
          bucketCounts: ["1", "2", "3", "1234561"],
          explicitBounds: [0.005, 10, 1000000],
        }],
      },
    },
    {
      name: "bytes.in",
      unit: "By",
      sum: {
        aggregationTemporality: 2,
        isMonotonic: true,
        dataPoints: [{ startTimeUnixNano: T, timeUnixNano: T10, asDouble: 1e21 }],
      },
    },
    {
      name: "disk.io",
      unit: "By",
      sum: {
        aggregationTemporality: 2,
        isMonotonic: true,
        dataPoints: [{
          startTimeUnixNano: T,
          timeUnixNano: T10,
          asInt: "1152921504606846976",
          attributes: [kv("direction", str("read"))],
        }],
      },
    },
    {
      name: "queue.depth",
      unit: "1",
      gauge: { dataPoints: [{ timeUnixNano: T10, asDouble: 0.00001 }] },
    },
    { name: "speed", unit: "m/s", gauge: { dataPoints: [{ timeUnixNano: T10, asInt: "-1" }] } },
    {
      name: "weird",
      unit: "",
      gauge: {
        dataPoints: [{ timeUnixNano: T10, asDouble: "NaN", attributes: [kv("v", str("nan"))] }, {
          timeUnixNano: T10,
          asDouble: "Infinity",
          attributes: [kv("v", str("inf"))],
        }],
      },
    },
    {
      name: "conns",
      unit: "",
      sum: {
        aggregationTemporality: 2,
        isMonotonic: false,
        dataPoints: [{ timeUnixNano: T10, asInt: "100000" }],
      },
    },
    {
      name: "delta.updown",
      sum: {
        aggregationTemporality: 1,
        isMonotonic: false,
        dataPoints: [{ timeUnixNano: T10, asInt: "7" }],
      },
    },
    {
      name: "rpc.latency",
      unit: "s",
      summary: {
        dataPoints: [{
          startTimeUnixNano: T,
          timeUnixNano: T10,
          count: "10",
          sum: 2.5,
          quantileValues: [{ quantile: 0.99, value: 0.9 }, { quantile: 0.5, value: 0.1 }],
        }],
      },
    },
    {
      name: "exp.hist",
      unit: "s",
      exponentialHistogram: {
        aggregationTemporality: 2,
        dataPoints: [{
          startTimeUnixNano: T,
          timeUnixNano: T10,
          count: "6",
          sum: 10.5,
          scale: 2,
          zeroCount: "1",
          positive: { offset: 1, bucketCounts: ["2", "3"] },
        }],
      },
    },
    {
      name: "2xx.total_count",
      unit: "1",
      sum: {
        aggregationTemporality: 2,
        isMonotonic: true,
        dataPoints: [{ timeUnixNano: T10, asInt: "1000000" }],
      },
    },
    {
      name: "scraped.thing",
      unit: "",
      metadata: [kv("prometheus.type", str("unknown"))],
      gauge: { dataPoints: [{ timeUnixNano: T10, asDouble: 42 }] },
    },
  ];
}

function request(delta: boolean): Uint8Array {
  const json = {
    resourceMetrics: [
      {
        resource: { attributes: RESOURCE },
        scopeMetrics: [
          {
            scope: {
              name: "lib",
              version: "1.2",
              attributes: [kv("team", str("core")), kv("name", str("shadowed"))],
            },
            schemaUrl: "https://s/1",
            metrics: metrics(delta),
          },
          ...(delta ? [] : [{
            scope: { name: "other" },
            metrics: [{
              name: "speed",
              unit: "m/s",
              gauge: {
                dataPoints: [{
                  timeUnixNano: T10,
                  asInt: "3",
                  attributes: [kv("src", str("other"))],
                }],
              },
            }],
          }]),
        ],
      },
      ...(delta ? [] : [{
        resource: { attributes: [kv("service.name", str("no-instance"))] },
        scopeMetrics: [{
          scope: { name: "lib" },
          metrics: [{
            name: "speed",
            unit: "m/s",
            gauge: { dataPoints: [{ timeUnixNano: T10, asInt: "9" }] },
          }],
        }],
      }]),
    ],
  };
  return encodeMetricsRequest(decodeMetricsJson(new TextEncoder().encode(JSON.stringify(json))));
}

function config(ports: Ports, telemetry: string): string {
  return [
    "receivers:",
    "  otlp:",
    "    protocols:",
    `      http: { endpoint: 127.0.0.1:${ports.otlp} }`,
    "exporters:",
    "  prometheus/text:",
    `    endpoint: 127.0.0.1:${ports.text}`,
    "  prometheus/om:",
    `    endpoint: 127.0.0.1:${ports.om}`,
    "    enable_open_metrics: true",
    "    send_timestamps: true",
    "    namespace: ns",
    "    const_labels: { env: dev }",
    "    resource_to_telemetry_conversion: { enabled: true, exclude_service_attributes: true }",
    "  prometheus/utf8:",
    `    endpoint: 127.0.0.1:${ports.utf8}`,
    "    translation_strategy: NoUTF8EscapingWithSuffixes",
    "    without_scope_info: true",
    "  prometheus/plain:",
    `    endpoint: 127.0.0.1:${ports.plain}`,
    "    translation_strategy: UnderscoreEscapingWithoutSuffixes",
    "service:",
    telemetry,
    "  pipelines:",
    "    metrics:",
    "      receivers: [otlp]",
    "      exporters: [prometheus/text, prometheus/om, prometheus/utf8, prometheus/plain]",
  ].join("\n");
}

interface Ports {
  otlp: number;
  utf8: number;
  plain: number;
  text: number;
  om: number;
}

function ports(): Ports {
  return {
    otlp: freePort(),
    text: freePort(),
    om: freePort(),
    utf8: freePort(),
    plain: freePort(),
  };
}

const OM_ACCEPT = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;" +
  "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

async function post(port: number, body: Uint8Array): Promise<void> {
  const r = await fetch(`http://127.0.0.1:${port}/v1/metrics`, {
    method: "POST",
    headers: { "Content-Type": "application/x-protobuf" },
    body: body as Uint8Array<ArrayBuffer>,
  });
  await r.body?.cancel();
  assert.equal(r.status, 200);
}

/**
 * Exemplar labels in a fixed order: the Collector's client library emits them in Go map order,
 * which changes from run to run (tfo sorts them).
 */
function exemplarOrder(line: string): string {
  return line.replace(
    / # \{([^}]*)\}/,
    (_, labels: string) => ` # {${labels.split(",").sort().join(",")}}`,
  );
}

async function scrape(port: number, accept: string): Promise<{ type: string; lines: string[] }> {
  const r = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { Accept: accept } });
  const text = await r.text();
  return {
    type: r.headers.get("content-type") ?? "",
    lines: text.split("\n").map(exemplarOrder).sort(),
  };
}

const PROTOBUF_ACCEPT = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;" +
  "encoding=delimited;q=0.8,text/plain;version=0.0.4;q=0.5";

function labelPair(name: string, value: string): Uint8Array {
  const e = new TextEncoder();
  const n = e.encode(name);
  const v = e.encode(value);
  return new Uint8Array([
    0x0a,
    n.length + v.length + 4,
    0x0a,
    n.length,
    ...n,
    0x12,
    v.length,
    ...v,
  ]);
}

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  outer: for (let i = from; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/**
 * The delimited MetricFamily messages of a protobuf scrape, as hex, with the exemplar's two label
 * pairs in one order (the Collector's client library writes them in Go map order).
 */
async function protobufFamilies(port: number): Promise<{ type: string; families: string[] }> {
  const r = await fetch(`http://127.0.0.1:${port}/metrics`, {
    headers: { Accept: PROTOBUF_ACCEPT },
  });
  const bytes = new Uint8Array(await r.arrayBuffer());
  const trace = labelPair("trace_id", EXEMPLAR.traceId);
  const span = labelPair("span_id", EXEMPLAR.spanId);
  const swapped = new Uint8Array([...trace, ...span]);
  const sorted = new Uint8Array([...span, ...trace]);
  for (let at = indexOf(bytes, swapped, 0); at >= 0; at = indexOf(bytes, swapped, at + 1)) {
    bytes.set(sorted, at);
  }
  const families: string[] = [];
  let at = 0;
  while (at < bytes.length) {
    let len = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[at++]!;
      len |= (b & 0x7f) << shift;
      shift += 7;
      if (b < 0x80) break;
    }
    const hex = Array.from(bytes.subarray(at, at + len), (b) => b.toString(16).padStart(2, "0"));
    families.push(hex.join(""));
    at += len;
  }
  return { type: r.headers.get("content-type") ?? "", families };
}

async function started(peer: Peer, ports: Ports): Promise<void> {
  for (const port of [ports.otlp, ports.text, ports.om, ports.utf8, ports.plain]) {
    await waitForPort(port, 60_000).catch((e) => {
      throw new Error(`Not listening on ${port}:\n${peer.output()}`, { cause: e });
    });
  }
}

Deno.test({
  name: "the prometheus exporter's scrapes equal the Collector's line for line, text and " +
    "OpenMetrics",
  ignore: OTELCOL_CONTRIB === undefined,
  async fn() {
    const tfoPorts = ports();
    const colPorts = ports();
    await using tfo = await spawnTfo(() =>
      config(tfoPorts, `  telemetry:\n    metrics: { address: 127.0.0.1:${freePort()} }`)
    );
    await using col = await spawnOtelcol(() =>
      config(colPorts, "  telemetry:\n    metrics: { level: none }")
    );
    await started(tfo, tfoPorts);
    await started(col, colPorts);
    const sdk = await makeMetrics();
    for (const body of [request(false), request(true), sdk.bytes]) {
      await post(tfoPorts.otlp, body);
      await post(colPorts.otlp, body);
    }
    const cases: [keyof Ports, string][] = [
      ["text", "text/plain;version=0.0.4"],
      ["text", OM_ACCEPT],
      ["om", OM_ACCEPT],
      ["om", "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"],
      ["utf8", "text/plain;version=0.0.4"],
      ["plain", "text/plain;version=0.0.4"],
    ];
    for (const [which, accept] of cases) {
      const ours = await scrape(tfoPorts[which], accept);
      const theirs = await scrape(colPorts[which], accept);
      assert.ok(theirs.lines.length > 40, `the Collector exposes the input (${which})`);
      assert.deepEqual(ours.lines, theirs.lines, `prometheus/${which} with Accept ${accept}`);
      assert.equal(ours.type.toLowerCase(), theirs.type.toLowerCase());
      if (which === "om" && accept === OM_ACCEPT) {
        assert.ok(
          ours.lines.some((l) => l.includes(' # {span_id="eee19b7ec3c1b174"')),
          "exemplars",
        );
        assert.ok(ours.lines.includes("# EOF"));
      }
      assert.ok(
        ours.lines.some((l) => l.includes("NaN")) && ours.lines.some((l) => l.includes("+Inf")),
      );
    }
    for (const which of ["text", "om", "utf8"] as const) {
      const ours = await protobufFamilies(tfoPorts[which]);
      const theirs = await protobufFamilies(colPorts[which]);
      assert.ok(theirs.families.length > 15, `the Collector's protobuf scrape (${which})`);
      assert.deepEqual(ours.families, theirs.families, `protobuf scrape of prometheus/${which}`);
      assert.equal(ours.type.toLowerCase(), theirs.type.toLowerCase());
    }
  },
});
