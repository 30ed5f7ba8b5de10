/**
 * The heartbeat's `systemInfo`: the TelemetryFlow agent's camelCase system information, built from
 * the same `lib/host` readers as the `hostmetrics` receiver. Rates (CPU usage and per-state
 * percentages, per-core usage, disk latencies) are computed between the previous sample and this
 * one; counters (bytes, operations, context switches, swap traffic) are totals since boot, as the
 * TelemetryFlow agent sends them.
 *
 * Units: bytes for sizes and traffic (`swapIn`/`swapOut`: pages × 4096), percentages 0–100,
 * seconds for `uptime` and `agentUptime`, Unix seconds for `bootTime`, `agentStartTime` and
 * `collectionTime`, nanoseconds for `collectionDuration`, milliseconds for disk times and
 * latencies, kilobytes for `cpuCacheSize` (as the agent's `cpu_cache_size`).
 *
 * Neutral values (the field is present, its value says "not known here"): `memoryWired` is 0 (a
 * macOS notion); `cloudInstanceType` and `cloudZone` are `""` and `cloudRegion` is `""` unless the
 * environment names it (no metadata service is queried, see `lib/host/cloud.ts`); `cloudProvider`
 * and `cloudInstanceId` are `""` off a recognised cloud or where the SMBIOS does not carry the ID;
 * `containerName` and `containerImage` are `""` outside Podman (Docker keeps them in its daemon);
 * `containerId` is `""` when no ID is visible; `virtualizationType` is `""` when the CPU says
 * "hypervisor" but nothing names it; `hostId` is `""` without a machine ID; every rate is 0 in the
 * first sample of a collector; a reading the host does not offer (no swap, no entropy counter, no
 * `/proc/net/tcp6`, no DMI) counts as 0 or `""`.
 *
 * What is summed: network counters over every interface in `/proc/net/dev`, loopback included (as
 * the agent's gopsutil totals); disk counters over whole disks (`/sys/block`, without `loop`,
 * `ram`, `zram`, `dm-` and `md` devices, which would count physical traffic twice); `disk*` space
 * figures are those of the root file system; `diskPartitions` lists mounted physical file systems.
 *
 * @module
 */
import { osType } from "../../../lib/host/semconv.ts";
import {
  type CloudInfo,
  type ContainerFacts,
  type CpuTimes,
  type DiskStat,
  type FsUsage,
  hostPath,
  type KernelStat,
  type NetDevStat,
  type OsRelease,
  readBlockDevices,
  readCloud,
  readContainer,
  readCpuInfo,
  readDiskStats,
  readEntropy,
  readFileHandles,
  readFsUsage,
  readHostId,
  readInterfaceAttributes,
  readKernelIdentity,
  readKernelStat,
  readLoadAverage,
  readMemInfo,
  readMounts,
  readNetDev,
  readOsRelease,
  readPhysicalFsTypes,
  readProcessCensus,
  readTcpStates,
  readUptime,
  readVirtualization,
  readVmStat,
  totalCpuSeconds,
  type Virtualization,
} from "../../../lib/host/mod.ts";
import { IFF_LOOPBACK, IFF_UP } from "../../../lib/host/interfaces.ts";

/** One logical CPU's usage. */
export interface CpuCoreInfo {
  /** The logical CPU number (`cpu3` → 3). */
  coreId: number;
  /** Busy percentage (everything but idle and iowait) since the previous sample. */
  usage: number;
}

/** One mounted file system. */
export interface DiskPartitionInfo {
  device: string;
  mountpoint: string;
  fstype: string;
  total: number;
  used: number;
  free: number;
  usage: number;
  inodes: number;
  inodesFree: number;
  inodesUsage: number;
}

/** One network interface. */
export interface NetworkInterfaceInfo {
  name: string;
  macAddress: string;
  mtu: number;
  isUp: boolean;
  isLoopback: boolean;
  ipAddresses: string[];
  bytesSent: number;
  bytesRecv: number;
  packetsSent: number;
  packetsRecv: number;
  errorsIn: number;
  errorsOut: number;
  dropsIn: number;
  dropsOut: number;
}

/** The heartbeat's system information. */
export interface SystemInfo {
  // Host
  hostname: string;
  os: string;
  osVersion: string;
  platform: string;
  platformFamily: string;
  kernelVersion: string;
  architecture: string;
  uptime: number;
  bootTime: number;
  hostId: string;
  timezone: string;
  // CPU
  cpuCores: number;
  cpuLogicalCores: number;
  cpuPhysicalCores: number;
  cpuModel: string;
  cpuVendor: string;
  cpuMhz: number;
  cpuCacheSize: number;
  cpuUsage: number;
  cpuUserPercent: number;
  cpuSystemPercent: number;
  cpuIdlePercent: number;
  cpuIowaitPercent: number;
  cpuStealPercent: number;
  cpuNicePercent: number;
  cpuIrqPercent: number;
  cpuSoftirqPercent: number;
  cpuGuestPercent: number;
  loadAvg1: number;
  loadAvg5: number;
  loadAvg15: number;
  cpuPerCore: CpuCoreInfo[];
  // Memory
  memoryTotal: number;
  memoryUsed: number;
  memoryAvailable: number;
  memoryFree: number;
  memoryUsage: number;
  memoryCached: number;
  memoryBuffers: number;
  memoryActive: number;
  memoryInactive: number;
  memoryWired: number;
  memoryShared: number;
  memorySlab: number;
  memoryPageTables: number;
  memoryCommitted: number;
  memoryCommitLimit: number;
  memoryDirty: number;
  memoryWriteback: number;
  swapTotal: number;
  swapUsed: number;
  swapFree: number;
  swapUsage: number;
  swapIn: number;
  swapOut: number;
  // Disk
  diskTotal: number;
  diskUsed: number;
  diskAvailable: number;
  diskUsage: number;
  diskInodes: number;
  diskInodesFree: number;
  diskInodesUsed: number;
  diskInodesUsage: number;
  diskReadBytes: number;
  diskWriteBytes: number;
  diskReadOps: number;
  diskWriteOps: number;
  diskReadTime: number;
  diskWriteTime: number;
  diskIOTime: number;
  diskWeightedIO: number;
  diskIOInProgress: number;
  diskLatencyRead: number;
  diskLatencyWrite: number;
  diskPartitions: DiskPartitionInfo[];
  // Network
  networkBytesSent: number;
  networkBytesRecv: number;
  networkPacketsSent: number;
  networkPacketsRecv: number;
  networkErrorsIn: number;
  networkErrorsOut: number;
  networkDropsIn: number;
  networkDropsOut: number;
  tcpConnectionsEstablished: number;
  tcpConnectionsTimeWait: number;
  tcpConnectionsCloseWait: number;
  tcpConnectionsListen: number;
  tcpConnectionsSynSent: number;
  tcpConnectionsSynRecv: number;
  tcpConnectionsFinWait1: number;
  tcpConnectionsFinWait2: number;
  tcpConnectionsLastAck: number;
  tcpConnectionsClosing: number;
  networkInterfaces: NetworkInterfaceInfo[];
  // Processes
  processCount: number;
  processRunning: number;
  processSleeping: number;
  processStopped: number;
  processZombie: number;
  processBlocked: number;
  threadCount: number;
  contextSwitches: number;
  interrupts: number;
  softInterrupts: number;
  // System resources
  openFileDescriptors: number;
  maxFileDescriptors: number;
  fileDescriptorsUsage: number;
  entropyAvailable: number;
  // Container
  isContainer: boolean;
  containerId: string;
  containerRuntime: string;
  containerName: string;
  containerImage: string;
  // Virtualization
  isVirtualized: boolean;
  virtualizationType: string;
  // Cloud
  cloudProvider: string;
  cloudInstanceId: string;
  cloudInstanceType: string;
  cloudRegion: string;
  cloudZone: string;
  // Agent
  agentVersion: string;
  agentStartTime: number;
  agentUptime: number;
  collectionTime: number;
  collectionDuration: number;
}

/** The fields sent when `include_system_info` is false: who and what is heartbeating. */
export type IdentityInfo = Pick<
  SystemInfo,
  | "hostname"
  | "os"
  | "architecture"
  | "agentVersion"
  | "agentStartTime"
  | "agentUptime"
  | "collectionTime"
>;

/** Options of {@linkcode SystemInfoCollector}. */
export interface SystemInfoOptions {
  /** tfo's version. */
  version: string;
  /** When the agent started, Unix milliseconds. */
  startTimeMs: number;
  /** Where the host's file system is mounted. @default "" */
  root?: string;
  /** The clock, Unix milliseconds. @default Date.now */
  now?: () => number;
}

/** The page size the kernel counts swap traffic in (`pswpin`, `pswpout`). */
const PAGE_BYTES = 4096;

const VIRTUAL_DISK = /^(loop|ram|zram|dm-|md)\d*/;

interface Sample {
  stat: KernelStat;
  disks: DiskStat[];
}

/** Static facts, read once per collector. */
interface StaticFacts {
  release: OsRelease | undefined;
  kernelRelease: string;
  hostId: string;
  container: ContainerFacts;
  virtualization: Virtualization;
  cloud: CloudInfo;
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

function percent(part: number, whole: number): number {
  return whole > 0 ? round2((part / whole) * 100) : 0;
}

/** Busy share of `cur − prev` in percent: everything but idle and iowait. */
function busyPercent(prev: CpuTimes, cur: CpuTimes): number {
  const total = totalCpuSeconds(cur) - totalCpuSeconds(prev);
  const idle = cur.idle + cur.iowait - prev.idle - prev.iowait;
  return total > 0 ? round2(Math.min(100, Math.max(0, (1 - idle / total) * 100))) : 0;
}

function statePercent(prev: CpuTimes, cur: CpuTimes, key: keyof CpuTimes): number {
  const total = totalCpuSeconds(cur) - totalCpuSeconds(prev);
  return total > 0 ? round2(Math.max(0, ((cur[key] - prev[key]) / total) * 100)) : 0;
}

/** The family of a distribution, as gopsutil names it (`debian`, `rhel`, `suse`, …). */
export function platformFamily(release: OsRelease | undefined): string {
  if (release === undefined) return "";
  const ids = [release.id, ...release.idLike];
  const families: readonly (readonly [string, readonly string[]])[] = [
    ["debian", ["debian", "ubuntu"]],
    ["rhel", ["rhel", "fedora", "centos"]],
    ["suse", ["suse", "opensuse", "sles"]],
    ["arch", ["arch"]],
    ["alpine", ["alpine"]],
    ["gentoo", ["gentoo"]],
  ];
  for (const [family, members] of families) {
    if (ids.some((id) => members.includes(id))) return family;
  }
  return release.id;
}

function addressesByInterface(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  try {
    for (const nic of Deno.networkInterfaces()) {
      const list = out.get(nic.name) ?? [];
      if (!list.includes(nic.address)) list.push(nic.address);
      out.set(nic.name, list);
    }
  } catch {
    // no sys permission: interfaces without addresses
  }
  return out;
}

function macs(): Map<string, string> {
  const out = new Map<string, string>();
  try {
    for (const nic of Deno.networkInterfaces()) out.set(nic.name, nic.mac);
  } catch {
    // no sys permission
  }
  return out;
}

function hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "";
  }
}

function timezone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone ?? "";
}

async function optional<T>(read: Promise<T>, fallback: T): Promise<T> {
  try {
    return await read;
  } catch {
    return fallback;
  }
}

function partitionOf(
  device: string,
  mountpoint: string,
  fstype: string,
  usage: FsUsage,
): DiskPartitionInfo {
  return {
    device,
    mountpoint,
    fstype,
    total: usage.totalBytes,
    used: usage.usedBytes,
    free: usage.freeBytes,
    usage: percent(usage.usedBytes, usage.usedBytes + usage.freeBytes),
    inodes: usage.inodesTotal,
    inodesFree: usage.inodesFree,
    inodesUsage: percent(usage.inodesUsed, usage.inodesTotal),
  };
}

/** Collects system info; keeps the previous sample for rates. */
export class SystemInfoCollector {
  readonly #root: string;
  readonly #version: string;
  readonly #startTimeMs: number;
  readonly #now: () => number;
  #previous: Sample | undefined;
  #static: Promise<StaticFacts> | undefined;

  /** Creates a collector; nothing is read before the first call. */
  constructor(options: SystemInfoOptions) {
    this.#root = options.root ?? "";
    this.#version = options.version;
    this.#startTimeMs = options.startTimeMs;
    this.#now = options.now ?? Date.now;
  }

  /** Takes the baseline sample rates are computed against (the first collect does otherwise). */
  async prime(): Promise<void> {
    this.#previous = await this.#sample();
  }

  /** Host and agent identity only. */
  identity(): IdentityInfo {
    const now = this.#now();
    return {
      hostname: hostname(),
      os: osType(),
      architecture: Deno.build.arch,
      agentVersion: this.#version,
      agentStartTime: Math.floor(this.#startTimeMs / 1000),
      agentUptime: Math.max(0, Math.floor((now - this.#startTimeMs) / 1000)),
      collectionTime: Math.floor(now / 1000),
    };
  }

  async #sample(): Promise<Sample> {
    const [stat, disks] = await Promise.all([
      readKernelStat(this.#root),
      optional(readDiskStats(this.#root), []),
    ]);
    return { stat, disks };
  }

  #facts(): Promise<StaticFacts> {
    this.#static ??= (async () => {
      const root = this.#root;
      const [release, kernel, hostId, container, virtualization, cloud] = await Promise.all([
        optional(readOsRelease(root), undefined),
        optional(readKernelIdentity(root), undefined),
        optional(readHostId(root), ""),
        optional(readContainer(""), {
          isContainer: false,
          id: "",
          runtime: "",
          name: "",
          image: "",
        }),
        optional(readVirtualization(root), { isVirtualized: false, type: "" }),
        optional(readCloud(root), {
          provider: "",
          instanceId: "",
          instanceType: "",
          region: "",
          zone: "",
        }),
      ]);
      return {
        release,
        kernelRelease: kernel?.release ?? "",
        hostId,
        container,
        virtualization,
        cloud,
      };
    })();
    return this.#static;
  }

  /** Collects every field. */
  async collect(): Promise<SystemInfo> {
    const started = performance.now();
    const root = this.#root;
    const cur = await this.#sample();
    const prev = this.#previous ?? cur;
    this.#previous = cur;
    const [
      facts,
      cpuInfo,
      load,
      mem,
      vmstat,
      netDev,
      tcp,
      census,
      handles,
      entropy,
      uptime,
      blockDevices,
      fs,
    ] = await Promise.all([
      this.#facts(),
      optional(readCpuInfo(root), { processors: [], logicalCount: 0, physicalCount: 0 }),
      optional(readLoadAverage(root), undefined),
      readMemInfo(root),
      optional(readVmStat(root), new Map<string, number>()),
      optional(readNetDev(root), []),
      optional(readTcpStates(root), new Map<string, number>()),
      optional(readProcessCensus(root), {
        byState: new Map<string, number>(),
        processes: 0,
        threads: 0,
      }),
      optional(readFileHandles(root), undefined),
      optional(readEntropy(root), undefined),
      optional(readUptime(root), undefined),
      readBlockDevices(root),
      this.#filesystems(),
    ]);

    const first = cpuInfo.processors[0];
    const logical = cpuInfo.logicalCount > 0 ? cpuInfo.logicalCount : cur.stat.perCpu.length;
    const prevPerCpu = new Map(prev.stat.perCpu.map((c) => [c.cpu, c]));
    const cpuPerCore = cur.stat.perCpu.map((c) => ({
      coreId: Number(c.cpu.slice(3)),
      usage: busyPercent(prevPerCpu.get(c.cpu) ?? c, c),
    }));
    const p = prev.stat.total;
    const c = cur.stat.total;

    const disks = this.#wholeDisks(cur.disks, blockDevices);
    const prevDisks = new Map(prev.disks.map((d) => [d.name, d]));
    let dReadOps = 0, dReadMs = 0, dWriteOps = 0, dWriteMs = 0;
    for (const d of disks) {
      const before = prevDisks.get(d.name) ?? d;
      dReadOps += d.readsCompleted - before.readsCompleted;
      dReadMs += (d.readTime - before.readTime) * 1000;
      dWriteOps += d.writesCompleted - before.writesCompleted;
      dWriteMs += (d.writeTime - before.writeTime) * 1000;
    }
    const sum = (f: (d: DiskStat) => number) => disks.reduce((a, d) => a + f(d), 0);
    const net = (f: (n: NetDevStat) => number) => netDev.reduce((a, n) => a + f(n), 0);
    const state = (...letters: string[]) =>
      letters.reduce((a, l) => a + (census.byState.get(l) ?? 0), 0);
    const tcpState = (name: string) => tcp.get(name) ?? 0;
    const raw = (key: string) => mem.raw.get(key) ?? 0;
    const swapUsed = Math.max(0, mem.swapTotal - mem.swapFree);
    const now = this.#now();
    const rootFs = fs.root;
    const release = facts.release;

    const info: SystemInfo = {
      hostname: hostname(),
      os: osType(),
      osVersion: release?.versionId ?? "",
      platform: release?.id ?? "",
      platformFamily: platformFamily(release),
      kernelVersion: facts.kernelRelease,
      architecture: Deno.build.arch,
      uptime: Math.floor(uptime ?? Math.max(0, now / 1000 - cur.stat.bootTimeSeconds)),
      bootTime: cur.stat.bootTimeSeconds,
      hostId: facts.hostId,
      timezone: timezone(),

      cpuCores: logical,
      cpuLogicalCores: logical,
      cpuPhysicalCores: cpuInfo.physicalCount > 0 ? cpuInfo.physicalCount : logical,
      cpuModel: first?.modelName ?? "",
      cpuVendor: first?.vendorId ?? "",
      cpuMhz: first?.mhz ?? 0,
      cpuCacheSize: Math.round((first?.cacheSizeBytes ?? 0) / 1024),
      cpuUsage: busyPercent(p, c),
      cpuUserPercent: statePercent(p, c, "user"),
      cpuSystemPercent: statePercent(p, c, "system"),
      cpuIdlePercent: statePercent(p, c, "idle"),
      cpuIowaitPercent: statePercent(p, c, "iowait"),
      cpuStealPercent: statePercent(p, c, "steal"),
      cpuNicePercent: statePercent(p, c, "nice"),
      cpuIrqPercent: statePercent(p, c, "irq"),
      cpuSoftirqPercent: statePercent(p, c, "softirq"),
      cpuGuestPercent: statePercent(p, c, "guest"),
      loadAvg1: load?.load1 ?? 0,
      loadAvg5: load?.load5 ?? 0,
      loadAvg15: load?.load15 ?? 0,
      cpuPerCore,

      memoryTotal: mem.total,
      memoryUsed: mem.used,
      memoryAvailable: mem.available,
      memoryFree: mem.free,
      memoryUsage: percent(mem.used, mem.total),
      memoryCached: mem.cached,
      memoryBuffers: mem.buffers,
      memoryActive: mem.active,
      memoryInactive: mem.inactive,
      memoryWired: 0,
      memoryShared: mem.shared,
      memorySlab: mem.slab,
      memoryPageTables: raw("PageTables"),
      memoryCommitted: raw("Committed_AS"),
      memoryCommitLimit: raw("CommitLimit"),
      memoryDirty: mem.dirty,
      memoryWriteback: raw("Writeback"),
      swapTotal: mem.swapTotal,
      swapUsed,
      swapFree: mem.swapFree,
      swapUsage: percent(swapUsed, mem.swapTotal),
      swapIn: (vmstat.get("pswpin") ?? 0) * PAGE_BYTES,
      swapOut: (vmstat.get("pswpout") ?? 0) * PAGE_BYTES,

      diskTotal: rootFs?.total ?? 0,
      diskUsed: rootFs?.used ?? 0,
      diskAvailable: rootFs?.free ?? 0,
      diskUsage: rootFs?.usage ?? 0,
      diskInodes: rootFs?.inodes ?? 0,
      diskInodesFree: rootFs?.inodesFree ?? 0,
      diskInodesUsed: Math.max(0, (rootFs?.inodes ?? 0) - (rootFs?.inodesFree ?? 0)),
      diskInodesUsage: rootFs?.inodesUsage ?? 0,
      diskReadBytes: sum((d) => d.readBytes),
      diskWriteBytes: sum((d) => d.writtenBytes),
      diskReadOps: sum((d) => d.readsCompleted),
      diskWriteOps: sum((d) => d.writesCompleted),
      diskReadTime: Math.round(sum((d) => d.readTime) * 1000),
      diskWriteTime: Math.round(sum((d) => d.writeTime) * 1000),
      diskIOTime: Math.round(sum((d) => d.ioTime) * 1000),
      diskWeightedIO: Math.round(sum((d) => d.weightedIoTime) * 1000),
      diskIOInProgress: sum((d) => d.iosInProgress),
      diskLatencyRead: dReadOps > 0 ? round2(dReadMs / dReadOps) : 0,
      diskLatencyWrite: dWriteOps > 0 ? round2(dWriteMs / dWriteOps) : 0,
      diskPartitions: fs.partitions,

      networkBytesSent: net((n) => n.txBytes),
      networkBytesRecv: net((n) => n.rxBytes),
      networkPacketsSent: net((n) => n.txPackets),
      networkPacketsRecv: net((n) => n.rxPackets),
      networkErrorsIn: net((n) => n.rxErrors),
      networkErrorsOut: net((n) => n.txErrors),
      networkDropsIn: net((n) => n.rxDropped),
      networkDropsOut: net((n) => n.txDropped),
      tcpConnectionsEstablished: tcpState("ESTABLISHED"),
      tcpConnectionsTimeWait: tcpState("TIME_WAIT"),
      tcpConnectionsCloseWait: tcpState("CLOSE_WAIT"),
      tcpConnectionsListen: tcpState("LISTEN"),
      tcpConnectionsSynSent: tcpState("SYN_SENT"),
      tcpConnectionsSynRecv: tcpState("SYN_RECV"),
      tcpConnectionsFinWait1: tcpState("FIN_WAIT_1"),
      tcpConnectionsFinWait2: tcpState("FIN_WAIT_2"),
      tcpConnectionsLastAck: tcpState("LAST_ACK"),
      tcpConnectionsClosing: tcpState("CLOSING"),
      networkInterfaces: await this.#interfaces(netDev),

      processCount: census.processes,
      processRunning: state("R"),
      processSleeping: state("S", "I"),
      processStopped: state("T", "t"),
      processZombie: state("Z"),
      processBlocked: state("D"),
      threadCount: census.threads,
      contextSwitches: cur.stat.contextSwitches,
      interrupts: cur.stat.interrupts,
      softInterrupts: cur.stat.softInterrupts,

      openFileDescriptors: handles?.used ?? 0,
      maxFileDescriptors: handles?.max ?? 0,
      fileDescriptorsUsage: percent(handles?.used ?? 0, handles?.max ?? 0),
      entropyAvailable: entropy?.availableBits ?? 0,

      isContainer: facts.container.isContainer,
      containerId: facts.container.id,
      containerRuntime: facts.container.runtime,
      containerName: facts.container.name,
      containerImage: facts.container.image,

      isVirtualized: facts.virtualization.isVirtualized,
      virtualizationType: facts.virtualization.type,

      cloudProvider: facts.cloud.provider,
      cloudInstanceId: facts.cloud.instanceId,
      cloudInstanceType: facts.cloud.instanceType,
      cloudRegion: facts.cloud.region,
      cloudZone: facts.cloud.zone,

      agentVersion: this.#version,
      agentStartTime: Math.floor(this.#startTimeMs / 1000),
      agentUptime: Math.max(0, Math.floor((now - this.#startTimeMs) / 1000)),
      collectionTime: Math.floor(now / 1000),
      collectionDuration: 0,
    };
    info.collectionDuration = Math.round((performance.now() - started) * 1e6);
    return info;
  }

  #wholeDisks(disks: readonly DiskStat[], whole: Set<string> | undefined): DiskStat[] {
    return disks.filter((d) => {
      if (VIRTUAL_DISK.test(d.name)) return false;
      if (whole !== undefined) return whole.has(d.name);
      // No sysfs: leave out names that look like partitions.
      return !/^(sd|vd|xvd|hd)[a-z]+\d+$|^(nvme\d+n\d+|mmcblk\d+)p\d+$/.test(d.name);
    });
  }

  async #filesystems(): Promise<
    { root: DiskPartitionInfo | undefined; partitions: DiskPartitionInfo[] }
  > {
    const root = this.#root;
    const [mounts, physical] = await Promise.all([
      optional(readMounts(root), []),
      optional(readPhysicalFsTypes(root), new Set<string>()),
    ]);
    const partitions: DiskPartitionInfo[] = [];
    const seen = new Set<string>();
    let rootFs: DiskPartitionInfo | undefined;
    for (const m of mounts) {
      const isRoot = m.mountPoint === "/";
      if (!isRoot && (!physical.has(m.fsType) || seen.has(m.device))) continue;
      const usage = await optional(readFsUsage(hostPath(root, m.mountPoint)), undefined);
      if (usage === undefined) continue;
      const entry = partitionOf(m.device, m.mountPoint, m.fsType, usage);
      if (isRoot) rootFs = entry;
      if (seen.has(m.device)) continue;
      seen.add(m.device);
      partitions.push(entry);
    }
    if (rootFs === undefined) {
      const usage = await optional(readFsUsage(hostPath(root, "/")), undefined);
      if (usage !== undefined) {
        rootFs = partitionOf("", "/", "", usage);
        partitions.unshift(rootFs);
      }
    }
    return { root: rootFs, partitions };
  }

  async #interfaces(netDev: readonly NetDevStat[]): Promise<NetworkInterfaceInfo[]> {
    const addresses = addressesByInterface();
    const hw = macs();
    return await Promise.all(netDev.map(async (n) => {
      const attrs = await readInterfaceAttributes(n.name, this.#root);
      const ips = addresses.get(n.name) ?? [];
      const isLoopback = attrs.flags !== undefined
        ? (attrs.flags & IFF_LOOPBACK) !== 0
        : n.name === "lo" || ips.some((ip) => ip.startsWith("127.") || ip === "::1");
      const isUp = attrs.flags !== undefined
        ? (attrs.flags & IFF_UP) !== 0
        : attrs.operState === "up" || ips.length > 0;
      return {
        name: n.name,
        macAddress: attrs.address ?? hw.get(n.name) ?? "",
        mtu: attrs.mtu ?? 0,
        isUp,
        isLoopback,
        ipAddresses: ips,
        bytesSent: n.txBytes,
        bytesRecv: n.rxBytes,
        packetsSent: n.txPackets,
        packetsRecv: n.rxPackets,
        errorsIn: n.rxErrors,
        errorsOut: n.txErrors,
        dropsIn: n.rxDropped,
        dropsOut: n.txDropped,
      };
    }));
  }
}
