/**
 * Gives memory the process no longer uses back to the kernel (Linux, through `Deno.dlopen` of
 * libc; `--allow-ffi`):
 *
 * - read-only file pages: a `deno` (or `deno compile`d) binary is ~90 MiB, and start-up touches
 *   ~45 MiB of it (module loader, transpiler, npm resolver, code that runs once); `deno run` also
 *   maps its code cache database. Those pages stay mapped, and counted in RSS, until the kernel
 *   needs them. `madvise(MADV_DONTNEED)` on a file mapping that is not writable and holds no
 *   private (copy-on-write) page only drops this process's page-table entries: the file's pages
 *   stay in the page cache, and a page still needed is mapped again from there on its next use (a
 *   minor fault), so the steady RSS is the code the process really runs. `MADV_PAGEOUT` would not
 *   do: it skips pages that other processes map too, which every page of a shared `deno` binary
 *   is;
 * - `malloc_trim(0)`: memory glibc's allocator keeps after `free`, at the top of its heaps and in
 *   whole free pages inside them;
 * - from then on, less of that memory kept at all ({@linkcode ALLOCATOR_LIMITS}, through
 *   `mallopt`): by default glibc raises its trim threshold with the largest block freed so far (up
 *   to 64 MiB) and pads every heap extension with 128 KiB, so after start-up's large buffers a heap
 *   keeps megabytes of free top that only a trim returns. A fixed 128 KiB trim threshold (glibc's
 *   initial one) and no padding make every `free` that leaves more than 128 KiB free at a heap's
 *   top give it back. Fixing the trim threshold also fixes the `mmap` threshold where start-up
 *   left it; it is not lowered, which cost filelog throughput when measured. Set here rather than
 *   by `MALLOC_*` environment variables, which in a compiled binary are the operator's (an
 *   operator's own `MALLOC_*` settings hold until this first release).
 *
 * Nothing here can change what the process computes: a dropped page is read back unchanged.
 *
 * @module
 */

/** `MADV_DONTNEED` of `<sys/mman.h>` (the same on every Linux architecture). */
const MADV_DONTNEED = 4;

const SYMBOLS = {
  malloc_trim: { parameters: ["usize"], result: "i32" },
  madvise: { parameters: ["pointer", "usize", "i32"], result: "i32" },
  mallopt: { parameters: ["i32", "i32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** `mallopt` parameters of glibc's `<malloc.h>`. */
const M_TRIM_THRESHOLD = -1;
const M_TOP_PAD = -2;

/**
 * The allocator settings {@linkcode releaseMemory} applies once, as `[mallopt parameter, value]`:
 * glibc's initial trim threshold (128 KiB), fixed instead of growing, and no padding of heap
 * extensions. Measured (bench/RESULTS.md, branch v8idle): the idle agent 2–4 MiB lower, the
 * filelog peak ~4 MiB lower, its throughput unchanged.
 */
export const ALLOCATOR_LIMITS: ReadonlyArray<readonly [number, number]> = [
  [M_TRIM_THRESHOLD, 128 * 1024],
  [M_TOP_PAD, 0],
];

/** One mapping of `/proc/self/smaps`, the fields this module reads. */
export interface Mapping {
  readonly start: bigint;
  readonly end: bigint;
  /** `r-xp` and the like. */
  readonly perms: string;
  /** The mapped file's path; "" for anonymous memory. */
  readonly path: string;
  /** Resident bytes. */
  readonly rss: number;
  /** Private (copy-on-write or anonymous) resident bytes. */
  readonly anonymous: number;
}

/** Parses `/proc/<pid>/smaps` text into its mappings (fields other than Rss and Anonymous dropped). */
export function parseSmaps(text: string): Mapping[] {
  const out: Mapping[] = [];
  let current: { start: bigint; end: bigint; perms: string; path: string } | undefined;
  let rss = 0;
  let anonymous = 0;
  const flush = () => {
    if (current !== undefined) out.push({ ...current, rss, anonymous });
  };
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    const space = line.indexOf(" ");
    // A header line starts with "start-end "; a field line with "Name:".
    if (space > 0 && (colon < 0 || colon > space)) {
      const dash = line.indexOf("-");
      if (dash < 0 || dash > space) continue;
      flush();
      const fields = line.split(/\s+/);
      const path = fields.slice(5).join(" ");
      current = {
        start: BigInt(`0x${line.slice(0, dash)}`),
        end: BigInt(`0x${line.slice(dash + 1, space)}`),
        perms: fields[1] ?? "",
        path,
      };
      rss = 0;
      anonymous = 0;
    } else if (line.startsWith("Rss:")) {
      rss = kib(line);
    } else if (line.startsWith("Anonymous:")) {
      anonymous = kib(line);
    }
  }
  flush();
  return out;
}

function kib(line: string): number {
  const value = Number.parseInt(line.slice(line.indexOf(":") + 1), 10);
  return Number.isFinite(value) ? value * 1024 : 0;
}

/**
 * The mappings whose pages can be dropped without losing anything: backed by a regular file (not a
 * device, not deleted), resident, not writable, and, when private, holding no private page (a page
 * written after mapping, as relocations do before a segment is made read-only, is not in the file:
 * dropping it would lose it).
 */
export function droppableMappings(mappings: readonly Mapping[]): Mapping[] {
  return mappings.filter((m) =>
    m.path.startsWith("/") && !m.path.startsWith("/dev/") && !m.path.endsWith(" (deleted)") &&
    m.perms.length === 4 && m.perms[1] === "-" && (m.perms[3] === "s" || m.anonymous === 0) &&
    m.rss > 0
  );
}

/** What {@linkcode releaseMemory} did. */
export interface ReleaseResult {
  /** Resident bytes of the read-only file mappings that were dropped. */
  readonly droppedBytes: number;
  /** How many mappings were dropped. */
  readonly mappings: number;
  /** Whether `malloc_trim` returned memory (its result). */
  readonly trimmed: boolean;
  /** Whether every one of {@linkcode ALLOCATOR_LIMITS} is in effect (`mallopt` accepted it). */
  readonly allocatorLimited: boolean;
}

let libc: Libc | null | undefined;
/** Whether `mallopt` accepted every limit; undefined until the first release tried. */
let allocatorLimited: boolean | undefined;

function open(): Libc | null {
  if (libc !== undefined) return libc;
  try {
    libc = Deno.dlopen("libc.so.6", SYMBOLS).symbols;
  } catch {
    // No FFI permission, or no glibc (musl, another OS): nothing to release this way.
    libc = null;
  }
  return libc;
}

/** Options of {@linkcode releaseMemory}. */
export interface ReleaseOptions {
  /**
   * Drop the pages of read-only file mappings (see the module documentation).
   * @default true
   */
  filePages?: boolean;
}

/**
 * Trims the allocator and drops read-only file pages (the executable's) from this process's RSS;
 * the first call also sets {@linkcode ALLOCATOR_LIMITS}.
 *
 * @returns what was released, or undefined where it cannot be done (not Linux, no glibc, no
 * `--allow-ffi`, `/proc/self/smaps` unreadable); never throws
 */
export function releaseMemory(options: ReleaseOptions = {}): ReleaseResult | undefined {
  if (Deno.build.os !== "linux") return undefined;
  const c = open();
  if (c === null) return undefined;
  let droppedBytes = 0;
  let count = 0;
  if (options.filePages ?? true) {
    let mappings: Mapping[];
    try {
      mappings = parseSmaps(Deno.readTextFileSync("/proc/self/smaps"));
    } catch {
      return undefined;
    }
    for (const m of droppableMappings(mappings)) {
      const pointer = Deno.UnsafePointer.create(m.start);
      if (c.madvise(pointer, m.end - m.start, MADV_DONTNEED) === 0) {
        droppedBytes += m.rss;
        count++;
      }
    }
  }
  allocatorLimited ??= ALLOCATOR_LIMITS.every(([param, value]) => c.mallopt(param, value) === 1);
  const trimmed = c.malloc_trim(0n) === 1;
  return { droppedBytes, mappings: count, trimmed, allocatorLimited };
}
