/**
 * `google.rpc.Status`, the error body of OTLP/HTTP and the details of gRPC errors, in protobuf and
 * JSON, with an optional `google.rpc.RetryInfo` detail. Hand-written: three tiny messages.
 *
 * @module
 */

/** gRPC status codes used by the servers. */
export const GrpcCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/** A gRPC status code. */
export type GrpcCode = (typeof GrpcCode)[keyof typeof GrpcCode];

/** The content of a `google.rpc.Status`. */
export interface RpcStatus {
  /** The gRPC code. */
  readonly code: number;
  /** A message for the client's logs. */
  readonly message: string;
  /** When set, a `google.rpc.RetryInfo` detail with this delay is added. */
  readonly retryAfterMs?: number | undefined;
}

const RETRY_INFO_TYPE = "type.googleapis.com/google.rpc.RetryInfo";
const utf8 = new TextEncoder();

function varint(out: number[], v: number): void {
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

function lengthDelimited(out: number[], field: number, bytes: ArrayLike<number>): void {
  varint(out, (field << 3) | 2);
  varint(out, bytes.length);
  for (let i = 0; i < bytes.length; i++) out.push(bytes[i]!);
}

function splitDelay(ms: number): { seconds: number; nanos: number } {
  const whole = Math.max(0, Math.round(ms));
  return { seconds: Math.floor(whole / 1000), nanos: (whole % 1000) * 1_000_000 };
}

/** Encodes a `google.rpc.RetryInfo` message. */
export function encodeRetryInfo(retryAfterMs: number): Uint8Array {
  const { seconds, nanos } = splitDelay(retryAfterMs);
  const duration: number[] = [];
  if (seconds > 0) {
    varint(duration, 1 << 3);
    varint(duration, seconds);
  }
  if (nanos > 0) {
    varint(duration, 2 << 3);
    varint(duration, nanos);
  }
  const out: number[] = [];
  lengthDelimited(out, 1, duration);
  return Uint8Array.from(out);
}

/** Encodes a `google.rpc.Status` message in protobuf. */
export function encodeRpcStatus(status: RpcStatus): Uint8Array {
  const out: number[] = [];
  if (status.code !== 0) {
    varint(out, 1 << 3);
    varint(out, status.code);
  }
  if (status.message !== "") lengthDelimited(out, 2, utf8.encode(status.message));
  if (status.retryAfterMs !== undefined) {
    const any: number[] = [];
    lengthDelimited(any, 1, utf8.encode(RETRY_INFO_TYPE));
    lengthDelimited(any, 2, encodeRetryInfo(status.retryAfterMs));
    lengthDelimited(out, 3, any);
  }
  return Uint8Array.from(out);
}

/** Encodes a `google.rpc.Status` message in the protobuf JSON mapping. */
export function encodeRpcStatusJson(status: RpcStatus): string {
  const json: Record<string, unknown> = { code: status.code, message: status.message };
  if (status.retryAfterMs !== undefined) {
    const { seconds, nanos } = splitDelay(status.retryAfterMs);
    const fraction = nanos === 0 ? "" : "." + String(nanos).padStart(9, "0").replace(/0+$/, "");
    json.details = [{ "@type": RETRY_INFO_TYPE, retryDelay: `${seconds}${fraction}s` }];
  }
  return JSON.stringify(json);
}
