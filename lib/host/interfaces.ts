/**
 * Network interface attributes from `/sys/class/net/<name>/`: MTU, flags (up, loopback) and the
 * hardware address. Counters are in `network.ts` (`/proc/net/dev`).
 *
 * @module
 */
import { hostPath, num, readOptional, type RootPath } from "./_read.ts";

/** `IFF_UP` in the interface flags. */
export const IFF_UP = 0x1;
/** `IFF_LOOPBACK` in the interface flags. */
export const IFF_LOOPBACK = 0x8;

/** One interface's sysfs attributes; undefined fields were not offered. */
export interface InterfaceAttributes {
  mtu: number | undefined;
  /** The `flags` bit set (`IFF_*`). */
  flags: number | undefined;
  /** `operstate`: `up`, `down`, `unknown`, … */
  operState: string | undefined;
  /** `address`, such as `52:54:00:12:34:56`. */
  address: string | undefined;
}

async function attr(root: RootPath, name: string, file: string): Promise<string | undefined> {
  try {
    return (await readOptional(hostPath(root, `/sys/class/net/${name}/${file}`)))?.trim();
  } catch {
    return undefined;
  }
}

/** Reads one interface's attributes (all undefined when sysfs does not list it). */
export async function readInterfaceAttributes(
  name: string,
  root: RootPath = "",
): Promise<InterfaceAttributes> {
  const [mtu, flags, operState, address] = await Promise.all(
    ["mtu", "flags", "operstate", "address"].map((f) => attr(root, name, f)),
  );
  return {
    mtu: mtu === undefined ? undefined : num(mtu),
    flags: flags === undefined ? undefined : parseInt(flags, 16),
    operState,
    address,
  };
}
