/**
 * The `otlp` receiver: OTLP over gRPC (port 4317) and HTTP (port 4318), for traces, metrics and
 * logs, as the OpenTelemetry Collector's. One instance serves every signal it has a consumer for.
 *
 * Protobuf requests reach the pipeline still encoded (`Payload.fromProto`); while counting items
 * the receiver checks that they decode (`lib/otlp/validate.ts`), so nothing it acknowledges can
 * fail to decode later, and holds them to an item budget (`_budget.ts`). In front of a pipeline
 * that changes data, and so decodes it anyway, it decodes them instead of that scan. A request is answered once the pipeline accepted or
 * refused its data, so the client sees backpressure and failures. Until then its bytes count
 * against the process's in-flight bound (`lib/net/in_flight_bytes.ts`, shared by every otlp
 * receiver over both protocols): a request that does not fit is refused at once, 503 with
 * Retry-After or `UNAVAILABLE` with `RetryInfo`, so a saturated pipeline costs clients retries,
 * not the process memory.
 *
 * gRPC request messages of pipelines that keep them encoded are cut from pooled slabs
 * (`lib/pdata/slab_pool.ts`) and leased to their payloads, so a slab is reused once the last
 * holder (a batch, a queue, an export) released its requests instead of waiting, promoted, for a
 * mark-compact; a receiver idle for {@linkcode SLAB_IDLE_TRIM_MS} keeps
 * {@linkcode SLAB_IDLE_FREE} free slabs.
 *
 * `auth: {authenticator: <extension>}` on a protocol makes every request pass the extension's
 * server authenticator (resolved at start) before its body or message is handled: 401 /
 * `UNAUTHENTICATED` otherwise. See `_auth.ts` for what reaches `ClientInfo`.
 *
 * @module
 */
import type { CreateSettings, Host, Receiver, ReceiverFactory } from "../../component.ts";
import type { SignalConsumers } from "../../../lib/consumer/consumer.ts";
import { splitHostPort } from "../../../lib/config/schema.ts";
import { type GrpcServer, serveGrpc } from "../../../lib/net/grpc_server.ts";
import { type ServerAuthenticator, serverAuthenticatorOf } from "../../../lib/net/auth.ts";
import {
  httpServerTimeouts,
  type OtlpConfig,
  otlpConfigSchema,
  type OtlpGrpcConfig,
  type OtlpHttpConfig,
} from "./config.ts";
import { grpcMethods, pooledGrpcMethods } from "./_grpc_service.ts";
import { createHttpHandler } from "./_http_handler.ts";
import { type HttpListener, listenHttp } from "./_http_listener.ts";
import { createTenantGate, type TenantGate } from "../../../lib/tenancy/gate.ts";
import { type ResourceMetadataSplitter, resourceMetadataSplitter } from "./_resource_metadata.ts";
import { warmUpReceivePath, type WarmUpReport, warmUpTransports } from "./_warm_up.ts";
import { NOOP_LOGGER } from "../../../lib/telemetry/logger.ts";
import { MetricRegistry } from "../../../lib/telemetry/metrics.ts";
import { SIGNALS } from "../../../lib/pdata/types.ts";
import { InFlightBytes, processInFlightBytes } from "../../../lib/net/in_flight_bytes.ts";
import { SlabPool } from "../../../lib/pdata/slab_pool.ts";

/** How often an idle receiver's free request slabs are trimmed. */
export const SLAB_IDLE_TRIM_MS = 10_000;
/** Free request slabs an idle receiver keeps. */
export const SLAB_IDLE_FREE = 2;

/** Test seams of {@linkcode createOtlpReceiver}. */
export interface OtlpReceiverOptions {
  /**
   * The bound on request bytes held, over both protocols. @default the process's
   * (`processInFlightBytes`), shared with every other otlp receiver
   */
  readonly inFlight?: InFlightBytes;
  /** The gRPC request slabs (tests pass a strict pool). @default a pool per receiver */
  readonly requestSlabs?: SlabPool;
}

/** An otlp receiver instance; the bound ports are known once started. */
export interface OtlpReceiver extends Receiver {
  /** The gRPC port, once listening. */
  readonly grpcPort: number | undefined;
  /** The HTTP port, once listening. */
  readonly httpPort: number | undefined;
}

async function readFileFor(id: string, key: string, path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`Cannot start receiver "${id}": cannot read ${key} "${path}": ${reason}`, {
      cause: error,
    });
  }
}

/** The server authenticator a protocol's `auth` names, resolved at start; undefined without. */
function authenticatorFor(
  id: string,
  protocol: "grpc" | "http",
  auth: { authenticator: string } | undefined,
  host: Host,
): ServerAuthenticator | undefined {
  if (auth === undefined) return undefined;
  if (host.getExtension(auth.authenticator) === undefined) {
    throw new Error(
      `Cannot start receiver "${id}": protocols.${protocol}.auth names authenticator ` +
        `"${auth.authenticator}", which is not defined as an extension`,
    );
  }
  try {
    return serverAuthenticatorOf(host, auth.authenticator);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(
      `Cannot start receiver "${id}": protocols.${protocol}.auth: ${
        message.charAt(0).toLowerCase()
      }${message.slice(1)}`,
      { cause: error },
    );
  }
}

function startFailure(id: string, error: unknown): Error {
  const message = error instanceof Error ? error.message : String(error);
  if (message.startsWith(`Cannot start receiver "${id}"`)) return error as Error;
  const detail = message.charAt(0).toLowerCase() + message.slice(1);
  return new Error(`Cannot start receiver "${id}": ${detail}`, { cause: error });
}

async function startGrpc(
  settings: CreateSettings<OtlpConfig>,
  config: OtlpGrpcConfig,
  next: SignalConsumers,
  authenticator: ServerAuthenticator | undefined,
  gate: TenantGate | undefined,
  split: ResourceMetadataSplitter | undefined,
  inFlight: InFlightBytes,
  slabs: SlabPool,
): Promise<GrpcServer> {
  const { id, logger } = settings;
  const { hostname, port } = splitHostPort(config.endpoint);
  const tls = config.tls === undefined ? undefined : {
    cert: await readFileFor(id, "protocols.grpc.tls.cert_file", config.tls.cert_file),
    key: await readFileFor(id, "protocols.grpc.tls.key_file", config.tls.key_file),
  };
  const params = config.keepalive?.server_parameters;
  const maxRecvMsgBytes = Math.floor(config.max_recv_msg_size_mib * 1024 * 1024);
  const server = await serveGrpc(
    {
      hostname,
      port,
      reusePort: settings.sharePorts === true,
      maxRecvMsgBytes,
      maxConcurrentStreams: config.max_concurrent_streams,
      keepalive: {
        timeMs: params?.time,
        timeoutMs: params?.timeout,
        maxConnectionIdleMs: params?.max_connection_idle,
        maxConnectionAgeMs: params?.max_connection_age,
        maxConnectionAgeGraceMs: params?.max_connection_age_grace,
        minTimeMs: config.keepalive?.enforcement_policy?.min_time,
        permitWithoutStream: config.keepalive?.enforcement_policy?.permit_without_stream,
      },
      tls,
      inFlight,
      onUnexpectedError: (error) =>
        logger.error("Unexpected error in the OTLP/gRPC handler", { error }),
      pooledRequests: { slabs, methods: pooledGrpcMethods(next, split) },
    },
    grpcMethods({
      includeMetadata: config.include_metadata,
      next,
      logger,
      meter: settings.meter,
      authenticator,
      maxRecvMsgBytes,
      gate,
      split,
    }),
  );
  logger.info("Starting GRPC server", { endpoint: `${hostname}:${server.port}` });
  return server;
}

async function startHttp(
  settings: CreateSettings<OtlpConfig>,
  config: OtlpHttpConfig,
  next: SignalConsumers,
  authenticator: ServerAuthenticator | undefined,
  gate: TenantGate | undefined,
  split: ResourceMetadataSplitter | undefined,
  inFlight: InFlightBytes,
): Promise<HttpListener> {
  const { id, logger } = settings;
  const { hostname, port } = splitHostPort(config.endpoint);
  const decoder = new TextDecoder();
  const tls = config.tls === undefined ? undefined : {
    cert: decoder.decode(
      await readFileFor(id, "protocols.http.tls.cert_file", config.tls.cert_file),
    ),
    key: decoder.decode(await readFileFor(id, "protocols.http.tls.key_file", config.tls.key_file)),
  };
  const handler = createHttpHandler({
    config,
    next,
    logger,
    meter: settings.meter,
    authenticator,
    gate,
    split,
    inFlight,
  });
  const timeouts = httpServerTimeouts(config);
  const listener = listenHttp(
    { hostname, port, tls, logger, timeouts, reusePort: settings.sharePorts === true },
    handler,
  );
  logger.info("Starting HTTP server", { endpoint: `${hostname}:${listener.port}` });
  return listener;
}

/**
 * Runs `_warm_up.ts`'s loopback requests through throwaway servers made by the same functions as
 * the receiver's own, on `127.0.0.1:0`, plaintext, without auth, tenant gate or resource
 * metadata, with a meter of their own and no logger: nothing of it shows in the receiver's
 * metrics, logs or pipelines.
 */
function warmUp(
  settings: CreateSettings<OtlpConfig>,
  next: SignalConsumers,
): Promise<WarmUpReport> {
  const { grpc, http } = settings.config.protocols;
  // Its own byte budget too: the warm-up's requests never count against the process's.
  const quiet = { ...settings, logger: NOOP_LOGGER, meter: new MetricRegistry().meter() };
  const local = "127.0.0.1:0";
  return warmUpTransports({
    next,
    grpc: grpc === undefined ? undefined : (throwaway) => {
      const { tls: _tls, auth: _auth, ...plain } = grpc;
      return startGrpc(
        quiet,
        { ...plain, endpoint: local },
        throwaway,
        undefined,
        undefined,
        undefined,
        new InFlightBytes(),
        new SlabPool({ maxFreeSlabs: 0 }),
      );
    },
    http: http === undefined ? undefined : (throwaway) => {
      const { tls: _tls, auth: _auth, ...plain } = http;
      return startHttp(
        quiet,
        { ...plain, endpoint: local },
        throwaway,
        undefined,
        undefined,
        undefined,
        new InFlightBytes(),
      );
    },
    httpPath: (signal) =>
      http === undefined ? "" : {
        traces: http.traces_url_path,
        metrics: http.metrics_url_path,
        logs: http.logs_url_path,
      }[signal],
  });
}

/** Creates an otlp receiver instance. */
export function createOtlpReceiver(
  settings: CreateSettings<OtlpConfig>,
  next: SignalConsumers,
  options: OtlpReceiverOptions = {},
): OtlpReceiver {
  const { id, config } = settings;
  const inFlight = options.inFlight ?? processInFlightBytes();
  let grpc: GrpcServer | undefined;
  let http: HttpListener | undefined;
  let starting: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;
  // One gate for both protocols: a tenant's limit is the same over HTTP and gRPC.
  const gate = createTenantGate({
    rateLimit: config.rate_limit,
    tenantMetrics: config.tenant_metrics,
    meter: settings.meter,
    // One bound for the process: the same receiver's gates in the other workers share buckets.
    scope: id,
  });
  const split = config.metadata_from_resource === undefined
    ? undefined
    : resourceMetadataSplitter(config.metadata_from_resource);
  const slabs = options.requestSlabs ?? new SlabPool({
    onMisuse: (message) =>
      settings.logger.error("A pooled gRPC request buffer was misused", { error: message }),
  });
  let trimTimer: ReturnType<typeof setInterval> | undefined;

  async function start(host: Host): Promise<void> {
    const { grpc: grpcConfig, http: httpConfig } = config.protocols;
    try {
      // The first request would otherwise pay for compiling its path (see _warm_up.ts).
      await warmUpReceivePath(SIGNALS.filter((signal) => next[signal] !== undefined));
      const grpcAuth = authenticatorFor(id, "grpc", grpcConfig?.auth, host);
      const httpAuth = authenticatorFor(id, "http", httpConfig?.auth, host);
      const warming = performance.now();
      const warmed = await warmUp(settings, next);
      settings.logger.debug("Warmed up the receive path", {
        ...warmed,
        duration_ms: Math.round(performance.now() - warming),
      });
      if (grpcConfig !== undefined) {
        grpc = await startGrpc(settings, grpcConfig, next, grpcAuth, gate, split, inFlight, slabs);
        trimTimer = setInterval(() => slabs.trimIfIdle(SLAB_IDLE_FREE), SLAB_IDLE_TRIM_MS);
        Deno.unrefTimer(trimTimer);
      }
      if (httpConfig !== undefined) {
        http = await startHttp(settings, httpConfig, next, httpAuth, gate, split, inFlight);
      }
    } catch (error) {
      if (trimTimer !== undefined) clearInterval(trimTimer);
      trimTimer = undefined;
      await Promise.all([grpc?.shutdown(), http?.shutdown()]);
      grpc = undefined;
      http = undefined;
      throw startFailure(id, error);
    }
  }

  return {
    get grpcPort() {
      return grpc?.port;
    },
    get httpPort() {
      return http?.port;
    },
    start(host) {
      if (stopping !== undefined) {
        return Promise.reject(new Error(`Cannot start receiver "${id}": it was shut down`));
      }
      starting ??= start(host);
      return starting;
    },
    shutdown() {
      stopping ??= (async () => {
        await starting?.catch(() => {});
        await Promise.all([grpc?.shutdown(), http?.shutdown()]);
        if (trimTimer !== undefined) clearInterval(trimTimer);
        trimTimer = undefined;
      })();
      return stopping;
    },
  };
}

/** The `otlp` receiver factory. */
export const otlpReceiverFactory: ReceiverFactory<OtlpConfig> = {
  kind: "receiver",
  type: "otlp",
  configSchema: otlpConfigSchema,
  // Push: every worker listens on the same ports (SO_REUSEPORT).
  placement: "stateless",
  signals: { traces: "stable", metrics: "stable", logs: "stable" },
  create: (settings, next) => createOtlpReceiver(settings, next),
};
