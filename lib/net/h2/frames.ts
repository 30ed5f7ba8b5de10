/**
 * HTTP/2 frames (RFC 9113 section 4 and 6): the frame header, the frame types, flags, settings and
 * error codes, encoders for every frame type, and an incremental parser that cuts a byte stream
 * into frames without trusting the peer (lengths are checked against the advertised maximum
 * before any payload is buffered).
 *
 * @module
 */

/** Frame types (RFC 9113 section 6). */
export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

/** Frame flags. */
export const Flags = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

/** Error codes of RST_STREAM and GOAWAY (RFC 9113 section 7). */
export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const;

const ERROR_NAMES = new Map<number, string>(Object.entries(ErrorCode).map(([k, v]) => [v, k]));

/** The name of an HTTP/2 error code (`REFUSED_STREAM`), or its hex value when unknown. */
export function errorCodeName(code: number): string {
  return ERROR_NAMES.get(code) ?? `0x${code.toString(16)}`;
}

/** Setting identifiers (RFC 9113 section 6.5.2). */
export const SettingId = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

/** The client connection preface (RFC 9113 section 3.4). */
export const CLIENT_PREFACE: Uint8Array = new TextEncoder().encode(
  "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
);

/** The frame header's size in bytes. */
export const FRAME_HEADER_BYTES = 9;
/** The smallest (and default) SETTINGS_MAX_FRAME_SIZE. */
export const DEFAULT_MAX_FRAME_SIZE = 16_384;
/** The largest SETTINGS_MAX_FRAME_SIZE. */
export const MAX_MAX_FRAME_SIZE = 16_777_215;
/** The default and initial flow-control window. */
export const DEFAULT_WINDOW = 65_535;
/** The largest flow-control window, 2^31 - 1. */
export const MAX_WINDOW = 0x7fff_ffff;

/**
 * A protocol violation. A connection error (`streamId` 0) ends the connection with GOAWAY; a
 * stream error resets only that stream with RST_STREAM.
 */
export class H2Error extends Error {
  /** The HTTP/2 error code to send. */
  readonly code: number;
  /** The stream in error, or 0 for a connection error. */
  readonly streamId: number;

  /** Creates the error. */
  constructor(code: number, message: string, streamId = 0) {
    super(message);
    this.name = "H2Error";
    this.code = code;
    this.streamId = streamId;
  }
}

/** One parsed frame. `payload` is a view that stays valid only until the next parse. */
export interface Frame {
  readonly type: number;
  readonly flags: number;
  readonly streamId: number;
  readonly payload: Uint8Array;
}

/** Encodes one frame: the 9-byte header followed by `payload`. */
export function encodeFrame(
  type: number,
  flags: number,
  streamId: number,
  payload: Uint8Array = EMPTY,
): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
  writeFrameHeader(out, 0, payload.length, type, flags, streamId);
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

/** Writes a frame header into `out` at `offset`. */
export function writeFrameHeader(
  out: Uint8Array,
  offset: number,
  length: number,
  type: number,
  flags: number,
  streamId: number,
): void {
  out[offset] = (length >>> 16) & 0xff;
  out[offset + 1] = (length >>> 8) & 0xff;
  out[offset + 2] = length & 0xff;
  out[offset + 3] = type;
  out[offset + 4] = flags;
  writeU32(out, offset + 5, streamId & MAX_WINDOW);
}

const EMPTY = new Uint8Array(0);

/** Writes a big-endian unsigned 32-bit integer. */
export function writeU32(out: Uint8Array, offset: number, value: number): void {
  out[offset] = (value >>> 24) & 0xff;
  out[offset + 1] = (value >>> 16) & 0xff;
  out[offset + 2] = (value >>> 8) & 0xff;
  out[offset + 3] = value & 0xff;
}

/** Reads a big-endian unsigned 32-bit integer. */
export function readU32(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) |
    bytes[offset + 3]!) >>> 0;
}

/** A SETTINGS frame with the given `[id, value]` pairs (or an ACK when `ack`). */
export function settingsFrame(settings: ReadonlyArray<readonly [number, number]>, ack = false) {
  const payload = new Uint8Array(ack ? 0 : settings.length * 6);
  if (!ack) {
    settings.forEach(([id, value], i) => {
      payload[i * 6] = id >>> 8;
      payload[i * 6 + 1] = id & 0xff;
      writeU32(payload, i * 6 + 2, value);
    });
  }
  return encodeFrame(FrameType.SETTINGS, ack ? Flags.ACK : 0, 0, payload);
}

/** A WINDOW_UPDATE frame. */
export function windowUpdateFrame(streamId: number, increment: number): Uint8Array {
  const payload = new Uint8Array(4);
  writeU32(payload, 0, increment & MAX_WINDOW);
  return encodeFrame(FrameType.WINDOW_UPDATE, 0, streamId, payload);
}

/** A RST_STREAM frame. */
export function rstStreamFrame(streamId: number, code: number): Uint8Array {
  const payload = new Uint8Array(4);
  writeU32(payload, 0, code);
  return encodeFrame(FrameType.RST_STREAM, 0, streamId, payload);
}

/** A PING frame carrying 8 opaque bytes. */
export function pingFrame(data: Uint8Array, ack = false): Uint8Array {
  return encodeFrame(FrameType.PING, ack ? Flags.ACK : 0, 0, data);
}

/** A GOAWAY frame with optional debug text. */
export function goawayFrame(lastStreamId: number, code: number, debug = ""): Uint8Array {
  const text = new TextEncoder().encode(debug);
  const payload = new Uint8Array(8 + text.length);
  writeU32(payload, 0, lastStreamId & MAX_WINDOW);
  writeU32(payload, 4, code);
  payload.set(text, 8);
  return encodeFrame(FrameType.GOAWAY, 0, 0, payload);
}

/**
 * HEADERS plus as many CONTINUATION frames as `maxFrameSize` needs for the header `block`, as one
 * buffer (so nothing can be written between them).
 */
export function headersFrames(
  streamId: number,
  block: Uint8Array,
  endStream: boolean,
  maxFrameSize: number,
): Uint8Array {
  const count = Math.max(1, Math.ceil(block.length / maxFrameSize));
  const out = new Uint8Array(block.length + count * FRAME_HEADER_BYTES);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const part = block.subarray(i * maxFrameSize, (i + 1) * maxFrameSize);
    const last = i === count - 1;
    const type = i === 0 ? FrameType.HEADERS : FrameType.CONTINUATION;
    let flags = last ? Flags.END_HEADERS : 0;
    if (i === 0 && endStream) flags |= Flags.END_STREAM;
    writeFrameHeader(out, offset, part.length, type, flags, streamId);
    out.set(part, offset + FRAME_HEADER_BYTES);
    offset += FRAME_HEADER_BYTES + part.length;
  }
  return out;
}

/**
 * Removes the padding of a DATA, HEADERS or PUSH_PROMISE payload (and, for HEADERS with the
 * PRIORITY flag, the 5 priority bytes, which are ignored as RFC 9113 allows).
 *
 * @throws {H2Error} PROTOCOL_ERROR when the padding is longer than the payload.
 */
export function framePayloadContent(frame: Frame): Uint8Array {
  let start = 0;
  let end = frame.payload.length;
  if ((frame.flags & Flags.PADDED) !== 0) {
    if (end < 1) throw new H2Error(ErrorCode.FRAME_SIZE_ERROR, "Padded frame without pad length");
    const pad = frame.payload[0]!;
    start = 1;
    end -= pad;
  }
  if (frame.type === FrameType.HEADERS && (frame.flags & Flags.PRIORITY) !== 0) start += 5;
  if (end < start) {
    throw new H2Error(ErrorCode.PROTOCOL_ERROR, "Padding is longer than the frame payload");
  }
  return frame.payload.subarray(start, end);
}

/**
 * Cuts a byte stream into frames. Bytes are pushed as they are read; complete frames come out.
 * A frame whose declared length exceeds `maxFrameSize` is a FRAME_SIZE_ERROR before any of its
 * payload is held.
 */
export class FrameParser {
  #buf: Uint8Array;
  #start = 0;
  #end = 0;
  /** The largest payload accepted (our SETTINGS_MAX_FRAME_SIZE). */
  maxFrameSize: number;

  /** Creates a parser with room for one frame of `maxFrameSize` plus a read. */
  constructor(maxFrameSize = DEFAULT_MAX_FRAME_SIZE) {
    this.maxFrameSize = maxFrameSize;
    this.#buf = new Uint8Array(maxFrameSize + FRAME_HEADER_BYTES + 16_384);
  }

  /** The buffer region to read into next; call {@linkcode commit} with the bytes read. */
  space(): Uint8Array {
    if (this.#start > 0 && this.#buf.length - this.#end < 16_384) {
      this.#buf.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    if (this.#buf.length - this.#end < 1024) {
      const grown = new Uint8Array(this.#buf.length * 2);
      grown.set(this.#buf.subarray(this.#start, this.#end));
      this.#end -= this.#start;
      this.#start = 0;
      this.#buf = grown;
    }
    return this.#buf.subarray(this.#end);
  }

  /** Records that `n` bytes were read into the last {@linkcode space}. */
  commit(n: number): void {
    this.#end += n;
  }

  /** Copies `bytes` in (for tests and for bytes that arrived elsewhere). */
  push(bytes: Uint8Array): void {
    let offset = 0;
    while (offset < bytes.length) {
      const space = this.space();
      const n = Math.min(space.length, bytes.length - offset);
      space.set(bytes.subarray(offset, offset + n));
      this.commit(n);
      offset += n;
    }
  }

  /** The bytes held that do not yet form a frame, for a preface check. */
  get buffered(): Uint8Array {
    return this.#buf.subarray(this.#start, this.#end);
  }

  /** Drops `n` leading bytes (the connection preface). */
  skip(n: number): void {
    this.#start += n;
  }

  /**
   * The next complete frame, or undefined when more bytes are needed. The payload is a view into
   * the parser's buffer: valid until the next {@linkcode space} call.
   *
   * @throws {H2Error} FRAME_SIZE_ERROR when a frame is larger than `maxFrameSize`.
   */
  next(): Frame | undefined {
    const available = this.#end - this.#start;
    if (available < FRAME_HEADER_BYTES) return undefined;
    const b = this.#buf;
    const s = this.#start;
    const length = (b[s]! << 16) | (b[s + 1]! << 8) | b[s + 2]!;
    if (length > this.maxFrameSize) {
      throw new H2Error(
        ErrorCode.FRAME_SIZE_ERROR,
        `Frame of ${length} bytes exceeds the maximum frame size ${this.maxFrameSize}`,
      );
    }
    if (available < FRAME_HEADER_BYTES + length) return undefined;
    const frame: Frame = {
      type: b[s + 3]!,
      flags: b[s + 4]!,
      streamId: readU32(b, s + 5) & MAX_WINDOW,
      payload: b.subarray(s + FRAME_HEADER_BYTES, s + FRAME_HEADER_BYTES + length),
    };
    this.#start += FRAME_HEADER_BYTES + length;
    if (this.#start === this.#end) this.#start = this.#end = 0;
    return frame;
  }
}
