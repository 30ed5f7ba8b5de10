/**
 * Per-process readers: `/proc/[pid]/{stat,status,cmdline,io,exe,fd,cgroup}`, the PID list, and
 * user names from `/etc/passwd`.
 *
 * @module
 */
import {
  CLOCK_TICKS_PER_SECOND,
  hostPath,
  isSpace,
  kbValue,
  num,
  parseKeyValueLines,
  readText,
  readTextSync,
  type RootPath,
  splitFields,
  splitLines,
} from "./_read.ts";

/** What `/proc/[pid]/stat` says (times in seconds). */
export interface ProcStat {
  pid: number;
  /** The command name (at most 15 characters), without parentheses. */
  comm: string;
  /** One letter: R, S, D, T, t, Z, X, I, W, P, … */
  state: string;
  ppid: number;
  minorFaults: number;
  majorFaults: number;
  userSeconds: number;
  systemSeconds: number;
  threads: number;
  /** Seconds after boot at which the process started. */
  startSecondsAfterBoot: number;
  virtualBytes: number;
  residentPages: number;
  /** Seconds spent waiting for block I/O (delay accounting; 0 when disabled). */
  ioWaitSeconds: number;
  /** The kernel's `PF_*` flags of the task. */
  flags: number;
  /** Where the arguments lie in the process's memory (0 when not permitted to see, or none). */
  argStart: number;
  argEnd: number;
}

/** `PF_KTHREAD`: the task is a kernel thread (no memory map, executable or command line). */
const PF_KTHREAD = 0x00200000;

/** True for a kernel thread: it never has an executable or arguments and never `exec`s. */
export function isKernelThread(stat: ProcStat): boolean {
  return (stat.flags & PF_KTHREAD) !== 0;
}

/** Parses the text of `/proc/[pid]/stat`. The command name may hold spaces and parentheses. */
export function parseProcStat(text: string): ProcStat {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  const out: ProcStat = {
    pid: num(text.slice(0, open).trim()),
    comm: text.slice(open + 1, close),
    state: "",
    ppid: 0,
    minorFaults: 0,
    majorFaults: 0,
    userSeconds: 0,
    systemSeconds: 0,
    threads: 0,
    startSecondsAfterBoot: 0,
    virtualBytes: 0,
    residentPages: 0,
    ioWaitSeconds: 0,
    flags: 0,
    argStart: 0,
    argEnd: 0,
  };
  // Fields after the command, numbered from 3 (state) as in proc(5); only those used are cut out
  // of the text (stat has some 50, this runs for every process on every scrape).
  let n = 3;
  for (let i = close + 1; i < text.length;) {
    if (isSpace(text.charCodeAt(i))) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < text.length && !isSpace(text.charCodeAt(j))) j++;
    switch (n) {
      case 3:
        out.state = text.slice(i, j);
        break;
      case 4:
        out.ppid = num(text.slice(i, j));
        break;
      case 9:
        out.flags = num(text.slice(i, j));
        break;
      case 10:
        out.minorFaults = num(text.slice(i, j));
        break;
      case 12:
        out.majorFaults = num(text.slice(i, j));
        break;
      case 14:
        out.userSeconds = num(text.slice(i, j)) / CLOCK_TICKS_PER_SECOND;
        break;
      case 15:
        out.systemSeconds = num(text.slice(i, j)) / CLOCK_TICKS_PER_SECOND;
        break;
      case 20:
        out.threads = num(text.slice(i, j));
        break;
      case 22:
        out.startSecondsAfterBoot = num(text.slice(i, j)) / CLOCK_TICKS_PER_SECOND;
        break;
      case 23:
        out.virtualBytes = num(text.slice(i, j));
        break;
      case 24:
        out.residentPages = num(text.slice(i, j));
        break;
      case 42:
        out.ioWaitSeconds = num(text.slice(i, j)) / CLOCK_TICKS_PER_SECOND;
        break;
      case 48:
        out.argStart = num(text.slice(i, j));
        break;
      case 49:
        out.argEnd = num(text.slice(i, j));
        break;
    }
    n++;
    i = j;
  }
  return out;
}

/** Reads `/proc/[pid]/stat`. */
export async function readProcStat(pid: number, root: RootPath = ""): Promise<ProcStat> {
  return parseProcStat(await readText(hostPath(root, `/proc/${pid}/stat`)));
}

/**
 * Reads `/proc/[pid]/stat` on the calling thread (microseconds: the kernel takes no lock another
 * process could hold for long). Callers reading many in a row yield with {@linkcode nextSlice}.
 */
export function readProcStatSync(pid: number, root: RootPath = ""): ProcStat {
  return parseProcStat(readTextSync(hostPath(root, `/proc/${pid}/stat`)));
}

/** Processes read on the calling thread between two yields to the event loop. */
export const PROCESSES_PER_SLICE = 32;

/** Lets timers and I/O run between slices of synchronous /proc reads. */
export function nextSlice(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** One process's `/proc/[pid]/stat`, or why it could not be read. */
export type PidStat =
  | { readonly pid: number; readonly stat: ProcStat; readonly error?: undefined }
  | { readonly pid: number; readonly stat?: undefined; readonly error: unknown };

/** Reads `/proc/[pid]/stat` of every process, ascending by PID; failed reads keep their error. */
export async function readProcStats(root: RootPath = ""): Promise<PidStat[]> {
  const out: PidStat[] = [];
  for (const pid of await listPids(root)) {
    if (out.length > 0 && out.length % PROCESSES_PER_SLICE === 0) await nextSlice();
    try {
      out.push({ pid, stat: readProcStatSync(pid, root) });
    } catch (error) {
      out.push({ pid, error });
    }
  }
  return out;
}

/** What `/proc/[pid]/status` says. */
export interface ProcStatus {
  /** `Name`: the command name (at most 15 characters). */
  name: string;
  /** Real user ID. */
  uid: number;
  /** Resident set size in bytes (0 for kernel threads). */
  residentBytes: number;
  /** Virtual memory size in bytes (0 for kernel threads). */
  virtualBytes: number;
  threads: number;
  voluntaryContextSwitches: number;
  involuntaryContextSwitches: number;
  /** Signals queued for the process's real user (`SigQ` first number). */
  signalsQueued: number;
}

/** The trimmed value of the line whose colon is at `colon` and which ends at `end`. */
function valueOf(text: string, colon: number, end: number): string {
  return text.slice(colon + 1, end).trim();
}

/** True when the line at `at` has the key `key` (its colon at `colon`). */
function keyIs(text: string, at: number, colon: number, key: string): boolean {
  return colon - at === key.length && text.startsWith(key, at);
}

/**
 * Parses the text of `/proc/[pid]/status`. Only the values used are cut out of the text (status has
 * some 55 lines, this runs for every process on every scrape).
 */
export function parseProcStatus(text: string): ProcStatus {
  const out: ProcStatus = {
    name: "",
    uid: -1,
    residentBytes: 0,
    virtualBytes: 0,
    threads: 0,
    voluntaryContextSwitches: 0,
    involuntaryContextSwitches: 0,
    signalsQueued: 0,
  };
  for (let at = 0; at < text.length;) {
    let end = text.indexOf("\n", at);
    if (end < 0) end = text.length;
    const colon = text.indexOf(":", at);
    if (colon > at && colon < end) {
      if (keyIs(text, at, colon, "Name")) out.name = valueOf(text, colon, end);
      else if (keyIs(text, at, colon, "Uid")) {
        const first = splitFields(valueOf(text, colon, end))[0];
        out.uid = first === undefined ? -1 : num(first);
      } else if (keyIs(text, at, colon, "VmRSS")) {
        out.residentBytes = kbValue(valueOf(text, colon, end));
      } else if (keyIs(text, at, colon, "VmSize")) {
        out.virtualBytes = kbValue(valueOf(text, colon, end));
      } else if (keyIs(text, at, colon, "Threads")) out.threads = num(valueOf(text, colon, end));
      else if (keyIs(text, at, colon, "voluntary_ctxt_switches")) {
        out.voluntaryContextSwitches = num(valueOf(text, colon, end));
      } else if (keyIs(text, at, colon, "nonvoluntary_ctxt_switches")) {
        out.involuntaryContextSwitches = num(valueOf(text, colon, end));
      } else if (keyIs(text, at, colon, "SigQ")) {
        const sigq = valueOf(text, colon, end);
        out.signalsQueued = num(sigq.slice(0, Math.max(0, sigq.indexOf("/"))));
      }
    }
    at = end + 1;
  }
  return out;
}

/** Reads `/proc/[pid]/status`. */
export async function readProcStatus(pid: number, root: RootPath = ""): Promise<ProcStatus> {
  return parseProcStatus(await readText(hostPath(root, `/proc/${pid}/status`)));
}

/** Reads `/proc/[pid]/status` on the calling thread (as {@linkcode readProcStatSync}). */
export function readProcStatusSync(pid: number, root: RootPath = ""): ProcStatus {
  return parseProcStatus(readTextSync(hostPath(root, `/proc/${pid}/status`)));
}

/** Reads `/proc/[pid]/cmdline` as its arguments (empty for kernel threads and zombies). */
export async function readCmdline(pid: number, root: RootPath = ""): Promise<string[]> {
  const text = await readText(hostPath(root, `/proc/${pid}/cmdline`));
  if (text === "") return [];
  const args = text.split("\0");
  if (args[args.length - 1] === "") args.pop();
  return args;
}

/** What `/proc/[pid]/io` says. */
export interface ProcIo {
  /** Bytes read through read-like system calls (`rchar`, gopsutil's `ReadBytes`). */
  readChars: number;
  /** Bytes written through write-like system calls (`wchar`). */
  writeChars: number;
  readSyscalls: number;
  writeSyscalls: number;
  /** Bytes fetched from storage (`read_bytes`). */
  storageReadBytes: number;
  /** Bytes sent to storage (`write_bytes`). */
  storageWriteBytes: number;
}

/** Parses the text of `/proc/[pid]/io`. */
export function parseProcIo(text: string): ProcIo {
  const m = parseKeyValueLines(text);
  return {
    readChars: num(m.get("rchar")),
    writeChars: num(m.get("wchar")),
    readSyscalls: num(m.get("syscr")),
    writeSyscalls: num(m.get("syscw")),
    storageReadBytes: num(m.get("read_bytes")),
    storageWriteBytes: num(m.get("write_bytes")),
  };
}

/** Reads `/proc/[pid]/io` (needs the same user or root). */
export async function readProcIo(pid: number, root: RootPath = ""): Promise<ProcIo> {
  return parseProcIo(await readText(hostPath(root, `/proc/${pid}/io`)));
}

/** Reads `/proc/[pid]/io` on the calling thread (as {@linkcode readProcStatSync}). */
export function readProcIoSync(pid: number, root: RootPath = ""): ProcIo {
  return parseProcIo(readTextSync(hostPath(root, `/proc/${pid}/io`)));
}

/** The executable's path (`/proc/[pid]/exe`); fails for kernel threads and without permission. */
export function readExe(pid: number, root: RootPath = ""): Promise<string> {
  return Deno.readLink(hostPath(root, `/proc/${pid}/exe`));
}

/** The number of open file descriptors (`/proc/[pid]/fd`). */
export async function countOpenFds(pid: number, root: RootPath = ""): Promise<number> {
  let n = 0;
  for await (const _ of Deno.readDir(hostPath(root, `/proc/${pid}/fd`))) n++;
  return n;
}

/** The cgroup path of the process (`/proc/[pid]/cgroup`, the unified hierarchy's when present). */
export async function readCgroup(pid: number, root: RootPath = ""): Promise<string> {
  const lines = splitLines(await readText(hostPath(root, `/proc/${pid}/cgroup`)));
  for (const line of lines) if (line.startsWith("0::")) return line.slice(3);
  return lines.join("\n");
}

/** The PIDs in `/proc`, ascending. */
export async function listPids(root: RootPath = ""): Promise<number[]> {
  const pids: number[] = [];
  for await (const entry of Deno.readDir(hostPath(root, "/proc"))) {
    const c = entry.name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const pid = Number(entry.name);
    if (Number.isInteger(pid)) pids.push(pid);
  }
  return pids.sort((a, b) => a - b);
}

/** Parses `/etc/passwd` into user names by UID. */
export function parsePasswd(text: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of splitLines(text)) {
    if (line.startsWith("#")) continue;
    const f = line.split(":");
    if (f.length < 3) continue;
    const uid = Number(f[2]);
    if (Number.isInteger(uid) && !out.has(uid)) out.set(uid, f[0]!);
  }
  return out;
}

/** Reads user names by UID from `/etc/passwd` (empty when absent). */
export async function readUsers(root: RootPath = ""): Promise<Map<number, string>> {
  try {
    return parsePasswd(await readText(hostPath(root, "/etc/passwd")));
  } catch {
    return new Map();
  }
}
