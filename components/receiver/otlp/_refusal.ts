/**
 * How the otlp receiver answers a failed request, over HTTP and gRPC alike, following the OTLP
 * specification and the OpenTelemetry Collector: bad input and permanent pipeline errors are
 * client errors (400 / `INVALID_ARGUMENT`), oversized input is 413 / `RESOURCE_EXHAUSTED`, and every
 * other pipeline refusal is retryable (503 / `UNAVAILABLE`, with the delay when one is known).
 *
 * @module
 */
import { ConsumerError, isPermanent } from "../../../lib/consumer/consumer.ts";
import { BodyTooLargeError } from "../../../lib/net/body.ts";
import { DecompressionError } from "../../../lib/net/compression.ts";
import { GrpcCode } from "../../../lib/net/rpc_status.ts";
import { OtlpDecodeError } from "../../../lib/otlp/mod.ts";
import { RateLimitError } from "../../../lib/tenancy/gate.ts";
import { ItemBudgetError } from "./_budget.ts";

/** An answer to a request that failed. */
export interface Refusal {
  /** The HTTP status. */
  readonly status: number;
  /** The gRPC code, also the `code` of the `google.rpc.Status` body. */
  readonly code: number;
  /** What the client is told. */
  readonly message: string;
  /** When the client may retry, if known. */
  readonly retryAfterMs?: number | undefined;
}

/** Refusal for input the receiver itself rejects, or `undefined` for anything else. */
export function inputRefusal(error: unknown): Refusal | undefined {
  if (error instanceof OtlpDecodeError || error instanceof DecompressionError) {
    return {
      status: 400,
      code: GrpcCode.INVALID_ARGUMENT,
      message: error.message,
    };
  }
  if (error instanceof BodyTooLargeError || error instanceof ItemBudgetError) {
    return {
      status: 413,
      code: GrpcCode.RESOURCE_EXHAUSTED,
      message: error.message,
    };
  }
  return undefined;
}

/**
 * Refusal for an error of the pipeline's `consume`. The pipeline's own message is not passed on
 * (it may name internal endpoints); the client gets the status text, as from the Collector.
 */
export function pipelineRefusal(error: unknown): Refusal {
  if (error instanceof RateLimitError) {
    // The client's own tenant is over its limit: it is told so, and when to come back.
    return {
      status: 429,
      code: GrpcCode.RESOURCE_EXHAUSTED,
      message: error.message,
      retryAfterMs: error.retryAfterMs,
    };
  }
  if (isPermanent(error)) {
    return {
      status: 400,
      code: GrpcCode.INVALID_ARGUMENT,
      message: "Bad Request: the pipeline refused the data permanently",
    };
  }
  const retryAfterMs = error instanceof ConsumerError ? error.retryAfterMs : undefined;
  return {
    status: 503,
    code: GrpcCode.UNAVAILABLE,
    message: "Service Unavailable: the pipeline cannot take the data now, retry later",
    retryAfterMs,
  };
}
