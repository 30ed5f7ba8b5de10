/**
 * The `otlp` exporter: sends data to an OTLP/gRPC server. One instance (one channel) serves every
 * signal it is used for. Data still in its encoded form is sent as the bytes it arrived as.
 *
 * Failures become {@linkcode ConsumerError}s classified as the OTLP specification says (see
 * `lib/exporterhelper/classify.ts`); a partial success is logged, counted and accepted. There is no
 * retry here: the retry and queue layers act on the error.
 *
 * @module
 */
import type { CreateSettings, Exporter, ExporterFactory } from "../../component.ts";
import {
  type Consumer,
  retryableError,
  type SignalConsumers,
} from "../../../lib/consumer/consumer.ts";
import {
  classifyGrpcFailure,
  classifyNetworkFailure,
} from "../../../lib/exporterhelper/classify.ts";
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
import { OTLP_SIGNALS, type OtlpSignal, requestProto } from "./signals.ts";

async function readPem(path: string | undefined, what: string): Promise<string | undefined> {
  if (path === undefined) return undefined;
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new Error(`Cannot read the ${what} "${path}"`, { cause: error });
  }
}

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

/** Creates one `otlp` exporter instance serving `signals`. */
export function createOtlpExporter(
  settings: CreateSettings<OtlpConfig>,
  signals: readonly Signal[],
): Exporter {
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
  let stopped = false;
  const inflight = new Set<Promise<void>>();

  function consumerFor<S extends Signal>(signal: S): Consumer<S> {
    const codec = OTLP_SIGNALS[signal] as OtlpSignal<S>;
    const reporter = partialSuccessReporter(logger, settings.meter, codec.unit);
    const context = `Cannot export ${signal} to ${parsed!.target}`;

    async function send(payload: Payload<S>): Promise<void> {
      if (client === undefined || stopped) {
        throw retryableError(
          `${context}: the exporter is ${stopped ? "shut down" : "not started"}`,
        );
      }
      let response: Uint8Array;
      try {
        response = await client.unary(codec.grpcMethod, requestProto(payload), {
          metadata: headers,
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
    }

    return {
      mutatesData: false,
      consume(payload) {
        const done = send(payload);
        const tracked = done.then(() => {}, () => {});
        inflight.add(tracked);
        tracked.finally(() => inflight.delete(tracked));
        return done;
      },
    };
  }

  const consumers: SignalConsumers = {};
  for (const signal of new Set(signals)) {
    // Each assignment is of the matching signal's consumer.
    (consumers as Record<Signal, Consumer>)[signal] = consumerFor(signal) as Consumer;
  }

  return {
    consumers,
    async start() {
      if (stopped || client !== undefined) return;
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
    },
    async shutdown() {
      stopped = true;
      while (inflight.size > 0) await Promise.all([...inflight]);
      client?.close();
      client = undefined;
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
