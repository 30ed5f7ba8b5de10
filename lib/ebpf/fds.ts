/**
 * A set of kernel objects (maps, programs, links, perf events) opened together and closed together:
 * closing a link or perf event detaches its program, closing the last reference to a map or
 * program frees it.
 *
 * @module
 */
import { closeFd } from "./_libc.ts";

/** File descriptors owned together; {@linkcode FdSet.closeAll} closes them, newest first. */
export class FdSet {
  #fds: number[] = [];

  /** Takes ownership of `fd` and returns it. */
  own(fd: number): number {
    this.#fds.push(fd);
    return fd;
  }

  /** How many descriptors are open. */
  get size(): number {
    return this.#fds.length;
  }

  /** Takes over every descriptor of `other`, which is left empty. */
  adopt(other: FdSet): void {
    this.#fds.push(...other.#fds);
    other.#fds = [];
  }

  /** Closes every descriptor (links and events before the programs and maps they use). */
  closeAll(): void {
    while (this.#fds.length > 0) closeFd(this.#fds.pop()!);
  }
}
