/**
 * The `opensearch` exporter's config: the keys of the Collector's contrib `opensearch` exporter
 * (v0.161) that tfo implements, with its defaults (`dataset` `default`, `namespace` `namespace`,
 * `bulk_action` `create`, `mapping.mode` `ss4o`, `timeout` 5s). Unknown keys are rejected, and
 * so are the contrib's mapping modes and mapping keys tfo does not implement (`ecs`,
 * `flatten_attributes`, `bodymap`, `otel-v1`; `mapping.fields`, `file`, `timestamp_field`,
 * `unix_timestamp`, `dedup`, `dedot`, which only those modes read).
 *
 * @module
 */
import { z } from "../../../lib/config/z.js";
import { duration, httpUrl } from "../../../lib/config/schema.ts";
import { exporterHelperShape } from "../../../lib/exporterhelper/exporter_helper.ts";
import { clientAuthSchema } from "../../../lib/net/client_auth.ts";
import { httpClientTlsSchema } from "../../../lib/net/http_client_tls.ts";

const OTHER_MODES = ["ecs", "flatten_attributes", "bodymap", "otel-v1"];

const modeSchema = z.string().superRefine((mode, ctx) => {
  if (mode === "ss4o") return;
  ctx.addIssue({
    code: "custom",
    message: OTHER_MODES.includes(mode)
      ? `"${mode}" is not supported by tfo (only ss4o is implemented)`
      : `must be ss4o (the contrib exporter also has ${OTHER_MODES.join(", ")}; tfo does not)`,
  });
});

/** A placeholder index pattern: `%{attribute}` parts are resolved per item. */
const indexPattern = z.string().default("");

/** A Java-style time format for an index suffix (`yyyy`, `yy`, `MM`, `dd`, `HH`, `mm`, `ss`). */
const timeFormat = z.string().default("");

/** The `opensearch` exporter's config schema. */
export const opensearchConfigSchema = z
  .strictObject({
    /** The HTTP client: `endpoint` (the node's base URL), `headers`, `tls`, `auth`, `timeout`. */
    http: z.strictObject({
      /** The OpenSearch node, e.g. `https://opensearch:9200`; `/_bulk` is appended. */
      endpoint: httpUrl(),
      /** Headers sent with every request. */
      headers: z.record(z.string(), z.string()).default({}),
      /** The deadline of one HTTP request; 0 means none (the exporter's `timeout` still holds). */
      timeout: duration("0s"),
      /** TLS for `https://` endpoints. */
      tls: httpClientTlsSchema.prefault({}),
      /** A client authenticator extension (for example basic auth) whose headers requests carry. */
      auth: clientAuthSchema.optional(),
    }),
    /** The deadline of one export attempt; 0 means none. */
    timeout: duration("5s"),
    ...exporterHelperShape,
    /** The ss4o `data_stream.dataset`, and the middle of the default index names. */
    dataset: z.string().min(1, { message: "dataset must be specified" }).default("default"),
    /** The ss4o `data_stream.namespace`, and the end of the default index names. */
    namespace: z.string().min(1, { message: "namespace must be specified" }).default(
      "namespace",
    ),
    /** The logs index; `%{key}` placeholders take attribute values. Default `ss4o_logs-…`. */
    logs_index: indexPattern,
    /** What a placeholder of `logs_index` becomes when the attribute is missing ("unknown"). */
    logs_index_fallback: z.string().default(""),
    /** Appends `-<time>` in this format to the logs index. */
    logs_index_time_format: timeFormat,
    /** The traces index; `%{key}` placeholders take attribute values. Default `ss4o_traces-…`. */
    traces_index: indexPattern,
    /** What a placeholder of `traces_index` becomes when the attribute is missing ("unknown"). */
    traces_index_fallback: z.string().default(""),
    /** Appends `-<time>` in this format to the traces index. */
    traces_index_time_format: timeFormat,
    /** The bulk action: `create` (append-only, data streams) or `index`. */
    bulk_action: z.enum(["create", "index"], {
      message: "bulk_action can either be `create` or `index`",
    }).default("create"),
    /** The document mapping. */
    mapping: z
      .strictObject({
        /** Only `ss4o` (Simple Schema for Observability) is implemented. */
        mode: modeSchema.default("ss4o"),
      })
      .prefault({}),
  });

/** The `opensearch` exporter's validated config. */
export type OpensearchConfig = z.output<typeof opensearchConfigSchema>;
