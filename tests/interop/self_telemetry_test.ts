/**
 * tfo's own metrics against a v0.162 Collector's on the same config and the same load: every
 * `otelcol_*` family the Collector exposes must exist in tfo with the same type, HELP text and
 * series (label names, and label values other than ports); counts of received items must agree.
 * Run for the Collector's default reader and for one that keeps type and unit suffixes.
 *
 * Families are compared where both sides define them; families tfo has and the Collector does
 * not show for this load (a counter it has not recorded yet) are listed in the failure message
 * too, as they are what a dashboard would find extra. Batch processor metrics are out of scope
 * (no batch processor in the config).
 *
 * Needs `~/.cache/tfo-peers/bin/otelcol` and `telemetrygen` (bench/peers.sh); skipped otherwise.
 *
 * @module
 */
import assert from "node:assert/strict";
import { main } from "../../main.ts";
import {
  executableExists,
  freePort,
  PEERS_BIN,
  TextCollector,
  waitFor,
  waitForPort,
} from "../fixtures/interop/services.ts";

const OTELCOL = `${PEERS_BIN}/otelcol`;
const TELEMETRYGEN = `${PEERS_BIN}/telemetrygen`;
const HAS_PEERS = executableExists(OTELCOL) && executableExists(TELEMETRYGEN);

interface Ports {
  grpc: number;
  http: number;
  metrics: number;
  deadHttp: number;
  deadGrpc: number;
}

function configFor(p: Ports, reader: string): string {
  return `receivers:
  otlp:
    protocols:
      grpc: {endpoint: "127.0.0.1:${p.grpc}"}
      http: {endpoint: "127.0.0.1:${p.http}"}
processors:
  memory_limiter: {check_interval: 1s, limit_mib: 4000, spike_limit_mib: 500}
exporters:
  otlp_http:
    endpoint: "http://127.0.0.1:${p.deadHttp}"
    retry_on_failure: {enabled: false}
  otlp_grpc:
    endpoint: "127.0.0.1:${p.deadGrpc}"
    tls: {insecure: true}
    retry_on_failure: {enabled: false}
  debug: {}
service:
  telemetry:
    metrics:
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: ${p.metrics}
${reader}
  pipelines:
    traces: {receivers: [otlp], processors: [memory_limiter], exporters: [otlp_http, otlp_grpc, debug]}
    metrics: {receivers: [otlp], processors: [memory_limiter], exporters: [debug]}
    logs: {receivers: [otlp], processors: [memory_limiter], exporters: [debug]}
`;
}

function ports(): Ports {
  return {
    grpc: freePort(),
    http: freePort(),
    metrics: freePort(),
    deadHttp: freePort(),
    deadGrpc: freePort(),
  };
}

/** One family of a Prometheus text exposition. */
interface Family {
  type: string;
  help: string;
  /** Series as `label=value,…` with port values masked, sorted, to their value. */
  series: Map<string, number>;
}

const PORT_LABELS = new Set(["server_port"]);
const VOLATILE_LABELS = new Set(["service_instance_id", "service_name", "service_version"]);

function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const family = (name: string) => {
    let f = families.get(name);
    if (f === undefined) {
      f = { type: "", help: "", series: new Map() };
      families.set(name, f);
    }
    return f;
  };
  for (const line of text.split("\n")) {
    let m = /^# HELP (\S+) (.*)$/.exec(line);
    if (m !== null) {
      family(m[1]!).help = m[2]!;
      continue;
    }
    m = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (m !== null) {
      family(m[1]!).type = m[2]!;
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null) continue;
    const labels = [...(m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)]
      .map(([, k, v]) =>
        `${k}=${PORT_LABELS.has(k!) ? "<port>" : VOLATILE_LABELS.has(k!) ? "<any>" : v}`
      )
      .sort()
      .join(",");
    family(m[1]!).series.set(labels, Number(m[3]));
  }
  return families;
}

async function scrape(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  return await response.text();
}

async function telemetrygen(args: string[]): Promise<void> {
  const { code, stderr } = await new Deno.Command(TELEMETRYGEN, {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  assert.equal(code, 0, `telemetrygen exited ${code}:\n${new TextDecoder().decode(stderr)}`);
}

/** The same load for both: 5 traces (10 spans), 5 metric points, 5 log records over gRPC. */
async function load(grpcPort: number): Promise<void> {
  const common = ["--otlp-insecure", "--otlp-endpoint", `127.0.0.1:${grpcPort}`, "--rate", "0"];
  await telemetrygen(["traces", ...common, "--traces", "5"]);
  await telemetrygen(["metrics", ...common, "--metrics", "5"]);
  await telemetrygen(["logs", ...common, "--logs", "5"]);
}

const ACCEPTED_SPANS = "receiver=otlp,transport=grpc";

/** Runs the Collector on the config, loads it, and returns its metrics once counts settled. */
async function collectorMetrics(reader: string): Promise<Map<string, Family>> {
  const p = ports();
  const dir = await Deno.makeTempDir({ prefix: "tfo-selftel-" });
  await Deno.writeTextFile(`${dir}/c.yaml`, configFor(p, reader));
  const child = new Deno.Command(OTELCOL, {
    args: ["--config", `file:${dir}/c.yaml`],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = new TextCollector(child.stdout);
  const err = new TextCollector(child.stderr);
  try {
    await waitForPort(p.grpc);
    await waitForPort(p.metrics);
    await load(p.grpc);
    return await settled(p.metrics);
  } catch (error) {
    throw new Error(`${(error as Error).message}\notelcol said:\n${err.text}${out.text}`);
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await Promise.all([out.done, err.done]);
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs tfo in this process on the config, loads it, and returns its metrics. */
async function tfoMetrics(reader: string): Promise<Map<string, Family>> {
  const p = ports();
  const dir = await Deno.makeTempDir({ prefix: "tfo-selftel-" });
  await Deno.writeTextFile(`${dir}/c.yaml`, configFor(p, reader));
  const stop = Promise.withResolvers<void>();
  const lines: string[] = [];
  const io = { out: (t: string) => lines.push(t), err: (t: string) => lines.push(t) };
  const running = main(["run", "--config", `file:${dir}/c.yaml`], { io, stop: stop.promise });
  try {
    await waitForPort(p.grpc);
    await waitForPort(p.metrics);
    await load(p.grpc);
    return await settled(p.metrics);
  } catch (error) {
    throw new Error(`${(error as Error).message}\ntfo said:\n${lines.join("\n")}`);
  } finally {
    stop.resolve();
    await running;
    await Deno.remove(dir, { recursive: true });
  }
}

/** Scrapes until the spans sent have all been counted by every exporter. */
async function settled(port: number): Promise<Map<string, Family>> {
  return await waitFor(
    "every span counted by every exporter",
    async () => {
      const families = parseExposition(await scrape(port));
      const exported = [...families.entries()]
        .filter(([n]) => /^otelcol_exporter_(sent|send_failed)_spans/.test(n))
        .reduce((sum, [, f]) => sum + [...f.series.values()].reduce((a, b) => a + b, 0), 0);
      return exported >= 30 ? families : undefined; // 10 spans × 3 exporters
    },
    30_000,
    200,
  );
}

function describe(f: Family | undefined): string {
  if (f === undefined) return "(absent)";
  return `${f.type} "${f.help}" [${[...f.series.keys()].join(" | ")}]`;
}

/** Every difference between the Collector's `otelcol_*` families and tfo's, one line each. */
function differences(col: Map<string, Family>, tfo: Map<string, Family>): string[] {
  const out: string[] = [];
  const names = new Set(
    [...col.keys(), ...tfo.keys()].filter((n) => n.startsWith("otelcol_") || n === "target_info"),
  );
  for (const name of [...names].sort()) {
    const a = col.get(name);
    const b = tfo.get(name);
    if (a === undefined) {
      // tfo may define series the Collector creates only once it records them; they must be 0.
      if ([...b!.series.values()].some((v) => v !== 0)) out.push(`extra in tfo: ${name}`);
      continue;
    }
    if (b === undefined || a.type !== b.type || a.help !== b.help) {
      out.push(`${name}:\n    otelcol ${describe(a)}\n    tfo     ${describe(b)}`);
      continue;
    }
    for (const key of a.series.keys()) {
      if (!b.series.has(key)) {
        out.push(`${name}{${key}}: in otelcol, not in tfo (tfo: ${[...b.series.keys()]})`);
      }
    }
  }
  return out;
}

for (
  const [what, reader] of [
    ["the default reader", ""],
    [
      "a reader keeping type and unit suffixes",
      "                without_type_suffix: false\n                without_units: false",
    ],
  ] as const
) {
  Deno.test({
    name: `tfo's self-telemetry matches a v0.162 Collector's with ${what}` +
      (HAS_PEERS ? "" : " (needs otelcol and telemetrygen: run bench/peers.sh)"),
    ignore: !HAS_PEERS,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const col = await collectorMetrics(reader);
      const tfo = await tfoMetrics(reader);
      const compared = [...col.keys()].filter((n) => n.startsWith("otelcol_"));
      assert.ok(compared.length >= 25, `the Collector showed ${compared.length} families`);
      console.log(`compared ${compared.length} otelcol_* families: ${compared.join(" ")}`);
      const diff = differences(col, tfo);
      assert.deepEqual(diff, [], `differences:\n${diff.join("\n")}`);
      const accepted = [...col.keys()].find((n) =>
        n.startsWith("otelcol_receiver_accepted_spans")
      )!;
      assert.equal(tfo.get(accepted)?.series.get(ACCEPTED_SPANS), 10);
      assert.equal(col.get(accepted)?.series.get(ACCEPTED_SPANS), 10);
    },
  });
}
