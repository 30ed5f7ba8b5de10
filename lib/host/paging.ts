/**
 * Swap reader: `/proc/swaps` (swap devices and files, their size and use).
 *
 * @module
 */
import { hostPath, num, readText, type RootPath, splitFields, splitLines } from "./_read.ts";

/** One swap device or file. */
export interface SwapDevice {
  /** Path of the device or file, such as `/dev/sda2` or `/swapfile`. */
  name: string;
  /** `partition` or `file`. */
  type: string;
  sizeBytes: number;
  usedBytes: number;
  priority: number;
}

/** Parses the text of `/proc/swaps`. */
export function parseSwaps(text: string): SwapDevice[] {
  const out: SwapDevice[] = [];
  const lines = splitLines(text);
  for (let i = 1; i < lines.length; i++) {
    const f = splitFields(lines[i]!);
    if (f.length < 4) continue;
    out.push({
      name: f[0]!.replaceAll("\\040", " "),
      type: f[1]!,
      sizeBytes: num(f[2]) * 1024,
      usedBytes: num(f[3]) * 1024,
      priority: num(f[4]),
    });
  }
  return out;
}

/** Reads `/proc/swaps`. */
export async function readSwaps(root: RootPath = ""): Promise<SwapDevice[]> {
  return parseSwaps(await readText(hostPath(root, "/proc/swaps")));
}
