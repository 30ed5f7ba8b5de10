/**
 * Targets from `static_configs`, as Prometheus builds them: discovered labels (`__address__` and
 * the group's labels), the job's defaults where not already set (`job`, `__scheme__`,
 * `__metrics_path__`, `__scrape_interval__`, `__scrape_timeout__`, `__param_<name>`), then
 * `relabel_configs`; `instance` defaults to `__address__`, and labels starting with `__` are
 * removed from what samples get.
 *
 * @module
 */
import { formatDuration } from "../../../lib/config/schema.ts";
import type { Label } from "../../../lib/prometheus/types.ts";
import { compileRelabel, relabel } from "./_relabel.ts";
import type { ScrapeConfig } from "./config.ts";

/** One target to scrape. */
export interface Target {
  /** The URL scraped. */
  url: string;
  /** `http` or `https`. */
  scheme: string;
  job: string;
  instance: string;
  /** The labels every sample of the target gets, sorted by name (`job`, `instance` included). */
  labels: Label[];
}

/** The default scrape interval and timeout of a job, in milliseconds. */
export interface JobTiming {
  intervalMs: number;
  timeoutMs: number;
}

/** A group of targets with shared labels: a `static_configs` entry or one from a file. */
export interface TargetGroup {
  readonly targets: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
}

/** The key that tells two targets apart (URL and labels). */
export function targetKey(target: Target): string {
  return target.url + "\u0000" + JSON.stringify(target.labels);
}

/**
 * The targets of one job after relabeling (dropped ones left out, duplicates merged), from its
 * `static_configs` and the `discovered` groups.
 */
export function buildTargets(
  config: ScrapeConfig,
  timing: JobTiming,
  discovered: readonly TargetGroup[] = [],
): Target[] {
  const rules = config.relabel_configs.map(compileRelabel);
  const targets = new Map<string, Target>();
  for (const group of [...config.static_configs, ...discovered]) {
    for (const address of group.targets) {
      const labels = new Map<string, string>([["__address__", address]]);
      for (const [name, value] of Object.entries(group.labels)) labels.set(name, value);
      const defaults: [string, string][] = [
        ["job", config.job_name],
        ["__scheme__", config.scheme],
        ["__metrics_path__", config.metrics_path],
        ["__scrape_interval__", formatDuration(timing.intervalMs)],
        ["__scrape_timeout__", formatDuration(timing.timeoutMs)],
      ];
      for (const [name, values] of Object.entries(config.params)) {
        if (values[0] !== undefined) defaults.push([`__param_${name}`, values[0]]);
      }
      for (const [name, value] of defaults) {
        if ((labels.get(name) ?? "") === "") labels.set(name, value);
      }
      if (!relabel(labels, rules)) continue;
      const target = targetOf(labels, config);
      if (target !== undefined) {
        targets.set(targetKey(target), target);
      }
    }
  }
  return [...targets.values()];
}

function targetOf(labels: Map<string, string>, config: ScrapeConfig): Target | undefined {
  const address = labels.get("__address__") ?? "";
  if (address === "" || address.includes("/")) return undefined;
  if (!labels.has("instance")) labels.set("instance", address);
  const scheme = labels.get("__scheme__") ?? config.scheme;
  const path = labels.get("__metrics_path__") ?? config.metrics_path;
  const query = new URLSearchParams();
  for (const [name, values] of Object.entries(config.params)) {
    for (const v of values) query.append(name, v);
  }
  const out: Label[] = [];
  for (const [name, value] of labels) {
    if (name.startsWith("__param_")) query.set(name.slice("__param_".length), value);
    else if (!name.startsWith("__") && value !== "") out.push({ name, value });
  }
  out.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  const search = query.toString();
  return {
    url: `${scheme}://${address}${path.startsWith("/") ? path : `/${path}`}${
      search === "" ? "" : `?${search}`
    }`,
    scheme,
    job: labels.get("job") ?? "",
    instance: labels.get("instance") ?? "",
    labels: out,
  };
}
