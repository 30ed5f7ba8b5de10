/**
 * Shared helpers of the OTLP exporter tests: create settings with a capturing logger and a real
 * metric registry, and small payloads of every signal.
 */
import type { CreateSettings } from "../../../../components/component.ts";
import { createLogger } from "../../../../lib/telemetry/logger.ts";
import { MetricRegistry } from "../../../../lib/telemetry/metrics.ts";
import { newLogRecord, newResource, newScope } from "../../../../lib/pdata/new.ts";
import { Payload } from "../../../../lib/pdata/payload.ts";
import { freePort } from "../../../fixtures/interop/services.ts";
import type { LogsData, MetricsData } from "../../../../lib/pdata/types.ts";

/** Settings for an exporter under test, with what it logged and counted. */
export function settingsFor<C>(id: string, config: C) {
  const lines: Record<string, unknown>[] = [];
  const registry = new MetricRegistry();
  const settings: CreateSettings<C> = {
    id,
    config,
    logger: createLogger({ level: "debug", write: (l) => lines.push(JSON.parse(l)) }),
    meter: registry.meter({ exporter: id }),
    buildInfo: { command: "tfo", version: "0.0.0-test" },
  };
  return { settings, lines, registry, warnings: () => lines.filter((l) => l.level === "warn") };
}

/** Metrics with one gauge named `name` holding `points` data points. */
export function metricsOf(name: string, points = 1): MetricsData {
  return {
    resourceMetrics: [{
      resource: newResource(),
      schemaUrl: "",
      scopeMetrics: [{
        scope: newScope({ name: "kit" }),
        schemaUrl: "",
        metrics: [{
          name,
          description: "",
          unit: "",
          metadata: [],
          data: {
            type: "gauge",
            dataPoints: Array.from({ length: points }, (_, i) => ({
              attributes: [],
              startTimeUnixNano: 0n,
              timeUnixNano: 1700000000123456789n,
              value: i,
              exemplars: [],
              flags: 0,
            })),
          },
        }],
      }],
    }],
  };
}

/** Logs with one record per body. */
export function logsOf(...bodies: string[]): LogsData {
  return {
    resourceLogs: [{
      resource: newResource(),
      schemaUrl: "",
      scopeLogs: [{
        scope: newScope({ name: "kit" }),
        schemaUrl: "",
        logRecords: bodies.map((body) => newLogRecord({ body })),
      }],
    }],
  };
}

/** A metrics payload. */
export function metricsPayload(name: string, points = 1): Payload<"metrics"> {
  return Payload.of("metrics", metricsOf(name, points));
}

/** A logs payload. */
export function logsPayload(...bodies: string[]): Payload<"logs"> {
  return Payload.of("logs", logsOf(...bodies));
}

/** A port nothing listens on: leased for this run, never bound (see `freePort`). */
export function closedPort(): number {
  return freePort();
}

/** Decompresses gzip bytes. */
export async function gunzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new DecompressionStream("gzip"),
  );
  return await new Response(stream).bytes();
}

/** PEM material of a throwaway CA and a server certificate it signed for 127.0.0.1 and localhost. */
export interface TestCertificates {
  /** A file holding the CA certificate. */
  caFile: string;
  caPem: string;
  serverCertPem: string;
  serverKeyPem: string;
  /** Removes the files. */
  remove(): Promise<void>;
}

/** Makes test certificates with `openssl`; undefined when `openssl` is not installed. */
export async function testCertificates(): Promise<TestCertificates | undefined> {
  const dir = await Deno.makeTempDir({ prefix: "tfo-tls-" });
  const run = async (...args: string[]) => {
    const out = await new Deno.Command("openssl", {
      args,
      cwd: dir,
      stdout: "null",
      stderr: "piped",
    })
      .output();
    if (!out.success) {
      throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
    }
  };
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  try {
    await run(
      "req",
      "-x509",
      ...ec,
      "-keyout",
      "ca.key",
      "-out",
      "ca.crt",
      "-days",
      "1",
      "-subj",
      "/CN=tfo test CA",
    );
    await run(
      "req",
      ...ec,
      "-keyout",
      "server.key",
      "-out",
      "server.csr",
      "-subj",
      "/CN=localhost",
    );
    await Deno.writeTextFile(`${dir}/san.ext`, "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
    await run(
      "x509",
      "-req",
      "-in",
      "server.csr",
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      "server.crt",
      "-days",
      "1",
      "-extfile",
      "san.ext",
    );
  } catch (error) {
    await Deno.remove(dir, { recursive: true });
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  return {
    caFile: `${dir}/ca.crt`,
    caPem: await Deno.readTextFile(`${dir}/ca.crt`),
    serverCertPem: await Deno.readTextFile(`${dir}/server.crt`),
    serverKeyPem: await Deno.readTextFile(`${dir}/server.key`),
    remove: () => Deno.remove(dir, { recursive: true }),
  };
}
