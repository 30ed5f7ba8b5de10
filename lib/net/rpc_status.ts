/**
 * `google.rpc.Status`, the error body of OTLP/HTTP and the details of gRPC errors, in protobuf and
 * JSON, with an optional `google.rpc.RetryInfo` detail, both directions: receivers encode it,
 * exporters decode it. Hand-written: three tiny messages.
 *
 * @module
 */

/** gRPC status codes. */
export const GrpcCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/** A gRPC status code. */
export type GrpcCode = (typeof GrpcCode)[keyof typeof GrpcCode];

const GRPC_CODE_NAMES: readonly string[] = Object.keys(GrpcCode);

/** The name of a gRPC status code (`UNAVAILABLE`), or `CODE_<n>` for an unknown one. */
export function grpcCodeName(code: number): string {
  return GRPC_CODE_NAMES[code] ?? `CODE_${code}`;
}

/** The content of a `google.rpc.Status`. */
export interface RpcStatus {
  /** The gRPC code. */
  readonly code: number;
  /** A message for the client's logs. */
  readonly message: string;
  /** The delay of a `google.rpc.RetryInfo` detail, when there is one. */
  readonly retryAfterMs?: number | undefined;
}

const RETRY_INFO_TYPE = "type.googleapis.com/google.rpc.RetryInfo";
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

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

/** A cursor over protobuf bytes; every read is bounds-checked and throws on malformed input. */
class Reader {
  pos: number;
  readonly end: number;
  readonly buf: Uint8Array;

  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new RangeError("Truncated varint");
      const b = this.buf[this.pos++]!;
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
    throw new RangeError("Varint too long");
  }

  /** Returns the bounds of a length-delimited field and moves past it. */
  bytes(): [number, number] {
    const len = this.varint();
    const start = this.pos;
    if (len > this.end - start) throw new RangeError("Truncated field");
    this.pos = start + len;
    return [start, this.pos];
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.pos += 8;
    else if (wireType === 2) this.bytes();
    else if (wireType === 5) this.pos += 4;
    else throw new RangeError(`Unsupported wire type ${wireType}`);
    if (this.pos > this.end) throw new RangeError("Truncated field");
  }
}

/** Reads `int64` as a JavaScript number from its varint (two's complement for negatives). */
function signed(v: number): number {
  return v >= 2 ** 63 ? v - 2 ** 64 : v;
}

/** Decodes a `google.protobuf.Duration` into milliseconds. */
function readDuration(r: Reader, start: number, end: number): number {
  const d = new Reader(r.buf, start, end);
  let seconds = 0;
  let nanos = 0;
  while (d.pos < d.end) {
    const tag = d.varint();
    if (tag === 8) seconds = signed(d.varint());
    else if (tag === 16) nanos = signed(d.varint()) | 0;
    else d.skip(tag & 7);
  }
  return Math.max(0, seconds * 1000 + nanos / 1e6);
}

/** Decodes a `google.protobuf.Any`; returns the retry delay if it is a `RetryInfo`. */
function readDetail(r: Reader, start: number, end: number): number | undefined {
  const a = new Reader(r.buf, start, end);
  let typeUrl = "";
  let value: [number, number] | undefined;
  while (a.pos < a.end) {
    const tag = a.varint();
    if (tag === 10) {
      const [s, e] = a.bytes();
      typeUrl = utf8Decoder.decode(a.buf.subarray(s, e));
    } else if (tag === 18) value = a.bytes();
    else a.skip(tag & 7);
  }
  if (typeUrl !== RETRY_INFO_TYPE) return undefined;
  if (value === undefined) return 0;
  const info = new Reader(a.buf, value[0], value[1]);
  let delay = 0;
  while (info.pos < info.end) {
    const tag = info.varint();
    if (tag === 10) {
      const [s, e] = info.bytes();
      delay = readDuration(info, s, e);
    } else info.skip(tag & 7);
  }
  return delay;
}

/** Decodes a `google.rpc.Status`, or returns undefined when the bytes are not one. */
export function decodeRpcStatus(bytes: Uint8Array): RpcStatus | undefined {
  try {
    const r = new Reader(bytes);
    let code = 0;
    let message = "";
    let retryAfterMs: number | undefined;
    while (r.pos < r.end) {
      const tag = r.varint();
      if (tag === 8) code = signed(r.varint()) | 0;
      else if (tag === 18) {
        const [s, e] = r.bytes();
        message = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(s, e));
      } else if (tag === 26) {
        const [s, e] = r.bytes();
        const delay = readDetail(r, s, e);
        if (delay !== undefined) retryAfterMs = delay;
      } else r.skip(tag & 7);
    }
    return { code, message, retryAfterMs };
  } catch {
    return undefined;
  }
}
