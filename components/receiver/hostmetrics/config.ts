/**
 * The `hostmetrics` receiver's config: the OpenTelemetry Collector's keys and defaults
 * (`collection_interval` 1m, `initial_delay` 1s, `root_path`, `scrapers`), and tfo's extra scrapers
 * `pressure`, `vmstat`, `sockstat`, `entropy`, `filedescriptors`, `thermal`.
 *
 * A scraper runs when its key is present; `cpu:` with no value runs it with its defaults.
 *
 * @module
 */
import { z } from "../../../lib/config/z.js";
import { duration } from "../../../lib/config/schema.ts";
import { cpuConfigSchema } from "./scrapers/cpu.ts";
import { diskConfigSchema } from "./scrapers/disk.ts";
import { entropyConfigSchema } from "./scrapers/entropy.ts";
import { filedescriptorsConfigSchema } from "./scrapers/filedescriptors.ts";
import { filesystemConfigSchema } from "./scrapers/filesystem.ts";
import { loadConfigSchema } from "./scrapers/load.ts";
import { memoryConfigSchema } from "./scrapers/memory.ts";
import { networkConfigSchema } from "./scrapers/network.ts";
import { pagingConfigSchema } from "./scrapers/paging.ts";
import { pressureConfigSchema } from "./scrapers/pressure.ts";
import { processConfigSchema } from "./scrapers/process.ts";
import { processesConfigSchema } from "./scrapers/processes.ts";
import { sockstatConfigSchema } from "./scrapers/sockstat.ts";
import { thermalConfigSchema } from "./scrapers/thermal.ts";
import { vmstatConfigSchema } from "./scrapers/vmstat.ts";

/** A scraper's block: absent means off; `null` (a bare `cpu:` in YAML) means on with defaults. */
function scraper<S extends z.ZodType>(schema: S) {
  return z.preprocess((v) => (v === null ? {} : v), schema.optional());
}

/** The `scrapers` block. */
export const scrapersSchema = z.strictObject({
  cpu: scraper(cpuConfigSchema),
  memory: scraper(memoryConfigSchema),
  disk: scraper(diskConfigSchema),
  filesystem: scraper(filesystemConfigSchema),
  network: scraper(networkConfigSchema),
  load: scraper(loadConfigSchema),
  paging: scraper(pagingConfigSchema),
  processes: scraper(processesConfigSchema),
  process: scraper(processConfigSchema),
  pressure: scraper(pressureConfigSchema),
  vmstat: scraper(vmstatConfigSchema),
  sockstat: scraper(sockstatConfigSchema),
  entropy: scraper(entropyConfigSchema),
  filedescriptors: scraper(filedescriptorsConfigSchema),
  thermal: scraper(thermalConfigSchema),
});

/** The hostmetrics receiver's config schema. */
export const hostmetricsConfigSchema = z.strictObject({
  /** Time between scrapes. */
  collection_interval: duration("1m"),
  /** Time from start to the first scrape. */
  initial_delay: duration("1s"),
  /** Where the host's root file system is mounted (for example `/hostfs`); "" for `/`. */
  root_path: z.string().default(""),
  scrapers: scrapersSchema.default({}),
}).superRefine((c, ctx) => {
  if (c.collection_interval <= 0) {
    ctx.addIssue({
      code: "custom",
      path: ["collection_interval"],
      message: "must be greater than 0",
    });
  }
  if (c.root_path !== "" && !c.root_path.startsWith("/")) {
    ctx.addIssue({ code: "custom", path: ["root_path"], message: "must be an absolute path" });
  }
});

/** The hostmetrics receiver's validated config. */
export type HostmetricsConfig = z.output<typeof hostmetricsConfigSchema>;

/** The name of every scraper, in emit order. */
export type ScraperName = keyof z.output<typeof scrapersSchema>;
