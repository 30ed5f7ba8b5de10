/**
 * The per-signal facts of OTLP in one table: the gRPC method, the default OTLP/HTTP path, what the
 * items are called in metric names, and the request and response codecs in both encodings. The
 * otlp receiver, the otlp and otlphttp exporters and the benchmarks read them from here.
 *
 * ```ts
 * import { OTLP_SIGNALS } from "./signals.ts";
 * OTLP_SIGNALS.metrics.httpPath; // "/v1/metrics"
 * ```
 *
 * @module
 */
import { ITEM_UNIT } from "../pdata/count.ts";
import type { ProtoDecoder } from "../pdata/payload.ts";
import type { Signal, SignalData } from "../pdata/types.ts";
import type { ExportPartialSuccess } from "./common_proto.ts";
import {
  decodeLogsJson,
  decodeLogsResponseJson,
  decodeMetricsJson,
  decodeMetricsResponseJson,
  decodeTracesJson,
  decodeTracesResponseJson,
  encodeLogsJson,
  encodeLogsResponseJson,
  encodeMetricsJson,
  encodeMetricsResponseJson,
  encodeTracesJson,
  encodeTracesResponseJson,
} from "./json.ts";
import {
  decodeLogsResponse,
  encodeLogsRequest,
  encodeLogsResponse,
  LOGS_PROTO,
} from "./logs_proto.ts";
import {
  decodeMetricsResponse,
  encodeMetricsRequest,
  encodeMetricsResponse,
  METRICS_PROTO,
} from "./metrics_proto.ts";
import {
  decodeTracesResponse,
  encodeTracesRequest,
  encodeTracesResponse,
  TRACES_PROTO,
} from "./traces_proto.ts";

/** The OTLP facts of one signal. */
export interface OtlpSignal<S extends Signal> {
  readonly signal: S;
  /** The gRPC method, `/package.Service/Export`. */
  readonly grpcMethod: string;
  /** The default OTLP/HTTP path, `/v1/<signal>`. */
  readonly httpPath: string;
  /** What items are called in metric names and logs: `spans`, `metric_points`, `log_records`. */
  readonly unit: string;
  /** Decodes (lazily) and counts an `Export*ServiceRequest`. */
  readonly proto: ProtoDecoder<S>;
  /** Encodes an `Export*ServiceRequest`. */
  encodeProto(data: SignalData[S]): Uint8Array;
  /** Encodes an `Export*ServiceRequest` as OTLP/JSON. */
  encodeJson(data: SignalData[S]): string;
  /** Decodes an OTLP/JSON `Export*ServiceRequest`; throws `OtlpDecodeError`. */
  decodeJson(body: Uint8Array): SignalData[S];
  /** Encodes an `Export*ServiceResponse`. */
  encodeResponse(partial: ExportPartialSuccess | undefined): Uint8Array;
  /** Encodes an `Export*ServiceResponse` as OTLP/JSON. */
  encodeResponseJson(partial: ExportPartialSuccess | undefined): string;
  /** Decodes an `Export*ServiceResponse`; throws `OtlpDecodeError`. */
  decodeResponse(bytes: Uint8Array): ExportPartialSuccess | undefined;
  /** Decodes an OTLP/JSON `Export*ServiceResponse`; throws `OtlpDecodeError`. */
  decodeResponseJson(bytes: Uint8Array): ExportPartialSuccess | undefined;
}

/** The OTLP facts of every signal. */
export const OTLP_SIGNALS: { readonly [S in Signal]: OtlpSignal<S> } = {
  traces: {
    signal: "traces",
    grpcMethod: "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    httpPath: "/v1/traces",
    unit: ITEM_UNIT.traces,
    proto: TRACES_PROTO,
    encodeProto: encodeTracesRequest,
    encodeJson: encodeTracesJson,
    decodeJson: decodeTracesJson,
    encodeResponse: encodeTracesResponse,
    encodeResponseJson: encodeTracesResponseJson,
    decodeResponse: decodeTracesResponse,
    decodeResponseJson: decodeTracesResponseJson,
  },
  metrics: {
    signal: "metrics",
    grpcMethod: "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
    httpPath: "/v1/metrics",
    unit: ITEM_UNIT.metrics,
    proto: METRICS_PROTO,
    encodeProto: encodeMetricsRequest,
    encodeJson: encodeMetricsJson,
    decodeJson: decodeMetricsJson,
    encodeResponse: encodeMetricsResponse,
    encodeResponseJson: encodeMetricsResponseJson,
    decodeResponse: decodeMetricsResponse,
    decodeResponseJson: decodeMetricsResponseJson,
  },
  logs: {
    signal: "logs",
    grpcMethod: "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
    httpPath: "/v1/logs",
    unit: ITEM_UNIT.logs,
    proto: LOGS_PROTO,
    encodeProto: encodeLogsRequest,
    encodeJson: encodeLogsJson,
    decodeJson: decodeLogsJson,
    encodeResponse: encodeLogsResponse,
    encodeResponseJson: encodeLogsResponseJson,
    decodeResponse: decodeLogsResponse,
    decodeResponseJson: decodeLogsResponseJson,
  },
};
