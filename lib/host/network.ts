/**
 * Network readers: interface counters from `/proc/net/dev` and TCP connection states from
 * `/proc/net/tcp` and `/proc/net/tcp6`.
 *
 * @module
 */
import {
  hostPath,
  num,
  readOptional,
  readText,
  type RootPath,
  splitFields,
  splitLines,
} from "./_read.ts";

/** One interface's counters since it came up. */
export interface NetDevStat {
  /** Interface name, such as `eth0`. */
  name: string;
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  rxDropped: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
  txDropped: number;
}

/** Parses the text of `/proc/net/dev`. */
export function parseNetDev(text: string): NetDevStat[] {
  const out: NetDevStat[] = [];
  for (const line of splitLines(text)) {
    const colon = line.indexOf(":");
    // The two header lines have '|' and no colon.
    if (colon < 0) continue;
    const f = splitFields(line.slice(colon + 1));
    if (f.length < 16) continue;
    out.push({
      name: line.slice(0, colon).trim(),
      rxBytes: num(f[0]),
      rxPackets: num(f[1]),
      rxErrors: num(f[2]),
      rxDropped: num(f[3]),
      txBytes: num(f[8]),
      txPackets: num(f[9]),
      txErrors: num(f[10]),
      txDropped: num(f[11]),
    });
  }
  return out;
}

/** Reads `/proc/net/dev`. */
export async function readNetDev(root: RootPath = ""): Promise<NetDevStat[]> {
  return parseNetDev(await readText(hostPath(root, "/proc/net/dev")));
}

/**
 * TCP states by the kernel's number (include/net/tcp_states.h), named as the Collector names them
 * on Linux.
 */
export const TCP_STATES: readonly string[] = [
  "",
  "ESTABLISHED",
  "SYN_SENT",
  "SYN_RECV",
  "FIN_WAIT_1",
  "FIN_WAIT_2",
  "TIME_WAIT",
  "CLOSE",
  "CLOSE_WAIT",
  "LAST_ACK",
  "LISTEN",
  "CLOSING",
];

/** Every state the Collector reports, zero when no connection is in it. */
export const ALL_TCP_STATES: readonly string[] = [
  "CLOSE_WAIT",
  "CLOSE",
  "CLOSING",
  "DELETE",
  "ESTABLISHED",
  "FIN_WAIT_1",
  "FIN_WAIT_2",
  "LAST_ACK",
  "LISTEN",
  "SYN_SENT",
  "SYN_RECV",
  "TIME_WAIT",
];

/** Adds the connections of one `/proc/net/tcp`-format text to `counts`, by state name. */
export function countTcpStates(text: string, counts: Map<string, number>): void {
  const lines = splitLines(text);
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    // "  sl: local rem st ..." — the state is the fourth field; skip three without allocating.
    let pos = 0;
    let field = 0;
    let state = "";
    while (pos < line.length && field < 4) {
      while (pos < line.length && line.charCodeAt(pos) === 32) pos++;
      const start = pos;
      while (pos < line.length && line.charCodeAt(pos) !== 32) pos++;
      if (field === 3) state = line.slice(start, pos);
      field++;
    }
    const name = TCP_STATES[parseInt(state, 16)];
    if (name === undefined || name === "") continue;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
}

/** Counts TCP connections (IPv4 and IPv6) by state; absent tables count nothing. */
export async function readTcpStates(root: RootPath = ""): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const tcp = await readText(hostPath(root, "/proc/net/tcp"));
  countTcpStates(tcp, counts);
  const tcp6 = await readOptional(hostPath(root, "/proc/net/tcp6"));
  if (tcp6 !== undefined) countTcpStates(tcp6, counts);
  return counts;
}
