/**
 * TFO-Agent collectors → receivers: `system`, `node_exporter` and `process` become `hostmetrics`
 * receivers with the matching scrapers, `logs` becomes a `filelog` receiver, `ebpf` the `ebpf`
 * receiver.
 *
 * @module
 */
import type { Diagnostic } from "../diagnostics.ts";
import type { RawMap, RawNode } from "../_raw.ts";
import { list, map, scalar } from "./_nodes.ts";
import type { Source } from "./_nodes.ts";
import type { TfoAgentConfig } from "./schema.ts";

/** Receivers by ID, in order, for one signal. */
export type Receivers = Map<string, RawMap>;

/** An empty scraper block (`cpu: {}`): the scraper with its defaults. */
function on(src: Source, path: readonly string[]): RawMap {
  return map(src.at(path), {});
}

/** Turns a glob (`veth*`, `loop?`) into an anchored regular expression. */
export function globToRegex(glob: string): string {
  let out = "";
  for (const c of glob) {
    if (c === "*") out += ".*";
    else if (c === "?") out += ".";
    else out += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return `^${out}$`;
}

/**
 * A node_exporter filter (one regular expression, or a list of globs) as a `regexp` filter block
 * `{<key>: [...], match_type: regexp}`; undefined when there is nothing to filter.
 */
function regexpFilter(
  src: Source,
  path: readonly string[],
  value: string | string[] | undefined,
  key: string,
): RawMap | undefined {
  if (value === undefined) return undefined;
  const patterns = typeof value === "string" ? [value] : value.map(globToRegex);
  const kept = patterns.filter((p) => p !== "");
  if (kept.length === 0) return undefined;
  const pos = src.at(path);
  return map(pos, {
    [key]: list(pos, kept.map((p) => scalar(p, pos))),
    match_type: scalar("regexp", pos),
  });
}

/** `collectors.system` → `host_metrics/system`. */
function systemReceiver(src: Source, cfg: TfoAgentConfig): RawMap | undefined {
  const c = cfg.collectors.system;
  if (!c.enabled) return undefined;
  const p = ["collectors", "system"];
  const at = (k: string) => [...p, k];
  const filesystem = c.disk_paths.length === 0
    ? on(src, at("disk"))
    : map(src.at(at("disk_paths")), {
      include_mount_points: map(src.at(at("disk_paths")), {
        mount_points: list(
          src.at(at("disk_paths")),
          c.disk_paths.map((_, i) => src.copy([...p, "disk_paths", i], c.disk_paths[i]!)),
        ),
        match_type: scalar("strict", src.at(at("disk_paths"))),
      }),
    });
  return map(src.at(p), {
    collection_interval: src.copy(at("interval"), "15s"),
    scrapers: map(src.at(p), {
      cpu: c.cpu ? on(src, at("cpu")) : undefined,
      load: c.cpu ? on(src, at("cpu")) : undefined,
      memory: c.memory ? on(src, at("memory")) : undefined,
      paging: c.memory ? on(src, at("memory")) : undefined,
      disk: c.disk ? on(src, at("disk")) : undefined,
      filesystem: c.disk ? filesystem : undefined,
      network: c.network ? on(src, at("network")) : undefined,
    }),
  });
}

/** `collectors.node_exporter` → `host_metrics/node_exporter`. */
function nodeExporterReceiver(
  src: Source,
  cfg: TfoAgentConfig,
  diagnostics: Diagnostic[],
): RawMap | undefined {
  const c = cfg.collectors.node_exporter;
  if (!c.enabled) return undefined;
  const p = ["collectors", "node_exporter"];
  const at = (k: string) => [...p, k];
  // Sub-collectors with no tfo scraper: an error when the file turns them on, a warning when only
  // the Go agent's default does (the rest of node_exporter is still provided).
  const missing: Array<[keyof typeof c, string]> = [
    ["conntrack", "tfo has no netfilter conntrack scraper"],
    ["textfile", "tfo does not read *.prom text files; scrape them with a prometheus receiver"],
  ];
  for (const [key, reason] of missing) {
    if (c[key] !== true) continue;
    const explicit = src.has(at(key));
    diagnostics.push({
      severity: explicit ? "error" : "warning",
      ...src.at(explicit ? at(key) : p),
      path: `collectors.node_exporter.${key}`,
      message: explicit
        ? `is on but tfo cannot provide it: ${reason}`
        : `is on by the TFO-Agent default but tfo cannot provide it (set it to false to ` +
          `silence this): ${reason}`,
    });
  }
  const filesystem = c.filesystem
    ? map(src.at(at("filesystem")), {
      exclude_mount_points: regexpFilter(
        src,
        at("filesystem_mount_exclude"),
        c.filesystem_mount_exclude,
        "mount_points",
      ),
      exclude_fs_types: regexpFilter(
        src,
        at("filesystem_type_exclude"),
        c.filesystem_type_exclude,
        "fs_types",
      ),
    })
    : undefined;
  const netExclude = regexpFilter(
    src,
    at("network_device_exclude"),
    c.network_device_exclude,
    "interfaces",
  );
  const diskExclude = regexpFilter(
    src,
    at("disk_device_exclude"),
    c.disk_device_exclude,
    "devices",
  );
  return map(src.at(p), {
    collection_interval: src.copy(at("interval"), "15s"),
    scrapers: map(src.at(p), {
      cpu: c.cpu ? on(src, at("cpu")) : undefined,
      memory: c.memory ? on(src, at("memory")) : undefined,
      paging: c.memory ? on(src, at("memory")) : undefined,
      disk: c.diskio ? map(src.at(at("diskio")), { exclude: diskExclude }) : undefined,
      filesystem,
      network: c.network ? map(src.at(at("network")), { exclude: netExclude }) : undefined,
      load: c.loadavg ? on(src, at("loadavg")) : undefined,
      thermal: c.thermal ? on(src, at("thermal")) : undefined,
      pressure: c.psi ? on(src, at("psi")) : undefined,
      vmstat: c.vmstat ? on(src, at("vmstat")) : undefined,
      sockstat: c.sockstat ? on(src, at("sockstat")) : undefined,
      entropy: c.entropy ? on(src, at("entropy")) : undefined,
      filedescriptors: c.filedesc ? on(src, at("filedesc")) : undefined,
      processes: c.stat ? on(src, at("stat")) : undefined,
    }),
  });
}

/** `collectors.process` → `host_metrics/process` with the `process` scraper. */
function processReceiver(src: Source, cfg: TfoAgentConfig): RawMap | undefined {
  const c = cfg.collectors.process;
  if (!c.enabled) return undefined;
  const p = ["collectors", "process"];
  const namesAt = src.at([...p, "processes"]);
  const include = c.processes.length === 0 ? undefined : map(namesAt, {
    names: list(namesAt, c.processes.map((name, i) => src.copy([...p, "processes", i], name))),
    match_type: scalar("strict", namesAt),
  });
  return map(src.at(p), {
    collection_interval: src.copy([...p, "interval"], "30s"),
    scrapers: map(src.at(p), { process: map(src.at(p), { include }) }),
  });
}

/** Escapes a regular expression as a double-quoted string of the stanza expression language. */
function exprString(pattern: string): string {
  return `"${pattern.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

/** `collectors.logs` → `file_log/logs`. */
function logsReceiver(
  src: Source,
  cfg: TfoAgentConfig,
  storage: string | undefined,
  diagnostics: Diagnostic[],
): RawMap | undefined {
  const c = cfg.collectors.logs;
  if (!c.enabled) return undefined;
  const p = ["collectors", "logs"];
  const pathsAt = src.at([...p, "paths"]);
  if (c.paths.length === 0) {
    diagnostics.push({
      severity: "error",
      ...pathsAt,
      path: "collectors.logs.paths",
      message: "must list at least one file or glob when the logs collector is enabled",
    });
    return undefined;
  }
  // Line filters: routers that pass matching lines on and drop the rest (a router drops what no
  // route matches), ending in a no-op.
  const matchAny = (patterns: string[]) =>
    patterns.map((pattern) => `body matches ${exprString(pattern)}`).join(" or ");
  const filters: Array<[string, string]> = [];
  if (c.include_patterns.length > 0) {
    filters.push(["include_patterns", matchAny(c.include_patterns)]);
  }
  if (c.exclude_patterns.length > 0) {
    filters.push(["exclude_patterns", `not (${matchAny(c.exclude_patterns)})`]);
  }
  const operators: RawNode[] = filters.map(([key, expr], i) => {
    const pos = src.at([...p, key]);
    const next = filters[i + 1];
    const output = next === undefined ? "tfo_keep" : `tfo_${next[0]}`;
    return map(pos, {
      type: scalar("router", pos),
      id: scalar(`tfo_${key}`, pos),
      routes: list(pos, [map(pos, { expr: scalar(expr, pos), output: scalar(output, pos) })]),
    });
  });
  if (operators.length > 0) {
    const pos = src.at(p);
    operators.push(map(pos, { type: scalar("noop", pos), id: scalar("tfo_keep", pos) }));
  }
  return map(src.at(p), {
    include: list(pathsAt, c.paths.map((path, i) => src.copy([...p, "paths", i], path))),
    storage: storage === undefined ? undefined : scalar(storage, src.at(p)),
    operators: operators.length === 0 ? undefined : list(src.at(p), operators),
  });
}

/** `collectors.ebpf` → `ebpf`: the same keys; what tfo cannot do is an error or a warning. */
function ebpfReceiver(
  src: Source,
  cfg: TfoAgentConfig,
  diagnostics: Diagnostic[],
): RawMap | undefined {
  const c = cfg.collectors.ebpf;
  if (!c.enabled) return undefined;
  const p = ["collectors", "ebpf"];
  const at = (k: string) => [...p, k];
  let ok = true;
  const error = (key: string, message: string) => {
    ok = false;
    diagnostics.push({
      severity: "error",
      ...src.at(at(key)),
      path: `collectors.ebpf.${key}`,
      message,
    });
  };
  const warn = (key: string, message: string) =>
    diagnostics.push({
      severity: "warning",
      ...src.at(at(key)),
      path: `collectors.ebpf.${key}`,
      message,
    });
  if (c.sample_rate !== 100) {
    error("sample_rate", "must be 100: tfo counts every event in the kernel and does not sample");
  }
  if (c.cilium.enabled) {
    error(
      "cilium",
      "is enabled but tfo has no Cilium Hubble client; collect Hubble's metrics " +
        "with a prometheus receiver in an OpenTelemetry-shaped config",
    );
  }
  for (const key of ["ring_buffer_size", "perf_buffer_size"] as const) {
    if (c[key] !== undefined) {
      warn(key, "has no counterpart: tfo reads per-CPU counter maps and keeps no event buffer");
    }
  }
  if (c.pin_path !== undefined && c.pin_path !== "") {
    warn(
      "pin_path",
      "has no counterpart: tfo does not pin its maps, so counters restart with " +
        "the agent",
    );
  }
  if (!ok) return undefined;
  const flags = [
    "collect_syscalls",
    "collect_network",
    "collect_file_io",
    "collect_scheduler",
    "collect_memory",
    "collect_tcp_events",
  ] as const;
  const strings = (key: "process_filter" | "exclude_processes") =>
    list(src.at(at(key)), c[key].map((v, i) => src.copy([...p, key, i], v)));
  const labels = Object.entries(c.labels);
  return map(src.at(p), {
    interval: src.copy(at("interval"), "15s"),
    ...Object.fromEntries(flags.map((f) => [f, src.copy(at(f), c[f])])),
    process_filter: strings("process_filter"),
    exclude_processes: strings("exclude_processes"),
    btf_path: c.btf_path === "" ? undefined : src.copy(at("btf_path"), c.btf_path),
    labels: labels.length === 0 ? undefined : map(
      src.at(at("labels")),
      Object.fromEntries(labels.map(([k, v]) => [k, src.copy([...p, "labels", k], v)])),
    ),
  });
}

/**
 * Leaves each host scraper in one receiver. `collectors.system` (on by default) and
 * `collectors.node_exporter` both map to the cpu, memory, paging, disk, filesystem, network and load
 * scrapers; two receivers running one scraper would send every series twice per interval. The
 * node_exporter scraper wins: that collector is the explicit opt-in and carries the finer device,
 * mount point and file system filters. System's `disk_paths` (an include list) is kept by moving it
 * onto node_exporter's filesystem scraper, where both filters apply. System keeps the scrapers
 * node_exporter does not run; a system receiver left with none is dropped.
 */
function dedupeScrapers(
  system: RawMap,
  node: RawMap,
): { system: RawMap | undefined; node: RawMap } {
  const systemScrapers = system.entries.get("scrapers")!.value as RawMap;
  const nodeScrapersEntry = node.entries.get("scrapers")!;
  const nodeScrapers = new Map((nodeScrapersEntry.value as RawMap).entries);
  const kept = new Map(systemScrapers.entries);
  for (const name of systemScrapers.entries.keys()) {
    const winner = nodeScrapers.get(name);
    if (winner === undefined) continue;
    const include = (kept.get(name)!.value as RawMap).entries.get("include_mount_points");
    if (name === "filesystem" && include !== undefined && winner.value.kind === "map") {
      const entries = new Map(winner.value.entries).set("include_mount_points", include);
      nodeScrapers.set(name, { keyPos: winner.keyPos, value: { ...winner.value, entries } });
    }
    kept.delete(name);
  }
  const nodeEntries = new Map(node.entries).set("scrapers", {
    keyPos: nodeScrapersEntry.keyPos,
    value: { ...(nodeScrapersEntry.value as RawMap), entries: nodeScrapers },
  });
  const systemEntries = new Map(system.entries).set("scrapers", {
    keyPos: system.entries.get("scrapers")!.keyPos,
    value: { ...systemScrapers, entries: kept },
  });
  return {
    system: kept.size === 0 ? undefined : { ...system, entries: systemEntries },
    node: { ...node, entries: nodeEntries },
  };
}

/**
 * The receivers of the metrics and logs pipelines. Each host scraper runs in one receiver only
 * (see {@linkcode dedupeScrapers}: node_exporter's wins over system's).
 */
export function translateCollectors(
  src: Source,
  cfg: TfoAgentConfig,
  storage: string | undefined,
  diagnostics: Diagnostic[],
): { metrics: Receivers; logs: Receivers } {
  const metrics: Receivers = new Map();
  const logs: Receivers = new Map();
  const add = (into: Receivers, id: string, node: RawMap | undefined) => {
    if (node !== undefined) into.set(id, node);
  };
  let node = nodeExporterReceiver(src, cfg, diagnostics);
  let system = systemReceiver(src, cfg);
  if (system !== undefined && node !== undefined) ({ system, node } = dedupeScrapers(system, node));
  add(metrics, "host_metrics/system", system);
  add(metrics, "host_metrics/node_exporter", node);
  add(metrics, "host_metrics/process", processReceiver(src, cfg));
  add(metrics, "ebpf", ebpfReceiver(src, cfg, diagnostics));
  add(logs, "file_log/logs", logsReceiver(src, cfg, storage, diagnostics));
  return { metrics, logs };
}
