/**
 * The kubelet's `/stats/summary` answer: the fields of the published Kubernetes
 * `k8s.io/kubelet/pkg/apis/stats/v1alpha1` types the receiver reads. Every number is optional, as
 * in the API (a pointer there): a missing one emits no data point.
 *
 * @module
 */

/** `CPUStats`. */
export interface CpuStats {
  readonly time?: string;
  /** Usage over the sample window, in nanocores. */
  readonly usageNanoCores?: number;
  /** Cumulative usage since creation, in core-nanoseconds. */
  readonly usageCoreNanoSeconds?: number;
}

/** `MemoryStats`. */
export interface MemoryStats {
  readonly time?: string;
  readonly availableBytes?: number;
  readonly usageBytes?: number;
  readonly workingSetBytes?: number;
  readonly rssBytes?: number;
  readonly pageFaults?: number;
  readonly majorPageFaults?: number;
}

/** `FsStats`. */
export interface FsStats {
  readonly time?: string;
  readonly availableBytes?: number;
  readonly capacityBytes?: number;
  readonly usedBytes?: number;
  readonly inodesFree?: number;
  readonly inodes?: number;
  readonly inodesUsed?: number;
}

/** `InterfaceStats`. */
export interface InterfaceStats {
  readonly name: string;
  readonly rxBytes?: number;
  readonly rxErrors?: number;
  readonly txBytes?: number;
  readonly txErrors?: number;
}

/** `NetworkStats`: the default interface's stats inline, and every interface. */
export interface NetworkStats extends InterfaceStats {
  readonly time?: string;
  readonly interfaces?: readonly InterfaceStats[];
}

/** `ContainerStats`. */
export interface ContainerStats {
  readonly name: string;
  readonly startTime?: string;
  readonly cpu?: CpuStats;
  readonly memory?: MemoryStats;
  readonly rootfs?: FsStats;
  readonly logs?: FsStats;
}

/** `VolumeStats`. */
export interface VolumeStats extends FsStats {
  readonly name: string;
  readonly pvcRef?: { readonly name: string; readonly namespace: string };
}

/** `PodStats`. */
export interface PodStats {
  readonly podRef: { readonly name: string; readonly namespace: string; readonly uid: string };
  readonly startTime?: string;
  readonly containers?: readonly ContainerStats[];
  readonly cpu?: CpuStats;
  readonly memory?: MemoryStats;
  readonly network?: NetworkStats;
  readonly volume?: readonly VolumeStats[];
  readonly "ephemeral-storage"?: FsStats;
}

/** `NodeStats`. */
export interface NodeStats {
  readonly nodeName: string;
  readonly startTime?: string;
  readonly cpu?: CpuStats;
  readonly memory?: MemoryStats;
  readonly network?: NetworkStats;
  readonly fs?: FsStats;
}

/** `Summary`. */
export interface Summary {
  readonly node: NodeStats;
  readonly pods?: readonly PodStats[];
}

/**
 * Checks the shape of a parsed answer: a node with a name and pods with references.
 * @throws {Error} naming what is missing
 */
export function asSummary(value: unknown): Summary {
  const s = value as Partial<Summary> | null;
  if (s === null || typeof s !== "object" || typeof s.node?.nodeName !== "string") {
    throw new Error("the answer is not a stats/v1alpha1 Summary (no node.nodeName)");
  }
  if (s.pods !== undefined && s.pods !== null && !Array.isArray(s.pods)) {
    throw new Error("the answer is not a stats/v1alpha1 Summary (pods is not a list)");
  }
  const pods = (s.pods ?? []).filter((p) =>
    typeof p?.podRef?.uid === "string" && typeof p.podRef.name === "string"
  );
  return { node: s.node, pods };
}
