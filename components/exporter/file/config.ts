/**
 * The `file` exporter's config: the OpenTelemetry Collector's keys and defaults (contrib
 * v0.161.0), plus the exporter helper's `retry_on_failure` and `sending_queue` (tfo: a write that
 * fails, say on a full disk, is retried instead of dropped). `rotation` is on only when the key is
 * present, as in the Collector. `encoding` (an encoding extension) and `compression_params` are not
 * implemented and so are refused.
 *
 * @module
 */
import { z } from "../../../lib/config/z.js";
import { duration } from "../../../lib/config/schema.ts";
import { exporterHelperShape } from "../../../lib/exporterhelper/exporter_helper.ts";

const rotationSchema = z.strictObject({
  /** The size in MiB at which the file is rotated. */
  max_megabytes: z.number().int().nonnegative().default(100),
  /** Backups older than this many days are removed; 0 keeps them. */
  max_days: z.number().int().nonnegative().default(0),
  /** The most backups kept; 0 keeps all. */
  max_backups: z.number().int().nonnegative().default(100),
  /** Backup timestamps in local time instead of UTC. */
  localtime: z.boolean().default(false),
});

const groupBySchema = z.strictObject({
  /** Write each resource to the file whose path has `*` replaced by its attribute. */
  enabled: z.boolean().default(false),
  /** The resource attribute naming the file. */
  resource_attribute: z.string().default("fileexporter.path_segment"),
  /** The most files open at once; the least recently used is closed. */
  max_open_files: z.number().int().positive().default(100),
});

/** The `file` exporter's config schema. */
export const fileExporterConfigSchema = z
  .strictObject({
    /** The file written to (with `group_by`, a pattern with one `*`). */
    path: z.string().min(1, { message: "must be non-empty" }),
    /** Append to an existing file instead of truncating it (not with `rotation`). */
    append: z.boolean().default(false),
    /** Rotation by size, with backups kept by count and age. */
    rotation: rotationSchema.optional(),
    /** `json`: one OTLP/JSON request per line; `proto`: length-prefixed OTLP protobuf. */
    format: z.enum(["json", "proto"]).default("json"),
    /** `zstd`: each request compressed on its own, length-prefixed. */
    compression: z.enum(["", "zstd"]).default(""),
    /**
     * How often the file is synced to disk (`fdatasync`); 0 means the default 1s. Every write
     * reaches the operating system before it is acknowledged.
     */
    flush_interval: duration("1s"),
    /** One file per resource attribute value. */
    group_by: groupBySchema.prefault({}),
    /** Create the file's directory at start. */
    create_directory: z.boolean().default(false),
    /** The mode of created directories, octal (with `create_directory`). */
    directory_permissions: z.string().optional(),
    ...exporterHelperShape,
  })
  .superRefine((c, ctx) => {
    const issue = (path: string[], message: string) =>
      ctx.addIssue({ code: "custom", path, message });
    if (c.append && c.rotation !== undefined) {
      issue(["append"], "append and rotation enabled at the same time is not supported");
    }
    if (c.flush_interval < 0) issue(["flush_interval"], "must not be negative");
    if (c.group_by.enabled) {
      const parts = c.path.split("*");
      if (parts.length !== 2) {
        issue(["path"], "must contain exactly one * when group_by is enabled");
      } else if (parts[0] === "") {
        issue(["path"], "must not start with * when group_by is enabled");
      }
      if (c.group_by.resource_attribute === "") {
        issue(["group_by", "resource_attribute"], "must not be empty when group_by is enabled");
      }
    }
    if (c.directory_permissions !== undefined) {
      if (!c.create_directory) {
        issue(["directory_permissions"], "requires create_directory to be true");
      } else if (!/^0?[0-7]{1,3}$/.test(c.directory_permissions)) {
        issue(["directory_permissions"], "must be an octal mode such as 0755");
      }
    }
  });

/** The `file` exporter's validated config. */
export type FileExporterConfig = z.output<typeof fileExporterConfigSchema>;
