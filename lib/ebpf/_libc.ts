/**
 * The few libc entry points `lib/ebpf` needs, through `Deno.dlopen` (`--allow-ffi`): `syscall`
 * for `bpf(2)` and `perf_event_open(2)`, `close`, `mount` and `errno`. Opened once, on first use.
 *
 * @module
 */
import { BpfError } from "./errors.ts";

const SYMBOLS = {
  // `long syscall(long number, ...)`: integer arguments of a variadic call go in the same
  // registers as fixed ones on x86-64 and aarch64, so six i64 slots fit every call made here.
  syscall: {
    parameters: ["i64", "i64", "i64", "i64", "i64", "i64"],
    result: "i64",
  },
  close: { parameters: ["i32"], result: "i32" },
  mount: { parameters: ["buffer", "buffer", "buffer", "u64", "pointer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let libc: Libc | undefined;

/** Opens libc on first use; throws a {@linkcode BpfError} naming the permission when denied. */
function lib(): Libc {
  if (libc !== undefined) return libc;
  try {
    libc = Deno.dlopen("libc.so.6", SYMBOLS).symbols;
  } catch (error) {
    const denied = error instanceof Deno.errors.NotCapable ||
      error instanceof Deno.errors.PermissionDenied;
    throw new BpfError(
      denied
        ? "Cannot open libc: the --allow-ffi permission is missing"
        : "Cannot open libc.so.6 for bpf(2)",
      0,
      { cause: error },
    );
  }
  return libc;
}

/** System call numbers by architecture. */
const NR: Readonly<Record<string, { bpf: number; perfEventOpen: number }>> = {
  x86_64: { bpf: 321, perfEventOpen: 298 },
  aarch64: { bpf: 280, perfEventOpen: 241 },
};

function numbers(): { bpf: number; perfEventOpen: number } {
  const nr = NR[Deno.build.arch];
  if (nr === undefined) {
    throw new BpfError(`bpf(2) is not wired for the ${Deno.build.arch} architecture`, 0);
  }
  return nr;
}

/** The calling thread's errno. */
export function errno(): number {
  const p = lib().__errno_location();
  return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32();
}

/** The address of a buffer as a bigint, for pointers inside attribute structs. */
export function addressOf(buf: Uint8Array<ArrayBuffer>): bigint {
  return BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buf)));
}

/**
 * Calls `bpf(cmd, attr, attr.length)`.
 * @returns the result (a file descriptor or 0) or a negative errno
 */
export function bpfRaw(cmd: number, attr: Uint8Array<ArrayBuffer>): number {
  const r = lib().syscall(
    BigInt(numbers().bpf),
    BigInt(cmd),
    addressOf(attr),
    BigInt(attr.length),
    0n,
    0n,
  );
  return r < 0n ? -errno() : Number(r);
}

/**
 * Calls `perf_event_open(attr, pid, cpu, group_fd, flags)`.
 * @returns the file descriptor or a negative errno
 */
export function perfEventOpenRaw(
  attr: Uint8Array<ArrayBuffer>,
  pid: number,
  cpu: number,
  flags: bigint,
): number {
  const r = lib().syscall(
    BigInt(numbers().perfEventOpen),
    addressOf(attr),
    BigInt(pid),
    BigInt(cpu),
    -1n,
    flags,
  );
  return r < 0n ? -errno() : Number(r);
}

/** Closes a file descriptor; errors are ignored (there is nothing left to do with them). */
export function closeFd(fd: number): void {
  lib().close(fd);
}

function cString(s: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(`${s}\0`) as Uint8Array<ArrayBuffer>;
}

/**
 * Calls `mount(source, target, fstype, 0, NULL)`.
 * @returns 0 or a negative errno
 */
export function mountRaw(source: string, target: string, fstype: string): number {
  const r = lib().mount(cString(source), cString(target), cString(fstype), 0n, null);
  return r < 0 ? -errno() : 0;
}
