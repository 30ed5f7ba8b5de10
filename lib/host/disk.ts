/**
 * Block device reader: `/proc/diskstats`.
 *
 * @module
 */
import { hostPath, num, readText, type RootPath, splitFields, splitLines } from "./_read.ts";

/** The kernel counts disk sectors in 512-byte units, whatever the device's sector size. */
const SECTOR_BYTES = 512;

/** One block device's counters since boot. */
export interface DiskStat {
  major: number;
  minor: number;
  /** Device name, such as `sda` or `nvme0n1p1`. */
  name: string;
  readsCompleted: number;
  readsMerged: number;
  readBytes: number;
  /** Seconds spent reading. */
  readTime: number;
  writesCompleted: number;
  writesMerged: number;
  writtenBytes: number;
  /** Seconds spent writing. */
  writeTime: number;
  /** I/Os currently in progress. */
  iosInProgress: number;
  /** Seconds the device was busy. */
  ioTime: number;
  /** Busy seconds weighted by the number of I/Os in flight. */
  weightedIoTime: number;
}

/** Parses the text of `/proc/diskstats`. */
export function parseDiskStats(text: string): DiskStat[] {
  const out: DiskStat[] = [];
  for (const line of splitLines(text)) {
    const f = splitFields(line);
    if (f.length < 14) continue;
    out.push({
      major: num(f[0]),
      minor: num(f[1]),
      name: f[2]!,
      readsCompleted: num(f[3]),
      readsMerged: num(f[4]),
      readBytes: num(f[5]) * SECTOR_BYTES,
      readTime: num(f[6]) / 1000,
      writesCompleted: num(f[7]),
      writesMerged: num(f[8]),
      writtenBytes: num(f[9]) * SECTOR_BYTES,
      writeTime: num(f[10]) / 1000,
      iosInProgress: num(f[11]),
      ioTime: num(f[12]) / 1000,
      weightedIoTime: num(f[13]) / 1000,
    });
  }
  return out;
}

/** Reads `/proc/diskstats`. */
export async function readDiskStats(root: RootPath = ""): Promise<DiskStat[]> {
  return parseDiskStats(await readText(hostPath(root, "/proc/diskstats")));
}
