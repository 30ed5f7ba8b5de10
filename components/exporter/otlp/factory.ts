/**
 * The `otlp` exporter: sends data to an OTLP/gRPC server. One instance (one channel) serves every
 * signal it is used for. Data still in its encoded form is sent as the bytes it arrived as.
 *
 * One call is one attempt, classified as the OTLP specification says (see
 * `lib/exporterhelper/classify.ts`); a partial success is logged, counted and accepted. The
 * exporter helper (`lib/exporterhelper/exporter_helper.ts`) adds the sending queue and retries with
 * backoff (honouring `RetryInfo`). The per-attempt `timeout` is the call's gRPC deadline (a
 * `DEADLINE_EXCEEDED`, as a Go context deadline is in the Collector) rather than the helper's
 * timer: the gRPC client cannot be cancelled through an `AbortSignal`. With
 * `auth: {authenticator}`, every call also carries the client authenticator's headers as metadata
 * (see `client_auth.ts`).
 *
 * @module
 */
import type { CreateSettings, Exporter, ExporterFactory, Host } from "../../component.ts";
import { retryableError } from "../../../lib/consumer/consumer.ts";
import {
  classifyGrpcFailure,
  classifyNetworkFailure,
} from "../../../lib/exporterhelper/classify.ts";
import {
  createExporterHelper,
  type PushBySignal,
  type PushFunc,
} from "../../../lib/exporterhelper/exporter_helper.ts";
import { partialSuccessReporter } from "../../../lib/exporterhelper/partial_success.ts";
import {
  GrpcCallError,
  GrpcClient,
  type GrpcClientTls,
  toMetadata,
} from "../../../lib/net/grpc_client.ts";
import type { Payload } from "../../../lib/pdata/payload.ts";
import type { Signal } from "../../../lib/pdata/types.ts";
import { type OtlpConfig, otlpConfigSchema, parseGrpcEndpoint } from "./config.ts";
import { encodedPayload, OTLP_SIGNALS, type OtlpSignal, requestParts } from "./signals.ts";
import { resolveClientAuth, withAuthHeaders } from "./client_auth.ts";
import type { ClientAuthenticator } from "../../../lib/net/auth.ts";
import { hostPortLabels, withEndpointLabels } from "../../../lib/telemetry/exporter_labels.ts";
import { readPem } from "../../../lib/net/http_client_tls.ts";

/** The TLS settings of the channel, or undefined for plaintext; reads the PEM files. */
async function loadTls(config: OtlpConfig, https: boolean): Promise<GrpcClientTls | undefined> {
  const t = config.tls;
  if (t.insecure && !https) return undefined;
  const tls: GrpcClientTls = { insecureSkipVerify: t.insecure_skip_verify };
  const ca = await readPem(t.ca_file, "CA file");
  const cert = await readPem(t.cert_file, "certificate file");
  const key = await readPem(t.key_file, "key file");
  if (ca !== undefined) tls.caPem = ca;
  if (cert !== undefined) tls.certPem = cert;
  if (key !== undefined) tls.keyPem = key;
  if (t.server_name_override !== "") tls.serverNameOverride = t.server_name_override;
  return tls;
}

/**
 * The single-attempt push functions of an `otlp` exporter over one channel, without the exporter
 * helper: `createOtlpExporter` wraps them with its queue and retries; the `loadbalancing`
 * exporter wraps them per backend.
 */
export interface OtlpSender {
  /** One single-attempt push function per signal. */
  readonly pushes: PushBySignal;
  /** The `host:port` the channel goes to. */
  readonly target: string;
  /** Opens the channel (reads TLS files, finds the authenticator). */
  start(host: Host): Promise<void>;
  /** Closes the channel; pushes fail retryably afterwards. */
  close(): void;
}

/** Creates the channel and push functions of one `otlp` exporter serving `signals`. */
export function createOtlpSender(
  settings: CreateSettings<OtlpConfig>,
  signals: readonly Signal[],
): OtlpSender {
  const { config, logger } = settings;
  const parsed = parseGrpcEndpoint(config.endpoint);
  if (parsed === undefined) throw new Error(`Invalid endpoint "${config.endpoint}"`);
  const headers = { ...config.headers };
  toMetadata(headers); // throws now, not on every export, when a header is not valid metadata
  if (parsed.scheme === "http" && !config.tls.insecure) {
    logger.warn(
      "The endpoint has an http:// scheme but tls.insecure is false: connecting with TLS",
      { endpoint: config.endpoint },
    );
  }
  let client: GrpcClient | undefined;
  let authenticator: ClientAuthenticator | undefined;
  let stopped = false;

  function pushFor<S extends Signal>(signal: S): PushFunc<S> {
    const codec = OTLP_SIGNALS[signal] as OtlpSignal<S>;
    const reporter = partialSuccessReporter(logger, settings.meter, codec.unit);
    const context = `Cannot export ${signal} to ${parsed!.target}`;

    return async function push(payload: Payload<S>): Promise<void> {
      if (client === undefined || stopped) {
        throw retryableError(
          `${context}: the exporter is ${stopped ? "shut down" : "not started"}`,
        );
      }
      let response: Uint8Array;
      try {
        response = await client.unary(codec.grpcMethod, requestParts(payload), {
          metadata: withAuthHeaders(headers, authenticator, context, payload.client),
          timeoutMs: config.timeout,
        });
      } catch (error) {
        if (!(error instanceof GrpcCallError)) throw classifyNetworkFailure(context, error);
        throw classifyGrpcFailure({
          code: error.code,
          details: error.details,
          statusDetails: error.statusDetails,
          context,
          cause: error,
        });
      }
      try {
        reporter.report(codec.decodeResponse(response));
      } catch (error) {
        logger.warn("Cannot decode the export response; the data counts as accepted", {
          signal,
          error,
        });
      }
    };
  }

  const pushes: Partial<Record<Signal, PushFunc>> = {};
  for (const signal of new Set(signals)) pushes[signal] = pushFor(signal) as PushFunc;

  return {
    pushes: pushes as PushBySignal,
    target: parsed.target,
    async start(host) {
      if (stopped || client !== undefined) return;
      authenticator = resolveClientAuth(host, config.auth);
      const tls = await loadTls(config, parsed.scheme === "https");
      const options: ConstructorParameters<typeof GrpcClient>[0] = {
        target: parsed.target,
        tls,
        compression: config.compression === "gzip" ? "gzip" : "none",
        balancer: config.balancer_name,
        userAgent: `${settings.buildInfo.command}/${settings.buildInfo.version}`,
      };
      if (config.keepalive !== undefined) {
        options.keepalive = {
          timeMs: config.keepalive.time,
          timeoutMs: config.keepalive.timeout,
          permitWithoutStream: config.keepalive.permit_without_stream,
        };
      }
      if (config.authority !== undefined) options.authority = config.authority;
      client = new GrpcClient(options);
      // The connection opens now (no request is sent), not during the first export: with a
      // short batch timeout that export falls among the first requests the receivers answer.
      // A backend that is not up yet is connected to by the first export instead.
      client.connect().catch((error) =>
        logger.debug("Cannot connect yet; the first export connects again", {
          endpoint: parsed.target,
          error,
        })
      );
    },
    close() {
      stopped = true;
      client?.close();
      client = undefined;
    },
  };
}

/** Creates one `otlp` exporter instance serving `signals`. */
export function createOtlpExporter(
  settings: CreateSettings<OtlpConfig>,
  signals: readonly Signal[],
): Exporter {
  const sender = createOtlpSender(settings, signals);
  // The call deadline is the per-attempt timeout; see the module notes.
  // The Collector labels the sent / send-failed counters with the endpoint.
  const endpoint = hostPortLabels(sender.target);
  const meter = withEndpointLabels(
    settings.meter,
    Object.fromEntries(signals.map((s) => [s, endpoint])),
  );
  const helper = createExporterHelper(
    { ...settings, meter },
    { ...settings.config, timeout: 0 },
    sender.pushes,
    // Decoded data is encoded as it enters the queue: batches then merge by joining bytes.
    { beforeQueue: encodedPayload },
  );
  let started = false;
  let stopped = false;

  return {
    consumers: helper.consumers,
    async start(host) {
      if (stopped || started) return;
      started = true;
      await sender.start(host);
      await helper.start(host);
    },
    async shutdown() {
      await helper.shutdown();
      stopped = true;
      sender.close();
    },
  };
}

/** The `otlp` exporter factory. */
export const otlpExporterFactory: ExporterFactory<OtlpConfig> = {
  kind: "exporter",
  type: "otlp",
  configSchema: otlpConfigSchema,
  signals: { traces: "beta", metrics: "beta", logs: "beta" },
  create: createOtlpExporter,
};
