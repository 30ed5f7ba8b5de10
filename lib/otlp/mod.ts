/**
 * OTLP codecs: protobuf and JSON, both directions, for the requests and responses of the three
 * signals. Protobuf decoding returns bytes fields as views into the input buffer; the input must
 * not change while the result is in use.
 *
 * ```ts
 * import { decodeTracesRequest, encodeTracesRequest, TRACES_PROTO } from "./mod.ts";
 * ```
 *
 * @module
 */
export { OtlpDecodeError } from "./errors.ts";
export type { ExportPartialSuccess } from "./common_proto.ts";
export {
  countTracesItems,
  decodeTracesRequest,
  decodeTracesResponse,
  encodeTracesRequest,
  encodeTracesResponse,
  TRACES_PROTO,
} from "./traces_proto.ts";
export {
  countMetricsItems,
  decodeMetricsRequest,
  decodeMetricsResponse,
  encodeMetricsRequest,
  encodeMetricsResponse,
  METRICS_PROTO,
} from "./metrics_proto.ts";
export {
  countLogsItems,
  decodeLogsRequest,
  decodeLogsResponse,
  encodeLogsRequest,
  encodeLogsResponse,
  LOGS_PROTO,
} from "./logs_proto.ts";
export {
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
export { OTLP_SIGNALS, type OtlpSignal } from "./signals.ts";
