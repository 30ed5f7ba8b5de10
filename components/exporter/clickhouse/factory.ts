/**
 * The `clickhouse` exporter: spans, log records and metric data points into the Collector's
 * ClickHouse schema (`_ddl.ts`) over ClickHouse's HTTP interface, one `INSERT … FORMAT RowBinary`
 * per table and payload (RowBinary: chosen by measurement, see `bench/RESULTS.md`), the body
 * compressed as `compress` says, `async_insert=1` unless told otherwise.
 *
 * With `create_schema` the database and tables are created on the first export (the server need
 * not be up when tfo starts). A payload of several metric types makes several inserts; a retry
 * sends only the tables that did not succeed yet, so nothing is inserted twice.
 *
 * Failures: no answer, 429/502/503/504 and server errors other than the known data, schema and
 * authentication errors are retryable; those (an unknown table or column, a type mismatch, a
 * violated constraint, a failed login, …) and other 4xx are permanent, with the server's message.
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
import { HttpClient, type HttpResult } from "../../../lib/net/http_client.ts";
import { displayUrl, loadHttpClientTls } from "../../../lib/net/http_client_tls.ts";
import {
  compressRequestBody,
  contentEncodingOf,
  type RequestCompression,
} from "../../../lib/net/request_compression.ts";
import type { Payload } from "../../../lib/pdata/payload.ts";
import type { Signal } from "../../../lib/pdata/types.ts";
import { urlLabels, withEndpointLabels } from "../../../lib/telemetry/exporter_labels.ts";
import { type ClickhouseConfig, clickhouseConfigSchema, databaseOf } from "./config.ts";
import { databaseDdl, insertStatement, tableDdl, type TableKind, tableName } from "./_ddl.ts";
import { logRows, metricRows, type Rows, traceRows } from "./_rows.ts";

const utf8 = new TextDecoder();
const METRIC_KINDS: readonly TableKind[] = [
  "gauge",
  "sum",
  "histogram",
  "exponential_histogram",
  "summary",
];

/**
 * ClickHouse error codes that retrying cannot fix: bad data, a schema that does not take it, a
 * failed login or missing grant.
 */
const PERMANENT_CODES: ReadonlySet<number> = new Set([
  6, // CANNOT_PARSE_TEXT
  16, // NO_SUCH_COLUMN_IN_TABLE
  27, // CANNOT_PARSE_INPUT_ASSERTION_FAILED
  33, // CANNOT_READ_ALL_DATA
  36, // BAD_ARGUMENTS
  38, // CANNOT_PARSE_DATE
  41, // CANNOT_PARSE_DATETIME
  43, // ILLEGAL_TYPE_OF_ARGUMENT
  47, // UNKNOWN_IDENTIFIER
  53, // TYPE_MISMATCH
  60, // UNKNOWN_TABLE
  62, // SYNTAX_ERROR
  69, // ARGUMENT_OUT_OF_BOUND
  70, // CANNOT_CONVERT_TYPE
  72, // CANNOT_PARSE_NUMBER
  73, // UNKNOWN_FORMAT
  81, // UNKNOWN_DATABASE
  115, // UNKNOWN_SETTING
  117, // INCORRECT_DATA
  131, // TOO_LARGE_STRING_SIZE
  192, // UNKNOWN_USER
  194, // REQUIRED_PASSWORD
  195, // IP_ADDRESS_NOT_ALLOWED
  349, // CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
  469, // VIOLATED_CONSTRAINT
  497, // ACCESS_DENIED
  516, // AUTHENTICATION_FAILED
]);

/** The server's message of a failed query, on one line, at most 512 characters. */
function failureText(result: HttpResult): string {
  const text = utf8.decode(result.body.subarray(0, 4096)).trim().replaceAll(/\s+/g, " ");
  return text.length > 512 ? `${text.slice(0, 512)}…` : text;
}

/** Whether a failed query may pass on retry. */
export function isRetryableClickhouseFailure(status: number, code: number | undefined): boolean {
  if (code !== undefined && PERMANENT_CODES.has(code)) return false;
  if (status === 429 || status === 408) return true;
  return status >= 500;
}

/** Creates one `clickhouse` exporter instance. */
export function createClickhouseExporter(
  settings: CreateSettings<ClickhouseConfig>,
  signals: readonly Signal[],
): Exporter {
  const { config, logger } = settings;
  const endpoint = new URL(config.endpoint);
  const database = databaseOf(config);
  const base = `${endpoint.protocol}//${endpoint.host}/`;
  const params = new URLSearchParams(endpoint.search);
  for (const [k, v] of Object.entries(config.connection_params)) params.set(k, v);
  params.set("database", database);
  if (config.async_insert && !params.has("async_insert")) params.set("async_insert", "1");
  const compression = config.compress as RequestCompression;
  const encoding = contentEncodingOf(compression);
  const headers: Record<string, string> = {
    "User-Agent": `${settings.buildInfo.command}/${settings.buildInfo.version} ` +
      `(${Deno.build.os}/${Deno.build.arch})`,
    "Content-Type": "application/octet-stream",
  };
  if (encoding !== undefined) headers["Content-Encoding"] = encoding;
  if (config.username !== "") headers["X-ClickHouse-User"] = config.username;
  if (config.password !== "") headers["X-ClickHouse-Key"] = config.password;
  const kinds: TableKind[] = [];
  if (signals.includes("traces")) kinds.push("traces");
  if (signals.includes("logs")) kinds.push("logs");
  if (signals.includes("metrics")) kinds.push(...METRIC_KINDS);

  let client: HttpClient | undefined;
  let stopped = false;
  let schemaReady: Promise<void> | undefined;

  function urlFor(query: string, withSettings: boolean): string {
    // The DDL names its database itself, and must not name one that does not exist yet.
    const q = withSettings ? new URLSearchParams(params) : new URLSearchParams();
    q.set("query", query);
    return `${base}?${q}`;
  }

  async function run(
    context: string,
    query: string,
    body: Uint8Array,
    abort: AbortSignal | undefined,
    insert: boolean,
  ): Promise<void> {
    let result: HttpResult;
    try {
      const sent = insert && compression !== "none"
        ? await compressRequestBody(body, compression)
        : body;
      const h = insert || encoding === undefined ? headers : withoutEncoding(headers);
      result = await client!.post(urlFor(query, insert), sent, {
        headers: h,
        timeoutMs: 0, // the exporter helper's timeout aborts `abort`
        ...(abort === undefined ? {} : { signal: abort }),
      });
    } catch (error) {
      throw classifyNetworkFailure(context, error);
    }
    if (result.status >= 200 && result.status < 300) return;
    const header = result.headers.get("x-clickhouse-exception-code");
    const code = header === null ? undefined : Number(header);
    const text = failureText(result);
    const message = `${context}: HTTP ${result.status}${text === "" ? "" : `: ${text}`}`;
    if (!isRetryableClickhouseFailure(result.status, code)) throw permanentError(message);
    const retryAfterMs = parseRetryAfter(result.headers.get("retry-after"));
    throw retryableError(message, retryAfterMs === undefined ? {} : { retryAfterMs });
  }

  function ensureSchema(context: string): Promise<void> {
    if (!config.create_schema) return Promise.resolve();
    schemaReady ??= (async () => {
      const empty = new Uint8Array(0);
      await run(context, databaseDdl(config, database), empty, undefined, false);
      for (const kind of kinds) {
        await run(
          context,
          tableDdl(config, database, tableName(config, kind), kind),
          empty,
          undefined,
          false,
        );
      }
      logger.info("Created the database and tables (if they were missing)", { database });
    })().catch((error) => {
      schemaReady = undefined;
      throw error;
    });
    return schemaReady;
  }

  function pushFor<S extends Signal>(signal: S, build: (data: never) => Rows): PushFunc<S> {
    const context = `Cannot export ${signal} to ${displayUrl(base)}`;
    /** Per payload under retry: the tables already inserted. */
    const done = new WeakMap<Payload<S>, Set<TableKind>>();
    return async (payload, abort) => {
      if (client === undefined || stopped) {
        throw retryableError(
          `${context}: the exporter is ${stopped ? "shut down" : "not started"}`,
        );
      }
      await ensureSchema(context);
      const rows = build(payload.read() as never);
      const inserted = done.get(payload) ?? new Set<TableKind>();
      for (const [kind, table] of Object.entries(rows) as [TableKind, Rows[TableKind]][]) {
        if (table === undefined || table.rows === 0 || inserted.has(kind)) continue;
        try {
          await run(
            context,
            insertStatement(database, tableName(config, kind), kind),
            table.writer.bytes(),
            abort,
            true,
          );
        } catch (error) {
          if (inserted.size > 0) done.set(payload, inserted);
          throw error;
        }
        inserted.add(kind);
      }
      done.delete(payload);
    };
  }

  const pushes: Partial<Record<Signal, PushFunc>> = {};
  const endpoints: Partial<Record<Signal, ReturnType<typeof urlLabels>>> = {};
  for (const signal of new Set(signals)) {
    if (signal === "traces") pushes.traces = pushFor("traces", traceRows) as PushFunc;
    else if (signal === "logs") pushes.logs = pushFor("logs", logRows) as PushFunc;
    else pushes.metrics = pushFor("metrics", metricRows) as PushFunc;
    endpoints[signal] = urlLabels(base);
  }
  const meter = withEndpointLabels(settings.meter, endpoints);
  const helper = createExporterHelper({ ...settings, meter }, config, pushes as PushBySignal);

  return {
    consumers: helper.consumers,
    async start(host) {
      if (stopped || client !== undefined) return;
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

function withoutEncoding(headers: Record<string, string>): Record<string, string> {
  const out = { ...headers };
  delete out["Content-Encoding"];
  return out;
}

/** The `clickhouse` exporter factory. */
export const clickhouseExporterFactory: ExporterFactory<ClickhouseConfig> = {
  kind: "exporter",
  type: "clickhouse",
  configSchema: clickhouseConfigSchema,
  signals: { traces: "alpha", metrics: "alpha", logs: "alpha" },
  create: createClickhouseExporter,
};
