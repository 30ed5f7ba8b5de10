/**
 * A gRPC server for unary methods whose requests and responses stay raw protobuf bytes, on tfo's
 * own HTTP/2 (`lib/net/h2/`) over Deno's TCP and TLS sockets. Nothing a client sends can end the
 * process: a malformed frame, a reset or a vanished socket closes that stream or connection only.
 *
 * Per call: `:path` routing (unknown methods `UNIMPLEMENTED`), `content-type: application/grpc`
 * required (else HTTP 415), one length-prefixed request message refused `RESOURCE_EXHAUSTED`
 * before it is buffered when over `maxRecvMsgBytes` (compressed or decompressed), `grpc-encoding`
 * gzip, deflate and zstd with a bounded decompressor, `grpc-timeout` deadlines, and errors as
 * Trailers-Only responses with `grpc-status-details-bin`. Per connection: at most
 * `maxConcurrentStreams` calls (more are refused with REFUSED_STREAM), a bounded number of request
 * bytes held (and across connections and servers, `inFlight`), keepalive pings and their enforcement policy, idle and age limits. Shutdown sends
 * GOAWAY, lets calls in progress finish, then closes.
 *
 * @module
 */
import { decompress, parseContentCoding } from "./compression.ts";
import { BodyTooLargeError } from "./body.ts";
import { listenError } from "./listen_error.ts";
import { QUEUE_DRAIN_MS, registerSharedPortServer } from "./drain.ts";
import {
  type ServerConn,
  type ServerTlsContext,
  serverTlsContext,
  TlsServerConn,
} from "./tls_server_conn.ts";
import { encodeRpcStatus, GrpcCode } from "./rpc_status.ts";
import { IN_FLIGHT_RETRY_MS, type InFlightBytes } from "./in_flight_bytes.ts";
import { H2Connection, type H2Socket, type H2Stream } from "./h2/connection.ts";
import { ErrorCode } from "./h2/frames.ts";
import type { HeaderField } from "./h2/hpack.ts";
import type { BufferLease } from "../pdata/buffer_pool.ts";
import type { SlabPool } from "../pdata/slab_pool.ts";
import {
  decodeBinaryHeader,
  encodeBinaryHeader,
  encodeGrpcMessage,
  frameMessage,
  GRPC_ACCEPT_ENCODING,
  GrpcWireError,
  isGrpcContentType,
  MessageReader,
  parseGrpcTimeout,
} from "./h2/grpc_wire.ts";

/** One unary call as a handler sees it. */
export interface GrpcCall {
  /** The request message, still encoded. */
  readonly request: Uint8Array;
  /**
   * When `request` lies in a pooled slab (`GrpcServerOptions.pooledRequests`): the server's lease
   * on it, released once the handler's promise settled. A handler that leaves the bytes with a
   * holder that reads them later retains it first (the holder releases it when done).
   */
  readonly lease?: BufferLease | undefined;
  /** The peer address, `host:port`. */
  readonly peer: string;
  /** The call's metadata, keys in lower case; binary (`-bin`) values in base64. Built on demand. */
  metadata(): Map<string, string[]>;
}

/** Answers one unary call with the encoded response, or throws (a {@linkcode GrpcError} ideally). */
export type GrpcUnaryHandler = (call: GrpcCall) => Promise<Uint8Array>;

/** Options of {@linkcode GrpcError}. */
export interface GrpcErrorOptions extends ErrorOptions {
  /** Adds a `google.rpc.RetryInfo` detail with this delay. */
  retryAfterMs?: number | undefined;
}

/** A failed call with its gRPC status code. */
export class GrpcError extends Error {
  /** The gRPC status code. */
  readonly code: number;
  /** The retry delay sent as `google.rpc.RetryInfo`, if any. */
  readonly retryAfterMs: number | undefined;

  /** Creates the error; the message becomes the status details. */
  constructor(code: number, message: string, options: GrpcErrorOptions = {}) {
    super(message, options);
    this.name = "GrpcError";
    this.code = code;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** Keepalive settings, in milliseconds; each one left out keeps grpc-go's default. */
export interface GrpcKeepalive {
  /** Ping a connection after this long without a frame from it. @default 2 h */
  readonly timeMs?: number | undefined;
  /** Close the connection when a ping is not answered within this. @default 20 s */
  readonly timeoutMs?: number | undefined;
  /** Close a connection without calls for this long (GOAWAY). @default never */
  readonly maxConnectionIdleMs?: number | undefined;
  /** Close a connection this old (GOAWAY, then the grace period). @default never */
  readonly maxConnectionAgeMs?: number | undefined;
  /** How long calls may finish on a connection closed for its age. @default forever */
  readonly maxConnectionAgeGraceMs?: number | undefined;
  /** Client pings closer together than this are strikes (3 end the connection). @default 5 min */
  readonly minTimeMs?: number | undefined;
  /** Allow client pings with no call in progress. @default false */
  readonly permitWithoutStream?: boolean | undefined;
}

/** TLS material, PEM-encoded. */
export interface GrpcTls {
  readonly cert: Uint8Array;
  readonly key: Uint8Array;
  /** Client certificates are not supported by Deno's TLS server: setting this fails the start. */
  readonly clientCa?: Uint8Array | undefined;
}

/** Options of {@linkcode serveGrpc}. */
export interface GrpcServerOptions {
  /** Address to listen on. */
  readonly hostname: string;
  /** Port to listen on; 0 picks a free one. */
  readonly port: number;
  /**
   * Sets `SO_REUSEPORT` (needs `--unstable-net`): several workers listen on one port and the
   * kernel spreads connections over them. @default false
   */
  readonly reusePort?: boolean | undefined;
  /** The largest request message, compressed or decompressed, in bytes. */
  readonly maxRecvMsgBytes: number;
  /** The most concurrent calls per connection; 0 or unset means 100. @default 100 */
  readonly maxConcurrentStreams?: number | undefined;
  readonly keepalive?: GrpcKeepalive | undefined;
  /** Serves TLS (ALPN `h2`) when set, plaintext (h2c) otherwise. */
  readonly tls?: GrpcTls | undefined;
  /**
   * Time a new connection has from its accept for the TLS handshake, the client preface and the
   * first SETTINGS (grpc-go's connection timeout); the connection is closed past it.
   * @default 10000
   */
  readonly prefaceTimeoutMs?: number | undefined;
  /** Request bytes one connection may hold at once. @default max(64 MiB, 4 x maxRecvMsgBytes) */
  readonly maxConnectionBufferBytes?: number | undefined;
  /**
   * A bound on request bytes shared with other servers: a call holds its message (and its
   * decompressed form) there from the moment its length is known until it is answered, and a call
   * that does not fit is answered `UNAVAILABLE` with a retry delay before its message is read.
   * @default none
   */
  readonly inFlight?: InFlightBytes | undefined;
  /** Called with errors a handler threw that are not {@linkcode GrpcError}s. */
  readonly onUnexpectedError?: ((error: unknown) => void) | undefined;
  /**
   * Request messages of `methods` are cut from `slabs` when they fit, and handed to the handler
   * with their lease ({@linkcode GrpcCall.lease}). @default every message in an array of its own
   */
  readonly pooledRequests?: {
    readonly slabs: SlabPool;
    readonly methods: ReadonlySet<string>;
  } | undefined;
}

/** A listening gRPC server. */
export interface GrpcServer {
  /** The port it listens on. */
  readonly port: number;
  /** Stops accepting calls, lets calls in progress finish, then closes. Safe to call twice. */
  shutdown(): Promise<void>;
}

const DEFAULT_STREAMS = 100;
const decoder = new TextDecoder();

/** What the calls of one connection share. */
interface ConnContext {
  readonly peer: string;
  /** Request bytes held by this connection's calls. */
  held: number;
}

/**
 * Starts a gRPC server for `methods` (full paths such as
 * `/opentelemetry.proto.collector.trace.v1.TraceService/Export`) and resolves once it listens.
 *
 * @throws {Error} `Cannot listen on host:port: address already in use` and the like.
 */
export function serveGrpc(
  options: GrpcServerOptions,
  methods: ReadonlyMap<string, GrpcUnaryHandler>,
): Promise<GrpcServer> {
  const endpoint = options.hostname.includes(":")
    ? `[${options.hostname}]:${options.port}`
    : `${options.hostname}:${options.port}`;
  if (options.tls?.clientCa !== undefined) {
    return Promise.reject(
      new Error(
        "tls.client_ca_file is not supported on gRPC: Deno's TLS server cannot request client " +
          "certificates",
      ),
    );
  }
  let listener: Deno.Listener;
  let tlsContext: ServerTlsContext | undefined;
  try {
    // TLS runs over plain TCP (tls_server_conn.ts) so that the deadline closes a stalled handshake.
    tlsContext = options.tls === undefined ? undefined : serverTlsContext({
      cert: decoder.decode(options.tls.cert),
      key: decoder.decode(options.tls.key),
      alpnProtocols: ["h2"],
    });
    listener = Deno.listen({
      hostname: options.hostname,
      port: options.port,
      ...(options.reusePort ? { reusePort: true } : {}),
    });
  } catch (error) {
    return Promise.reject(listenError(endpoint, error));
  }
  const port = (listener.addr as Deno.NetAddr).port;
  const connections = new Set<H2Connection>();
  /** TLS connections whose handshake is in progress; shutdown closes them. */
  const handshaking = new Set<TlsServerConn>();
  let stopping = false;
  /** Calls waiting for their answer. */
  const calls = new Set<UnaryCall>();
  /** The retry delay of the refusals, once the isolate drains (shared ports only). */
  let refusing: number | undefined;
  const closeListener = () => {
    try {
      listener.close();
    } catch {
      // Already closed.
    }
  };
  // A server on a shared port drains with its isolate (drain.ts): the listener closes so the
  // kernel hands new connections to the other workers; GOAWAY sends each client's next call to a
  // new connection, and calls that still arrive (on connections accepted meanwhile) are answered
  // UNAVAILABLE.
  const unregister = options.reusePort
    ? registerSharedPortServer({
      refuseNew(retryAfterMs) {
        refusing = retryAfterMs;
        // The accept loop takes what the kernel already queued on this listener first (a queued
        // connection is reset when its listener closes; they are answered 503 / UNAVAILABLE).
        setTimeout(closeListener, QUEUE_DRAIN_MS);
        for (const c of connections) c.goaway(ErrorCode.NO_ERROR, "worker restarting");
      },
      refuseInFlight(retryAfterMs) {
        for (const call of calls) call.refuse(retryAfterMs);
      },
    })
    : undefined;
  const budget = options.maxConnectionBufferBytes ??
    Math.max(64 << 20, 4 * options.maxRecvMsgBytes);

  const accepting = (async () => {
    while (!stopping) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (stopping || error instanceof Deno.errors.BadResource) return;
        // A failed accept (for example out of file descriptors) must not stop the server.
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      if (stopping) {
        conn.close();
        return;
      }
      serveConnection(conn).catch(() => {});
    }
  })();

  async function serveConnection(tcp: Deno.Conn): Promise<void> {
    const accepted = performance.now();
    const prefaceTimeoutMs = positive(options.prefaceTimeoutMs) ?? 10_000;
    try {
      (tcp as Deno.TcpConn).setNoDelay(true);
    } catch {
      // Not a TCP socket option this conn supports.
    }
    let conn: ServerConn = tcp;
    if (tlsContext !== undefined) {
      // As grpc-go's connection timeout, one deadline from the accept covers the TLS handshake
      // and the HTTP/2 preface; closing a TlsServerConn closes its socket in any handshake state.
      const tlsConn = new TlsServerConn(tcp, tlsContext);
      conn = tlsConn;
      handshaking.add(tlsConn);
      const timer = setTimeout(() => tlsConn.close(), prefaceTimeoutMs);
      try {
        const info = await tlsConn.handshake();
        if (info.alpnProtocol !== null && info.alpnProtocol !== "h2") throw new Error("Not h2");
      } catch {
        tlsConn.close();
        return;
      } finally {
        clearTimeout(timer);
        handshaking.delete(tlsConn);
      }
    }
    if (stopping) {
      conn.close();
      return;
    }
    const ctx: ConnContext = { peer: peerOf(conn.remoteAddr), held: 0 };
    const k = options.keepalive ?? {};
    const h2 = new H2Connection(conn as H2Socket, {
      role: "server",
      prefaceTimeoutMs: Math.max(1, prefaceTimeoutMs - (performance.now() - accepted)),
      maxConcurrentStreams: positive(options.maxConcurrentStreams) ?? DEFAULT_STREAMS,
      keepaliveTimeMs: positive(k.timeMs) ?? 2 * 3_600_000,
      keepaliveTimeoutMs: positive(k.timeoutMs) ?? 20_000,
      keepaliveWithoutStreams: true,
      idleTimeoutMs: positive(k.maxConnectionIdleMs) ?? 0,
      maxAgeMs: positive(k.maxConnectionAgeMs) ?? 0,
      maxAgeGraceMs: positive(k.maxConnectionAgeGraceMs) ?? 0,
      pingPolicy: {
        minTimeMs: k.minTimeMs ?? 5 * 60_000,
        permitWithoutStream: k.permitWithoutStream ?? false,
      },
      onStream: (stream) => handleStream(stream, ctx),
    });
    connections.add(h2);
    h2.start();
    await h2.closed;
    connections.delete(h2);
  }

  function handleStream(stream: H2Stream, ctx: ConnContext): void {
    const call = new UnaryCall(stream, ctx, methods, options, budget, calls);
    if (refusing !== undefined) return call.refuse(refusing);
    call.start();
  }

  let closed: Promise<void> | undefined;
  return Promise.resolve({
    port,
    shutdown() {
      closed ??= (async () => {
        stopping = true;
        try {
          listener.close();
        } catch {
          // Already closed.
        }
        await accepting;
        for (const c of handshaking) c.close();
        for (const c of connections) c.goaway(ErrorCode.NO_ERROR, "server shutdown");
        await Promise.all([...connections].map((c) => c.closed));
        unregister?.();
      })();
      return closed;
    },
  });
}

function positive(v: number | undefined): number | undefined {
  return v !== undefined && v > 0 ? v : undefined;
}

function peerOf(addr: Deno.Addr): string {
  if (addr.transport !== "tcp" && addr.transport !== "udp") return "unknown";
  return addr.hostname.includes(":")
    ? `[${addr.hostname}]:${addr.port}`
    : `${addr.hostname}:${addr.port}`;
}

/** Headers a handler does not see as metadata (grpc-js hides the same ones). */
const NOT_METADATA = new Set([
  "grpc-timeout",
  "grpc-encoding",
  "grpc-accept-encoding",
  "accept-encoding",
  "te",
  "content-type",
]);

/** The metadata of a call from its request headers. */
function metadataOf(headers: readonly HeaderField[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [name, value] of headers) {
    if (name.startsWith(":") || NOT_METADATA.has(name)) continue;
    let v = value;
    if (name.endsWith("-bin")) {
      const bytes = decodeBinaryHeader(value);
      if (bytes === undefined) continue;
      const unpadded = encodeBinaryHeader(bytes);
      v = unpadded + "=".repeat((4 - (unpadded.length % 4)) % 4);
    }
    const list = out.get(name);
    if (list === undefined) out.set(name, [v]);
    else list.push(v);
  }
  return out;
}

/** One unary call on one stream, from its headers to its trailers. */
class UnaryCall {
  readonly #stream: H2Stream;
  readonly #ctx: ConnContext;
  readonly #methods: ReadonlyMap<string, GrpcUnaryHandler>;
  readonly #options: GrpcServerOptions;
  readonly #budget: number;
  #reader: MessageReader;
  /** True while the handler may read the request: its slab lease is released after that. */
  #running = false;
  #held = 0;
  /** Bytes charged to `options.inFlight`. */
  #shared = 0;
  #done = false;
  #deadline: ReturnType<typeof setTimeout> | undefined;
  #coding: ReturnType<typeof parseContentCoding> = "identity";
  #handler: GrpcUnaryHandler | undefined;
  /** The server's calls waiting for their answer; this one is there until it finishes. */
  readonly #calls: Set<UnaryCall>;

  constructor(
    stream: H2Stream,
    ctx: ConnContext,
    methods: ReadonlyMap<string, GrpcUnaryHandler>,
    options: GrpcServerOptions,
    budget: number,
    calls: Set<UnaryCall>,
  ) {
    this.#stream = stream;
    this.#ctx = ctx;
    this.#methods = methods;
    this.#options = options;
    this.#budget = budget;
    const pooled = options.pooledRequests;
    const path = pooled === undefined
      ? undefined
      : stream.headers.find(([n]) => n === ":path")?.[1];
    this.#reader = new MessageReader(
      options.maxRecvMsgBytes,
      1,
      path !== undefined && pooled!.methods.has(path) ? pooled!.slabs : undefined,
    );
    this.#calls = calls;
  }

  /** Answers `UNAVAILABLE` with a retry delay now, whatever the handler answers later. */
  refuse(retryAfterMs: number): void {
    this.#fail(
      GrpcCode.UNAVAILABLE,
      "This worker is restarting; retry",
      Math.max(1, retryAfterMs),
    );
  }

  start(): void {
    this.#calls.add(this);
    const stream = this.#stream;
    stream.handlers = {
      onData: (chunk, end) => this.#onData(chunk, end),
      onClose: (code) => {
        if (code !== undefined) this.#finish(); // reset by the client or the connection
      },
    };
    const first = (name: string) => stream.headers.find(([n]) => n === name)?.[1];
    if (first(":method") !== "POST") {
      return this.#httpError(405, GrpcCode.INTERNAL, "gRPC requires the POST method");
    }
    const contentType = first("content-type");
    if (!isGrpcContentType(contentType)) {
      return this.#httpError(
        415,
        GrpcCode.INVALID_ARGUMENT,
        `Invalid gRPC request content-type "${contentType ?? ""}"`,
      );
    }
    const path = first(":path") ?? "";
    this.#handler = this.#methods.get(path);
    if (this.#handler === undefined) {
      return this.#fail(GrpcCode.UNIMPLEMENTED, `Unknown method ${path}`);
    }
    const encoding = first("grpc-encoding");
    const coding = encoding === undefined ? "identity" : parseContentCoding(encoding);
    if (coding === undefined || encoding === "x-gzip") {
      return this.#fail(
        GrpcCode.UNIMPLEMENTED,
        `Unsupported grpc-encoding "${encoding}" (supported: ${GRPC_ACCEPT_ENCODING})`,
      );
    }
    this.#coding = coding;
    const timeout = first("grpc-timeout");
    if (timeout !== undefined) {
      const ms = parseGrpcTimeout(timeout);
      if (ms === undefined) {
        return this.#fail(GrpcCode.INTERNAL, `Malformed grpc-timeout "${timeout}"`);
      }
      this.#deadline = setTimeout(() => {
        this.#deadline = undefined;
        this.#fail(GrpcCode.DEADLINE_EXCEEDED, "Deadline exceeded");
      }, ms);
    }
    if (stream.isRemoteEnded) this.#onData(new Uint8Array(0), true);
  }

  #onData(chunk: Uint8Array, end: boolean): void {
    this.#stream.consume(chunk.length);
    if (this.#done) return;
    if (chunk.length > 0) {
      try {
        this.#reader.push(chunk);
      } catch (error) {
        if (error instanceof GrpcWireError) return this.#fail(error.code, error.message);
        throw error;
      }
      this.#hold();
      if (this.#done) return;
    }
    if (!end) return;
    const [message] = this.#reader.messages;
    if (this.#reader.partial) return this.#fail(GrpcCode.INTERNAL, "Truncated request message");
    if (message === undefined) return this.#fail(GrpcCode.INTERNAL, "No request message");
    if (message.compressed && this.#coding === "identity") {
      return this.#fail(
        GrpcCode.INTERNAL,
        "Compressed flag set on a message without grpc-encoding",
      );
    }
    this.#running = true;
    this.#run(message.compressed, message.data, message.lease).catch((error) => {
      this.#fail(GrpcCode.INTERNAL, error instanceof Error ? error.message : String(error));
    }).finally(() => {
      // Nothing reads the request any more: its slab may be cut again.
      this.#running = false;
      this.#reader.releaseLeases();
    });
  }

  /** Counts what the reader allocated against the connection's budget. */
  #hold(): void {
    const allocated = this.#reader.allocated;
    const delta = allocated - this.#held;
    if (delta <= 0) return;
    this.#held = allocated;
    this.#ctx.held += delta;
    if (this.#ctx.held > this.#budget) {
      this.#fail(GrpcCode.RESOURCE_EXHAUSTED, "Too much request data in flight on this connection");
      return;
    }
    this.#share(delta);
  }

  /** Charges `n` bytes to the shared bound; a call that does not fit fails retryable. */
  #share(n: number): boolean {
    const inFlight = this.#options.inFlight;
    if (inFlight === undefined) return true;
    if (inFlight.tryAcquire(n, this.#shared)) {
      this.#shared += n;
      return true;
    }
    this.#fail(
      GrpcCode.UNAVAILABLE,
      `Too many request bytes in flight (over ${inFlight.limit} bytes); retry later`,
      IN_FLIGHT_RETRY_MS,
    );
    return false;
  }

  async #run(
    compressed: boolean,
    data: Uint8Array,
    lease: BufferLease | undefined,
  ): Promise<void> {
    let request = data;
    if (compressed) {
      lease = undefined; // the handler reads a decompressed copy
      try {
        request = await decompress(data, this.#coding ?? "identity", this.#options.maxRecvMsgBytes);
      } catch (error) {
        if (error instanceof BodyTooLargeError) {
          return this.#fail(
            GrpcCode.RESOURCE_EXHAUSTED,
            `Decompressed message larger than max (${this.#options.maxRecvMsgBytes})`,
          );
        }
        return this.#fail(GrpcCode.INTERNAL, "Cannot decompress the request message");
      }
      if (this.#done || !this.#share(request.length)) return;
    }
    const headers = this.#stream.headers;
    let response: Uint8Array;
    try {
      response = await this.#handler!({
        request,
        lease,
        peer: this.#ctx.peer,
        metadata: () => metadataOf(headers),
      });
    } catch (error) {
      if (!(error instanceof GrpcError)) {
        try {
          this.#options.onUnexpectedError?.(error);
        } catch {
          // A logging failure must not break the call.
        }
        return this.#fail(GrpcCode.INTERNAL, "Internal error");
      }
      return this.#fail(error.code, error.message, error.retryAfterMs);
    }
    if (this.#done) return;
    const stream = this.#stream;
    stream.sendHeaders([
      [":status", "200"],
      ["content-type", "application/grpc"],
      ["grpc-accept-encoding", GRPC_ACCEPT_ENCODING],
    ], false);
    try {
      await stream.write(frameMessage(response, false));
    } catch {
      return this.#finish(); // The stream or connection closed under us.
    }
    if (this.#done) return;
    stream.sendHeaders([["grpc-status", "0"]], true);
    this.#finish();
  }

  /** Answers with a gRPC error status (Trailers-Only when no headers went out yet). */
  #fail(code: number, message: string, retryAfterMs?: number): void {
    if (this.#done) return;
    const stream = this.#stream;
    const status: HeaderField[] = [
      ["grpc-status", String(code)],
      ["grpc-message", encodeGrpcMessage(message)],
    ];
    if (retryAfterMs !== undefined) {
      status.push([
        "grpc-status-details-bin",
        encodeBinaryHeader(encodeRpcStatus({ code, message, retryAfterMs })),
      ]);
    }
    if (!stream.isClosed) {
      if (stream.headersSent) stream.sendHeaders(status, true);
      else {
        stream.sendHeaders([
          [":status", "200"],
          ["content-type", "application/grpc"],
          ...(code === GrpcCode.UNIMPLEMENTED
            ? [["grpc-accept-encoding", GRPC_ACCEPT_ENCODING] as const]
            : []),
          ...status,
        ], true);
      }
    }
    this.#finish();
  }

  #httpError(status: number, code: number, message: string): void {
    if (this.#done) return;
    this.#stream.sendHeaders([
      [":status", String(status)],
      ["content-type", "text/plain"],
      ["grpc-status", String(code)],
      ["grpc-message", encodeGrpcMessage(message)],
    ], true);
    this.#finish();
  }

  /** Ends the call: releases what it held; a client still sending is told to stop. */
  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#calls.delete(this);
    if (this.#deadline !== undefined) clearTimeout(this.#deadline);
    this.#ctx.held -= this.#held;
    this.#held = 0;
    this.#options.inFlight?.release(this.#shared);
    this.#shared = 0;
    // A handler still running keeps reading the request; #run releases it once it settled.
    if (!this.#running) this.#reader.releaseLeases();
    const stream = this.#stream;
    if (!stream.isClosed && !stream.isRemoteEnded) stream.reset(ErrorCode.NO_ERROR);
    else if (!stream.isClosed && !stream.headersSent) stream.reset(ErrorCode.CANCEL);
  }
}
