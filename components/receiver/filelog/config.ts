/**
 * The `filelog` receiver's config: the OpenTelemetry Collector's keys and defaults.
 *
 * @module
 */
import { z } from "../../../lib/config/z.js";
import { byteSize, duration } from "../../../lib/config/schema.ts";
import { operatorConfigSchema } from "../../../lib/stanza/config.ts";
import { buildPipeline } from "../../../lib/stanza/pipeline.ts";
import { compileGoRegex } from "../../../lib/stanza/expr.ts";

/** Encodings the receiver decodes. `nop` keeps the bytes as a bytes body. */
export const FILELOG_ENCODINGS = ["utf-8", "utf8", "ascii", "us-ascii", "nop"] as const;

function regex() {
  return z.string().min(1).refine((s) => {
    try {
      compileGoRegex(s);
      return true;
    } catch {
      return false;
    }
  }, { message: "must be a valid regular expression" });
}

/** The filelog receiver's config schema. */
export const filelogConfigSchema = z
  .strictObject({
    /** Globs of files to read (`*`, `?`, `[…]`, `{a,b}`, `**` for any depth). */
    include: z.array(z.string().min(1)).min(1),
    /** Globs of files to leave out. */
    exclude: z.array(z.string().min(1)).default([]),
    /** Where to start reading files found at start-up that have no stored offset. */
    start_at: z.enum(["beginning", "end"]).default("end"),
    /** How often the globs are expanded and files read. */
    poll_interval: duration("200ms"),
    include_file_name: z.boolean().default(true),
    include_file_path: z.boolean().default(false),
    include_file_name_resolved: z.boolean().default(false),
    include_file_path_resolved: z.boolean().default(false),
    /** The largest entry; longer ones are split into pieces of this size. */
    max_log_size: byteSize().default(1024 * 1024),
    /** The most files read at once. */
    max_concurrent_files: z.number().int().min(1).default(1024),
    encoding: z.enum(FILELOG_ENCODINGS).default("utf-8"),
    multiline: z.strictObject({
      line_start_pattern: regex().optional(),
      line_end_pattern: regex().optional(),
    }).optional(),
    /** Leading bytes that identify a file across renames and truncation. */
    fingerprint_size: byteSize().default(1000),
    /** A storage extension ID; offsets and fingerprints persist there across restarts. */
    storage: z.string().min(1).optional(),
    /** How long an unterminated last line waits before it is sent as it is. */
    force_flush_period: duration("500ms"),
    preserve_leading_whitespaces: z.boolean().default(false),
    preserve_trailing_whitespaces: z.boolean().default(false),
    /** Stanza operators, in order. */
    operators: z.array(operatorConfigSchema).default([]),
    /** Attributes added to every entry. */
    attributes: z.record(z.string(), z.string()).default({}),
    /** Resource attributes added to every entry. */
    resource: z.record(z.string(), z.string()).default({}),
  })
  .superRefine((c, ctx) => {
    const m = c.multiline;
    if (m !== undefined) {
      const n = (m.line_start_pattern === undefined ? 0 : 1) +
        (m.line_end_pattern === undefined ? 0 : 1);
      if (n !== 1) {
        ctx.addIssue({
          code: "custom",
          path: ["multiline"],
          message: "must set exactly one of line_start_pattern and line_end_pattern",
        });
      }
    }
    if (c.fingerprint_size < 16) {
      ctx.addIssue({
        code: "custom",
        path: ["fingerprint_size"],
        message: "must be at least 16 bytes",
      });
    }
    if (c.max_log_size < 1) {
      ctx.addIssue({ code: "custom", path: ["max_log_size"], message: "must be at least 1 byte" });
    }
    try {
      buildPipeline(c.operators);
    } catch (error) {
      ctx.addIssue({
        code: "custom",
        path: ["operators"],
        message: error instanceof Error ? error.message : String(error),
      });
    }
  });

/** The filelog receiver's validated config. */
export type FilelogConfig = z.output<typeof filelogConfigSchema>;
