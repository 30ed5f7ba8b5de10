/**
 * One HTTP/2 connection (RFC 9113) over a byte socket, for either side: the preface and SETTINGS
 * exchange, stream states, HPACK header blocks with CONTINUATION, flow control in both
 * directions, PING (answered, and sent as keepalive), GOAWAY (graceful and on error) and
 * RST_STREAM. Protocol violations end the stream or the connection as the RFC says, and nothing
 * the peer sends can throw out of the connection: every failure closes at most this connection.
 *
 * Defences: a cap on concurrent streams (extra ones are refused with REFUSED_STREAM), windows that
 * bound what the peer may send, a bounded write queue (the socket is not read while the peer does
 * not read what we send), header block and header list limits, per-second limits on SETTINGS,
 * PING, RST_STREAM and empty DATA frames (ENHANCE_YOUR_CALM), and timeouts for the preface, the
 * SETTINGS acknowledgement, keepalive answers and idle connections.
 *
 * @module
 */
import {
  CLIENT_PREFACE,
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_WINDOW,
  ErrorCode,
  errorCodeName,
  Flags,
  type Frame,
  FRAME_HEADER_BYTES,
  FrameParser,
  framePayloadContent,
  FrameType,
  goawayFrame,
  H2Error,
  headersFrames,
  MAX_MAX_FRAME_SIZE,
  MAX_WINDOW,
  pingFrame,
  readU32,
  rstStreamFrame,
  SettingId,
  settingsFrame,
  windowUpdateFrame,
  writeFrameHeader,
} from "./frames.ts";
import { type HeaderField, HpackDecoder, HpackEncoder } from "./hpack.ts";

type Timer = ReturnType<typeof setTimeout>;

/** How long a gracefully closing connection keeps reading for the peer's own close. */
const LINGER_MS = 1000;

/** The byte transport under a connection; `Deno.Conn` and `Deno.TlsConn` are ones. */
export interface H2Socket {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  close(): void;
  /**
   * Ends the write side (TCP FIN) and keeps reading. Without it a graceful close closes at once,
   * and a peer whose request crossed the GOAWAY may see a reset instead of the GOAWAY.
   */
  closeWrite?(): Promise<void>;
}

/** How the server polices client pings (gRPC's keepalive enforcement policy). */
export interface PingPolicy {
  /** Pings closer together than this are strikes. */
  readonly minTimeMs: number;
  /** Pings while no stream is open are allowed (else each is a strike). */
  readonly permitWithoutStream: boolean;
  /** Strikes tolerated before GOAWAY ENHANCE_YOUR_CALM. @default 2 */
  readonly maxStrikes?: number;
}

/** Options of {@linkcode H2Connection}. */
export interface H2ConnectionOptions {
  /** Which side of the connection this is. */
  readonly role: "server" | "client";
  /** Streams the peer may open at once (advertised; more are refused). @default 100 */
  readonly maxConcurrentStreams?: number;
  /** The receive window of each stream. @default 1 MiB */
  readonly initialWindowSize?: number;
  /** The receive window of the connection. @default 8 MiB */
  readonly connectionWindowSize?: number;
  /** The largest frame payload we accept. @default 16384 */
  readonly maxFrameSize?: number;
  /** The largest decoded header list we accept, in RFC 9113 bytes. @default 65536 */
  readonly maxHeaderListSize?: number;
  /** Time for the peer's preface and first SETTINGS. @default 10000 */
  readonly prefaceTimeoutMs?: number;
  /** Time for the peer to acknowledge our SETTINGS. @default 10000 */
  readonly settingsTimeoutMs?: number;
  /** Send a PING after this long without reading anything; 0 never. @default 0 */
  readonly keepaliveTimeMs?: number;
  /** Close when a keepalive PING is not answered within this. @default 20000 */
  readonly keepaliveTimeoutMs?: number;
  /** Send keepalive PINGs also while no stream is open. @default false */
  readonly keepaliveWithoutStreams?: boolean;
  /** Close gracefully after this long with no open stream; 0 never. @default 0 */
  readonly idleTimeoutMs?: number;
  /** Close gracefully after this long in any case; 0 never. @default 0 */
  readonly maxAgeMs?: number;
  /** After a graceful close for age, how long streams may finish; 0 forever. @default 0 */
  readonly maxAgeGraceMs?: number;
  /** Police client PINGs (server side). */
  readonly pingPolicy?: PingPolicy | undefined;
  /** RST_STREAM frames per second the peer may send for open streams. @default 200 */
  readonly maxResetsPerSecond?: number;
  /** SETTINGS or PING frames (each) per second the peer may send. @default 100 */
  readonly maxControlFramesPerSecond?: number;
  /** Bytes queued for writing above which the socket is not read. @default 1 MiB */
  readonly maxWriteBufferBytes?: number;
  /** A stream the peer opened (server side). Called once its request headers are complete. */
  readonly onStream?: ((stream: H2Stream) => void) | undefined;
  /** The connection closed; `error` says why when it was not a clean close. */
  readonly onClose?: ((error: Error | undefined) => void) | undefined;
  /** The peer sent GOAWAY. */
  readonly onGoaway?: ((lastStreamId: number, code: number) => void) | undefined;
}

/** What happens on a stream, as the application sees it. */
export interface H2StreamHandlers {
  /** Response headers (client side) or trailers; `endStream` when the peer is done. */
  onHeaders?(headers: HeaderField[], endStream: boolean): void;
  /** A piece of the body. The bytes are only valid during the call; copy what you keep. */
  onData?(chunk: Uint8Array, endStream: boolean): void;
  /** The stream closed: `code` is undefined for a normal end, else the RST_STREAM code. */
  onClose?(code: number | undefined): void;
}

const CONNECTION_HEADERS = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
]);

/** One stream of an {@linkcode H2Connection}. */
export class H2Stream {
  /** The stream identifier. */
  readonly id: number;
  /** The request headers (server side) or, once received, the response headers (client side). */
  headers: HeaderField[] = [];
  /** What happens next on this stream; set by the application. */
  handlers: H2StreamHandlers = {};
  /** @internal */
  localEnded = false;
  /** @internal */
  remoteEnded = false;
  /** @internal */
  closed = false;
  /** @internal */
  headersSent = false;
  /** @internal */
  headersReceived = false;
  /** @internal */
  sendWindow: number;
  /** @internal */
  recvWindow: number;
  /** @internal unreturned receive credit */
  recvPending = 0;
  readonly #conn: H2Connection;

  /** @internal */
  constructor(conn: H2Connection, id: number, sendWindow: number, recvWindow: number) {
    this.#conn = conn;
    this.id = id;
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
  }

  /** True once the stream is closed (ended both ways or reset). */
  get isClosed(): boolean {
    return this.closed;
  }

  /** True once the peer ended its side. */
  get isRemoteEnded(): boolean {
    return this.remoteEnded;
  }

  /** Sends headers (the response, a request's headers, or trailers with `endStream`). */
  sendHeaders(headers: readonly HeaderField[], endStream: boolean): void {
    this.#conn.sendHeadersOn(this, headers, endStream);
  }

  /**
   * Sends body bytes — one array, or parts sent one after the other as if joined — in DATA frames
   * within the flow-control windows and the peer's frame size; resolves once all are queued.
   * The frames carry views of `data`, not copies: the bytes must not change until they are
   * written, which may be after the stream closed (a reset does not unqueue them).
   */
  write(data: Uint8Array | readonly Uint8Array[], endStream = false): Promise<void> {
    return this.#conn.writeOn(this, data, endStream);
  }

  /** Resets the stream with `code`. Does nothing when it is already closed. */
  reset(code: number = ErrorCode.CANCEL): void {
    this.#conn.resetStream(this, code, true);
  }

  /** Returns `n` received bytes of flow-control credit to the peer. */
  consume(n: number): void {
    this.#conn.consumeOn(this, n);
  }
}

/** Limits events to `max` per second. */
class RateLimit {
  #count = 0;
  #since = 0;
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  /** Counts one event; false when over the limit. */
  hit(now: number): boolean {
    if (now - this.#since >= 1000) {
      this.#since = now;
      this.#count = 0;
    }
    return ++this.#count <= this.#max;
  }
}

/** Why the connection ended, as an Error for logs. */
export class H2ConnectionError extends Error {
  /** The HTTP/2 error code involved, when there is one. */
  readonly code: number | undefined;

  /** Creates the error. */
  constructor(message: string, code?: number, options?: ErrorOptions) {
    super(message, options);
    this.name = "H2ConnectionError";
    this.code = code;
  }
}

/** An HTTP/2 connection; see the module notes. Start it with {@linkcode H2Connection.start}. */
export class H2Connection {
  readonly #socket: H2Socket;
  readonly #role: "server" | "client";
  readonly #o: Required<
    Omit<H2ConnectionOptions, "onStream" | "onClose" | "onGoaway" | "pingPolicy" | "role">
  >;
  readonly #onStream: ((stream: H2Stream) => void) | undefined;
  readonly #onClose: ((error: Error | undefined) => void) | undefined;
  readonly #onGoaway: ((lastStreamId: number, code: number) => void) | undefined;
  readonly #pingPolicy: PingPolicy | undefined;
  readonly #parser: FrameParser;
  readonly #decoder = new HpackDecoder(4096);
  readonly #encoder = new HpackEncoder();
  readonly #streams = new Map<number, H2Stream>();

  // Peer settings.
  #peerMaxFrameSize = DEFAULT_MAX_FRAME_SIZE;
  #peerInitialWindow = DEFAULT_WINDOW;
  #peerMaxConcurrent = Infinity;
  #peerMaxHeaderList = Infinity;

  #connSendWindow = DEFAULT_WINDOW;
  #connRecvWindow = DEFAULT_WINDOW;
  #connRecvPending = 0;

  #lastPeerStreamId = 0;
  #nextLocalId: number;
  #prefaceDone: boolean;
  #settingsReceived = false;
  #goawaySent = false;
  #goawayReceived = false;
  #peerGoawayLastId = MAX_WINDOW;
  #closed = false;
  #closeError: Error | undefined;
  readonly #closedPromise: Promise<void>;
  #resolveClosed!: () => void;

  // Header block being assembled across CONTINUATION frames.
  #block: {
    streamId: number;
    endStream: boolean;
    parts: Uint8Array[];
    size: number;
    frames: number;
  } | undefined;

  // Writing.
  #queue: Uint8Array[] = [];
  #queued = 0;
  #writing = false;
  #drainWaiters: (() => void)[] = [];
  #windowWaiters = new Set<() => void>();
  #slotWaiters: (() => void)[] = [];

  // Timers and liveness.
  #timers = new Set<Timer>();
  #prefaceTimer: Timer | undefined;
  #settingsTimer: Timer | undefined;
  #idleTimer: Timer | undefined;
  #keepaliveTimer: Timer | undefined;
  #lastReadAt = Date.now();
  #pings = new Map<string, (rttMs: number) => void>();
  #pingCounter = 0;
  #lastPeerPingAt = 0;
  #pingStrikes = 0;
  readonly #resetLimit: RateLimit;
  readonly #settingsLimit: RateLimit;
  readonly #pingLimit: RateLimit;
  readonly #emptyDataLimit: RateLimit;

  /** Creates the connection; nothing is read or written until {@linkcode start}. */
  constructor(socket: H2Socket, options: H2ConnectionOptions) {
    this.#socket = socket;
    this.#role = options.role;
    this.#o = {
      maxConcurrentStreams: options.maxConcurrentStreams ?? 100,
      initialWindowSize: Math.min(
        MAX_WINDOW,
        Math.max(DEFAULT_WINDOW, options.initialWindowSize ?? 1 << 20),
      ),
      connectionWindowSize: Math.min(
        MAX_WINDOW,
        Math.max(DEFAULT_WINDOW, options.connectionWindowSize ?? 8 << 20),
      ),
      maxFrameSize: Math.min(
        MAX_MAX_FRAME_SIZE,
        Math.max(DEFAULT_MAX_FRAME_SIZE, options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE),
      ),
      maxHeaderListSize: options.maxHeaderListSize ?? 65_536,
      prefaceTimeoutMs: options.prefaceTimeoutMs ?? 10_000,
      settingsTimeoutMs: options.settingsTimeoutMs ?? 10_000,
      keepaliveTimeMs: options.keepaliveTimeMs ?? 0,
      keepaliveTimeoutMs: options.keepaliveTimeoutMs ?? 20_000,
      keepaliveWithoutStreams: options.keepaliveWithoutStreams ?? false,
      idleTimeoutMs: options.idleTimeoutMs ?? 0,
      maxAgeMs: options.maxAgeMs ?? 0,
      maxAgeGraceMs: options.maxAgeGraceMs ?? 0,
      maxResetsPerSecond: options.maxResetsPerSecond ?? 200,
      maxControlFramesPerSecond: options.maxControlFramesPerSecond ?? 100,
      maxWriteBufferBytes: options.maxWriteBufferBytes ?? 1 << 20,
    };
    this.#onStream = options.onStream;
    this.#onClose = options.onClose;
    this.#onGoaway = options.onGoaway;
    this.#pingPolicy = options.pingPolicy;
    this.#parser = new FrameParser(this.#o.maxFrameSize);
    this.#nextLocalId = this.#role === "client" ? 1 : 2;
    this.#prefaceDone = this.#role === "client";
    this.#resetLimit = new RateLimit(this.#o.maxResetsPerSecond);
    this.#settingsLimit = new RateLimit(this.#o.maxControlFramesPerSecond);
    this.#pingLimit = new RateLimit(this.#o.maxControlFramesPerSecond);
    this.#emptyDataLimit = new RateLimit(Math.max(100, this.#o.maxControlFramesPerSecond * 10));
    this.#closedPromise = new Promise((resolve) => this.#resolveClosed = resolve);
  }

  /** Resolves once the connection is closed and its socket released. */
  get closed(): Promise<void> {
    return this.#closedPromise;
  }

  /** True once closed. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /** When bytes last arrived from the peer (`Date.now()` time; the start, before any). */
  get lastReadAt(): number {
    return this.#lastReadAt;
  }

  /** True when no new stream can be opened (closed, or GOAWAY sent or received). */
  get isDraining(): boolean {
    return this.#closed || this.#goawaySent || this.#goawayReceived;
  }

  /**
   * Bytes queued for the socket and not yet written to it. Writers wait while this is above
   * `maxWriteBufferBytes`, so it stays within that plus one frame per writing stream.
   */
  get bufferedBytes(): number {
    return this.#queued;
  }

  /** The number of open streams. */
  get streamCount(): number {
    return this.#streams.size;
  }

  /** Sends our preface and SETTINGS and starts reading. */
  start(): void {
    const settings: [number, number][] = [
      [SettingId.MAX_CONCURRENT_STREAMS, this.#o.maxConcurrentStreams],
      [SettingId.INITIAL_WINDOW_SIZE, this.#o.initialWindowSize],
      [SettingId.MAX_HEADER_LIST_SIZE, this.#o.maxHeaderListSize],
    ];
    if (this.#o.maxFrameSize !== DEFAULT_MAX_FRAME_SIZE) {
      settings.push([SettingId.MAX_FRAME_SIZE, this.#o.maxFrameSize]);
    }
    if (this.#role === "client") {
      settings.unshift([SettingId.ENABLE_PUSH, 0]);
      this.#enqueue(CLIENT_PREFACE);
    }
    this.#enqueue(settingsFrame(settings));
    const extra = this.#o.connectionWindowSize - DEFAULT_WINDOW;
    if (extra > 0) {
      this.#enqueue(windowUpdateFrame(0, extra));
      this.#connRecvWindow += extra;
    }
    this.#settingsTimer = this.#timer(this.#o.settingsTimeoutMs, () => {
      this.#fail(new H2Error(ErrorCode.SETTINGS_TIMEOUT, "SETTINGS not acknowledged in time"));
    });
    this.#prefaceTimer = this.#timer(this.#o.prefaceTimeoutMs, () => {
      this.#destroy(new H2ConnectionError("No preface and SETTINGS from the peer in time"));
    });
    if (this.#o.keepaliveTimeMs > 0) this.#armKeepalive();
    this.#armIdle();
    if (this.#o.maxAgeMs > 0) {
      // Jitter of +-10% so connections made together do not all close together.
      const age = this.#o.maxAgeMs * (0.9 + Math.random() * 0.2);
      this.#timer(age, () => {
        this.goaway(ErrorCode.NO_ERROR, "max_age");
        if (this.#o.maxAgeGraceMs > 0) {
          this.#timer(this.#o.maxAgeGraceMs, () => this.#destroy(undefined));
        }
      });
    }
    this.#readLoop().catch((error) => this.#destroy(asError(error)));
  }

  // ---- Public operations -------------------------------------------------------------------

  /**
   * Opens a stream with request `headers` (client side), waiting while the peer's
   * MAX_CONCURRENT_STREAMS are all in use.
   *
   * @throws {H2ConnectionError} when the connection is closed or draining.
   */
  async request(headers: readonly HeaderField[], endStream: boolean): Promise<H2Stream> {
    while (!this.isDraining && this.#streams.size >= this.#peerMaxConcurrent) {
      await new Promise<void>((resolve) => this.#slotWaiters.push(resolve));
    }
    if (this.isDraining) {
      throw new H2ConnectionError(
        this.#closed ? "The connection is closed" : "The connection is going away",
        ErrorCode.REFUSED_STREAM,
        { cause: this.#closeError },
      );
    }
    const id = this.#nextLocalId;
    this.#nextLocalId += 2;
    if (id > MAX_WINDOW) throw new H2ConnectionError("Stream identifiers are exhausted");
    const stream = new H2Stream(this, id, this.#peerInitialWindow, this.#o.initialWindowSize);
    this.#streams.set(id, stream);
    this.#clearIdle();
    this.sendHeadersOn(stream, headers, endStream);
    return stream;
  }

  /** Sends a PING and resolves with the round trip in milliseconds; rejects when closed. */
  ping(): Promise<number> {
    if (this.#closed) return Promise.reject(new H2ConnectionError("The connection is closed"));
    const data = new Uint8Array(8);
    new DataView(data.buffer).setFloat64(0, ++this.#pingCounter);
    const key = keyOf(data);
    const sent = performance.now();
    return new Promise((resolve, reject) => {
      this.#pings.set(
        key,
        (rtt) => rtt < 0 ? reject(new H2ConnectionError("Closed")) : resolve(rtt),
      );
      this.#enqueue(pingFrame(data));
    }).then(() => performance.now() - sent);
  }

  /**
   * Sends GOAWAY: with NO_ERROR, streams already open finish and the connection closes when none
   * is left; with an error code, the connection closes once the frame is written.
   */
  goaway(code: number = ErrorCode.NO_ERROR, debug = ""): void {
    if (this.#closed) return;
    if (!this.#goawaySent) {
      this.#goawaySent = true;
      this.#enqueue(goawayFrame(this.#lastPeerStreamId, code, debug));
      this.#wakeSlots();
    }
    if (code !== ErrorCode.NO_ERROR) {
      this.#closeAfterFlush(
        new H2ConnectionError(`Sent GOAWAY ${errorCodeName(code)}: ${debug}`, code),
      );
    } else if (this.#streams.size === 0) {
      this.#closeAfterFlush(undefined);
    }
  }

  /** Closes the connection now: open streams are reset. */
  close(): void {
    this.#destroy(undefined);
  }

  // ---- Stream operations (called through H2Stream) -----------------------------------------

  /** @internal */
  sendHeadersOn(stream: H2Stream, headers: readonly HeaderField[], endStream: boolean): void {
    if (stream.closed || stream.localEnded || this.#closed) return;
    const block = this.#encoder.encode(headers);
    this.#enqueue(headersFrames(stream.id, block, endStream, this.#peerMaxFrameSize));
    stream.headersSent = true;
    this.#pingStrikes = 0;
    if (endStream) this.#endLocal(stream);
  }

  /** @internal */
  async writeOn(
    stream: H2Stream,
    data: Uint8Array | readonly Uint8Array[],
    endStream: boolean,
  ): Promise<void> {
    const parts: readonly Uint8Array[] = data instanceof Uint8Array ? [data] : data;
    let total = 0;
    for (const part of parts) total += part.length;
    let offset = 0; // bytes of `parts` framed so far
    let index = 0; // the part the next byte comes from
    let within = 0; // and where in it
    while (true) {
      if (stream.closed || stream.localEnded || this.#closed) {
        throw new H2ConnectionError("The stream is closed", ErrorCode.STREAM_CLOSED);
      }
      const remaining = total - offset;
      if (remaining === 0 && !endStream) return;
      const n = Math.min(
        remaining,
        stream.sendWindow,
        this.#connSendWindow,
        this.#peerMaxFrameSize,
      );
      if (n <= 0 && remaining > 0) {
        await new Promise<void>((resolve) => this.#windowWaiters.add(resolve));
        continue;
      }
      const last = offset + n === total;
      const header = new Uint8Array(FRAME_HEADER_BYTES);
      writeFrameHeader(
        header,
        0,
        n,
        FrameType.DATA,
        last && endStream ? Flags.END_STREAM : 0,
        stream.id,
      );
      stream.sendWindow -= n;
      this.#connSendWindow -= n;
      offset += n;
      this.#enqueue(header);
      // The frame's payload: views of the parts it spans, queued behind its header.
      for (let left = n; left > 0;) {
        const part = parts[index]!;
        const take = Math.min(left, part.length - within);
        if (take > 0) {
          this.#enqueue(
            take === part.length ? part : part.subarray(within, within + take),
          );
        }
        within += take;
        left -= take;
        if (within === part.length) {
          index++;
          within = 0;
        }
      }
      this.#pingStrikes = 0;
      if (last) {
        if (endStream) this.#endLocal(stream);
        return;
      }
      if (this.#queued > this.#o.maxWriteBufferBytes) await this.#drained();
    }
  }

  /** @internal */
  resetStream(stream: H2Stream, code: number, send: boolean): void {
    if (stream.closed) return;
    if (send && !this.#closed) this.#enqueue(rstStreamFrame(stream.id, code));
    this.#closeStream(stream, code);
  }

  /** @internal */
  consumeOn(stream: H2Stream, n: number): void {
    if (n <= 0 || this.#closed) return;
    this.#connRecvPending += n;
    if (this.#connRecvPending >= this.#o.connectionWindowSize / 4) {
      this.#enqueue(windowUpdateFrame(0, this.#connRecvPending));
      this.#connRecvWindow += this.#connRecvPending;
      this.#connRecvPending = 0;
    }
    if (stream.closed || stream.remoteEnded) return;
    stream.recvPending += n;
    if (stream.recvPending >= this.#o.initialWindowSize / 4) {
      this.#enqueue(windowUpdateFrame(stream.id, stream.recvPending));
      stream.recvWindow += stream.recvPending;
      stream.recvPending = 0;
    }
  }

  // ---- Reading -----------------------------------------------------------------------------

  async #readLoop(): Promise<void> {
    try {
      while (!this.#closed) {
        if (this.#queued > this.#o.maxWriteBufferBytes) await this.#drained();
        if (this.#closed) break;
        const space = this.#parser.space();
        const n = await this.#socket.read(space);
        if (n === null) {
          this.#destroy(
            this.#streams.size > 0 || !this.#goawaySent
              ? new H2ConnectionError("The peer closed the connection")
              : undefined,
          );
          return;
        }
        this.#parser.commit(n);
        this.#lastReadAt = Date.now();
        if (!this.#prefaceDone && !this.#checkPreface()) continue;
        let frame: Frame | undefined;
        while (!this.#closed && (frame = this.#parser.next()) !== undefined) {
          this.#onFrame(frame);
        }
      }
    } catch (error) {
      if (error instanceof H2Error) this.#fail(error);
      else this.#destroy(this.#closed ? undefined : asError(error));
    }
  }

  #checkPreface(): boolean {
    const have = this.#parser.buffered;
    const n = Math.min(have.length, CLIENT_PREFACE.length);
    for (let i = 0; i < n; i++) {
      if (have[i] !== CLIENT_PREFACE[i]) {
        throw new H2Error(ErrorCode.PROTOCOL_ERROR, "Invalid connection preface");
      }
    }
    if (n < CLIENT_PREFACE.length) return false;
    this.#parser.skip(CLIENT_PREFACE.length);
    this.#prefaceDone = true;
    return true;
  }

  #onFrame(frame: Frame): void {
    if (!this.#settingsReceived) {
      if (frame.type !== FrameType.SETTINGS || (frame.flags & Flags.ACK) !== 0) {
        throw new H2Error(ErrorCode.PROTOCOL_ERROR, "The first frame must be SETTINGS");
      }
    }
    if (this.#block !== undefined && frame.type !== FrameType.CONTINUATION) {
      throw new H2Error(ErrorCode.PROTOCOL_ERROR, "Expected CONTINUATION");
    }
    try {
      switch (frame.type) {
        case FrameType.DATA:
          return this.#onData(frame);
        case FrameType.HEADERS:
          return this.#onHeaders(frame);
        case FrameType.PRIORITY:
          if (frame.streamId === 0) {
            throw new H2Error(ErrorCode.PROTOCOL_ERROR, "PRIORITY on stream 0");
          }
          if (frame.payload.length !== 5) {
            throw new H2Error(ErrorCode.FRAME_SIZE_ERROR, "PRIORITY frame size", frame.streamId);
          }
          return;
        case FrameType.RST_STREAM:
          return this.#onReset(frame);
        case FrameType.SETTINGS:
          return this.#onSettings(frame);
        case FrameType.PUSH_PROMISE:
          throw new H2Error(ErrorCode.PROTOCOL_ERROR, "PUSH_PROMISE is not enabled");
        case FrameType.PING:
          return this.#onPing(frame);
        case FrameType.GOAWAY:
          return this.#onGoawayFrame(frame);
        case FrameType.WINDOW_UPDATE:
          return this.#onWindowUpdate(frame);
        case FrameType.CONTINUATION:
          return this.#onContinuation(frame);
        default:
          return; // Unknown frame types are ignored (RFC 9113 section 4.1).
      }
    } catch (error) {
      if (error instanceof H2Error && error.streamId !== 0) {
        const stream = this.#streams.get(error.streamId);
        if (stream !== undefined) this.resetStream(stream, error.code, true);
        else this.#enqueue(rstStreamFrame(error.streamId, error.code));
        return;
      }
      throw error;
    }
  }

  /** True for a stream ID the peer could have opened already (or we did). */
  #isKnownId(id: number): boolean {
    const peerInitiated = (id % 2 === 1) === (this.#role === "server");
    return peerInitiated ? id <= this.#lastPeerStreamId : id < this.#nextLocalId;
  }

  #onData(frame: Frame): void {
    const id = frame.streamId;
    if (id === 0) throw new H2Error(ErrorCode.PROTOCOL_ERROR, "DATA on stream 0");
    const length = frame.payload.length;
    if (length > this.#connRecvWindow) {
      throw new H2Error(ErrorCode.FLOW_CONTROL_ERROR, "DATA exceeds the connection window");
    }
    this.#connRecvWindow -= length;
    const stream = this.#streams.get(id);
    if (stream === undefined) {
      if (!this.#isKnownId(id)) {
        throw new H2Error(ErrorCode.PROTOCOL_ERROR, "DATA on an idle stream");
      }
      // A stream closed or reset here while the peer was still sending: drop the bytes.
      this.#returnConnCredit(length);
      return;
    }
    if (stream.remoteEnded) {
      this.#returnConnCredit(length);
      throw new H2Error(ErrorCode.STREAM_CLOSED, "DATA after END_STREAM", id);
    }
    if (!stream.headersReceived) {
      throw new H2Error(ErrorCode.PROTOCOL_ERROR, "DATA before HEADERS", id);
    }
    if (length > stream.recvWindow) {
      this.#returnConnCredit(length);
      throw new H2Error(ErrorCode.FLOW_CONTROL_ERROR, "DATA exceeds the stream window", id);
    }
    stream.recvWindow -= length;
    const content = framePayloadContent(frame);
    const end = (frame.flags & Flags.END_STREAM) !== 0;
    if (content.length === 0 && !end && !this.#emptyDataLimit.hit(Date.now())) {
      throw new H2Error(ErrorCode.ENHANCE_YOUR_CALM, "Too many empty DATA frames");
    }
    const padding = length - content.length;
    if (padding > 0) this.consumeOn(stream, padding);
    if (end) stream.remoteEnded = true;
    this.#call(stream, () => stream.handlers.onData?.(content, end));
    if (end) this.#maybeClose(stream);
  }

  #returnConnCredit(n: number): void {
    if (n === 0) return;
    this.#connRecvPending += n;
    if (this.#connRecvPending >= this.#o.connectionWindowSize / 4) {
      this.#enqueue(windowUpdateFrame(0, this.#connRecvPending));
      this.#connRecvWindow += this.#connRecvPending;
      this.#connRecvPending = 0;
    }
  }

  #onHeaders(frame: Frame): void {
    if (frame.streamId === 0) throw new H2Error(ErrorCode.PROTOCOL_ERROR, "HEADERS on stream 0");
    const content = framePayloadContent(frame);
    this.#block = {
      streamId: frame.streamId,
      endStream: (frame.flags & Flags.END_STREAM) !== 0,
      parts: [content.slice()],
      size: content.length,
      frames: 1,
    };
    this.#checkBlockSize();
    if ((frame.flags & Flags.END_HEADERS) !== 0) this.#endBlock();
  }

  #onContinuation(frame: Frame): void {
    const block = this.#block;
    if (block === undefined || block.streamId !== frame.streamId) {
      throw new H2Error(ErrorCode.PROTOCOL_ERROR, "Unexpected CONTINUATION");
    }
    block.parts.push(frame.payload.slice());
    block.size += frame.payload.length;
    block.frames++;
    this.#checkBlockSize();
    if ((frame.flags & Flags.END_HEADERS) !== 0) this.#endBlock();
  }

  #checkBlockSize(): void {
    const block = this.#block!;
    // A header block may be a little larger than the list it decodes to; anything far beyond the
    // list limit, or a flood of tiny CONTINUATION frames, is an attack.
    if (block.size > this.#o.maxHeaderListSize * 2 + 1024 || block.frames > 256) {
      throw new H2Error(ErrorCode.ENHANCE_YOUR_CALM, "Header block too large");
    }
  }

  #endBlock(): void {
    const block = this.#block!;
    this.#block = undefined;
    const bytes = block.parts.length === 1 ? block.parts[0]! : concat(block.parts, block.size);
    const decoded = this.#decoder.decode(bytes, this.#o.maxHeaderListSize);
    const id = block.streamId;
    const existing = this.#streams.get(id);
    if (existing !== undefined) {
      return this.#onStreamHeaders(existing, decoded.headers, block.endStream, decoded.size);
    }
    if (this.#isKnownId(id)) {
      // A closed stream (we may have reset it while the peer was still sending): ignore.
      return;
    }
    if (this.#role === "client") {
      throw new H2Error(ErrorCode.PROTOCOL_ERROR, "HEADERS opening a stream from the server");
    }
    if (id % 2 === 0) throw new H2Error(ErrorCode.PROTOCOL_ERROR, "Even stream ID from a client");
    this.#lastPeerStreamId = id;
    if (this.#goawaySent) return; // Streams after our GOAWAY are ignored.
    if (this.#streams.size >= this.#o.maxConcurrentStreams) {
      this.#enqueue(rstStreamFrame(id, ErrorCode.REFUSED_STREAM));
      return;
    }
    const stream = new H2Stream(this, id, this.#peerInitialWindow, this.#o.initialWindowSize);
    stream.headersReceived = true;
    stream.remoteEnded = block.endStream;
    this.#streams.set(id, stream);
    this.#clearIdle();
    if (decoded.size > this.#o.maxHeaderListSize) {
      this.sendHeadersOn(stream, [[":status", "431"]], true);
      if (!stream.closed) this.resetStream(stream, ErrorCode.NO_ERROR, true);
      return;
    }
    const problem = checkHeaders(decoded.headers, "request");
    if (problem !== undefined) throw new H2Error(ErrorCode.PROTOCOL_ERROR, problem, id);
    stream.headers = decoded.headers;
    this.#call(stream, () => this.#onStream?.(stream));
  }

  #onStreamHeaders(
    stream: H2Stream,
    headers: HeaderField[],
    endStream: boolean,
    size: number,
  ): void {
    if (stream.remoteEnded) {
      throw new H2Error(ErrorCode.STREAM_CLOSED, "HEADERS after END_STREAM", stream.id);
    }
    if (size > this.#o.maxHeaderListSize) {
      throw new H2Error(ErrorCode.PROTOCOL_ERROR, "Header list too large", stream.id);
    }
    const trailers = stream.headersReceived;
    if (!trailers && this.#role === "client") {
      const status = headers.find(([n]) => n === ":status")?.[1];
      if (status !== undefined && status.length === 3 && status[0] === "1") return; // 1xx
    }
    if (trailers && !endStream) {
      throw new H2Error(ErrorCode.PROTOCOL_ERROR, "Trailers without END_STREAM", stream.id);
    }
    const problem = checkHeaders(
      headers,
      trailers ? "trailers" : this.#role === "client" ? "response" : "request",
    );
    if (problem !== undefined) throw new H2Error(ErrorCode.PROTOCOL_ERROR, problem, stream.id);
    stream.headersReceived = true;
    if (!trailers) stream.headers = headers;
    if (endStream) stream.remoteEnded = true;
    this.#call(stream, () => stream.handlers.onHeaders?.(headers, endStream));
    if (endStream) this.#maybeClose(stream);
  }

  #onReset(frame: Frame): void {
    const id = frame.streamId;
    if (id === 0) throw new H2Error(ErrorCode.PROTOCOL_ERROR, "RST_STREAM on stream 0");
    if (frame.payload.length !== 4) {
      throw new H2Error(ErrorCode.FRAME_SIZE_ERROR, "RST_STREAM frame size");
    }
    if (!this.#isKnownId(id)) {
      throw new H2Error(ErrorCode.PROTOCOL_ERROR, "RST_STREAM on an idle stream");
    }
    const stream = this.#streams.get(id);
    if (stream === undefined) return;
    if (!this.#resetLimit.hit(Date.now())) {
      throw new H2Error(ErrorCode.ENHANCE_YOUR_CALM, "Too many stream resets");
    }
    this.#closeStream(stream, readU32(frame.payload, 0));
  }

  #onSettings(frame: Frame): void {
    if (frame.streamId !== 0) throw new H2Error(ErrorCode.PROTOCOL_ERROR, "SETTINGS on a stream");
    const p = frame.payload;
    if ((frame.flags & Flags.ACK) !== 0) {
      if (p.length !== 0) {
        throw new H2Error(ErrorCode.FRAME_SIZE_ERROR, "SETTINGS ACK with a payload");
      }
      if (this.#settingsTimer !== undefined) {
        this.#clearTimer(this.#settingsTimer);
        this.#settingsTimer = undefined;
      }
      return;
    }
    if (p.length % 6 !== 0) throw new H2Error(ErrorCode.FRAME_SIZE_ERROR, "SETTINGS frame size");
    if (this.#settingsReceived && !this.#settingsLimit.hit(Date.now())) {
      throw new H2Error(ErrorCode.ENHANCE_YOUR_CALM, "Too many SETTINGS frames");
    }
    for (let i = 0; i < p.length; i += 6) {
      const id = (p[i]! << 8) | p[i + 1]!;
      const value = readU32(p, i + 2);
      switch (id) {
        case SettingId.HEADER_TABLE_SIZE:
          this.#encoder.setMaxTableSize(value);
          break;
        case SettingId.ENABLE_PUSH:
          if (value > 1 || (value === 1 && this.#role === "client")) {
            throw new H2Error(ErrorCode.PROTOCOL_ERROR, "Invalid SETTINGS_ENABLE_PUSH");
          }
          break;
        case SettingId.MAX_CONCURRENT_STREAMS:
          this.#peerMaxConcurrent = value;
          this.#wakeSlots();
          break;
        case SettingId.INITIAL_WINDOW_SIZE: {
          if (value > MAX_WINDOW) {
            throw new H2Error(
              ErrorCode.FLOW_CONTROL_ERROR,
              "SETTINGS_INITIAL_WINDOW_SIZE too large",
            );
          }
          const delta = value - this.#peerInitialWindow;
          this.#peerInitialWindow = value;
          for (const stream of this.#streams.values()) {
            stream.sendWindow += delta;
            if (stream.sendWindow > MAX_WINDOW) {
              throw new H2Error(ErrorCode.FLOW_CONTROL_ERROR, "A stream window overflowed");
            }
          }
          this.#wakeWindows();
          break;
        }
        case SettingId.MAX_FRAME_SIZE:
          if (value < DEFAULT_MAX_FRAME_SIZE || value > MAX_MAX_FRAME_SIZE) {
            throw new H2Error(ErrorCode.PROTOCOL_ERROR, "Invalid SETTINGS_MAX_FRAME_SIZE");
          }
          this.#peerMaxFrameSize = value;
          break;
        case SettingId.MAX_HEADER_LIST_SIZE:
          this.#peerMaxHeaderList = value;
          break;
        default:
          break; // Unknown settings are ignored.
      }
    }
    this.#enqueue(settingsFrame([], true));
    if (!this.#settingsReceived) {
      this.#settingsReceived = true;
      if (this.#prefaceTimer !== undefined) {
        this.#clearTimer(this.#prefaceTimer);
        this.#prefaceTimer = undefined;
      }
    }
  }

  #onPing(frame: Frame): void {
    if (frame.streamId !== 0) throw new H2Error(ErrorCode.PROTOCOL_ERROR, "PING on a stream");
    if (frame.payload.length !== 8) {
      throw new H2Error(ErrorCode.FRAME_SIZE_ERROR, "PING frame size");
    }
    if ((frame.flags & Flags.ACK) !== 0) {
      const key = keyOf(frame.payload);
      const done = this.#pings.get(key);
      this.#pings.delete(key);
      done?.(0);
      return;
    }
    const now = Date.now();
    if (!this.#pingLimit.hit(now)) {
      throw new H2Error(ErrorCode.ENHANCE_YOUR_CALM, "Too many PING frames");
    }
    const policy = this.#pingPolicy;
    if (policy !== undefined) {
      const tooSoon = now - this.#lastPeerPingAt < policy.minTimeMs;
      const withoutStream = this.#streams.size === 0 && !policy.permitWithoutStream;
      if (withoutStream || tooSoon) {
        if (++this.#pingStrikes > (policy.maxStrikes ?? 2)) {
          this.#fail(new H2Error(ErrorCode.ENHANCE_YOUR_CALM, "too_many_pings"));
          return;
        }
      }
      this.#lastPeerPingAt = now;
    }
    this.#enqueue(pingFrame(frame.payload.slice(), true));
  }

  #onGoawayFrame(frame: Frame): void {
    if (frame.streamId !== 0) throw new H2Error(ErrorCode.PROTOCOL_ERROR, "GOAWAY on a stream");
    if (frame.payload.length < 8) {
      throw new H2Error(ErrorCode.FRAME_SIZE_ERROR, "GOAWAY frame size");
    }
    const last = readU32(frame.payload, 0) & MAX_WINDOW;
    const code = readU32(frame.payload, 4);
    this.#goawayReceived = true;
    this.#peerGoawayLastId = Math.min(this.#peerGoawayLastId, last);
    this.#wakeSlots();
    for (const stream of [...this.#streams.values()]) {
      const local = (stream.id % 2 === 1) === (this.#role === "client");
      if (local && stream.id > this.#peerGoawayLastId) {
        this.#closeStream(stream, ErrorCode.REFUSED_STREAM);
      }
    }
    try {
      this.#onGoaway?.(last, code);
    } catch {
      // The application's callback must not break the connection.
    }
    if (this.#streams.size === 0) {
      this.#closeAfterFlush(
        code === ErrorCode.NO_ERROR
          ? undefined
          : new H2ConnectionError(`The peer sent GOAWAY ${errorCodeName(code)}`, code),
      );
    }
  }

  #onWindowUpdate(frame: Frame): void {
    if (frame.payload.length !== 4) {
      throw new H2Error(ErrorCode.FRAME_SIZE_ERROR, "WINDOW_UPDATE frame size");
    }
    const increment = readU32(frame.payload, 0) & MAX_WINDOW;
    const id = frame.streamId;
    if (id === 0) {
      if (increment === 0) throw new H2Error(ErrorCode.PROTOCOL_ERROR, "WINDOW_UPDATE of 0");
      this.#connSendWindow += increment;
      if (this.#connSendWindow > MAX_WINDOW) {
        throw new H2Error(ErrorCode.FLOW_CONTROL_ERROR, "The connection window overflowed");
      }
      this.#wakeWindows();
      return;
    }
    if (!this.#isKnownId(id)) {
      throw new H2Error(ErrorCode.PROTOCOL_ERROR, "WINDOW_UPDATE on an idle stream");
    }
    const stream = this.#streams.get(id);
    if (increment === 0) throw new H2Error(ErrorCode.PROTOCOL_ERROR, "WINDOW_UPDATE of 0", id);
    if (stream === undefined) return;
    stream.sendWindow += increment;
    if (stream.sendWindow > MAX_WINDOW) {
      throw new H2Error(ErrorCode.FLOW_CONTROL_ERROR, "The stream window overflowed", id);
    }
    this.#wakeWindows();
  }

  // ---- Stream lifecycle --------------------------------------------------------------------

  #endLocal(stream: H2Stream): void {
    stream.localEnded = true;
    this.#maybeClose(stream);
  }

  #maybeClose(stream: H2Stream): void {
    if (stream.localEnded && stream.remoteEnded) this.#closeStream(stream, undefined);
  }

  #closeStream(stream: H2Stream, code: number | undefined): void {
    if (stream.closed) return;
    stream.closed = true;
    this.#streams.delete(stream.id);
    // Credit the peer used on this stream but we never returned stays with the connection.
    this.#wakeWindows();
    this.#wakeSlots();
    this.#call(stream, () => stream.handlers.onClose?.(code), false);
    if (this.#streams.size === 0) {
      if (this.#goawaySent || this.#goawayReceived) this.#closeAfterFlush(undefined);
      else this.#armIdle();
    }
  }

  /** Runs application code; a throw resets the stream instead of escaping. */
  #call(stream: H2Stream, fn: () => void, resetOnThrow = true): void {
    try {
      fn();
    } catch {
      if (resetOnThrow && !stream.closed) this.resetStream(stream, ErrorCode.INTERNAL_ERROR, true);
    }
  }

  // ---- Writing -----------------------------------------------------------------------------

  #enqueue(bytes: Uint8Array): void {
    if (this.#closed || this.#lingering) return;
    this.#queue.push(bytes);
    this.#queued += bytes.length;
    if (!this.#writing) {
      this.#writing = true;
      // The write starts after the current microtasks have run (two hops: past the continuation
      // of an `await` on something already resolved), so what this turn enqueues — a response's
      // HEADERS, DATA and trailers, answers to many streams — goes out in one write, not one each.
      queueMicrotask(() =>
        queueMicrotask(() => this.#writeLoop().catch((error) => this.#destroy(asError(error))))
      );
    }
  }

  /**
   * Writes what is queued, in order. A chunk of at least {@linkcode WRITE_CHUNK_BYTES} (or one
   * alone) is written as it is; runs of smaller ones (frame headers, control frames, the views of
   * DATA payloads) are copied into a pooled buffer of that size and written together, so a batch
   * of 16 KiB frames costs one system call per 64 KiB and no allocation.
   */
  async #writeLoop(): Promise<void> {
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        const chunks = this.#queue;
        this.#queue = [];
        let i = 0;
        while (i < chunks.length && !this.#closed) {
          const first = chunks[i]!;
          if (first.length >= WRITE_CHUNK_BYTES || i + 1 === chunks.length) {
            i++;
            await this.#writeAll(first);
            continue;
          }
          const scratch = takeScratch();
          try {
            let used = 0;
            while (i < chunks.length && used < scratch.length) {
              const chunk = chunks[i]!;
              const room = scratch.length - used;
              if (chunk.length > room) {
                if (chunk.length >= WRITE_CHUNK_BYTES) break; // written as it is, next
                scratch.set(chunk.subarray(0, room), used);
                chunks[i] = chunk.subarray(room);
                used += room;
                break;
              }
              scratch.set(chunk, used);
              used += chunk.length;
              i++;
            }
            await this.#writeAll(scratch.subarray(0, used));
          } finally {
            returnScratch(scratch);
          }
        }
      }
    } finally {
      this.#writing = false;
      this.#wakeDrain();
      const waiters = this.#flushWaiters;
      this.#flushWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Writes all of `bytes` to the socket, then counts them off the queue. */
  async #writeAll(bytes: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < bytes.length) offset += await this.#socket.write(bytes.subarray(offset));
    if (this.#closed) return; // #destroy reset the count already
    this.#queued -= bytes.length;
    if (this.#queued <= this.#o.maxWriteBufferBytes) this.#wakeDrain();
  }

  #drained(): Promise<void> {
    if (this.#queued <= this.#o.maxWriteBufferBytes || this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  #wakeDrain(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const w of waiters) w();
  }

  #wakeWindows(): void {
    const waiters = [...this.#windowWaiters];
    this.#windowWaiters.clear();
    for (const w of waiters) w();
  }

  #wakeSlots(): void {
    const waiters = this.#slotWaiters;
    this.#slotWaiters = [];
    for (const w of waiters) w();
  }

  // ---- Closing -----------------------------------------------------------------------------

  /** Sends GOAWAY for a connection error and closes. */
  #fail(error: H2Error): void {
    if (this.#closed) return;
    if (!this.#goawaySent) {
      this.#goawaySent = true;
      this.#enqueue(goawayFrame(this.#lastPeerStreamId, error.code, error.message));
    }
    this.#closeAfterFlush(
      new H2ConnectionError(`${errorCodeName(error.code)}: ${error.message}`, error.code, {
        cause: error,
      }),
    );
  }

  #closing = false;

  #lingering = false;

  /**
   * Closes once what is queued is written (at most 1 s later). A graceful close after our GOAWAY
   * lingers: see {@linkcode H2Connection.#linger}.
   */
  #closeAfterFlush(error: Error | undefined): void {
    if (this.#closed || this.#closing) return;
    this.#closing = true;
    const end = error === undefined && this.#goawaySent
      ? () => this.#linger()
      : () => this.#destroy(error);
    if (!this.#writing) return end();
    const timer = this.#timer(1000, () => this.#destroy(error));
    this.#flushWaiters.push(() => {
      this.#clearTimer(timer);
      end();
    });
  }

  /**
   * After a graceful GOAWAY is written: half-closes and keeps reading (and discarding: streams
   * past the GOAWAY are ignored, nothing more is written) until the peer closes too, at most
   * {@linkcode LINGER_MS}. Closing at once with the peer's unread bytes in the socket (a request
   * that crossed our idle GOAWAY) makes the kernel send a reset that can overtake the GOAWAY, and
   * the peer sees "connection closed" for a request it could have safely sent again elsewhere.
   */
  #linger(): void {
    if (this.#closed) return;
    const closeWrite = this.#socket.closeWrite?.bind(this.#socket);
    if (closeWrite === undefined) return this.#destroy(undefined);
    this.#lingering = true;
    this.#queue = [];
    this.#queued = 0;
    this.#timer(LINGER_MS, () => this.#destroy(undefined));
    closeWrite().catch(() => this.#destroy(undefined));
  }

  #flushWaiters: (() => void)[] = [];

  #destroy(error: Error | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeError = error;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    try {
      this.#socket.close();
    } catch {
      // Already closed.
    }
    this.#queue = [];
    this.#queued = 0;
    for (const stream of [...this.#streams.values()]) this.#closeStream(stream, ErrorCode.CANCEL);
    for (const done of this.#pings.values()) done(-1);
    this.#pings.clear();
    this.#wakeDrain();
    this.#wakeWindows();
    this.#wakeSlots();
    try {
      this.#onClose?.(error);
    } catch {
      // The application's callback must not break the close.
    }
    this.#resolveClosed();
  }

  // ---- Timers ------------------------------------------------------------------------------

  #timer(ms: number, fn: () => void): Timer | undefined {
    if (this.#closed) return undefined;
    const id = setTimeout(() => {
      this.#timers.delete(id);
      try {
        fn();
      } catch (error) {
        this.#destroy(asError(error));
      }
    }, ms);
    this.#timers.add(id);
    return id;
  }

  #clearTimer(id: Timer | undefined): void {
    if (id === undefined) return;
    clearTimeout(id);
    this.#timers.delete(id);
  }

  #clearIdle(): void {
    if (this.#idleTimer !== undefined) {
      this.#clearTimer(this.#idleTimer);
      this.#idleTimer = undefined;
    }
  }

  #armIdle(): void {
    this.#clearIdle();
    if (this.#o.idleTimeoutMs <= 0 || this.#closed) return;
    this.#idleTimer = this.#timer(this.#o.idleTimeoutMs, () => {
      this.#idleTimer = undefined;
      if (this.#streams.size === 0) this.goaway(ErrorCode.NO_ERROR, "max_idle");
    });
  }

  #armKeepalive(): void {
    const time = this.#o.keepaliveTimeMs;
    const check = () => {
      this.#keepaliveTimer = undefined;
      if (this.#closed) return;
      const quiet = Date.now() - this.#lastReadAt;
      if (quiet < time) {
        this.#keepaliveTimer = this.#timer(time - quiet, check);
        return;
      }
      if (this.#streams.size === 0 && !this.#o.keepaliveWithoutStreams) {
        this.#keepaliveTimer = this.#timer(time, check);
        return;
      }
      const deadline = this.#timer(this.#o.keepaliveTimeoutMs, () => {
        this.#destroy(new H2ConnectionError("Keepalive PING not answered in time"));
      });
      this.ping().then(() => {
        this.#clearTimer(deadline);
        this.#keepaliveTimer = this.#timer(time, check);
      }, () => this.#clearTimer(deadline));
    };
    this.#keepaliveTimer = this.#timer(time, check);
  }

  /** The peer's SETTINGS_MAX_HEADER_LIST_SIZE (for callers that want to check). */
  get peerMaxHeaderListSize(): number {
    return this.#peerMaxHeaderList;
  }
}

/** The size of the buffers the write loop coalesces small chunks into. */
const WRITE_CHUNK_BYTES = 64 * 1024;
/** Coalescing buffers kept for reuse; one is in use per connection while it writes. */
const scratchPool: Uint8Array[] = [];
const SCRATCH_POOL_MAX = 4;

function takeScratch(): Uint8Array {
  return scratchPool.pop() ?? new Uint8Array(WRITE_CHUNK_BYTES);
}

function returnScratch(buffer: Uint8Array): void {
  if (scratchPool.length < SCRATCH_POOL_MAX) scratchPool.push(buffer);
}

function keyOf(data: Uint8Array): string {
  return Array.from(data, (b) => b.toString(16).padStart(2, "0")).join("");
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * Checks a header list against RFC 9113 section 8.2 and 8.3; returns what is wrong, if anything.
 */
export function checkHeaders(
  headers: readonly HeaderField[],
  kind: "request" | "response" | "trailers",
): string | undefined {
  let regular = false;
  const pseudo = new Set<string>();
  for (const [name, value] of headers) {
    if (name.length === 0) return "Empty header name";
    if (name !== name.toLowerCase()) return `Header name "${name}" is not lower case`;
    if (name[0] === ":") {
      if (regular) return "Pseudo-header after a regular header";
      if (kind === "trailers") return "Pseudo-header in trailers";
      const allowed = kind === "request"
        ? name === ":method" || name === ":scheme" || name === ":path" || name === ":authority"
        : name === ":status";
      if (!allowed) return `Unknown pseudo-header "${name}"`;
      if (pseudo.has(name)) return `Duplicate pseudo-header "${name}"`;
      pseudo.add(name);
      continue;
    }
    regular = true;
    if (CONNECTION_HEADERS.has(name)) return `Connection-specific header "${name}"`;
    if (name === "te" && value !== "trailers") return 'Header "te" other than "trailers"';
  }
  if (kind === "request") {
    if (!pseudo.has(":method")) return "Missing :method";
    if (!pseudo.has(":scheme") || !pseudo.has(":path")) return "Missing :scheme or :path";
  }
  if (kind === "response" && !pseudo.has(":status")) return "Missing :status";
  return undefined;
}
