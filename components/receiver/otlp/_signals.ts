/**
 * What the otlp receiver needs per signal: its gRPC method, protobuf decoder, JSON decoder and
 * response encoders, and the name of its items in metric names.
 *
 * @module
 */
import {
  decodeLogsJson,
  decodeMetricsJson,
  decodeTracesJson,
  encodeLogsResponse,
  encodeLogsResponseJson,
  encodeMetricsResponse,
  encodeMetricsResponseJson,
  encodeTracesResponse,
  encodeTracesResponseJson,
  type ExportPartialSuccess,
  LOGS_PROTO,
  METRICS_PROTO,
  TRACES_PROTO,
} from "../../../lib/otlp/mod.ts";
import type { ProtoDecoder } from "../../../lib/pdata/payload.ts";
import type { Signal, SignalData } from "../../../lib/pdata/types.ts";

/** The codecs and names of one signal. */
export interface SignalCodec<S extends Signal> {
  readonly signal: S;
  /** The full gRPC method path of its OTLP export service. */
  readonly grpcMethod: string;
  readonly proto: ProtoDecoder<S>;
  decodeJson(body: Uint8Array): SignalData[S];
  encodeResponse(partial: ExportPartialSuccess | undefined): Uint8Array;
  encodeResponseJson(partial: ExportPartialSuccess | undefined): string;
}

/** The codecs of every signal. */
export const SIGNAL_CODECS: { readonly [S in Signal]: SignalCodec<S> } = {
  traces: {
    signal: "traces",
    grpcMethod: "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    proto: TRACES_PROTO,
    decodeJson: decodeTracesJson,
    encodeResponse: encodeTracesResponse,
    encodeResponseJson: encodeTracesResponseJson,
  },
  metrics: {
    signal: "metrics",
    grpcMethod: "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
    proto: METRICS_PROTO,
    decodeJson: decodeMetricsJson,
    encodeResponse: encodeMetricsResponse,
    encodeResponseJson: encodeMetricsResponseJson,
  },
  logs: {
    signal: "logs",
    grpcMethod: "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
    proto: LOGS_PROTO,
    decodeJson: decodeLogsJson,
    encodeResponse: encodeLogsResponse,
    encodeResponseJson: encodeLogsResponseJson,
  },
};
