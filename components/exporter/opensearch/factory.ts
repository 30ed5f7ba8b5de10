/**
 * The `opensearch` exporter: log records and spans as ss4o documents (`ss4o.ts`) to OpenSearch's
 * bulk API (`POST <http.endpoint>/_bulk`, NDJSON), each into the index its config resolves for it
 * (`index_name.ts`), as the contrib `opensearch` exporter does.
 *
 * Failures, per request: no response, 429 or 5xx is retryable (`Retry-After` honoured); another
 * 4xx is permanent. Per item, in a 2xx response: 429 and 5xx items (or items the response leaves
 * out) are retried, and only they — the payload remembers which of its items are still to be
 * sent, so a retry never duplicates a document already indexed; any other failed item (a mapping
 * conflict, an invalid index name) is dropped, logged and counted in
 * `tfo_exporter_rejected_<log_records|spans>`, as are items whose document cannot be written. A
 * 2xx response that is not a bulk response counts as delivered, with a warning.
 *
 * @module
 */
import type { CreateSettings, Exporter, ExporterFactory } from "../../component.ts";
import { permanentError, retryableError } from "../../../lib/consumer/consumer.ts";
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
import type { Payload } from "../../../lib/pdata/payload.ts";
import type { LogsData, Signal, TracesData } from "../../../lib/pdata/types.ts";
import type { Counter } from "../../../lib/telemetry/metrics.ts";
import { urlLabels, withEndpointLabels } from "../../../lib/telemetry/exporter_labels.ts";
import {
  BULK_QUERY,
  bulkBody,
  type BulkItem,
  isRetryableItemStatus,
  parseBulkResponse,
} from "./bulk.ts";
import { type OpensearchConfig, opensearchConfigSchema } from "./config.ts";
import { type IndexResolver, indexResolver } from "./index_name.ts";
import { type DataStream, documentContext, logDocument, spanDocument } from "./ss4o.ts";

const utf8Decoder = new TextDecoder();
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** Items of a payload, and those whose document could not be written. */
interface Built {
  readonly items: BulkItem[];
  readonly unwritable: number;
  readonly firstError: string | undefined;
}

/** Makes the documents of `data` whose positions `only` holds (all when undefined). */
type Builder<S extends "logs" | "traces"> = (
  data: S extends "logs" ? LogsData : TracesData,
  only: ReadonlySet<number> | undefined,
) => Built;

function logsBuilder(resolver: IndexResolver, ds: DataStream): Builder<"logs"> {
  return (data, only) => {
    const items: BulkItem[] = [];
    let unwritable = 0;
    let firstError: string | undefined;
    const suffix = resolver.suffix();
    const now = BigInt(Date.now()) * 1_000_000n;
    let position = 0;
    for (const rl of data.resourceLogs) {
      for (const sl of rl.scopeLogs) {
        const ctx = documentContext(rl.resource.attributes, sl.scope, sl.schemaUrl);
        const constant = resolver.constant
          ? resolver.resolve({ item: [], scope: sl.scope, resource: [] }, suffix)
          : undefined;
        for (const record of sl.logRecords) {
          const at = position++;
          if (only !== undefined && !only.has(at)) continue;
          try {
            const index = constant ?? resolver.resolve(
              { item: record.attributes, scope: sl.scope, resource: rl.resource.attributes },
              suffix,
            );
            items.push({ position: at, index, document: logDocument(record, ctx, ds, now) });
          } catch (error) {
            unwritable++;
            firstError ??= error instanceof Error ? error.message : String(error);
          }
        }
      }
    }
    return { items, unwritable, firstError };
  };
}

function tracesBuilder(resolver: IndexResolver, ds: DataStream): Builder<"traces"> {
  return (data, only) => {
    const items: BulkItem[] = [];
    let unwritable = 0;
    let firstError: string | undefined;
    const suffix = resolver.suffix();
    let position = 0;
    for (const rs of data.resourceSpans) {
      for (const ss of rs.scopeSpans) {
        const ctx = documentContext(rs.resource.attributes, ss.scope, ss.schemaUrl);
        const constant = resolver.constant
          ? resolver.resolve({ item: [], scope: ss.scope, resource: [] }, suffix)
          : undefined;
        for (const span of ss.spans) {
          const at = position++;
          if (only !== undefined && !only.has(at)) continue;
          try {
            const index = constant ?? resolver.resolve(
              { item: span.attributes, scope: ss.scope, resource: rs.resource.attributes },
              suffix,
            );
            items.push({ position: at, index, document: spanDocument(span, ctx, ds) });
          } catch (error) {
            unwritable++;
            firstError ??= error instanceof Error ? error.message : String(error);
          }
        }
      }
    }
    return { items, unwritable, firstError };
  };
}

function failureText(result: HttpResult): string {
  const text = utf8Decoder.decode(result.body.subarray(0, 1024)).trim().replaceAll(/\s+/g, " ");
  return text.length > 256 ? `${text.slice(0, 256)}…` : text;
}

/** Creates one `opensearch` exporter instance serving `signals` (logs, traces). */
export function createOpensearchExporter(
  settings: CreateSettings<OpensearchConfig>,
  signals: readonly Signal[],
): Exporter {
  const { config, logger } = settings;
  const base = config.http.endpoint.replace(/\/+$/, "");
  const url = `${base}/_bulk?${BULK_QUERY}`;
  const context = (signal: string) => `Cannot export ${signal} to ${displayUrl(`${base}/_bulk`)}`;
  const userAgent = `${settings.buildInfo.command}/${settings.buildInfo.version} ` +
    `(${Deno.build.os}/${Deno.build.arch})`;
  const baseHeaders: Record<string, string> = { "User-Agent": userAgent };
  for (const [name, value] of Object.entries(config.http.headers)) {
    const lower = name.toLowerCase();
    if (lower !== "content-type" && lower !== "content-encoding") baseHeaders[name] = value;
  }
  baseHeaders["Content-Type"] = "application/x-ndjson";
  new Headers(baseHeaders); // throws now, not on every export, when a header is invalid
  const ds: DataStream = { dataset: config.dataset, namespace: config.namespace };
  let client: HttpClient | undefined;
  let authenticator: ClientAuthenticator | undefined;
  let stopped = false;

  function pushFor<S extends "logs" | "traces">(
    signal: S,
    build: Builder<S>,
    unit: string,
  ): PushFunc<S> {
    const rejected: Counter = settings.meter.counter(
      `tfo_exporter_rejected_${unit}`,
      `Number of ${unit.replaceAll("_", " ")} the server rejected in partial-success responses.`,
    );
    const ctx = context(signal);
    /** Per payload under retry: the positions of the items still to be sent. */
    const pending = new WeakMap<Payload<S>, Set<number>>();

    function reject(count: number, reason: string | undefined, what: string): void {
      if (count === 0) return;
      rejected.add(count);
      logger.warn(what, { signal, [`rejected_${unit}`]: count, reason });
    }

    return async (payload, abort) => {
      if (client === undefined || stopped) {
        throw retryableError(`${ctx}: the exporter is ${stopped ? "shut down" : "not started"}`);
      }
      const only = pending.get(payload);
      const built = build(payload.read() as Parameters<Builder<S>>[0], only);
      // Unwritable documents are found on the first attempt only (later ones skip them).
      reject(built.unwritable, built.firstError, "Cannot write some documents; they are dropped");
      if (built.items.length === 0) {
        pending.delete(payload);
        if (built.unwritable > 0 && only === undefined) {
          throw permanentError(`${ctx}: no document could be written: ${built.firstError}`);
        }
        return;
      }
      let result: HttpResult;
      try {
        result = await client.post(url, bulkBody(built.items, config.bulk_action), {
          headers: withAuthHeaders(baseHeaders, authenticator, ctx, payload.client),
          timeoutMs: config.http.timeout,
          signal: abort,
          maxResponseBytes: MAX_RESPONSE_BYTES,
        });
      } catch (error) {
        // Nothing was judged: the next attempt sends the same items (no longer the unwritable).
        pending.set(payload, new Set(built.items.map((i) => i.position)));
        throw classifyNetworkFailure(ctx, error);
      }
      if (result.status < 200 || result.status > 299) {
        const text = failureText(result);
        const message = `${ctx}: HTTP ${result.status}${text === "" ? "" : `: ${text}`}`;
        if (result.status === 429 || result.status >= 500) {
          pending.set(payload, new Set(built.items.map((i) => i.position)));
          const retryAfterMs = parseRetryAfter(result.headers.get("retry-after"));
          throw retryableError(message, retryAfterMs === undefined ? {} : { retryAfterMs });
        }
        pending.delete(payload);
        throw permanentError(message);
      }
      const response = parseBulkResponse(result.body);
      if (response === undefined) {
        pending.delete(payload);
        logger.warn("The bulk response is not one; its documents count as delivered", {
          signal,
          body: failureText(result),
        });
        return;
      }
      if (!response.errors) {
        pending.delete(payload);
        return;
      }
      const retry = new Set<number>();
      let refused = 0;
      let refusedReason: string | undefined;
      let retryReason: string | undefined;
      built.items.forEach((item, i) => {
        const outcome = response.items[i];
        const status = outcome?.status ?? 0;
        if (status >= 200 && status <= 299) return;
        if (status === 0 || isRetryableItemStatus(status)) {
          retry.add(item.position);
          retryReason ??= `${status === 0 ? "no status" : status}: ${outcome?.error ?? ""}`;
        } else {
          refused++;
          refusedReason ??= `${status}: ${outcome?.error ?? ""}`;
        }
      });
      reject(refused, refusedReason, "OpenSearch rejected some documents; they are dropped");
      if (retry.size === 0) {
        pending.delete(payload);
        return;
      }
      pending.set(payload, retry);
      throw retryableError(
        `${ctx}: ${retry.size} of ${built.items.length} documents failed (${retryReason}); ` +
          `retrying them`,
      );
    };
  }

  const pushes: Partial<Record<Signal, PushFunc>> = {};
  const endpoints: Partial<Record<Signal, ReturnType<typeof urlLabels>>> = {};
  for (const signal of new Set(signals)) {
    if (signal === "logs") {
      const resolver = indexResolver("logs", {
        pattern: config.logs_index,
        fallback: config.logs_index_fallback,
        timeFormat: config.logs_index_time_format,
        ...ds,
      });
      pushes.logs = pushFor("logs", logsBuilder(resolver, ds), "log_records") as PushFunc;
    } else if (signal === "traces") {
      const resolver = indexResolver("traces", {
        pattern: config.traces_index,
        fallback: config.traces_index_fallback,
        timeFormat: config.traces_index_time_format,
        ...ds,
      });
      pushes.traces = pushFor("traces", tracesBuilder(resolver, ds), "spans") as PushFunc;
    } else {
      continue;
    }
    endpoints[signal] = urlLabels(`${base}/_bulk`);
  }
  const meter = withEndpointLabels(settings.meter, endpoints);
  const helper = createExporterHelper({ ...settings, meter }, config, pushes as PushBySignal);

  return {
    consumers: helper.consumers,
    async start(host) {
      if (stopped || client !== undefined) return;
      authenticator = resolveClientAuth(host, config.http.auth);
      client = new HttpClient(await loadHttpClientTls(config.http.tls));
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

/** The `opensearch` exporter factory. */
export const opensearchExporterFactory: ExporterFactory<OpensearchConfig> = {
  kind: "exporter",
  type: "opensearch",
  configSchema: opensearchConfigSchema,
  signals: { traces: "beta", logs: "beta" },
  create: createOpensearchExporter,
};
