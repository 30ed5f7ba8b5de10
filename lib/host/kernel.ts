/**
 * Small kernel counters: entropy (`/proc/sys/kernel/random/entropy_avail`, `poolsize`) and system
 * file handles (`/proc/sys/fs/file-nr`).
 *
 * @module
 */
import { hostPath, num, readOptional, type RootPath, splitFields } from "./_read.ts";

/** The kernel's entropy pool. */
export interface Entropy {
  /** Bits of entropy available. */
  availableBits: number;
  /** Size of the pool in bits (0 when not reported). */
  poolSizeBits: number;
}

/** Reads the entropy pool, or undefined when the kernel does not report it. */
export async function readEntropy(root: RootPath = ""): Promise<Entropy | undefined> {
  const avail = await readOptional(hostPath(root, "/proc/sys/kernel/random/entropy_avail"));
  if (avail === undefined) return undefined;
  const pool = await readOptional(hostPath(root, "/proc/sys/kernel/random/poolsize"));
  return { availableBits: num(avail.trim()), poolSizeBits: num(pool?.trim()) };
}

/** System-wide file handles. */
export interface FileHandles {
  /** Handles allocated and in use (allocated minus allocated-but-free). */
  used: number;
  /** Handles allocated (first field of `file-nr`). */
  allocated: number;
  /** The system limit (`fs.file-max`). */
  max: number;
}

/** Parses the text of `/proc/sys/fs/file-nr`. */
export function parseFileNr(text: string): FileHandles {
  const f = splitFields(text);
  const allocated = num(f[0]);
  return { allocated, used: allocated - num(f[1]), max: num(f[2]) };
}

/** Reads system file handles, or undefined when not reported. */
export async function readFileHandles(root: RootPath = ""): Promise<FileHandles | undefined> {
  const text = await readOptional(hostPath(root, "/proc/sys/fs/file-nr"));
  return text === undefined ? undefined : parseFileNr(text);
}
