/**
 * Socket statistics reader: `/proc/net/sockstat` and `/proc/net/sockstat6`.
 *
 * @module
 */
import { hostPath, num, readOptional, type RootPath, splitFields, splitLines } from "./_read.ts";

/** One protocol line, such as `TCP: inuse 5 orphan 0 tw 2 alloc 7 mem 1`. */
export interface SockstatProtocol {
  /** Lower-case protocol name: `tcp`, `udp`, `udplite`, `raw`, `frag`, `tcp6`, … */
  protocol: string;
  /** Every `name value` pair of the line (`inuse`, `orphan`, `tw`, `alloc`, `mem`, `memory`). */
  values: Map<string, number>;
}

/** What the sockstat files say. */
export interface Sockstat {
  /** Sockets in use, all protocols (`sockets: used`). */
  socketsUsed: number;
  protocols: SockstatProtocol[];
}

/** Parses the text of a sockstat file, appending to `into`. */
export function parseSockstat(text: string, into: Sockstat): Sockstat {
  for (const line of splitLines(text)) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon);
    const f = splitFields(line.slice(colon + 1));
    if (name === "sockets") {
      if (f[0] === "used") into.socketsUsed = num(f[1]);
      continue;
    }
    const values = new Map<string, number>();
    for (let i = 0; i + 1 < f.length; i += 2) values.set(f[i]!, num(f[i + 1]));
    into.protocols.push({ protocol: name.toLowerCase(), values });
  }
  return into;
}

/** Reads sockstat (IPv4 and, when present, IPv6), or undefined when absent. */
export async function readSockstat(root: RootPath = ""): Promise<Sockstat | undefined> {
  const v4 = await readOptional(hostPath(root, "/proc/net/sockstat"));
  if (v4 === undefined) return undefined;
  const out = parseSockstat(v4, { socketsUsed: 0, protocols: [] });
  const v6 = await readOptional(hostPath(root, "/proc/net/sockstat6"));
  if (v6 !== undefined) parseSockstat(v6, out);
  return out;
}
