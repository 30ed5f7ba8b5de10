/**
 * A gRPC client for exporters on tfo's own HTTP/2 (`lib/net/h2/`): one connection per client,
 * reused for every call and replaced when it closes or the server sends GOAWAY (also on an idle
 * connection); unary calls whose request and response are raw bytes (already-encoded protobuf goes
 * out as is), deadlines (`grpc-timeout`), metadata, gzip message compression, status and trailers
 * parsing (also Trailers-Only and HTTP errors without `grpc-status`), TLS (trust, mutual TLS,
 * server name override, skipping verification) and keepalive pings.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import * as nodeTls from "node:tls";
import { decompress, parseContentCoding } from "./compression.ts";
import { GrpcCode } from "./rpc_status.ts";
import { H2Connection, H2ConnectionError, type H2Socket } from "./h2/connection.ts";
import { ErrorCode, errorCodeName } from "./h2/frames.ts";
import type { HeaderField } from "./h2/hpack.ts";
import { nodeSocket } from "./h2/node_socket.ts";
import {
  decodeBinaryHeader,
  decodeGrpcMessage,
  encodeBinaryHeader,
  formatGrpcTimeout,
  GRPC_ACCEPT_ENCODING,
  grpcCodeOfHttpStatus,
  GrpcWireError,
  isGrpcContentType,
  MAX_GRPC_MESSAGE_BYTES,
  messagePrefix,
  MessageReader,
} from "./h2/grpc_wire.ts";

/** TLS settings of a {@linkcode GrpcClient}, as PEM text. */
export interface GrpcClientTls {
  /** Root certificates to trust instead of the system's. */
  caPem?: string;
  /** The client certificate chain (with `keyPem`) for mutual TLS. */
  certPem?: string;
  /** The client private key (with `certPem`). */
  keyPem?: string;
  /** The name the server certificate is checked against, instead of the endpoint's host. */
  serverNameOverride?: string;
  /** Accept any server certificate. @default false */
  insecureSkipVerify?: boolean;
}

/** HTTP/2 keepalive pings of a {@linkcode GrpcClient}. */
export interface GrpcKeepalive {
  /** Idle time before a ping, in milliseconds. */
  timeMs: number;
  /** How long to wait for the ping's answer before closing the connection, in milliseconds. */
  timeoutMs: number;
  /** Ping also when no call is in flight. */
  permitWithoutStream: boolean;
}

/** Options of a {@linkcode GrpcClient}. */
export interface GrpcClientOptions {
  /** The target, `host:port`. */
  target: string;
  /** TLS settings; undefined means plaintext (h2c). */
  tls: GrpcClientTls | undefined;
  /** Message compression. @default "none" */
  compression?: "gzip" | "none";
  /** Keepalive pings; none when undefined. */
  keepalive?: GrpcKeepalive;
  /**
   * The policy over the addresses the target resolves to. tfo keeps one connection to the
   * target (the system resolver picks the address), so both behave as `pick_first`.
   * @default "pick_first"
   */
  balancer?: "pick_first" | "round_robin";
  /** The `:authority` of calls. @default the target */
  authority?: string;
  /** The User-Agent prefix. */
  userAgent?: string;
  /** The largest response message accepted. @default 64 MiB */
  maxRecvMsgBytes?: number;
}

/** Options of one {@linkcode GrpcClient.unary} call. */
export interface GrpcCallOptions {
  /** Call metadata (request headers); keys are lowercased. */
  metadata?: Readonly<Record<string, string>>;
  /** The deadline of the call in milliseconds; 0 means none. */
  timeoutMs: number;
}

/** A call that ended with a non-OK status (including ones the client itself produced). */
export class GrpcCallError extends Error {
  /** The gRPC status code. */
  readonly code: number;
  /** The status message (`grpc-message`). */
  readonly details: string;
  /** The `grpc-status-details-bin` trailer, a `google.rpc.Status`, when the server sent one. */
  readonly statusDetails: Uint8Array | undefined;

  /** Creates the error. */
  constructor(
    code: number,
    details: string,
    statusDetails: Uint8Array | undefined,
    cause?: unknown,
  ) {
    super(
      `gRPC call failed with code ${code}: ${details}`,
      cause === undefined ? undefined : { cause },
    );
    this.name = "GrpcCallError";
    this.code = code;
    this.details = details;
    this.statusDetails = statusDetails;
  }
}

/** Passes bytes through unchanged (a view over the same memory, no copy). */
export function rawSerialize(value: Uint8Array): Buffer {
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

/** Passes received bytes through as a `Uint8Array` view. */
export function rawDeserialize(value: Buffer): Uint8Array {
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

const METADATA_KEY = /^[0-9a-z_.-]+$/;
const RESERVED = new Set(["content-type", "te", "user-agent", "grpc-timeout", "grpc-encoding"]);

/**
 * Builds call metadata as header fields (keys lowercased, `-bin` values given in base64);
 * throws on a key or value gRPC does not allow.
 */
export function toMetadata(headers: Readonly<Record<string, string>>): HeaderField[] {
  const out: HeaderField[] = [];
  for (const [key, value] of Object.entries(headers)) {
    const k = key.toLowerCase();
    if (!METADATA_KEY.test(k) || k.startsWith("grpc-") && !k.endsWith("-bin")) {
      throw new Error(`Metadata key "${key}" is not allowed`);
    }
    if (RESERVED.has(k)) continue;
    if (k.endsWith("-bin")) {
      const bytes = decodeBinaryHeader(value);
      if (bytes === undefined) throw new Error(`Metadata "${key}" is not valid base64`);
      out.push([k, encodeBinaryHeader(bytes)]);
    } else {
      if (!/^[\x20-\x7e]*$/.test(value)) {
        throw new Error(`Metadata "${key}" has a value with characters outside printable ASCII`);
      }
      out.push([k, value.trim()]);
    }
  }
  return out;
}

/** True when the host of `host:port` is an IPv4 or (bracketed) IPv6 literal. */
function hasIpHost(target: string): boolean {
  const host = target.slice(0, target.lastIndexOf(":"));
  return host.startsWith("[") || /^\d{1,3}(\.\d{1,3}){3}$/.test(host);
}

function splitTarget(target: string): { hostname: string; port: number } {
  const i = target.lastIndexOf(":");
  let hostname = target.slice(0, i);
  if (hostname.startsWith("[") && hostname.endsWith("]")) hostname = hostname.slice(1, -1);
  return { hostname, port: Number(target.slice(i + 1)) };
}

async function gzip(parts: readonly Uint8Array[]): Promise<Uint8Array> {
  const stream = new Blob(parts as Uint8Array<ArrayBuffer>[]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return await new Response(stream).bytes();
}

/** gRPC codes for RST_STREAM codes (the gRPC HTTP/2 protocol's mapping). */
function codeOfReset(code: number): number {
  switch (code) {
    case ErrorCode.REFUSED_STREAM:
      return GrpcCode.UNAVAILABLE;
    case ErrorCode.CANCEL:
      return GrpcCode.CANCELLED;
    case ErrorCode.ENHANCE_YOUR_CALM:
      return GrpcCode.RESOURCE_EXHAUSTED;
    case ErrorCode.INADEQUATE_SECURITY:
      return GrpcCode.PERMISSION_DENIED;
    default:
      return GrpcCode.INTERNAL;
  }
}

/** How long a PING sent after a silent call timeout may go unanswered before the connection closes. */
const PROBE_TIMEOUT_MS = 5_000;
/** The shortest time between two such PINGs on one connection (grpc-go's default `min_time`). */
const PROBE_INTERVAL_MS = 5 * 60_000;

/** One gRPC connection target making unary calls with raw bytes. Connects on the first call. */
export class GrpcClient {
  readonly #options: GrpcClientOptions;
  readonly #target: { hostname: string; port: number };
  readonly #authority: string;
  readonly #userAgent: string;
  #conn: H2Connection | undefined;
  #connecting: Promise<H2Connection> | undefined;
  #closed = false;
  /** Aborts a dial in progress when the client closes. */
  readonly #closing = new AbortController();
  readonly #calls = new Set<() => void>();
  /** When each connection was last probed after a silent timeout. */
  readonly #probedAt = new WeakMap<H2Connection, number>();

  /**
   * Creates the client; nothing connects until the first call.
   *
   * @throws when TLS is asked for with an IP-address target and no server name override (the
   * certificate of an IP address is rarely what is meant; set `tls.server_name_override`).
   */
  constructor(options: GrpcClientOptions) {
    if (
      options.tls !== undefined && hasIpHost(options.target) &&
      (options.tls.serverNameOverride ?? "") === "" && options.tls.insecureSkipVerify !== true
    ) {
      throw new Error(
        `Cannot use TLS with the IP address endpoint "${options.target}" without a server name ` +
          "override: set tls.server_name_override to a name in the server certificate, or use a " +
          "host name",
      );
    }
    this.#options = options;
    this.#target = splitTarget(options.target);
    const override = options.tls?.serverNameOverride;
    this.#authority = options.authority !== undefined && options.authority !== ""
      ? options.authority
      : override !== undefined && override !== ""
      ? override
      : options.target;
    this.#userAgent = `${options.userAgent ?? "tfo"} tfo-grpc/1`;
  }

  /**
   * Opens the connection now, when none is open or opening, rather than at the first call, so
   * that the first call does not wait for the TCP (and TLS) handshake and the HTTP/2 preface.
   * Sends no request. Resolves once connected; rejects with UNAVAILABLE as a call would when the
   * server cannot be reached within `timeoutMs` (the next call then connects again).
   */
  async connect(timeoutMs = 20_000): Promise<void> {
    if (this.#closed) throw new GrpcCallError(GrpcCode.UNAVAILABLE, "Channel is closed", undefined);
    await this.#connection(Date.now() + timeoutMs);
  }

  /**
   * Calls `method` (`/package.Service/Method`) with the request bytes: one array, or parts whose
   * concatenation is the message (an encoded batch as it was merged). Uncompressed, the parts go
   * into DATA frames behind the 5-byte message prefix as they are, never joined or copied; they
   * must not change afterwards (a server that answers early settles the call before all is
   * written). Resolves with the response bytes; rejects with a
   * {@linkcode GrpcCallError} (DEADLINE_EXCEEDED past `timeoutMs`, UNAVAILABLE when the server
   * cannot be reached, RESOURCE_EXHAUSTED for a message longer than the prefix can say).
   */
  async unary(
    method: string,
    request: Uint8Array | readonly Uint8Array[],
    options: GrpcCallOptions,
  ): Promise<Uint8Array> {
    if (this.#closed) throw new GrpcCallError(GrpcCode.UNAVAILABLE, "Channel is closed", undefined);
    const deadline = options.timeoutMs > 0 ? Date.now() + options.timeoutMs : Infinity;
    const metadata = toMetadata(options.metadata ?? {});
    const compressed = this.#options.compression === "gzip";
    const parts = request instanceof Uint8Array ? [request] : request;
    const message = compressed ? [await gzip(parts)] : parts;
    let length = 0;
    for (const part of message) length += part.length;
    if (length > MAX_GRPC_MESSAGE_BYTES) {
      throw new GrpcCallError(
        GrpcCode.RESOURCE_EXHAUSTED,
        `The request message of ${length} bytes is longer than gRPC can frame`,
        undefined,
      );
    }
    const body = [messagePrefix(length, compressed), ...message];
    // A stream refused before the server looked at it (REFUSED_STREAM, a GOAWAY race, a
    // connection that died before the request went out) is retried once on a new connection.
    for (let attempt = 0;; attempt++) {
      try {
        return await this.#attempt(method, body, metadata, deadline, compressed);
      } catch (error) {
        if (error instanceof RefusedError && attempt === 0 && Date.now() < deadline) continue;
        if (error instanceof RefusedError) {
          throw new GrpcCallError(GrpcCode.UNAVAILABLE, error.message, undefined, error.cause);
        }
        throw error;
      }
    }
  }

  async #attempt(
    method: string,
    body: readonly Uint8Array[],
    metadata: HeaderField[],
    deadline: number,
    compressed: boolean,
  ): Promise<Uint8Array> {
    const conn = await this.#withDeadline(this.#connection(deadline), deadline);
    const headers: HeaderField[] = [
      [":method", "POST"],
      [":scheme", this.#options.tls === undefined ? "http" : "https"],
      [":path", method],
      [":authority", this.#authority],
      ["content-type", "application/grpc"],
      ["te", "trailers"],
      ["user-agent", this.#userAgent],
      ["grpc-accept-encoding", GRPC_ACCEPT_ENCODING],
    ];
    if (compressed) headers.push(["grpc-encoding", "gzip"]);
    if (deadline !== Infinity) {
      headers.push(["grpc-timeout", formatGrpcTimeout(Math.max(1, deadline - Date.now()))]);
    }
    headers.push(...metadata);
    let stream;
    try {
      stream = await this.#withDeadline(conn.request(headers, false), deadline);
    } catch (error) {
      if (error instanceof GrpcCallError) throw error;
      throw new RefusedError("The connection is going away", error);
    }
    const reader = new MessageReader(this.#options.maxRecvMsgBytes ?? 64 << 20, 1);
    let wireError: GrpcWireError | undefined;
    let responseHeaders: HeaderField[] | undefined;
    let trailers: HeaderField[] | undefined;
    const done = Promise.withResolvers<number | undefined>();
    stream.handlers = {
      onHeaders(h, end) {
        if (responseHeaders === undefined) responseHeaders = h;
        if (end) trailers = h; // the trailers, or the only headers of a Trailers-Only response
      },
      onData(chunk) {
        stream.consume(chunk.length);
        if (wireError !== undefined) return;
        try {
          reader.push(chunk);
        } catch (error) {
          if (!(error instanceof GrpcWireError)) throw error;
          wireError = error;
          stream.reset(ErrorCode.CANCEL);
        }
      },
      onClose: (code) => done.resolve(code),
    };
    const startedAt = Date.now();
    const cancel = () => stream.reset(ErrorCode.CANCEL);
    this.#calls.add(cancel);
    let timer: ReturnType<typeof setTimeout> | undefined;
    let timedOut = false;
    if (deadline !== Infinity) {
      timer = setTimeout(() => {
        timedOut = true;
        stream.reset(ErrorCode.CANCEL);
      }, Math.max(0, deadline - Date.now()));
    }
    try {
      stream.write(body, true).catch(() => {}); // A failure shows as the stream's close.
      const resetCode = await done.promise;
      if (wireError !== undefined) {
        throw new GrpcCallError(wireError.code, wireError.message, undefined);
      }
      if (timedOut) {
        if (conn.lastReadAt <= startedAt) this.#probe(conn);
        throw new GrpcCallError(GrpcCode.DEADLINE_EXCEEDED, "Deadline exceeded", undefined);
      }
      if (this.#closed && resetCode !== undefined) {
        throw new GrpcCallError(GrpcCode.CANCELLED, "Channel closed", undefined);
      }
      const status = trailers?.find(([n]) => n === "grpc-status")?.[1];
      if (resetCode !== undefined && status === undefined) {
        if (responseHeaders === undefined && (resetCode === ErrorCode.REFUSED_STREAM)) {
          throw new RefusedError("The server refused the stream");
        }
        if (conn.isClosed) {
          throw new GrpcCallError(GrpcCode.UNAVAILABLE, "The connection closed", undefined);
        }
        throw new GrpcCallError(
          codeOfReset(resetCode),
          `Stream reset by the server with ${errorCodeName(resetCode)}`,
          undefined,
        );
      }
      return await this.#result(responseHeaders, trailers, reader);
    } finally {
      clearTimeout(timer);
      this.#calls.delete(cancel);
    }
  }

  async #result(
    headers: HeaderField[] | undefined,
    trailers: HeaderField[] | undefined,
    reader: MessageReader,
  ): Promise<Uint8Array> {
    const first = (list: HeaderField[] | undefined, name: string) =>
      list?.find(([n]) => n === name)?.[1];
    const httpStatus = Number(first(headers, ":status") ?? "0");
    const status = first(trailers, "grpc-status");
    if (status === undefined) {
      if (httpStatus !== 200) {
        throw new GrpcCallError(
          grpcCodeOfHttpStatus(httpStatus),
          `Received HTTP status ${httpStatus} without a gRPC status`,
          undefined,
        );
      }
      throw new GrpcCallError(GrpcCode.INTERNAL, "The response has no grpc-status", undefined);
    }
    const code = /^\d+$/.test(status) ? Number(status) : GrpcCode.UNKNOWN;
    if (code !== GrpcCode.OK) {
      const details = decodeGrpcMessage(first(trailers, "grpc-message") ?? "");
      const bin = first(trailers, "grpc-status-details-bin");
      throw new GrpcCallError(
        code,
        details,
        bin === undefined ? undefined : decodeBinaryHeader(bin),
      );
    }
    if (!isGrpcContentType(first(headers, "content-type"))) {
      throw new GrpcCallError(GrpcCode.UNKNOWN, "The response is not application/grpc", undefined);
    }
    const [message] = reader.messages;
    if (message === undefined || reader.partial) {
      throw new GrpcCallError(GrpcCode.INTERNAL, "The response has no message", undefined);
    }
    if (!message.compressed) return message.data;
    const coding = parseContentCoding(first(headers, "grpc-encoding") ?? null);
    if (coding === undefined || coding === "identity") {
      throw new GrpcCallError(
        GrpcCode.INTERNAL,
        "Compressed response without a known grpc-encoding",
        undefined,
      );
    }
    try {
      return await decompress(message.data, coding, this.#options.maxRecvMsgBytes ?? 64 << 20);
    } catch (error) {
      throw new GrpcCallError(
        GrpcCode.INTERNAL,
        "Cannot decompress the response",
        undefined,
        error,
      );
    }
  }

  #withDeadline<T>(promise: Promise<T>, deadline: number): Promise<T> {
    if (deadline === Infinity) return promise;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new GrpcCallError(GrpcCode.DEADLINE_EXCEEDED, "Deadline exceeded", undefined)),
        Math.max(0, deadline - Date.now()),
      );
    });
    return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
  }

  /**
   * Checks a connection on which a call timed out without a byte from the server: a PING not
   * answered within {@linkcode PROBE_TIMEOUT_MS} closes it, so the next call dials anew. Without
   * this a peer that stopped reading (its windows and the socket full) would hold every later
   * call until it timed out too, for ever when no keepalive is configured. At most one probe per
   * connection at a time and per {@linkcode PROBE_INTERVAL_MS}, so a live but slow server sees
   * fewer pings than grpc-go's enforcement policy allows.
   */
  #probe(conn: H2Connection): void {
    const now = Date.now();
    const last = this.#probedAt.get(conn);
    if (conn.isClosed || (last !== undefined && now - last < PROBE_INTERVAL_MS)) return;
    this.#probedAt.set(conn, now);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const unanswered = new Promise<"unanswered">((resolve) => {
      timer = setTimeout(() => resolve("unanswered"), PROBE_TIMEOUT_MS);
    });
    void Promise.race([
      conn.ping().then(() => "answered" as const, () => "closed" as const),
      unanswered,
    ])
      .then((outcome) => {
        clearTimeout(timer);
        if (outcome !== "unanswered") return;
        if (this.#conn === conn) this.#conn = undefined;
        conn.close();
      });
  }

  /** The live connection, or a new one. */
  #connection(deadline: number): Promise<H2Connection> {
    const conn = this.#conn;
    if (conn !== undefined && !conn.isDraining) return Promise.resolve(conn);
    this.#connecting ??= this.#connect(deadline).finally(() => this.#connecting = undefined);
    return this.#connecting;
  }

  async #connect(deadline: number): Promise<H2Connection> {
    let socket: H2Socket;
    const timeoutMs = Math.min(20_000, Math.max(1, deadline - Date.now()));
    try {
      socket = await this.#dial(
        AbortSignal.any([AbortSignal.timeout(timeoutMs), this.#closing.signal]),
      );
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new GrpcCallError(
        GrpcCode.UNAVAILABLE,
        `Cannot connect to ${this.#options.target}: ${reason}`,
        undefined,
        error,
      );
    }
    if (this.#closed) {
      socket.close();
      throw new GrpcCallError(GrpcCode.UNAVAILABLE, "Channel is closed", undefined);
    }
    const keepalive = this.#options.keepalive;
    const conn = new H2Connection(socket, {
      role: "client",
      keepaliveTimeMs: keepalive?.timeMs ?? 0,
      keepaliveTimeoutMs: keepalive?.timeoutMs ?? 20_000,
      keepaliveWithoutStreams: keepalive?.permitWithoutStream ?? false,
      onClose: () => {
        if (this.#conn === conn) this.#conn = undefined;
      },
    });
    this.#conn?.goaway(ErrorCode.NO_ERROR);
    this.#conn = conn;
    conn.start();
    return conn;
  }

  async #dial(signal: AbortSignal): Promise<H2Socket> {
    const { hostname, port } = this.#target;
    const tls = this.#options.tls;
    if (tls === undefined) {
      const conn = await Deno.connect({ hostname, port, signal });
      conn.setNoDelay(true);
      return conn;
    }
    const override = tls.serverNameOverride ?? "";
    if (tls.insecureSkipVerify !== true && override === "") {
      const options: Deno.ConnectTlsOptions & Partial<Deno.TlsCertifiedKeyPem> = {
        hostname,
        port,
        alpnProtocols: ["h2"],
      };
      if (tls.caPem !== undefined) options.caCerts = [tls.caPem];
      if (tls.certPem !== undefined && tls.keyPem !== undefined) {
        options.cert = tls.certPem;
        options.key = tls.keyPem;
      }
      const conn = await Deno.connectTls(options as Deno.ConnectTlsOptions);
      await abortable(conn.handshake(), signal, () => conn.close());
      return conn;
    }
    // Deno's TLS API verifies against the host it connects to and cannot skip verification:
    // node:tls can do both.
    const socket = nodeTls.connect({
      host: hostname,
      port,
      servername: override !== ""
        ? override
        : hasIpHost(this.#options.target)
        ? undefined
        : hostname,
      ALPNProtocols: ["h2"],
      rejectUnauthorized: tls.insecureSkipVerify !== true,
      ...(tls.caPem !== undefined ? { ca: tls.caPem } : {}),
      ...(tls.certPem !== undefined ? { cert: tls.certPem, key: tls.keyPem } : {}),
    });
    await abortable(
      new Promise<void>((resolve, reject) => {
        socket.once("secureConnect", () => resolve());
        socket.once("error", reject);
      }),
      signal,
      () => socket.destroy(),
    );
    return nodeSocket(socket);
  }

  /** Closes the connection; calls in flight end CANCELLED. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closing.abort();
    for (const cancel of [...this.#calls]) cancel();
    this.#conn?.close();
    this.#conn = undefined;
  }
}

/** A call the server never saw; safe to retry. */
class RefusedError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "RefusedError";
  }
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal, onAbort: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const abort = () => {
      onAbort();
      reject(signal.reason ?? new Error("Timed out"));
    };
    if (signal.aborted) return abort();
    signal.addEventListener("abort", abort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", abort));
  });
}

/** Re-exported so callers can tell connection failures apart. */
export { H2ConnectionError };
