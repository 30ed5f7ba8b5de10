/**
 * The `filesystem` scraper: space and inode usage per mounted file system (mounts from the host's
 * mount table, figures from `statfs`), with device, type and mount point filters. Virtual file
 * systems (`nodev` types, source `none`) are left out unless `include_virtual_filesystems`.
 *
 * @module
 */
import { z } from "../../../../lib/config/z.js";
import { hostPath } from "../../../../lib/host/_read.ts";
import { readFsUsage, readMounts, readPhysicalFsTypes } from "../../../../lib/host/filesystem.ts";
import { nowUnixNano } from "../../../../lib/pdata/new.ts";
import { compileFilter, matchTypeSchema, passes, refineFilter } from "../_filter.ts";
import {
  attrs,
  enabledMetrics,
  type MetricDefs,
  MetricsBuilder,
  metricsSchema,
} from "../_metrics.ts";
import {
  collectorScope,
  errorMessage,
  result,
  type ScrapeError,
  type Scraper,
} from "../_scraper.ts";

/** The filesystem scraper's metrics. */
export const FILESYSTEM_METRICS = {
  "system.filesystem.inodes.usage": {
    description: "FileSystem inodes used.",
    unit: "{inodes}",
    enabled: true,
    type: "sum",
    monotonic: false,
    double: false,
  },
  "system.filesystem.usage": {
    description: "Filesystem bytes used.",
    unit: "By",
    enabled: true,
    type: "sum",
    monotonic: false,
    double: false,
  },
  "system.filesystem.utilization": {
    description: "Fraction of filesystem bytes used.",
    unit: "1",
    enabled: false,
    type: "gauge",
    double: true,
  },
} as const satisfies MetricDefs;

const devices = z.strictObject({
  devices: z.array(z.string()).default([]),
  match_type: matchTypeSchema,
}).superRefine(refineFilter("devices"));
const fsTypes = z.strictObject({
  fs_types: z.array(z.string()).default([]),
  match_type: matchTypeSchema,
}).superRefine(refineFilter("fs_types"));
const mountPoints = z.strictObject({
  mount_points: z.array(z.string()).default([]),
  match_type: matchTypeSchema,
}).superRefine(refineFilter("mount_points"));

/** The filesystem scraper's config. */
export const filesystemConfigSchema = z.strictObject({
  metrics: metricsSchema(FILESYSTEM_METRICS),
  include_devices: devices.optional(),
  exclude_devices: devices.optional(),
  include_fs_types: fsTypes.optional(),
  exclude_fs_types: fsTypes.optional(),
  include_mount_points: mountPoints.optional(),
  exclude_mount_points: mountPoints.optional(),
  /** Report virtual file systems (tmpfs, proc, overlay, …) too. */
  include_virtual_filesystems: z.boolean().default(false),
});

/** The filesystem scraper's validated config. */
export type FilesystemConfig = z.output<typeof filesystemConfigSchema>;

/** Creates the filesystem scraper. */
export function createFilesystemScraper(config: FilesystemConfig): Scraper {
  const mb = new MetricsBuilder(
    FILESYSTEM_METRICS,
    enabledMetrics(FILESYSTEM_METRICS, config.metrics),
  );
  const c = config;
  const dev = [
    compileFilter(c.include_devices?.devices, c.include_devices?.match_type),
    compileFilter(c.exclude_devices?.devices, c.exclude_devices?.match_type),
  ] as const;
  const type = [
    compileFilter(c.include_fs_types?.fs_types, c.include_fs_types?.match_type),
    compileFilter(c.exclude_fs_types?.fs_types, c.exclude_fs_types?.match_type),
  ] as const;
  const mount = [
    compileFilter(c.include_mount_points?.mount_points, c.include_mount_points?.match_type),
    compileFilter(c.exclude_mount_points?.mount_points, c.exclude_mount_points?.match_type),
  ] as const;
  return {
    name: "filesystem",
    scope: collectorScope("filesystem"),
    async scrape(ctx) {
      const errors: ScrapeError[] = [];
      const start = await ctx.bootTime();
      const mounts = await readMounts(ctx.root);
      const physical = c.include_virtual_filesystems
        ? undefined
        : await readPhysicalFsTypes(ctx.root);
      for (const m of mounts) {
        if (physical !== undefined && (m.device === "none" || !physical.has(m.fsType))) continue;
        if (
          !passes(m.device, dev[0], dev[1]) || !passes(m.fsType, type[0], type[1]) ||
          !passes(m.mountPoint, mount[0], mount[1])
        ) continue;
        let usage;
        try {
          usage = await readFsUsage(hostPath(ctx.root, m.mountPoint));
        } catch (error) {
          errors.push({
            message: `Cannot read usage at ${m.mountPoint}: ${errorMessage(error)}`,
            failed: 3,
          });
          continue;
        }
        const now = nowUnixNano();
        const base = [
          "device",
          m.device,
          "mode",
          m.mode,
          "mountpoint",
          m.mountPoint,
          "type",
          m.fsType,
        ];
        mb.record(
          "system.filesystem.usage",
          usage.usedBytes,
          attrs(...base, "state", "used"),
          now,
          start,
        );
        mb.record(
          "system.filesystem.usage",
          usage.freeBytes,
          attrs(...base, "state", "free"),
          now,
          start,
        );
        mb.record(
          "system.filesystem.usage",
          usage.reservedBytes,
          attrs(...base, "state", "reserved"),
          now,
          start,
        );
        mb.record(
          "system.filesystem.inodes.usage",
          usage.inodesUsed,
          attrs(...base, "state", "used"),
          now,
          start,
        );
        mb.record(
          "system.filesystem.inodes.usage",
          usage.inodesFree,
          attrs(...base, "state", "free"),
          now,
          start,
        );
        if (usage.totalBytes > 0) {
          mb.record(
            "system.filesystem.utilization",
            usage.usedBytes / usage.totalBytes,
            attrs(...base),
            now,
            0n,
          );
        }
      }
      return result(mb.emit(), errors);
    },
  };
}
