/**
 * Host identity readers: the distribution (`/etc/os-release`), the kernel (`/proc/sys/kernel/*`),
 * the uptime (`/proc/uptime`) and the machine ID.
 *
 * @module
 */
import { hostPath, num, readOptional, type RootPath, splitFields, splitLines } from "./_read.ts";

/** What `os-release(5)` says; fields it leaves out are `""`. */
export interface OsRelease {
  /** `ID`: the distribution, such as `debian` or `ubuntu`. */
  id: string;
  /** `ID_LIKE`: related distributions, closest first. */
  idLike: string[];
  /** `NAME`, such as `Debian GNU/Linux`. */
  name: string;
  /** `VERSION`, such as `12 (bookworm)`. */
  version: string;
  /** `VERSION_ID`, such as `12` or `22.04`. */
  versionId: string;
  /** `PRETTY_NAME`, such as `Debian GNU/Linux 12 (bookworm)`. */
  prettyName: string;
}

/** Parses an os-release text (`KEY=value`, values optionally quoted). */
export function parseOsRelease(text: string): OsRelease {
  const fields = new Map<string, string>();
  for (const raw of splitLines(text)) {
    const line = raw.trim();
    const eq = line.indexOf("=");
    if (eq <= 0 || line.startsWith("#")) continue;
    let value = line.slice(eq + 1).trim();
    const q = value[0];
    if ((q === '"' || q === "'") && value.endsWith(q) && value.length >= 2) {
      value = value.slice(1, -1);
    }
    fields.set(line.slice(0, eq), value.replaceAll('\\"', '"'));
  }
  const get = (k: string) => fields.get(k) ?? "";
  return {
    id: get("ID"),
    idLike: splitFields(get("ID_LIKE")),
    name: get("NAME"),
    version: get("VERSION"),
    versionId: get("VERSION_ID"),
    prettyName: get("PRETTY_NAME"),
  };
}

/** Reads `/etc/os-release`, else `/usr/lib/os-release`; undefined when neither exists. */
export async function readOsRelease(root: RootPath = ""): Promise<OsRelease | undefined> {
  for (const path of ["/etc/os-release", "/usr/lib/os-release"]) {
    const text = await readOptional(hostPath(root, path));
    if (text !== undefined) return parseOsRelease(text);
  }
  return undefined;
}

/** What `uname(2)` says, read from `/proc/sys/kernel`; fields not offered are `""`. */
export interface KernelIdentity {
  /** `ostype`, such as `Linux`. */
  osType: string;
  /** `osrelease`, such as `6.1.0-18-amd64`. */
  release: string;
  /** `version`, such as `#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)`. */
  version: string;
  /** The kernel's host name. */
  hostname: string;
}

/** Reads the kernel's identity. */
export async function readKernelIdentity(root: RootPath = ""): Promise<KernelIdentity> {
  const read = async (name: string) =>
    (await readOptional(hostPath(root, `/proc/sys/kernel/${name}`)))?.trim() ?? "";
  const [osType, release, version, hostname] = await Promise.all(
    ["ostype", "osrelease", "version", "hostname"].map(read),
  );
  return { osType: osType!, release: release!, version: version!, hostname: hostname! };
}

/** Seconds since boot (`/proc/uptime` first field), or undefined when not offered. */
export async function readUptime(root: RootPath = ""): Promise<number | undefined> {
  const text = await readOptional(hostPath(root, "/proc/uptime"));
  return text === undefined ? undefined : num(splitFields(text)[0]);
}

/**
 * A stable host identifier: the systemd machine ID (`/etc/machine-id`, else
 * `/var/lib/dbus/machine-id`, as the resourcedetection `system` detector's `host.id`), else the
 * SMBIOS product UUID (root only), else `""`.
 */
export async function readHostId(root: RootPath = ""): Promise<string> {
  for (
    const path of ["/etc/machine-id", "/var/lib/dbus/machine-id", "/sys/class/dmi/id/product_uuid"]
  ) {
    const text = (await readOptional(hostPath(root, path)))?.trim();
    if (text !== undefined && text !== "") return text;
  }
  return "";
}
