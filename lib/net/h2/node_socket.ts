/**
 * Adapts a `node:net`/`node:tls` socket to the {@linkcode H2Socket} interface (pull reads with
 * backpressure: the socket is paused while nobody reads). Used for client TLS options that Deno's
 * own TLS API lacks (skipping certificate verification, a server name other than the host).
 *
 * @module
 */
import type { Socket } from "node:net";
import type { H2Socket } from "./connection.ts";

/** Wraps a connected socket. */
export function nodeSocket(socket: Socket): H2Socket {
  const chunks: Uint8Array[] = [];
  let ended = false;
  let failure: Error | undefined;
  let waiter: (() => void) | undefined;
  const wake = () => {
    const w = waiter;
    waiter = undefined;
    w?.();
  };
  socket.on("data", (chunk: Uint8Array) => {
    chunks.push(chunk);
    socket.pause();
    wake();
  });
  socket.on("end", () => {
    ended = true;
    wake();
  });
  socket.on("close", () => {
    ended = true;
    wake();
  });
  socket.on("error", (error: Error) => {
    failure = error;
    wake();
  });
  return {
    async read(p: Uint8Array): Promise<number | null> {
      while (chunks.length === 0) {
        if (failure !== undefined) throw failure;
        if (ended) return null;
        socket.resume();
        await new Promise<void>((resolve) => waiter = resolve);
      }
      const head = chunks[0]!;
      const n = Math.min(p.length, head.length);
      p.set(head.subarray(0, n));
      if (n === head.length) chunks.shift();
      else chunks[0] = head.subarray(n);
      return n;
    },
    write(p: Uint8Array): Promise<number> {
      if (failure !== undefined) return Promise.reject(failure);
      const copy = p.slice();
      return new Promise((resolve, reject) => {
        socket.write(copy, (error?: Error | null) => error ? reject(error) : resolve(copy.length));
      });
    },
    closeWrite(): Promise<void> {
      return new Promise((resolve) => socket.end(resolve));
    },
    close(): void {
      ended = true;
      socket.destroy();
      wake();
    },
  };
}
