/**
 * A harness for differential tests of connectors that make metrics (`span_metrics`, `count`)
 * against the OpenTelemetry Collector contrib v0.161.0 (`otelcol-contrib`, built by
 * `bench/peers.sh`). One Collector runs every case in its own pair of pipelines: an OTLP/HTTP
 * receiver, the connector, a file exporter (JSON lines). The same data goes to tfo's connector on
 * fake time; the last non-empty export of each side is compared after normalizing what cannot be
 * equal (timestamps, the collector instance ID, the order of Go maps).
 */
import {
  decodeMetricsJson,
  encodeLogsJson,
  encodeMetricsJson,
  encodeTracesJson,
} from "../../../lib/otlp/json.ts";
import type { MetricsData, Signal, SignalData } from "../../../lib/pdata/types.ts";
import {
  executableExists,
  freePort,
  normalize,
  PEERS_BIN,
  TextCollector,
  waitFor,
  waitForPort,
} from "../../fixtures/interop/services.ts";

/** The contrib Collector binary. */
export const OTELCOL_CONTRIB = `${PEERS_BIN}/otelcol-contrib`;
/** True when the peer is there to compare with. */
export const HAS_CONTRIB = executableExists(OTELCOL_CONTRIB);

/** One differential case. */
export interface ConnectorCase {
  readonly name: string;
  readonly signal: Signal;
  /** The connector's config (flush interval and the like included). */
  readonly config: Record<string, unknown>;
  readonly data: () => SignalData[Signal];
  /** Exports the Collector must have written before its last one is compared. @default 1 */
  readonly exports?: number;
}

/** Encodes data of any signal as OTLP/JSON. */
export function encodeJson(signal: Signal, data: SignalData[Signal]): string {
  return signal === "traces"
    ? encodeTracesJson(data as SignalData["traces"])
    : signal === "metrics"
    ? encodeMetricsJson(data as SignalData["metrics"])
    : encodeLogsJson(data as SignalData["logs"]);
}

const text = (x: unknown) => JSON.stringify(x, (_k, y) => typeof y === "bigint" ? `${y}` : y);

/**
 * Metrics made comparable: through tfo's JSON codec, timestamps zeroed, the collector instance ID
 * replaced, resources, metrics, data points and attributes sorted (Go maps have no order).
 */
export function comparable(data: MetricsData): unknown {
  const round = decodeMetricsJson(encodeMetricsJson(data));
  const walk = (x: unknown, key = ""): unknown => {
    if (Array.isArray(x)) {
      const items = x.map((y) => walk(y));
      if (key === "attributes" || key === "filteredAttributes") {
        return items.sort((a, b) => text(a) < text(b) ? -1 : 1);
      }
      if (key === "dataPoints" || key === "resourceMetrics" || key === "metrics") {
        return items.sort((a, b) => text(a) < text(b) ? -1 : 1);
      }
      return items;
    }
    if (x === null || typeof x !== "object" || x instanceof Uint8Array) return x;
    const out: Record<string, unknown> = {};
    for (const [k, y] of Object.entries(x)) {
      if (k === "timeUnixNano" || k === "startTimeUnixNano") out[k] = 0n;
      else if (k === "value" && (x as { key?: string }).key === "collector.instance.id") {
        out[k] = "<instance>";
      } else out[k] = walk(y, k);
    }
    return out;
  };
  return normalize(walk(round));
}

/** What the Collector's side gave for each case: its last non-empty export. */
export interface ContribRun {
  readonly results: (MetricsData | undefined)[];
  readonly stderr: string;
}

/**
 * Runs every case through one Collector: `type` is the connector type as the Collector names it.
 * Waits until each case's file holds `exports` non-empty exports (or `timeoutMs` passed).
 */
export async function runContrib(
  type: string,
  cases: readonly ConnectorCase[],
  timeoutMs = 60_000,
): Promise<ContribRun> {
  const dir = await Deno.makeTempDir({ prefix: `tfo-${type}-diff-` });
  const ports = cases.map(() => freePort());
  const yaml = [
    "receivers:",
    ...cases.map((_, i) =>
      `  otlp/c${i}: { protocols: { http: { endpoint: 127.0.0.1:${ports[i]} } } }`
    ),
    "connectors:",
    ...cases.map((c, i) => `  ${type}/c${i}: ${JSON.stringify(c.config)}`),
    "exporters:",
    ...cases.map((_, i) =>
      `  file/c${i}: { path: ${
        JSON.stringify(`${dir}/c${i}.json`)
      }, format: json, flush_interval: 100ms }`
    ),
    "service:",
    "  telemetry: { logs: { level: error }, metrics: { level: none } }",
    "  pipelines:",
    ...cases.flatMap((c, i) => [
      `    ${c.signal}/in${i}: { receivers: [otlp/c${i}], exporters: [${type}/c${i}] }`,
      `    metrics/out${i}: { receivers: [${type}/c${i}], exporters: [file/c${i}] }`,
    ]),
  ].join("\n");
  await Deno.writeTextFile(`${dir}/config.yaml`, yaml);
  const child = new Deno.Command(OTELCOL_CONTRIB, {
    args: ["--config", `${dir}/config.yaml`],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new TextCollector(child.stderr);
  const read = async (i: number): Promise<MetricsData[]> => {
    let body = "";
    try {
      body = await Deno.readTextFile(`${dir}/c${i}.json`);
    } catch {
      return [];
    }
    return body.split("\n").filter((l) => l.trim() !== "").map((l) => decodeMetricsJson(l))
      .filter((m) => m.resourceMetrics.length > 0);
  };
  try {
    const exited = child.status.then((s) => {
      throw new Error(`otelcol-contrib exited with ${s.code}:\n${stderr.text}`);
    });
    exited.catch(() => {});
    await Promise.race([Promise.all(ports.map((p) => waitForPort(p, 30_000))), exited]);
    for (const [i, c] of cases.entries()) {
      const res = await fetch(`http://127.0.0.1:${ports[i]}/v1/${c.signal}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: encodeJson(c.signal, c.data()),
      });
      await res.body?.cancel();
      if (!res.ok) throw new Error(`Case "${c.name}": the Collector answered ${res.status}`);
    }
    await waitFor(
      "the Collector's exports",
      async () => {
        for (const [i, c] of cases.entries()) {
          if ((await read(i)).length < (c.exports ?? 1)) return false;
        }
        return true;
      },
      timeoutMs,
      200,
    ).catch(() => {});
    const results: (MetricsData | undefined)[] = [];
    for (const i of cases.keys()) results.push((await read(i)).at(-1));
    return { results, stderr: stderr.text };
  } finally {
    try {
      child.kill("SIGTERM");
    } catch {
      // already exited
    }
    await child.status;
    await stderr.done;
    await Deno.remove(dir, { recursive: true });
  }
}
