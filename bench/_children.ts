/**
 * Child processes of the benchmark: spawned with piped output that is always drained (the last
 * lines are kept for error messages), waited on by output line or open port, and stopped with
 * SIGTERM then SIGKILL. A {@linkcode ChildGroup} stops everything it started, even on error.
 *
 * @module
 */
/** A running child process. */
export interface Child {
  /** A short name for messages. */
  readonly name: string;
  /** Its process ID. */
  readonly pid: number;
  /** Resolves with the exit code once it exited. */
  readonly exited: Promise<number>;
  /** The last lines of its stdout and stderr. */
  tail(): string;
  /** Resolves with the first stdout line (from now on) that `match` accepts. */
  nextLine(match: (line: string) => boolean, timeoutMs: number): Promise<string>;
}

const TAIL_LINES = 40;

async function drain(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  let pending = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    const lines = (pending + text).split("\n");
    pending = lines.pop()!;
    for (const line of lines) onLine(line);
  }
  if (pending !== "") onLine(pending);
}

/** Every child started through it; {@linkcode ChildGroup.stopAll} ends them all. */
export class ChildGroup {
  #children = new Set<Child & { stop(graceMs?: number): Promise<number> }>();

  /** Starts `command args` with extra `env`; output is piped and drained. */
  spawn(
    name: string,
    command: string,
    args: string[],
    env: Record<string, string> = {},
  ): Child & { stop(graceMs?: number): Promise<number> } {
    const process = new Deno.Command(command, {
      args,
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const tail: string[] = [];
    const waiters = new Set<{ match: (line: string) => boolean; resolve: (l: string) => void }>();
    const keep = (line: string) => {
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
    };
    const stdoutDone = drain(process.stdout, (line) => {
      keep(line);
      for (const w of waiters) {
        if (w.match(line)) {
          waiters.delete(w);
          w.resolve(line);
        }
      }
    }).catch(() => {});
    const stderrDone = drain(process.stderr, keep).catch(() => {});
    const exited = process.status.then(async (s) => {
      await Promise.all([stdoutDone, stderrDone]);
      return s.code;
    });
    const child = {
      name,
      pid: process.pid,
      exited,
      tail: () => tail.join("\n"),
      nextLine: (match: (line: string) => boolean, timeoutMs: number) =>
        new Promise<string>((resolve, reject) => {
          const w = { match, resolve };
          waiters.add(w);
          const timer = setTimeout(() => {
            waiters.delete(w);
            reject(
              new Error(`${name}: no expected output within ${timeoutMs} ms:\n${child.tail()}`),
            );
          }, timeoutMs);
          exited.then((code) => {
            if (!waiters.has(w)) return;
            waiters.delete(w);
            reject(new Error(`${name} exited with ${code}:\n${child.tail()}`));
          });
          w.resolve = (line) => {
            clearTimeout(timer);
            resolve(line);
          };
        }),
      stop: async (graceMs = 10_000) => {
        const done = await Promise.race([exited, Promise.resolve(undefined)]);
        if (done === undefined) {
          try {
            process.kill("SIGTERM");
          } catch { /* already gone */ }
          const timer = setTimeout(() => {
            try {
              process.kill("SIGKILL");
            } catch { /* already gone */ }
          }, graceMs);
          await exited;
          clearTimeout(timer);
        }
        this.#children.delete(child);
        return await exited;
      },
    };
    this.#children.add(child);
    return child;
  }

  /** Stops every child still running (SIGTERM, then SIGKILL after `graceMs`). */
  async stopAll(graceMs = 3000): Promise<void> {
    await Promise.all([...this.#children].map((c) => c.stop(graceMs)));
  }
}

/** Resolves once something accepts TCP connections on 127.0.0.1:`port`. */
export async function waitForPort(port: number, timeoutMs: number, child?: Child): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let exited = false;
  child?.exited.then(() => exited = true);
  for (;;) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return;
    } catch {
      if (exited) throw new Error(`${child!.name} exited before listening:\n${child!.tail()}`);
      if (performance.now() > deadline) {
        throw new Error(`Nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** Sleeps `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A loopback port nothing listens on now (bound, then released). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/**
 * The runtime flags tfo ships with: those of deno.json's `start` task between `deno run` and
 * `main.ts` (the `compile` task bakes the same ones into the binary; `tests/ci/run_flags_test.ts`
 * checks they agree). Benches start tfo with these so that they measure what is shipped.
 */
export const TFO_RUN_FLAGS: readonly string[] = await (async () => {
  const config = JSON.parse(
    await Deno.readTextFile(new URL("../deno.json", import.meta.url)),
  ) as { tasks: Record<string, string> };
  const words = config.tasks.start!.split(/\s+/);
  return words.slice(words.indexOf("run") + 1, words.indexOf("main.ts"));
})();
