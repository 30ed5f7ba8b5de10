/**
 * The error every part of `lib/ebpf` throws: what was attempted, the errno name and number, and
 * for a program load the verifier's log.
 *
 * @module
 */

/** Linux errno numbers by name, for the ones the BPF calls return. */
const ERRNO_NAMES: Readonly<Record<number, string>> = {
  1: "EPERM",
  2: "ENOENT",
  3: "ESRCH",
  4: "EINTR",
  7: "E2BIG",
  9: "EBADF",
  12: "ENOMEM",
  13: "EACCES",
  14: "EFAULT",
  16: "EBUSY",
  17: "EEXIST",
  19: "ENODEV",
  22: "EINVAL",
  24: "EMFILE",
  28: "ENOSPC",
  38: "ENOSYS",
  77: "EBADFD",
  95: "EOPNOTSUPP",
  524: "ENOTSUPP",
};

/** The name of an errno (`EPERM`), or `errno N` for one not in the table. */
export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `errno ${errno}`;
}

/** A failed BPF, perf or tracefs operation. */
export class BpfError extends Error {
  /** The errno the kernel returned; 0 when the failure is not a system call's. */
  readonly errno: number;
  /** The verifier log of a failed program load; empty otherwise. */
  readonly verifierLog: string;

  /**
   * @param message what failed, e.g. `Cannot create map "syscalls"`
   * @param errno the errno (0 when none)
   * @param options the verifier log and the cause
   */
  constructor(
    message: string,
    errno: number,
    options: { verifierLog?: string; cause?: unknown } = {},
  ) {
    super(errno === 0 ? message : `${message}: ${errnoName(errno)} (${errno})`, {
      cause: options.cause,
    });
    this.name = "BpfError";
    this.errno = errno;
    this.verifierLog = options.verifierLog ?? "";
  }
}
