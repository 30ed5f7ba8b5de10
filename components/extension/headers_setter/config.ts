/**
 * Config of the `headers_setter` extension: the contrib Collector's (v0.161) keys and defaults.
 *
 * ```yaml
 * extensions:
 *   headers_setter:
 *     headers:
 *       - key: X-Tenant-Id
 *         from_context: x-tenant-id        # request metadata (receiver `include_metadata`)
 *       - key: X-Workspace-Id
 *         from_attribute: workspace.id     # what the server authenticator established
 *         default_value: unknown
 *       - key: X-Source
 *         value: tfo
 *         action: insert
 *       - key: X-Debug
 *         action: delete
 * ```
 *
 * The Collector's `value_file` and `additional_auth` are not implemented: the strict schema refuses
 * them.
 *
 * @module
 */
import { z } from "../../../lib/config/z.js";

const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, {
  message: "must be an HTTP header name",
});

/** The sources a header's value may come from; exactly one, except for `delete`. */
const SOURCES = ["value", "from_context", "from_attribute"] as const;

/** One header to set or delete. */
export const headerConfigSchema = z
  .strictObject({
    /** The header name. */
    key: headerName,
    /** What to do: `insert` (when absent), `update` (when present), `upsert`, `delete`. */
    action: z.enum(["insert", "update", "upsert", "delete"]).default("upsert"),
    /** A fixed value. */
    value: z.string().optional(),
    /** A request metadata key (a request header kept by the receiver's `include_metadata`). */
    from_context: z.string().min(1).optional(),
    /** An attribute the server authenticator established (`tenant.id`, `workspace.id`, …). */
    from_attribute: z.string().min(1).optional(),
    /** The value when `from_context` or `from_attribute` finds none. */
    default_value: z.string().optional(),
  })
  .superRefine((h, ctx) => {
    const given = SOURCES.filter((s) => h[s] !== undefined);
    if (h.action === "delete") {
      for (const key of [...given, ...(h.default_value === undefined ? [] : ["default_value"])]) {
        ctx.addIssue({ code: "custom", path: [key], message: "is not used by action delete" });
      }
      return;
    }
    if (given.length === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["value"],
        message: "missing header source, must be 'from_context', 'from_attribute' or 'value'",
      });
    } else if (given.length > 1) {
      ctx.addIssue({
        code: "custom",
        path: [given[1]!],
        message:
          "invalid header source, must be one of 'from_context', 'from_attribute' or 'value'",
      });
    }
    if (h.default_value !== undefined && h.value !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["default_value"],
        message: "cannot be used with value (only with from_context or from_attribute)",
      });
    }
  });

/** The `headers_setter` config schema. */
export const headersSetterConfigSchema = z.strictObject({
  /** The headers to set, applied in order on every outgoing request. */
  headers: z.array(headerConfigSchema).min(1, { message: "missing headers configuration" }),
});

/** A validated `headers_setter` config. */
export type HeadersSetterConfig = z.output<typeof headersSetterConfigSchema>;
/** One validated header entry. */
export type HeaderConfig = z.output<typeof headerConfigSchema>;
