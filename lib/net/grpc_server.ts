/**
 * A gRPC server for unary methods whose requests and responses stay raw protobuf bytes, on
 * `npm:@grpc/grpc-js` (which runs on Deno's `node:http2`). Handlers get the request bytes exactly
 * as received (after gRPC decompression); grpc-js enforces the receive size limit on compressed
 * and decompressed messages (`RESOURCE_EXHAUSTED`) and answers unknown methods `UNIMPLEMENTED`.
 *
 * @module
 */
import { Buffer } from "node:buffer";
// TODO(import map): move to deno.json "imports" as "@grpc/grpc-js" (shared file, not ours to edit).
import * as grpc from "@grpc/grpc-js";
import { encodeRpcStatus, GrpcCode } from "./rpc_status.ts";
import { listenError } from "./listen_error.ts";

/** One unary call as a handler sees it. */
export interface GrpcCall {
  /** The request message, still encoded. */
  readonly request: Uint8Array;
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

/** Keepalive settings, in milliseconds; each one left out keeps grpc-js's default. */
export interface GrpcKeepalive {
  /** Ping an idle connection after this long. */
  readonly timeMs?: number | undefined;
  /** Close the connection when a ping is not answered within this. */
  readonly timeoutMs?: number | undefined;
  /** Close a connection idle for this long. */
  readonly maxConnectionIdleMs?: number | undefined;
  /** Close a connection this old (after a grace period). */
  readonly maxConnectionAgeMs?: number | undefined;
  /** How long calls may finish on a connection closed for its age. */
  readonly maxConnectionAgeGraceMs?: number | undefined;
  /** Allow client pings with no call in progress. */
  readonly permitWithoutStream?: boolean | undefined;
}

/** TLS material, PEM-encoded. */
export interface GrpcTls {
  readonly cert: Uint8Array;
  readonly key: Uint8Array;
  /** When set, clients must present a certificate signed by one of these CAs. */
  readonly clientCa?: Uint8Array | undefined;
}

/** Options of {@linkcode serveGrpc}. */
export interface GrpcServerOptions {
  /** Address to listen on. */
  readonly hostname: string;
  /** Port to listen on; 0 picks a free one. */
  readonly port: number;
  /** The largest request message, compressed or decompressed, in bytes. */
  readonly maxRecvMsgBytes: number;
  /** The most concurrent calls per connection. @default unlimited */
  readonly maxConcurrentStreams?: number | undefined;
  readonly keepalive?: GrpcKeepalive | undefined;
  /** Serves TLS when set, plaintext (h2c) otherwise. */
  readonly tls?: GrpcTls | undefined;
  /** Called with errors a handler threw that are not {@linkcode GrpcError}s. */
  readonly onUnexpectedError?: ((error: unknown) => void) | undefined;
}

/** A listening gRPC server. */
export interface GrpcServer {
  /** The port it listens on. */
  readonly port: number;
  /** Stops accepting calls, lets calls in progress finish, then closes. Safe to call twice. */
  shutdown(): Promise<void>;
}

function serverOptions(o: GrpcServerOptions): grpc.ServerOptions {
  const opts: Record<string, number> = {
    "grpc.max_receive_message_length": o.maxRecvMsgBytes,
  };
  if (o.maxConcurrentStreams !== undefined && o.maxConcurrentStreams > 0) {
    opts["grpc.max_concurrent_streams"] = o.maxConcurrentStreams;
  }
  const k = o.keepalive;
  if (k !== undefined) {
    const set = (key: string, v: number | undefined) => {
      if (v !== undefined && v > 0) opts[key] = v;
    };
    set("grpc.keepalive_time_ms", k.timeMs);
    set("grpc.keepalive_timeout_ms", k.timeoutMs);
    set("grpc.max_connection_idle_ms", k.maxConnectionIdleMs);
    set("grpc.max_connection_age_ms", k.maxConnectionAgeMs);
    set("grpc.max_connection_age_grace_ms", k.maxConnectionAgeGraceMs);
    if (k.permitWithoutStream !== undefined) {
      opts["grpc.keepalive_permit_without_calls"] = k.permitWithoutStream ? 1 : 0;
    }
  }
  return opts;
}

function credentials(tls: GrpcTls | undefined): grpc.ServerCredentials {
  if (tls === undefined) return grpc.ServerCredentials.createInsecure();
  return grpc.ServerCredentials.createSsl(
    tls.clientCa === undefined ? null : Buffer.from(tls.clientCa),
    [{ private_key: Buffer.from(tls.key), cert_chain: Buffer.from(tls.cert) }],
    tls.clientCa !== undefined,
  );
}

function metadataMap(metadata: grpc.Metadata): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [key, values] of Object.entries(metadata.toJSON())) {
    out.set(
      key.toLowerCase(),
      values.map((v) => typeof v === "string" ? v : Buffer.from(v).toString("base64")),
    );
  }
  return out;
}

function toServiceError(error: unknown, onUnexpected?: (error: unknown) => void) {
  if (!(error instanceof GrpcError)) onUnexpected?.(error);
  const code = error instanceof GrpcError ? error.code : GrpcCode.INTERNAL;
  const message = error instanceof GrpcError ? error.message : "Internal error";
  const metadata = new grpc.Metadata();
  if (error instanceof GrpcError && error.retryAfterMs !== undefined) {
    const details = encodeRpcStatus({ code, message, retryAfterMs: error.retryAfterMs });
    metadata.set("grpc-status-details-bin", Buffer.from(details));
  }
  return { code, details: message, metadata };
}

const toBytes = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
const toBuffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/**
 * Starts a gRPC server for `methods` (full paths such as
 * `/opentelemetry.proto.collector.trace.v1.TraceService/Export`) and resolves once it listens.
 *
 * @throws {Error} `Cannot listen on host:port: address already in use` and the like.
 */
export async function serveGrpc(
  options: GrpcServerOptions,
  methods: ReadonlyMap<string, GrpcUnaryHandler>,
): Promise<GrpcServer> {
  const server = new grpc.Server(serverOptions(options));
  for (const [path, handler] of methods) {
    const handle: grpc.handleUnaryCall<Buffer, Buffer> = (call, callback) => {
      const request = toBytes(call.request);
      let peer: string;
      try {
        peer = call.getPeer();
      } catch {
        peer = "unknown";
      }
      handler({ request, peer, metadata: () => metadataMap(call.metadata) }).then(
        (response) => callback(null, toBuffer(response)),
        (error) => callback(toServiceError(error, options.onUnexpectedError)),
      );
    };
    server.register(path, handle, toBuffer, (b: Buffer) => b, "unary");
  }
  const endpoint = options.hostname.includes(":")
    ? `[${options.hostname}]:${options.port}`
    : `${options.hostname}:${options.port}`;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(endpoint, credentials(options.tls), (error, bound) => {
      if (error) reject(listenError(endpoint, error));
      else resolve(bound);
    });
  }).catch((error) => {
    server.forceShutdown();
    throw error;
  });
  let closed: Promise<void> | undefined;
  return {
    port,
    shutdown() {
      closed ??= new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      return closed;
    },
  };
}
