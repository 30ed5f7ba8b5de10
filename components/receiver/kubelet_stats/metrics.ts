/**
 * One `/stats/summary` answer as the Collector's `kubelet_stats` metrics: one resource per node,
 * pod, container and volume, with the Collector's names, units, types and resource attributes.
 *
 * - CPU: `*.cpu.usage` = `usageNanoCores` / 1e9 (`{cpu}`, gauge), `*.cpu.time` =
 *   `usageCoreNanoSeconds` / 1e9 (`s`, cumulative, monotonic).
 * - Memory: available, usage, rss, working_set (`By`), page_faults, major_page_faults (`1`).
 * - Filesystem: the node's `fs`, the pod's `ephemeral-storage`, the container's `rootfs`.
 * - Network (node and pod): `*.network.io` (`By`) and `*.network.errors` (`1`), cumulative, with
 *   `interface` and `direction` (`receive`, `transmit`); the default interface only unless
 *   `collect_all_network_interfaces` asks for every one.
 * - Uptime (off by default): whole seconds since `startTime`.
 * - Cumulative points start at the node's, pod's or container's `startTime`; every point is
 *   stamped with the scrape time.
 *
 * @module
 */
import {
  cumulativeSumOf,
  gaugeOf,
  newMetric,
  newNumberDataPoint,
  newResource,
  newScope,
} from "../../../lib/pdata/new.ts";
import type {
  KeyValue,
  Metric,
  MetricsData,
  NumberDataPoint,
  ResourceMetrics,
} from "../../../lib/pdata/types.ts";
import {
  KUBELET_METRICS,
  type KubeletStatsConfig,
  metricEnabled,
  type MetricGroup,
} from "./config.ts";
import type { PodMetadata } from "./metadata.ts";
import type {
  CpuStats,
  FsStats,
  InterfaceStats,
  MemoryStats,
  NetworkStats,
  Summary,
} from "./summary.ts";

/** The instrumentation scope of the metrics (the Collector's scope name). */
export const KUBELET_SCOPE =
  "github.com/open-telemetry/opentelemetry-collector-contrib/receiver/kubeletstatsreceiver";

/** What a summary could not be turned into, per item (logged by the receiver). */
export interface SkipNote {
  readonly pod: string;
  readonly container?: string;
  readonly volume?: string;
  readonly reason: string;
}

function toNano(time: string | undefined): bigint {
  if (time === undefined) return 0n;
  const ms = Date.parse(time);
  return Number.isFinite(ms) ? BigInt(ms) * 1_000_000n : 0n;
}

/** Metrics of one resource, built point by point. */
class MetricSet {
  readonly metrics: Metric[] = [];
  readonly #byName = new Map<string, NumberDataPoint[]>();

  constructor(
    readonly config: KubeletStatsConfig,
    readonly now: bigint,
    readonly start: bigint,
  ) {}

  /** Adds a point of `name` (skipped when the metric is off or the value missing). */
  add(name: string, value: number | undefined, attributes: KeyValue[] = []): void {
    if (value === undefined || value === null || !Number.isFinite(value)) return;
    if (!metricEnabled(this.config, name)) return;
    const info = KUBELET_METRICS[name]!;
    let points = this.#byName.get(name);
    if (points === undefined) {
      points = [];
      this.metrics.push(newMetric({
        name,
        unit: info.unit,
        description: info.description,
        data: info.type === "gauge" ? gaugeOf(points) : cumulativeSumOf(points, true),
      }));
      this.#byName.set(name, points);
    }
    points.push(newNumberDataPoint({
      value: info.value === "int" ? BigInt(Math.trunc(value)) : value,
      attributes,
      timeUnixNano: this.now,
      startTimeUnixNano: info.type === "sum" ? this.start : 0n,
    }));
  }
}

function cpu(set: MetricSet, prefix: string, s: CpuStats | undefined): void {
  if (s === undefined) return;
  const nano = (v: number | undefined) => v === undefined ? undefined : v / 1e9;
  set.add(`${prefix}.cpu.usage`, nano(s.usageNanoCores));
  set.add(`${prefix}.cpu.time`, nano(s.usageCoreNanoSeconds));
}

function memory(set: MetricSet, prefix: string, s: MemoryStats | undefined): void {
  if (s === undefined) return;
  set.add(`${prefix}.memory.available`, s.availableBytes);
  set.add(`${prefix}.memory.usage`, s.usageBytes);
  set.add(`${prefix}.memory.rss`, s.rssBytes);
  set.add(`${prefix}.memory.working_set`, s.workingSetBytes);
  set.add(`${prefix}.memory.page_faults`, s.pageFaults);
  set.add(`${prefix}.memory.major_page_faults`, s.majorPageFaults);
}

function filesystem(set: MetricSet, prefix: string, s: FsStats | undefined): void {
  if (s === undefined) return;
  set.add(`${prefix}.filesystem.available`, s.availableBytes);
  set.add(`${prefix}.filesystem.capacity`, s.capacityBytes);
  set.add(`${prefix}.filesystem.usage`, s.usedBytes);
}

function network(set: MetricSet, prefix: string, s: NetworkStats | undefined, all: boolean): void {
  if (s === undefined) return;
  const interfaces: InterfaceStats[] = all ? [...(s.interfaces ?? [])] : [s];
  for (const i of interfaces) {
    if (i.rxBytes === undefined && i.txBytes === undefined) continue;
    const at = (direction: string): KeyValue[] => [
      { key: "interface", value: i.name ?? "" },
      { key: "direction", value: direction },
    ];
    set.add(`${prefix}.network.io`, i.rxBytes, at("receive"));
    set.add(`${prefix}.network.io`, i.txBytes, at("transmit"));
    set.add(`${prefix}.network.errors`, i.rxErrors, at("receive"));
    set.add(`${prefix}.network.errors`, i.txErrors, at("transmit"));
  }
}

function uptime(set: MetricSet, prefix: string, startTime: string | undefined): void {
  if (set.start === 0n || startTime === undefined) return;
  set.add(`${prefix}.uptime`, Number((set.now - set.start) / 1_000_000_000n));
}

/**
 * Builds the metrics of `summary`.
 * @param metadata the extra labels from `/pods`, when `extra_metadata_labels` asks for some
 * @param skipped collects the containers and volumes left out (missing metadata)
 */
export function summaryMetrics(
  config: KubeletStatsConfig,
  summary: Summary,
  now: bigint,
  version: string,
  metadata: PodMetadata | undefined,
  skipped: SkipNote[] = [],
): MetricsData {
  const groups = new Set<MetricGroup>(config.metric_groups);
  const extra = new Set(config.extra_metadata_labels);
  const toggles: Readonly<Record<string, { enabled: boolean } | undefined>> =
    config.resource_attributes;
  const attributeOn = (key: string) => toggles[key]?.enabled ?? true;
  const resources: ResourceMetrics[] = [];
  const scope = newScope({ name: KUBELET_SCOPE, version });

  function emit(attributes: KeyValue[], set: MetricSet): void {
    if (set.metrics.length === 0) return;
    resources.push({
      resource: newResource({ attributes: attributes.filter((a) => attributeOn(a.key)) }),
      schemaUrl: "",
      scopeMetrics: [{ scope, schemaUrl: "", metrics: set.metrics }],
    });
  }

  const node = summary.node;
  if (groups.has("node")) {
    const set = new MetricSet(config, now, toNano(node.startTime));
    uptime(set, "k8s.node", node.startTime);
    cpu(set, "k8s.node", node.cpu);
    memory(set, "k8s.node", node.memory);
    filesystem(set, "k8s.node", node.fs);
    network(set, "k8s.node", node.network, config.collect_all_network_interfaces.node);
    emit([{ key: "k8s.node.name", value: node.nodeName }], set);
  }

  for (const pod of summary.pods ?? []) {
    const ref = pod.podRef;
    const podAttributes: KeyValue[] = [
      { key: "k8s.pod.uid", value: ref.uid },
      { key: "k8s.pod.name", value: ref.name },
      { key: "k8s.namespace.name", value: ref.namespace ?? "" },
    ];
    const podName = `${ref.namespace}/${ref.name}`;
    if (groups.has("pod")) {
      const set = new MetricSet(config, now, toNano(pod.startTime));
      uptime(set, "k8s.pod", pod.startTime);
      cpu(set, "k8s.pod", pod.cpu);
      memory(set, "k8s.pod", pod.memory);
      filesystem(set, "k8s.pod", pod["ephemeral-storage"]);
      network(set, "k8s.pod", pod.network, config.collect_all_network_interfaces.pod);
      emit(podAttributes, set);
    }
    if (groups.has("container")) {
      for (const c of pod.containers ?? []) {
        const attributes: KeyValue[] = [
          ...podAttributes,
          { key: "k8s.container.name", value: c.name },
        ];
        if (extra.has("container.id")) {
          const id = metadata?.containerIds.get(`${ref.uid}/${c.name}`);
          if (id === undefined) {
            skipped.push({ pod: podName, container: c.name, reason: "no container.id in /pods" });
            continue;
          }
          attributes.push({ key: "container.id", value: id });
        }
        const set = new MetricSet(config, now, toNano(c.startTime));
        uptime(set, "container", c.startTime);
        cpu(set, "container", c.cpu);
        memory(set, "container", c.memory);
        filesystem(set, "container", c.rootfs);
        emit(attributes, set);
      }
    }
    if (groups.has("volume")) {
      for (const v of pod.volume ?? []) {
        const attributes: KeyValue[] = [...podAttributes, {
          key: "k8s.volume.name",
          value: v.name,
        }];
        if (extra.has("k8s.volume.type")) {
          const more = metadata?.volumes.get(`${ref.uid}/${v.name}`);
          if (more === undefined) {
            skipped.push({ pod: podName, volume: v.name, reason: "the volume is not in /pods" });
            continue;
          }
          attributes.push(...more);
        }
        const set = new MetricSet(config, now, 0n);
        set.add("k8s.volume.available", v.availableBytes);
        set.add("k8s.volume.capacity", v.capacityBytes);
        set.add("k8s.volume.inodes", v.inodes);
        set.add("k8s.volume.inodes.free", v.inodesFree);
        set.add("k8s.volume.inodes.used", v.inodesUsed);
        emit(attributes, set);
      }
    }
  }
  return { resourceMetrics: resources };
}
