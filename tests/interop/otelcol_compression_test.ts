/**
 * tfo's `otlp_http` exporter with every compression the Collector has, into a v0.162 Collector's
 * OTLP/HTTP receiver: each request must be accepted and counted. Needs
 * `~/.cache/tfo-peers/bin/otelcol` (bench/peers.sh); skipped otherwise.
 *
 * @module
 */
import { otlphttpExporterFactory } from "../../components/exporter/otlphttp/factory.ts";
import { otlphttpConfigSchema } from "../../components/exporter/otlphttp/config.ts";
import { encodeTracesRequest, TRACES_PROTO } from "../../lib/otlp/mod.ts";
import { Payload } from "../../lib/pdata/payload.ts";
import { NOOP_LOGGER } from "../../lib/telemetry/logger.ts";
import { MetricRegistry } from "../../lib/telemetry/metrics.ts";
import { tracesOf } from "../fixtures/graph_kit.ts";
import {
  executableExists,
  freePort,
  PEERS_BIN,
  TextCollector,
  waitFor,
  waitForPort,
} from "../fixtures/interop/services.ts";
import { loadConfigLibs } from "../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

const OTELCOL = `${PEERS_BIN}/otelcol`;
const HAS_OTELCOL = executableExists(OTELCOL);
const COMPRESSIONS = ["gzip", "zlib", "deflate", "zstd", "snappy", "x-snappy-framed"] as const;
const SPANS = 2000;

Deno.test({
  name: "a v0.162 Collector accepts tfo's otlp_http requests in every compression it has" +
    (HAS_OTELCOL ? "" : " (needs otelcol: run bench/peers.sh)"),
  ignore: !HAS_OTELCOL,
  async fn() {
    const http = freePort();
    const metrics = freePort();
    const dir = await Deno.makeTempDir({ prefix: "tfo-compression-" });
    await Deno.writeTextFile(
      `${dir}/c.yaml`,
      `receivers:
  otlp: {protocols: {http: {endpoint: "127.0.0.1:${http}"}}}
exporters:
  debug: {verbosity: basic}
service:
  telemetry:
    metrics:
      readers: [{pull: {exporter: {prometheus: {host: 127.0.0.1, port: ${metrics}}}}}]
  pipelines:
    traces: {receivers: [otlp], exporters: [debug]}
`,
    );
    const child = new Deno.Command(OTELCOL, {
      args: ["--config", `file:${dir}/c.yaml`],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const out = new TextCollector(child.stdout);
    const err = new TextCollector(child.stderr);
    try {
      await waitForPort(http);
      await waitForPort(metrics);
      const names = Array.from({ length: SPANS }, (_, i) => `operation ${i % 9}`);
      const bytes = encodeTracesRequest(tracesOf(...names));
      for (const compression of COMPRESSIONS) {
        const exporter = otlphttpExporterFactory.create({
          id: "otlp_http",
          config: otlphttpConfigSchema.parse({
            endpoint: `http://127.0.0.1:${http}`,
            compression,
            sending_queue: { enabled: false },
            retry_on_failure: { enabled: false },
          }),
          logger: NOOP_LOGGER,
          meter: new MetricRegistry().meter(),
          buildInfo: { command: "tfo", version: "test" },
        }, ["traces"]);
        await exporter.start({ getExtension: () => undefined, status: () => "running" });
        try {
          await exporter.consumers.traces!.consume(
            Payload.fromProto("traces", bytes, TRACES_PROTO),
          );
        } catch (error) {
          throw new Error(`${compression}: ${(error as Error).message}`);
        } finally {
          await exporter.shutdown();
        }
      }
      await waitFor("the Collector to count every span", async () => {
        const text = await (await fetch(`http://127.0.0.1:${metrics}/metrics`)).text();
        const m = /^otelcol_receiver_accepted_spans\{[^}]*transport="http"[^}]*\} (\S+)$/m
          .exec(text);
        return m !== null && Number(m[1]) === SPANS * COMPRESSIONS.length;
      });
    } catch (error) {
      throw new Error(`${(error as Error).message}\notelcol said:\n${err.text}${out.text}`);
    } finally {
      child.kill("SIGTERM");
      await child.status;
      await Promise.all([out.done, err.done]);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
