/**
 * Failure classification for exporters, as the OTLP specification prescribes
 * (opentelemetry-proto `docs/specification.md`, "Failures" of OTLP/gRPC and OTLP/HTTP): every
 * failed export becomes a {@linkcode ConsumerError} that says whether retrying can help and, when the
 * server said so, after how long. The retry and queue layers read only that error.
 *
 * | Outcome | Classification |
 * | --- | --- |
 * | HTTP 429, 502, 503, 504 | retryable; `Retry-After` (seconds or HTTP date) → `retryAfterMs` |
 * | any other HTTP 4xx or 5xx (400, 401, 403, 404, 413, 500, …) | permanent ("MUST NOT be retried") |
 * | gRPC CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE, DATA_LOSS | retryable; `RetryInfo.retry_delay` → `retryAfterMs` |
 * | gRPC RESOURCE_EXHAUSTED | retryable only with a `RetryInfo` detail, else permanent |
 * | any other gRPC code | permanent |
 * | no response: refused, reset, DNS failure, timeout | retryable |
 *
 * @module
 */
import {
  ConsumerError,
  errorMessage,
  permanentError,
  retryableError,
} from "../consumer/consumer.ts";
import { decodeRpcStatus, GrpcCode, grpcCodeName, type RpcStatus } from "../net/rpc_status.ts";

/** HTTP status codes the OTLP specification lists as retryable. */
export const RETRYABLE_HTTP_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

/** gRPC codes the OTLP specification lists as retryable (RESOURCE_EXHAUSTED aside). */
export const RETRYABLE_GRPC_CODES: ReadonlySet<number> = new Set([
  GrpcCode.CANCELLED,
  GrpcCode.DEADLINE_EXCEEDED,
  GrpcCode.ABORTED,
  GrpcCode.OUT_OF_RANGE,
  GrpcCode.UNAVAILABLE,
  GrpcCode.DATA_LOSS,
]);

/** True when an HTTP status may succeed on retry (429, 502, 503, 504). */
export function isRetryableHttpStatus(status: number): boolean {
  return RETRYABLE_HTTP_STATUSES.has(status);
}

/**
 * True when a gRPC status may succeed on retry. RESOURCE_EXHAUSTED is retryable only when the
 * server attached a `RetryInfo`, which signals that it can recover.
 */
export function isRetryableGrpcCode(code: number, hasRetryInfo: boolean): boolean {
  if (code === GrpcCode.RESOURCE_EXHAUSTED) return hasRetryInfo;
  return RETRYABLE_GRPC_CODES.has(code);
}

/**
 * Parses a `Retry-After` header (RFC 9110: delay-seconds or an HTTP date) into milliseconds from
 * `now`; undefined when absent or unparseable. A date in the past gives 0.
 * @param now the current time in epoch milliseconds @default Date.now()
 */
export function parseRetryAfter(
  value: string | null | undefined,
  now = Date.now(),
): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (!/[a-zA-Z]/.test(text)) return undefined;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** What an HTTP failure response carried. */
export interface HttpFailure {
  /** The HTTP status code. */
  status: number;
  /** The `Retry-After` header, if any. */
  retryAfter?: string | null;
  /** The server's explanation: the `Status.message` of the body, when it had one. */
  detail?: string;
  /** What was being done, for the message: "Cannot export traces to http://…". */
  context: string;
  /** The current time in epoch milliseconds, for HTTP-date `Retry-After`. @default Date.now() */
  now?: number;
}

/** Classifies a non-2xx OTLP/HTTP response. */
export function classifyHttpFailure(failure: HttpFailure): ConsumerError {
  const detail = failure.detail === undefined || failure.detail === "" ? "" : `: ${failure.detail}`;
  const message = `${failure.context}: HTTP ${failure.status}${detail}`;
  if (!isRetryableHttpStatus(failure.status)) return permanentError(message);
  const retryAfterMs = parseRetryAfter(failure.retryAfter, failure.now);
  return retryableError(message, retryAfterMs === undefined ? {} : { retryAfterMs });
}

/** What a failed gRPC call returned. */
export interface GrpcFailure {
  /** The gRPC status code. */
  code: number;
  /** `grpc-message`. */
  details: string;
  /** The `grpc-status-details-bin` trailer (a `google.rpc.Status`), if present. */
  statusDetails?: Uint8Array | undefined;
  /** What was being done, for the message. */
  context: string;
  /** The underlying error. */
  cause?: unknown;
}

/** Classifies a failed OTLP/gRPC call. */
export function classifyGrpcFailure(failure: GrpcFailure): ConsumerError {
  const status: RpcStatus | undefined = failure.statusDetails === undefined
    ? undefined
    : decodeRpcStatus(failure.statusDetails);
  const retryDelayMs = status?.retryAfterMs;
  const details = failure.details !== "" ? failure.details : (status?.message ?? "");
  const message = `${failure.context}: ${grpcCodeName(failure.code)}${
    details === "" ? "" : `: ${details}`
  }`;
  const options = {
    ...(failure.cause === undefined ? {} : { cause: failure.cause }),
    ...(retryDelayMs === undefined ? {} : { retryAfterMs: retryDelayMs }),
  };
  return isRetryableGrpcCode(failure.code, retryDelayMs !== undefined)
    ? retryableError(message, options)
    : permanentError(message, options);
}

/**
 * Classifies a request that got no response: connection refused or reset, a DNS failure, a TLS
 * failure, a timeout. All are retryable: the data itself was not judged.
 */
export function classifyNetworkFailure(context: string, error: unknown): ConsumerError {
  if (error instanceof ConsumerError) return error;
  const reason = isTimeout(error) ? "timed out" : errorMessage(error);
  return retryableError(`${context}: ${reason}`, { cause: error });
}

/** True for the errors `AbortSignal.timeout` makes fetch and stream reads throw. */
export function isTimeout(error: unknown): boolean {
  return error instanceof DOMException && error.name === "TimeoutError";
}
