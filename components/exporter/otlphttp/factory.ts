/**
 * The `otlphttp` exporter: POSTs data to an OTLP/HTTP server, as binary protobuf (data still in
 * its encoded form is sent as the bytes it arrived as) or OTLP/JSON, gzip-compressed by default.
 * One instance (one connection pool) serves every signal it is used for.
 *
 * One request is one attempt, classified as the OTLP specification says (see
 * `lib/exporterhelper/classify.ts`); a partial success is logged, counted and accepted. The
 * exporter helper (`lib/exporterhelper/exporter_helper.ts`) adds the sending queue, retries with
 * backoff (honouring `Retry-After`) and the per-attempt `timeout`, whose signal aborts the request.
 * With `auth: {authenticator}`, every request also carries the client authenticator's headers
 * (see `../otlp/client_auth.ts`).
 *
 * @module
 */
import { displayUrl, loadHttpClientTls } from "../../../lib/net/http_client_tls.ts";
import type { CreateSettings, Exporter, ExporterFactory } from "../../component.ts";
import { retryableError } from "../../../lib/consumer/consumer.ts";
import {
  classifyHttpFailure,
  classifyNetworkFailure,
} from "../../../lib/exporterhelper/classify.ts";
import { decodeRpcStatus } from "../../../lib/net/rpc_status.ts";
import {
  createExporterHelper,
  type PushBySignal,
  type PushFunc,
} from "../../../lib/exporterhelper/exporter_helper.ts";
import { partialSuccessReporter } from "../../../lib/exporterhelper/partial_success.ts";
import { type HttpBody, HttpClient, type HttpResult } from "../../../lib/net/http_client.ts";
import type { ExportPartialSuccess } from "../../../lib/otlp/mod.ts";
import type { Payload } from "../../../lib/pdata/payload.ts";
import type { Signal } from "../../../lib/pdata/types.ts";
import { resolveClientAuth, withAuthHeaders } from "../../../lib/net/client_auth.ts";
import { OTLP_SIGNALS, type OtlpSignal } from "../../../lib/otlp/signals.ts";
import { encodedPayload, requestProto } from "../otlp/signals.ts";
import type { ClientAuthenticator } from "../../../lib/net/auth.ts";
import { type OtlphttpConfig, otlphttpConfigSchema, signalUrl } from "./config.ts";
import { urlLabels, withEndpointLabels } from "../../../lib/telemetry/exporter_labels.ts";
import type { Labels } from "../../../lib/telemetry/metrics.ts";
import { compressRequestBody, contentEncodingOf } from "../../../lib/net/request_compression.ts";

const PROTOBUF = "application/x-protobuf";
const JSON_TYPE = "application/json";
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

function mediaType(headers: Headers): string {
  return (headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
}

/** The server's explanation in a failure body: a `google.rpc.Status` message, or short text. */
function failureDetail(result: HttpResult): string | undefined {
  if (result.body.length === 0) return undefined;
  const type = mediaType(result.headers);
  if (type === PROTOBUF) return decodeRpcStatus(result.body)?.message;
  const text = utf8Decoder.decode(result.body);
  if (type === JSON_TYPE) {
    try {
      const message = (JSON.parse(text) as { message?: unknown }).message;
      if (typeof message === "string") return message;
    } catch {
      // not a JSON Status: fall back to the text
    }
  }
  const line = text.trim().replaceAll(/\s+/g, " ");
  return line.length > 256 ? `${line.slice(0, 256)}…` : line;
}

/** Creates one `otlphttp` exporter instance serving `signals`. */
export function createOtlphttpExporter(
  settings: CreateSettings<OtlphttpConfig>,
  signals: readonly Signal[],
): Exporter {
  const { config, logger } = settings;
  const contentType = config.encoding === "json" ? JSON_TYPE : PROTOBUF;
  const userAgent = `${settings.buildInfo.command}/${settings.buildInfo.version} ` +
    `(${Deno.build.os}/${Deno.build.arch})`;
  const baseHeaders: Record<string, string> = { "User-Agent": userAgent, ...config.headers };
  baseHeaders["Content-Type"] = contentType;
  for (const name of Object.keys(baseHeaders)) {
    const lower = name.toLowerCase();
    if ((lower === "content-type" && name !== "Content-Type") || lower === "content-encoding") {
      delete baseHeaders[name];
    }
  }
  const encoding = contentEncodingOf(config.compression);
  if (encoding !== undefined) baseHeaders["Content-Encoding"] = encoding;
  new Headers(baseHeaders); // throws now, not on every export, when a header is invalid
  let client: HttpClient | undefined;
  let authenticator: ClientAuthenticator | undefined;
  let stopped = false;

  function pushFor<S extends Signal>(signal: S): PushFunc<S> {
    const url = signalUrl(config, signal);
    if (url === undefined) {
      throw new Error(`Neither endpoint nor ${signal}_endpoint is set, and ${signal} are exported`);
    }
    const codec = OTLP_SIGNALS[signal] as OtlpSignal<S>;
    const reporter = partialSuccessReporter(logger, settings.meter, codec.unit);
    const context = `Cannot export ${signal} to ${displayUrl(url)}`;

    /** The request body: encoded data goes out as the parts it holds, never joined here. */
    function body(payload: Payload<S>): HttpBody {
      if (config.encoding === "json") return utf8Encoder.encode(codec.encodeJson(payload.read()));
      return payload.encodedParts ?? requestProto(payload);
    }

    function partialSuccess(result: HttpResult): ExportPartialSuccess | undefined {
      if (result.body.length === 0) return undefined;
      const type = mediaType(result.headers);
      if (type === PROTOBUF) return codec.decodeResponse(result.body);
      if (type === JSON_TYPE) return codec.decodeResponseJson(result.body);
      return undefined;
    }

    return async function push(payload: Payload<S>, abort: AbortSignal): Promise<void> {
      if (client === undefined || stopped) {
        throw retryableError(
          `${context}: the exporter is ${stopped ? "shut down" : "not started"}`,
        );
      }
      let result: HttpResult;
      try {
        result = await client.post(
          url!,
          await compressRequestBody(body(payload), config.compression),
          {
            headers: withAuthHeaders(baseHeaders, authenticator, context, payload.client),
            timeoutMs: 0, // the exporter helper's timeout aborts `abort`
            signal: abort,
            compression: "none", // compressed above, with any of the Collector's codings
          },
        );
      } catch (error) {
        throw classifyNetworkFailure(context, error);
      }
      if (result.status < 200 || result.status > 299) {
        const detail = failureDetail(result);
        throw classifyHttpFailure({
          status: result.status,
          retryAfter: result.headers.get("retry-after"),
          context,
          ...(detail === undefined ? {} : { detail }),
        });
      }
      try {
        reporter.report(partialSuccess(result));
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
  // The Collector labels the sent / send-failed counters with the signal's endpoint.
  const endpoints: Partial<Record<Signal, Labels>> = {};
  for (const signal of new Set(signals)) {
    const url = signalUrl(config, signal);
    if (url !== undefined) endpoints[signal] = urlLabels(url);
  }
  const meter = withEndpointLabels(settings.meter, endpoints);
  const helper = createExporterHelper(
    { ...settings, meter },
    config,
    pushes as PushBySignal,
    config.encoding === "proto" ? { beforeQueue: encodedPayload } : {},
  );

  return {
    consumers: helper.consumers,
    async start(host) {
      if (stopped || client !== undefined) return;
      authenticator = resolveClientAuth(host, config.auth);
      client = new HttpClient(await loadHttpClientTls(config.tls));
      await helper.start(host);
    },
    async shutdown() {
      await helper.shutdown();
      stopped = true;
      client?.close();
      client = undefined;
    },
  };
}

/** The `otlphttp` exporter factory. */
export const otlphttpExporterFactory: ExporterFactory<OtlphttpConfig> = {
  kind: "exporter",
  type: "otlphttp",
  configSchema: otlphttpConfigSchema,
  signals: { traces: "beta", metrics: "beta", logs: "beta" },
  create: createOtlphttpExporter,
};
