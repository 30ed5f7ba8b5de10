/**
 * {@linkcode findGc}: a function that forces a full garbage collection, where the runtime gives
 * one. Used by the memory limiter (over its limit) and by `tfo run` once at the end of its start.
 *
 * @module
 */
import v8 from "node:v8";
import vm from "node:vm";

/**
 * A function that forces a full garbage collection, or undefined when the runtime gives none.
 * `globalThis.gc` exists when V8 runs with `--expose-gc` (`deno run --v8-flags=--expose-gc`);
 * otherwise the flag is set at run time through `node:v8` and the function fetched from a fresh
 * `node:vm` context (under Deno 2.9.6 that one is V8's low-memory notification: compacting
 * collections repeated while they free memory). That works under `deno run` and `deno test`; a
 * compiled binary embeds the same runtime but was not checked (no `denort` offline).
 *
 * tfo does not ship `--expose-gc`: with it, `deno run` took 0.3–0.7 s longer to reach its first
 * log line in every run (its code cache, written without the flag, was not used).
 */
export function findGc(): (() => void) | undefined {
  const global = (globalThis as { gc?: unknown }).gc;
  if (typeof global === "function") return global as () => void;
  try {
    v8.setFlagsFromString("--expose-gc");
    const gc: unknown = vm.runInNewContext("gc");
    return typeof gc === "function" ? gc as () => void : undefined;
  } catch {
    return undefined;
  }
}
