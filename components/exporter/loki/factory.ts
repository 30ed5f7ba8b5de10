/**
 * The `loki` exporter: log records to Grafana Loki's push API (or anything that speaks it, like
 * VictoriaLogs), as the Collector's contrib `loki` exporter sends them: one request per tenant
 * (`loki.tenant` → `X-Scope-OrgID`), a snappy-compressed `logproto.PushRequest` (or tfo's JSON
 * encoding), labels and lines made as `convert.ts` describes.
 *
 * Failures: a 4xx other than 429 is permanent (the data is dropped and counted); 429, 5xx and
 * network failures are retryable, `Retry-After` honoured. A payload spread over several tenants
 * remembers which tenants' requests succeeded, so a retry sends only the others (no duplicates).
 * Records that cannot be converted are dropped, logged and counted in
 * `tfo_exporter_rejected_log_records`; a payload with nothing left to send fails permanently.
 *
 * @module
 */
import type { CreateSettings, Exporter, ExporterFactory } from "../../component.ts";
import { isPermanent, permanentError, retryableError } from "../../../lib/consumer/consumer.ts";
import { classifyNetworkFailure, parseRetryAfter } from "../../../lib/exporterhelper/classify.ts";
import {
  createExporterHelper,
  type PushBySignal,
  type PushFunc,
} from "../../../lib/exporterhelper/exporter_helper.ts";
import type { ClientAuthenticator } from "../../../lib/net/auth.ts";
import { resolveClientAuth, withAuthHeaders } from "../../../lib/net/client_auth.ts";
import { HttpClient, type HttpResult } from "../../../lib/net/http_client.ts";
import { displayUrl, loadHttpClientTls } from "../../../lib/net/http_client_tls.ts";
import { snappyCompress } from "../../../lib/net/snappy.ts";
import type { ClientInfo, Payload } from "../../../lib/pdata/payload.ts";
import type { Signal } from "../../../lib/pdata/types.ts";
import { urlLabels, withEndpointLabels } from "../../../lib/telemetry/exporter_labels.ts";
import { defaultLabelEnabled, type LokiConfig, lokiConfigSchema } from "./config.ts";
import { logsToLoki, type LokiRequest } from "./convert.ts";
import { encodePushJson, encodePushRequest } from "./push.ts";

const utf8Decoder = new TextDecoder();

/** The first line of a failure body, at most 1 KiB, as the Collector reports it. */
function firstLine(result: HttpResult): string {
  const text = utf8Decoder.decode(result.body.subarray(0, 1024));
  return text.split("\n")[0]!.trim();
}

/** Creates one `loki` exporter instance. */
export function createLokiExporter(
  settings: CreateSettings<LokiConfig>,
  _signals: readonly Signal[],
): Exporter {
  const { config, logger } = settings;
  const url = config.endpoint;
  const context = `Cannot export logs to ${displayUrl(url)}`;
  const userAgent = `${settings.buildInfo.command}/${settings.buildInfo.version} ` +
    `(${Deno.build.os}/${Deno.build.arch})`;
  const baseHeaders: Record<string, string> = { "User-Agent": userAgent };
  for (const [name, value] of Object.entries(config.headers)) {
    const lower = name.toLowerCase();
    if (lower !== "content-type" && lower !== "content-encoding") baseHeaders[name] = value;
  }
  if (config.encoding === "proto") {
    baseHeaders["Content-Type"] = "application/x-protobuf";
    baseHeaders["Content-Encoding"] = "snappy";
  } else {
    baseHeaders["Content-Type"] = "application/json";
  }
  new Headers(baseHeaders); // throws now, not on every export, when a header is invalid
  const labelEnabled = defaultLabelEnabled(config);
  const rejected = settings.meter.counter(
    "tfo_exporter_rejected_log_records",
    "Number of log records the server rejected in partial-success responses.",
  );
  let client: HttpClient | undefined;
  let authenticator: ClientAuthenticator | undefined;
  let stopped = false;
  /** Per payload under retry: the tenants whose request already succeeded. */
  const delivered = new WeakMap<Payload<"logs">, Set<string>>();
  /** Payloads whose unconvertible records were already counted (retries count them once). */
  const counted = new WeakSet<Payload<"logs">>();

  function body(request: LokiRequest): Uint8Array {
    return config.encoding === "proto"
      ? encodePushRequest(request, snappyCompress)
      : encodePushJson(request);
  }

  async function send(
    request: LokiRequest,
    from: ClientInfo,
    abort: AbortSignal,
  ): Promise<void> {
    let headers: Record<string, string> = baseHeaders;
    if (request.tenant !== "") {
      // The hinted tenant replaces a static X-Scope-OrgID, whatever its case.
      headers = {};
      for (const [name, value] of Object.entries(baseHeaders)) {
        if (name.toLowerCase() !== "x-scope-orgid") headers[name] = value;
      }
      headers["X-Scope-OrgID"] = request.tenant;
    }
    let result: HttpResult;
    try {
      result = await client!.post(url, body(request), {
        headers: withAuthHeaders(headers, authenticator, context, from),
        timeoutMs: 0, // the exporter helper's timeout aborts `abort`
        signal: abort,
      });
    } catch (error) {
      throw classifyNetworkFailure(context, error);
    }
    if (result.status >= 200 && result.status < 300) return;
    const line = firstLine(result);
    const message = `${context}: HTTP ${result.status}${line === "" ? "" : `: ${line}`}`;
    if (result.status >= 400 && result.status < 500 && result.status !== 429) {
      throw permanentError(message);
    }
    const retryAfterMs = parseRetryAfter(result.headers.get("retry-after"));
    throw retryableError(message, retryAfterMs === undefined ? {} : { retryAfterMs });
  }

  const push: PushFunc<"logs"> = async (payload, abort) => {
    if (client === undefined || stopped) {
      throw retryableError(`${context}: the exporter is ${stopped ? "shut down" : "not started"}`);
    }
    const conversion = logsToLoki(payload.peek(), { labelEnabled });
    if (conversion.dropped > 0 && !counted.has(payload)) {
      counted.add(payload);
      rejected.add(conversion.dropped);
      logger.warn("Not all log records were converted to Loki entries", {
        dropped: conversion.dropped,
        error: conversion.firstError,
      });
    }
    if (conversion.requests.length === 0) {
      throw permanentError(`${context}: failed to transform logs into Loki log streams`);
    }
    const done = delivered.get(payload) ?? new Set<string>();
    let retryable: unknown;
    let permanent: unknown;
    let refused = 0;
    for (const request of conversion.requests) {
      if (done.has(request.tenant)) continue;
      try {
        await send(request, payload.client, abort);
        done.add(request.tenant);
      } catch (error) {
        if (isPermanent(error)) {
          // Sending it again cannot help: this tenant's records are dropped.
          done.add(request.tenant);
          permanent ??= error;
          refused += request.records;
        } else {
          retryable ??= error;
        }
      }
    }
    if (retryable !== undefined) {
      delivered.set(payload, done);
      if (refused > 0) rejected.add(refused);
      throw retryable;
    }
    delivered.delete(payload);
    if (permanent === undefined) return;
    if (refused + conversion.dropped >= payload.itemCount) throw permanent;
    rejected.add(refused);
    logger.warn("Loki refused the log records of some tenants; the others were delivered", {
      rejected_log_records: refused,
      error: permanent,
    });
  };

  const meter = withEndpointLabels(settings.meter, { logs: urlLabels(url) });
  const helper = createExporterHelper({ ...settings, meter }, config, {
    logs: push,
  } as PushBySignal);

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

/** The `loki` exporter factory. */
export const lokiExporterFactory: ExporterFactory<LokiConfig> = {
  kind: "exporter",
  type: "loki",
  configSchema: lokiConfigSchema,
  signals: { logs: "beta" },
  create: createLokiExporter,
};
