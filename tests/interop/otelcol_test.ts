/**
 * Interop with the reference OpenTelemetry Collector (core 0.162, built by `bench/peers.sh`):
 * tfo → otelcol → tfo over gRPC and over HTTP, exact to the field, and `telemetrygen` → tfo with
 * the counts it was told to send. Skipped, by name, when the peers have not been built.
 */
import assert from "node:assert/strict";
import type { Signal } from "../../lib/pdata/types.ts";
import { makeBatch, sdkExport } from "../fixtures/interop/sdk_data.ts";
import {
  concatData,
  executableExists,
  freePort,
  normalize,
  PEERS_BIN,
  recorded,
  recordedItems,
  type RunningService,
  startService,
  TextCollector,
  waitFor,
  waitForPort,
} from "../fixtures/interop/services.ts";
import { countItems } from "../../lib/pdata/count.ts";

const OTELCOL = `${PEERS_BIN}/otelcol`;
const TELEMETRYGEN = `${PEERS_BIN}/telemetrygen`;
const HAS_OTELCOL = executableExists(OTELCOL);
const HAS_TELEMETRYGEN = executableExists(TELEMETRYGEN);
const SIGNALS: readonly Signal[] = ["traces", "metrics", "logs"];

/** A running otelcol child process. */
interface Otelcol {
  readonly grpcPort: number;
  readonly httpPort: number;
  readonly output: TextCollector;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts otelcol with two OTLP receivers: `otlp` (gRPC in) forwards with `otlp_grpc` to
 * `grpcTarget`, `otlp/http` (HTTP in) with `otlp_http` to `httpTarget`. No queue and no retry, so
 * an export is acknowledged only once tfo B took it.
 */
async function startOtelcol(grpcTarget: string, httpTarget: string): Promise<Otelcol> {
  const dir = await Deno.makeTempDir({ prefix: "tfo-otelcol-" });
  const grpcPort = freePort();
  const httpPort = freePort();
  const direct = `
    sending_queue: { enabled: false }
    retry_on_failure: { enabled: false }
    timeout: 10s`;
  const config = `
receivers:
  otlp:
    protocols:
      grpc: { endpoint: 127.0.0.1:${grpcPort} }
  otlp/http:
    protocols:
      http: { endpoint: 127.0.0.1:${httpPort} }
exporters:
  otlp_grpc:
    endpoint: ${grpcTarget}
    tls: { insecure: true }${direct}
  otlp_http:
    endpoint: ${httpTarget}${direct}
service:
  telemetry:
    logs: { level: warn }
    metrics: { level: none }
  pipelines:
${
    SIGNALS.map((s) =>
      `    ${s}/grpc: { receivers: [otlp], exporters: [otlp_grpc] }
    ${s}/http: { receivers: [otlp/http], exporters: [otlp_http] }`
    ).join("\n")
  }
`;
  const path = `${dir}/otelcol.yaml`;
  await Deno.writeTextFile(path, config);
  const child = new Deno.Command(OTELCOL, {
    args: ["--config", path],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = new TextCollector(child.stderr);
  const stdout = new TextCollector(child.stdout);
  const dispose = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // already exited
    }
    const killer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch {
        // already exited
      }
    }, 5_000);
    await child.status;
    clearTimeout(killer);
    await Promise.all([output.done, stdout.done]);
    await Deno.remove(dir, { recursive: true });
  };
  try {
    const exited = child.status.then((s) => {
      throw new Error(`otelcol exited with ${s.code} before listening:\n${output.text}`);
    });
    await Promise.race([
      Promise.all([waitForPort(grpcPort), waitForPort(httpPort)]),
      exited,
    ]);
    exited.catch(() => {});
  } catch (error) {
    await dispose();
    throw error;
  }
  return { grpcPort, httpPort, output, [Symbol.asyncDispose]: dispose };
}

const B_YAML = `
receivers:
  otlp/grpc:
    protocols: { grpc: { endpoint: 127.0.0.1:0 } }
  otlp/http:
    protocols: { http: { endpoint: 127.0.0.1:0 } }
exporters:
  recorder/grpc:
  recorder/http:
service:
  pipelines:
${
  SIGNALS.map((s) =>
    `    ${s}/grpc: { receivers: [otlp/grpc], exporters: [recorder/grpc] }
    ${s}/http: { receivers: [otlp/http], exporters: [recorder/http] }`
  ).join("\n")
}
`;

function upstreamYaml(col: Otelcol): string {
  return `
receivers:
  otlp:
    protocols: { http: { endpoint: 127.0.0.1:0 } }
exporters:
  otlp/to_otelcol:
    endpoint: 127.0.0.1:${col.grpcPort}
    tls: { insecure: true }
  otlphttp/to_otelcol:
    endpoint: http://127.0.0.1:${col.httpPort}
service:
  pipelines:
${
    SIGNALS.map((s) =>
      `    ${s}: { receivers: [otlp], exporters: [otlp/to_otelcol, otlphttp/to_otelcol] }`
    ).join("\n")
  }
`;
}

Deno.test({
  name: "tfo → otelcol → tfo over gRPC and over HTTP keeps traces, metrics and logs exact" +
    (HAS_OTELCOL ? "" : " (needs otelcol: run bench/peers.sh)"),
  ignore: !HAS_OTELCOL,
  async fn(t) {
    await using b = await startService(B_YAML);
    await using col = await startOtelcol(
      `127.0.0.1:${b.port("otlp/grpc", "grpc")}`,
      `http://127.0.0.1:${b.port("otlp/http", "http")}`,
    );
    await using a: RunningService = await startService(upstreamYaml(col));
    const to = { httpBase: `http://127.0.0.1:${a.port("otlp", "http")}`, grpcAddress: "" };
    for (const signal of SIGNALS) {
      const batch = await makeBatch(signal);
      const items = countItems(signal, batch.expected);
      await sdkExport(batch, "http/protobuf", to);
      for (const route of ["grpc", "http"] as const) {
        await t.step(`${signal} via otelcol over ${route}`, async () => {
          await waitFor(
            `${items} ${signal} items at B via otelcol ${route}`,
            () => recordedItems(b.kit, `recorder/${route}`, signal) >= items,
            10_000,
          ).catch((e) => {
            throw new Error(`${e.message}\notelcol said:\n${col.output.text}`);
          });
          assert.deepStrictEqual(
            normalize(concatData(signal, recorded(b.kit, `recorder/${route}`, signal))),
            normalize(batch.expected),
          );
        });
      }
    }
  },
});

/** Runs telemetrygen to completion; fails the test on a non-zero exit. */
async function telemetrygen(args: string[]): Promise<void> {
  const { code, stderr } = await new Deno.Command(TELEMETRYGEN, {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).output();
  assert.equal(
    code,
    0,
    `telemetrygen ${args.join(" ")} exited ${code}:\n${new TextDecoder().decode(stderr)}`,
  );
}

Deno.test({
  name: "telemetrygen traces, metrics and logs over gRPC and HTTP reach tfo in the counts sent" +
    (HAS_TELEMETRYGEN ? "" : " (needs telemetrygen: run bench/peers.sh)"),
  ignore: !HAS_TELEMETRYGEN,
  async fn(t) {
    await using tfo = await startService(`
receivers:
  otlp/grpc:
    protocols: { grpc: { endpoint: 127.0.0.1:0 } }
  otlp/http:
    protocols: { http: { endpoint: 127.0.0.1:0 } }
exporters:
  recorder/grpc:
  recorder/http:
service:
  pipelines:
${
      SIGNALS.map((s) =>
        `    ${s}/grpc: { receivers: [otlp/grpc], exporters: [recorder/grpc] }
    ${s}/http: { receivers: [otlp/http], exporters: [recorder/http] }`
      ).join("\n")
    }
`);
    // Per signal: the telemetrygen arguments and the items they make. A trace is one root span
    // plus --child-spans children; a gauge metric is one data point; a log is one record.
    const runs: Record<Signal, { args: string[]; items: number }> = {
      traces: { args: ["traces", "--traces", "7", "--child-spans", "2"], items: 7 * 3 },
      metrics: { args: ["metrics", "--metrics", "9", "--metric-type", "Sum"], items: 9 },
      logs: { args: ["logs", "--logs", "11"], items: 11 },
    };
    for (const protocol of ["grpc", "http"] as const) {
      const port = tfo.port(`otlp/${protocol}`, protocol);
      for (const signal of SIGNALS) {
        await t.step(`${signal} over ${protocol}`, async () => {
          const run = runs[signal];
          await telemetrygen([
            ...run.args,
            "--rate",
            "0",
            "--workers",
            "1",
            "--otlp-insecure",
            "--otlp-endpoint",
            `127.0.0.1:${port}`,
            ...(protocol === "http" ? ["--otlp-http"] : []),
          ]);
          // telemetrygen flushes before it exits and tfo answers after the recorder took the
          // data, but its HTTP exporter may retry; wait (bounded) for the exact count.
          const id = `recorder/${protocol}`;
          await waitFor(
            `${run.items} ${signal} items over ${protocol}`,
            () => recordedItems(tfo.kit, id, signal) >= run.items,
            10_000,
          );
          assert.equal(recordedItems(tfo.kit, id, signal), run.items);
        });
      }
    }
  },
});
