/**
 * File system readers: mounts from `/proc/1/mountinfo` (falling back to `/proc/self/mountinfo`),
 * the physical (non-`nodev`) file system types from `/proc/filesystems`, and space and inode
 * figures from `statfs(2)` (through `node:fs`, which Deno implements).
 *
 * @module
 */
import { statfs } from "node:fs/promises";
import {
  hostPath,
  isAbsent,
  readText,
  type RootPath,
  splitFields,
  splitLines,
  unescapeOctal,
} from "./_read.ts";

/** One mounted file system. */
export interface Mount {
  /** The mount source, such as `/dev/sda1` or `tmpfs`. */
  device: string;
  /** Where it is mounted, as the host sees it (without the root path). */
  mountPoint: string;
  /** The file system type, such as `ext4`. */
  fsType: string;
  /** Per-mount options, such as `rw`, `relatime`. */
  options: string[];
  /** `rw`, `ro`, or `unknown`, as the Collector reports it. */
  mode: string;
}

/** Space and inode figures of one file system. */
export interface FsUsage {
  /** Bytes in total. */
  totalBytes: number;
  /** Bytes used (`(blocks - bfree) * bsize`). */
  usedBytes: number;
  /** Bytes available to unprivileged users (`bavail * bsize`). */
  freeBytes: number;
  /** Bytes free but reserved for the super-user. */
  reservedBytes: number;
  inodesTotal: number;
  inodesFree: number;
  inodesUsed: number;
}

function modeOf(options: readonly string[]): string {
  if (options.includes("rw")) return "rw";
  if (options.includes("ro")) return "ro";
  return "unknown";
}

/** Parses the text of a `mountinfo` file. */
export function parseMountInfo(text: string): Mount[] {
  const out: Mount[] = [];
  for (const line of splitLines(text)) {
    const f = splitFields(line);
    const dash = f.indexOf("-");
    if (dash < 6 || f.length < dash + 3) continue;
    const options = f[5]!.split(",");
    out.push({
      device: unescapeOctal(f[dash + 2]!),
      mountPoint: unescapeOctal(f[4]!),
      fsType: f[dash + 1]!,
      options,
      mode: modeOf(options),
    });
  }
  return out;
}

/** Parses the text of a `mounts` file (`/proc/mounts`, fstab layout). */
export function parseMounts(text: string): Mount[] {
  const out: Mount[] = [];
  for (const line of splitLines(text)) {
    const f = splitFields(line);
    if (f.length < 4) continue;
    const options = f[3]!.split(",");
    out.push({
      device: unescapeOctal(f[0]!),
      mountPoint: unescapeOctal(f[1]!),
      fsType: f[2]!,
      options,
      mode: modeOf(options),
    });
  }
  return out;
}

/** Reads the host's mounts: init's mount table first, then this process's, then `/proc/mounts`. */
export async function readMounts(root: RootPath = ""): Promise<Mount[]> {
  for (const path of ["/proc/1/mountinfo", "/proc/self/mountinfo"]) {
    try {
      return parseMountInfo(await readText(hostPath(root, path)));
    } catch (error) {
      if (!isAbsent(error)) throw error;
    }
  }
  return parseMounts(await readText(hostPath(root, "/proc/mounts")));
}

/** Parses `/proc/filesystems` into the types that need a block device (no `nodev` mark). */
export function parsePhysicalFsTypes(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of splitLines(text)) {
    if (line.startsWith("nodev")) continue;
    const type = line.trim();
    if (type !== "") out.add(type);
  }
  // ZFS datasets are not block devices, yet they are physical storage.
  out.add("zfs");
  return out;
}

/** Reads the physical file system types from `/proc/filesystems`. */
export async function readPhysicalFsTypes(root: RootPath = ""): Promise<Set<string>> {
  return parsePhysicalFsTypes(await readText(hostPath(root, "/proc/filesystems")));
}

/** Space and inode usage of the file system holding `path` (an actual path on this machine). */
export async function readFsUsage(path: string): Promise<FsUsage> {
  const s = await statfs(path);
  const bsize = Number(s.bsize);
  const blocks = Number(s.blocks);
  const bfree = Number(s.bfree);
  const bavail = Number(s.bavail);
  const totalBytes = blocks * bsize;
  const usedBytes = (blocks - bfree) * bsize;
  const freeBytes = bavail * bsize;
  const inodesTotal = Number(s.files);
  const inodesFree = Number(s.ffree);
  return {
    totalBytes,
    usedBytes,
    freeBytes,
    reservedBytes: Math.max(0, totalBytes - usedBytes - freeBytes),
    inodesTotal,
    inodesFree,
    inodesUsed: Math.max(0, inodesTotal - inodesFree),
  };
}
