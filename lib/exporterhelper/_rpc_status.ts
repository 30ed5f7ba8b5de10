/**
 * A minimal decoder of `google.rpc.Status` (the body of OTLP/HTTP failures and the
 * `grpc-status-details-bin` trailer of gRPC failures) that keeps what exporters act on: the code,
 * the message, and the delay of a `google.rpc.RetryInfo` detail.
 *
 * @module
 */

/** What exporters read from a `google.rpc.Status`. */
export interface RpcStatus {
  /** `Status.code`, a gRPC code (0 when absent). */
  code: number;
  /** `Status.message`. */
  message: string;
  /** `RetryInfo.retry_delay` in milliseconds, when a `RetryInfo` detail is present. */
  retryDelayMs: number | undefined;
}

const RETRY_INFO_TYPE = "type.googleapis.com/google.rpc.RetryInfo";
const utf8 = new TextDecoder();

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
      typeUrl = utf8.decode(a.buf.subarray(s, e));
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
    const status: RpcStatus = { code: 0, message: "", retryDelayMs: undefined };
    while (r.pos < r.end) {
      const tag = r.varint();
      if (tag === 8) status.code = signed(r.varint()) | 0;
      else if (tag === 18) {
        const [s, e] = r.bytes();
        status.message = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(s, e));
      } else if (tag === 26) {
        const [s, e] = r.bytes();
        const delay = readDetail(r, s, e);
        if (delay !== undefined) status.retryDelayMs = delay;
      } else r.skip(tag & 7);
    }
    return status;
  } catch {
    return undefined;
  }
}

/** Encodes a `google.rpc.Status`; for tests and fake servers. */
export function encodeRpcStatus(
  code: number,
  message: string,
  options: { retryDelayMs?: number } = {},
): Uint8Array {
  const out: number[] = [];
  const varint = (v: number) => {
    while (v >= 0x80) {
      out.push((v % 128) | 0x80);
      v = Math.floor(v / 128);
    }
    out.push(v);
  };
  const field = (tag: number, body: Uint8Array | number[]) => {
    varint(tag);
    varint(body.length);
    for (const b of body) out.push(b);
  };
  if (code !== 0) {
    varint(8);
    varint(code);
  }
  if (message !== "") field(18, new TextEncoder().encode(message));
  if (options.retryDelayMs !== undefined) {
    const seconds = Math.floor(options.retryDelayMs / 1000);
    const nanos = Math.round((options.retryDelayMs - seconds * 1000) * 1e6);
    const duration = encodeFields([[8, seconds], [16, nanos]]);
    const info = [10, duration.length, ...duration];
    const type = [...new TextEncoder().encode(RETRY_INFO_TYPE)];
    const any = [10, type.length, ...type, 18, info.length, ...info];
    field(26, any);
  }
  return new Uint8Array(out);
}

function encodeFields(pairs: [number, number][]): number[] {
  const out: number[] = [];
  for (const [tag, value] of pairs) {
    if (value === 0) continue;
    out.push(tag);
    let v = value;
    while (v >= 0x80) {
      out.push((v % 128) | 0x80);
      v = Math.floor(v / 128);
    }
    out.push(v);
  }
  return out;
}
