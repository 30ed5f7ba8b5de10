/**
 * Block device listing: the whole-disk devices under `/sys/block` (partitions are not listed
 * there), to count disk traffic once per disk.
 *
 * @module
 */
import { hostPath, type RootPath } from "./_read.ts";

/** The whole-disk block devices (`/sys/block`), or undefined when sysfs does not offer them. */
export async function readBlockDevices(root: RootPath = ""): Promise<Set<string> | undefined> {
  try {
    const out = new Set<string>();
    for await (const entry of Deno.readDir(hostPath(root, "/sys/block"))) out.add(entry.name);
    return out;
  } catch {
    return undefined;
  }
}
