/**
 * A gRPC client for exporters over `@grpc/grpc-js`: one channel per client, unary calls whose
 * request and response are raw bytes (already-encoded protobuf goes out as is), gzip message
 * compression, TLS (trust, mutual TLS, server name override), keepalive and per-call metadata.
 *
 * @module
 */
import { Buffer } from "node:buffer";
// TODO(import map): use the bare "@grpc/grpc-js" once deno.json maps it (not ours to edit).
import * as grpc from "@grpc/grpc-js";

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
  /** The load-balancing policy over the addresses the target resolves to. @default "pick_first" */
  balancer?: "pick_first" | "round_robin";
  /** The `:authority` of calls. @default the target */
  authority?: string;
  /** The User-Agent prefix. */
  userAgent?: string;
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

const COMPRESSION = { none: 0, gzip: 2 } as const;

/** Passes bytes through unchanged (a view over the same memory, no copy). */
export function rawSerialize(value: Uint8Array): Buffer {
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

/** Passes received bytes through as a `Uint8Array` view. */
export function rawDeserialize(value: Buffer): Uint8Array {
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

function credentials(tls: GrpcClientTls | undefined): grpc.ChannelCredentials {
  if (tls === undefined) return grpc.credentials.createInsecure();
  const pem = (text: string | undefined) => (text === undefined ? null : Buffer.from(text));
  const verify: grpc.VerifyOptions = {};
  if (tls.insecureSkipVerify === true) {
    verify.rejectUnauthorized = false;
    verify.checkServerIdentity = () => undefined;
  }
  return grpc.credentials.createSsl(pem(tls.caPem), pem(tls.keyPem), pem(tls.certPem), verify);
}

function channelOptions(options: GrpcClientOptions): grpc.ChannelOptions {
  const o: grpc.ChannelOptions = {
    "grpc.default_compression_algorithm": COMPRESSION[options.compression ?? "none"],
    "grpc.service_config": JSON.stringify({
      loadBalancingConfig: [{ [options.balancer ?? "pick_first"]: {} }],
    }),
    "grpc.service_config_disable_resolution": 1,
    // No message size limit on what we send: the server decides what it takes.
    "grpc.max_send_message_length": -1,
  };
  if (options.userAgent !== undefined) o["grpc.primary_user_agent"] = options.userAgent;
  if (options.keepalive !== undefined) {
    o["grpc.keepalive_time_ms"] = options.keepalive.timeMs;
    o["grpc.keepalive_timeout_ms"] = options.keepalive.timeoutMs;
    o["grpc.keepalive_permit_without_calls"] = options.keepalive.permitWithoutStream ? 1 : 0;
  }
  const override = options.tls?.serverNameOverride;
  if (override !== undefined && override !== "") {
    o["grpc.ssl_target_name_override"] = override;
    o["grpc.default_authority"] = override;
  }
  if (options.authority !== undefined && options.authority !== "") {
    o["grpc.default_authority"] = options.authority;
  }
  return o;
}

function toCallError(error: unknown): GrpcCallError {
  const e = error as Partial<grpc.ServiceError>;
  const code = typeof e.code === "number" ? e.code : grpc.status.UNKNOWN;
  const details = typeof e.details === "string" ? e.details : String(error);
  const bin = e.metadata?.get("grpc-status-details-bin")[0];
  const statusDetails = bin instanceof Uint8Array ? new Uint8Array(bin) : undefined;
  return new GrpcCallError(code, details, statusDetails, error);
}

/** Builds call metadata; throws on a key or value gRPC does not allow. */
export function toMetadata(headers: Readonly<Record<string, string>>): grpc.Metadata {
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(headers)) {
    const k = key.toLowerCase();
    if (k.endsWith("-bin")) metadata.set(k, Buffer.from(value, "base64"));
    else metadata.set(k, value);
  }
  return metadata;
}

/** True when the host of `host:port` is an IPv4 or (bracketed) IPv6 literal. */
function hasIpHost(target: string): boolean {
  const host = target.slice(0, target.lastIndexOf(":"));
  return host.startsWith("[") || /^\d{1,3}(\.\d{1,3}){3}$/.test(host);
}

/** One gRPC channel making unary calls with raw bytes. Connects lazily, on the first call. */
export class GrpcClient {
  #client: grpc.Client;
  #closed = false;

  /**
   * Creates the channel; nothing connects until the first call.
   *
   * @throws when TLS is asked for with an IP-address target and no server name override: grpc-js
   * sends the target host as the TLS server name, which Deno's `node:tls` refuses for an IP
   * address, so every call would fail.
   */
  constructor(options: GrpcClientOptions) {
    if (
      options.tls !== undefined && hasIpHost(options.target) &&
      (options.tls.serverNameOverride ?? "") === ""
    ) {
      throw new Error(
        `Cannot use TLS with the IP address endpoint "${options.target}" without a server name ` +
          "override (Deno's TLS refuses an IP address as server name): set " +
          "tls.server_name_override to a name in the server certificate, or use a host name",
      );
    }
    this.#client = new grpc.Client(
      options.target,
      credentials(options.tls),
      channelOptions(options),
    );
  }

  /**
   * Calls `method` (`/package.Service/Method`) with the request bytes. Resolves with the response
   * bytes; rejects with a {@linkcode GrpcCallError} (DEADLINE_EXCEEDED past `timeoutMs`,
   * UNAVAILABLE when the server cannot be reached).
   */
  unary(method: string, request: Uint8Array, options: GrpcCallOptions): Promise<Uint8Array> {
    if (this.#closed) {
      return Promise.reject(
        new GrpcCallError(grpc.status.UNAVAILABLE, "Channel is closed", undefined),
      );
    }
    const metadata = toMetadata(options.metadata ?? {});
    const callOptions: grpc.CallOptions = {};
    if (options.timeoutMs > 0) callOptions.deadline = Date.now() + options.timeoutMs;
    return new Promise((resolve, reject) => {
      this.#client.makeUnaryRequest<Uint8Array, Uint8Array>(
        method,
        rawSerialize,
        rawDeserialize,
        request,
        metadata,
        callOptions,
        (error, response) => {
          if (error) reject(toCallError(error));
          else resolve(response ?? new Uint8Array(0));
        },
      );
    });
  }

  /** Closes the channel. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#client.close();
  }
}
