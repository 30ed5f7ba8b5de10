/**
 * Helpers for otlp receiver tests: a receiver on free ports of 127.0.0.1 with recording consumers,
 * and small OTLP payloads of every signal in JSON and protobuf.
 */
import {
  createOtlpReceiver,
  type OtlpReceiver,
  type OtlpReceiverOptions,
} from "../../../../components/receiver/otlp/factory.ts";
import { otlpConfigSchema } from "../../../../components/receiver/otlp/config.ts";
import type { Extension, Host } from "../../../../components/component.ts";
import type { Consumer, SignalConsumers } from "../../../../lib/consumer/consumer.ts";
import {
  decodeLogsJson,
  decodeMetricsJson,
  decodeTracesJson,
  encodeLogsRequest,
  encodeMetricsRequest,
  encodeTracesRequest,
} from "../../../../lib/otlp/mod.ts";
import type { Payload } from "../../../../lib/pdata/payload.ts";
import type { Signal } from "../../../../lib/pdata/types.ts";
import { createLogger, type Logger } from "../../../../lib/telemetry/logger.ts";
import { MetricRegistry } from "../../../../lib/telemetry/metrics.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

/** A consumer that records payloads and can be told to fail. */
export interface Recorder<S extends Signal> extends Consumer<S> {
  readonly payloads: Payload<S>[];
  /** When set, `consume` rejects with what it returns (after `delayMs`, if set). */
  fail: (() => unknown) | undefined;
  /** Delays every `consume`. */
  delayMs: number;
}

/** A recording consumer. */
export function recorder<S extends Signal>(): Recorder<S> {
  const r: Recorder<S> = {
    mutatesData: false,
    payloads: [],
    fail: undefined,
    delayMs: 0,
    async consume(payload) {
      if (r.delayMs > 0) await new Promise((res) => setTimeout(res, r.delayMs));
      if (r.fail !== undefined) throw r.fail();
      // Kept past the call: retained (never released), so a pooled request's slab stays its.
      r.payloads.push(payload.retain());
    },
  };
  return r;
}

/** Recorders for all three signals. */
export interface Recorders {
  traces: Recorder<"traces">;
  metrics: Recorder<"metrics">;
  logs: Recorder<"logs">;
}

/** A started receiver and how to reach it. */
export interface Harness {
  readonly receiver: OtlpReceiver;
  readonly sinks: Recorders;
  /** `http://127.0.0.1:<port>`, when http is enabled. */
  readonly httpBase: string;
  /** `127.0.0.1:<port>`, when grpc is enabled. */
  readonly grpcAddress: string;
  /** Log lines written by the receiver. */
  readonly logs: string[];
  [Symbol.asyncDispose](): Promise<void>;
}

/** A host with the given extensions. */
export function testHost(extensions: Record<string, Extension> = {}): Host {
  return {
    getExtension: (id) => extensions[id],
    status: () => "running",
  };
}

/** A logger collecting its lines. */
export function collectingLogger(lines: string[]): Logger {
  return createLogger({ level: "debug", write: (line) => lines.push(line) });
}

/** Creates (without starting) a receiver for a raw YAML-shaped config. */
export function makeReceiver(
  raw: Record<string, unknown>,
  next: SignalConsumers,
  lines: string[] = [],
  id = "otlp",
  options: OtlpReceiverOptions = {},
): OtlpReceiver {
  return createOtlpReceiver(
    {
      id,
      config: otlpConfigSchema.parse(raw),
      logger: collectingLogger(lines),
      meter: new MetricRegistry().meter({ receiver: id }),
      buildInfo: { command: "tfo", version: "test" },
    },
    next,
    options,
  );
}

/**
 * Starts a receiver on free ports of 127.0.0.1. `protocols` is laid over `{grpc, http}` on port 0;
 * give `{ http: {...} }` to enable http only, and so on.
 */
export async function startHarness(
  protocols: Record<string, Record<string, unknown> | null> = { grpc: null, http: null },
  signals: readonly Signal[] = ["traces", "metrics", "logs"],
  options: OtlpReceiverOptions = {},
): Promise<Harness> {
  const raw: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(protocols)) {
    raw[name] = { endpoint: "127.0.0.1:0", ...(value ?? {}) };
  }
  const sinks: Recorders = {
    traces: recorder(),
    metrics: recorder(),
    logs: recorder(),
  };
  const next: SignalConsumers = {};
  for (const s of signals) (next as Record<string, unknown>)[s] = sinks[s];
  const logs: string[] = [];
  const receiver = makeReceiver({ protocols: raw }, next, logs, "otlp", options);
  await receiver.start(testHost());
  return {
    receiver,
    sinks,
    logs,
    httpBase: `http://127.0.0.1:${receiver.httpPort}`,
    grpcAddress: `127.0.0.1:${receiver.grpcPort}`,
    [Symbol.asyncDispose]: () => receiver.shutdown(),
  };
}

/** An OTLP/JSON traces request with the given span names. */
export function tracesJson(...names: string[]): string {
  return JSON.stringify({
    resourceSpans: [{
      resource: { attributes: [{ key: "service.name", value: { stringValue: "checkout" } }] },
      scopeSpans: [{
        scope: { name: "test-scope" },
        spans: names.map((name, i) => ({
          traceId: "5b8efff798038103d269b633813fc60c",
          spanId: `eee19b7ec3c1b17${i % 10}`,
          name,
          kind: 2,
          startTimeUnixNano: "1700000000123456789",
          endTimeUnixNano: "1700000000223456789",
          attributes: [{ key: "http.route", value: { stringValue: "/cart" } }],
        })),
      }],
    }],
  });
}

/** An OTLP/JSON metrics request with one gauge of the given points. */
export function metricsJson(name: string, ...values: number[]): string {
  return JSON.stringify({
    resourceMetrics: [{
      resource: { attributes: [] },
      scopeMetrics: [{
        metrics: [{
          name,
          gauge: {
            dataPoints: values.map((v) => ({ timeUnixNano: "1700000000000000000", asDouble: v })),
          },
        }],
      }],
    }],
  });
}

/** An OTLP/JSON logs request with the given bodies. */
export function logsJson(...bodies: string[]): string {
  return JSON.stringify({
    resourceLogs: [{
      resource: { attributes: [] },
      scopeLogs: [{
        logRecords: bodies.map((b) => ({
          timeUnixNano: "1700000000000000000",
          severityNumber: 9,
          body: { stringValue: b },
        })),
      }],
    }],
  });
}

/** The protobuf form of {@linkcode tracesJson}. */
export function tracesProto(...names: string[]): Uint8Array<ArrayBuffer> {
  return encodeTracesRequest(decodeTracesJson(tracesJson(...names))) as Uint8Array<ArrayBuffer>;
}

/** The protobuf form of {@linkcode metricsJson}. */
export function metricsProto(name: string, ...values: number[]): Uint8Array<ArrayBuffer> {
  return encodeMetricsRequest(
    decodeMetricsJson(metricsJson(name, ...values)),
  ) as Uint8Array<ArrayBuffer>;
}

/** The protobuf form of {@linkcode logsJson}. */
export function logsProto(...bodies: string[]): Uint8Array<ArrayBuffer> {
  return encodeLogsRequest(decodeLogsJson(logsJson(...bodies))) as Uint8Array<ArrayBuffer>;
}

/** Span names of recorded trace payloads, flattened. */
export function spanNames(r: Recorder<"traces">): string[] {
  return r.payloads.flatMap((p) =>
    p.read().resourceSpans.flatMap((rs) =>
      rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => s.name))
    )
  );
}

/** Gzips bytes. */
export async function gzip(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Posts a body and returns the response with its body read. */
export async function post(
  url: string,
  body: BodyInit,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Headers; body: Uint8Array }> {
  const res = await fetch(url, { method: "POST", body, headers });
  return {
    status: res.status,
    headers: res.headers,
    body: new Uint8Array(await res.arrayBuffer()),
  };
}
