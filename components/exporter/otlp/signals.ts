/**
 * What the OTLP exporters (`otlp` over gRPC and `otlphttp`) need per signal: how to get the
 * request bytes, how to read the response, and the names of paths, methods and counted items.
 *
 * @module
 */
import {
  decodeLogsResponse,
  decodeLogsResponseJson,
  decodeMetricsResponse,
  decodeMetricsResponseJson,
  decodeTracesResponse,
  decodeTracesResponseJson,
  encodeLogsJson,
  encodeLogsRequest,
  encodeMetricsJson,
  encodeMetricsRequest,
  encodeTracesJson,
  encodeTracesRequest,
  type ExportPartialSuccess,
} from "../../../lib/otlp/mod.ts";
import type { Payload } from "../../../lib/pdata/payload.ts";
import type { Signal, SignalData } from "../../../lib/pdata/types.ts";

/** The OTLP facts of one signal. */
export interface OtlpSignal<S extends Signal> {
  /** The gRPC method, `/package.Service/Export`. */
  readonly grpcMethod: string;
  /** The default OTLP/HTTP path, `/v1/<signal>`. */
  readonly httpPath: string;
  /** What items are called in metric names and logs: `spans`, `metric_points`, `log_records`. */
  readonly unit: string;
  /** Encodes an `Export*ServiceRequest`. */
  encodeProto(data: SignalData[S]): Uint8Array;
  /** Encodes an `Export*ServiceRequest` as OTLP/JSON. */
  encodeJson(data: SignalData[S]): string;
  /** Decodes an `Export*ServiceResponse`; throws `OtlpDecodeError`. */
  decodeResponse(bytes: Uint8Array): ExportPartialSuccess | undefined;
  /** Decodes an OTLP/JSON `Export*ServiceResponse`; throws `OtlpDecodeError`. */
  decodeResponseJson(bytes: Uint8Array): ExportPartialSuccess | undefined;
}

/** The OTLP facts of every signal. */
export const OTLP_SIGNALS: { readonly [S in Signal]: OtlpSignal<S> } = {
  traces: {
    grpcMethod: "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    httpPath: "/v1/traces",
    unit: "spans",
    encodeProto: encodeTracesRequest,
    encodeJson: encodeTracesJson,
    decodeResponse: decodeTracesResponse,
    decodeResponseJson: decodeTracesResponseJson,
  },
  metrics: {
    grpcMethod: "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
    httpPath: "/v1/metrics",
    unit: "metric_points",
    encodeProto: encodeMetricsRequest,
    encodeJson: encodeMetricsJson,
    decodeResponse: decodeMetricsResponse,
    decodeResponseJson: decodeMetricsResponseJson,
  },
  logs: {
    grpcMethod: "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
    httpPath: "/v1/logs",
    unit: "log_records",
    encodeProto: encodeLogsRequest,
    encodeJson: encodeLogsJson,
    decodeResponse: decodeLogsResponse,
    decodeResponseJson: decodeLogsResponseJson,
  },
};

/**
 * The `Export*ServiceRequest` protobuf bytes of a payload: the bytes it arrived as when it still
 * has them (sent as is), else a fresh encoding.
 */
export function requestProto<S extends Signal>(payload: Payload<S>): Uint8Array {
  const encoded = payload.encodedProto;
  if (encoded !== undefined) return encoded;
  const codec = OTLP_SIGNALS[payload.signal] as OtlpSignal<S>;
  return codec.encodeProto(payload.read());
}
