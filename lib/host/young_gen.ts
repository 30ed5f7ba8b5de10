/**
 * A bigger V8 young generation for a process that runs several workers or a pipeline that decodes
 * every item (which configs: `pipelines/young_generation.ts`; README). `deno task start` and the
 * compiled binary cap each semi-space at 2 MiB (`--max-semi-space-size=2`), which keeps an idle
 * agent small; with two or more worker isolates on two cores the scavenges that cap causes take
 * the second core from the pipelines, and a decoding pipeline scavenges every few hundred items
 * (bench/RESULTS.md, "Multi-core workers", "OTTL processing"). V8 reads the cap once, when the process starts:
 * `node:v8`'s `setFlagsFromString` before a worker starts and `node:worker_threads`'
 * `resourceLimits.maxYoungGenerationSizeMb` leave a new isolate's young generation as it was
 * (measured, Deno 2.9), and `DENO_V8_FLAGS` loses to a `--v8-flags` given on the command line.
 * So the only way is to start the process again with the flag: {@linkcode reexecArgv} builds the
 * same `deno run` command line with `--v8-flags=--max-semi-space-size=16` after the others (the
 * last value wins), and {@linkcode execve} replaces the process image with it (Linux glibc or
 * macOS, `--allow-ffi`): same process id, same standard streams, signals and exit code are the
 * new image's own, nothing is forwarded and no second process stays around.
 *
 * A `deno compile`d binary cannot take it: it sets V8's flags only from what was compiled in and
 * ignores `DENO_V8_FLAGS` and its own arguments for that, so {@linkcode reexecArgv} gives
 * `undefined` there (`Deno.build.standalone`).
 *
 * @module
 */

/** The semi-space cap in MiB such a process gets (V8's own default, 16). */
export const WORKERS_SEMI_SPACE_MIB = 16;

/** Set in the environment of the re-executed process, so that it does not exec again. */
export const REEXEC_ENV = "TFO_YOUNG_GEN_REEXEC";

/** What {@linkcode reexecArgv} reads of the running process. */
export interface ProcessView {
  /** `Deno.build.standalone`: a compiled binary. */
  readonly standalone: boolean;
  /** The whole command line, `argv[0]` first (`/proc/self/cmdline`); undefined if unknown. */
  readonly cmdline: readonly string[] | undefined;
  /** The script's arguments (`Deno.args`). */
  readonly args: readonly string[];
  /** The value of {@linkcode REEXEC_ENV}. */
  readonly marker: string | undefined;
}

/**
 * The command line to start this `deno run` process again with the bigger young generation, or `undefined` when it cannot or need not be: a compiled binary, an unknown command
 * line (not Linux), not started as `deno run`, already re-executed (or {@linkcode REEXEC_ENV} set
 * to anything, which is also how to turn the rule off), or a command line that already asks for
 * this cap.
 */
export function reexecArgv(view: ProcessView): string[] | undefined {
  if (view.standalone || view.marker !== undefined || view.cmdline === undefined) return undefined;
  const cmd = view.cmdline;
  // deno, run, its flags..., the script, the script's arguments.
  const script = cmd.length - view.args.length - 1;
  if (script < 2 || cmd[1] !== "run") return undefined;
  for (let i = 0; i < view.args.length; i++) {
    if (cmd[script + 1 + i] !== view.args[i]) return undefined;
  }
  const flag = `--v8-flags=--max-semi-space-size=${WORKERS_SEMI_SPACE_MIB}`;
  const denoFlags = cmd.slice(1, script);
  if (denoFlags.at(-1) === flag) return undefined;
  return [...cmd.slice(0, script), flag, ...cmd.slice(script)];
}

/** The running process's command line from `/proc/self/cmdline`; undefined where there is none. */
export function readCmdline(): string[] | undefined {
  try {
    const text = Deno.readTextFileSync("/proc/self/cmdline");
    const parts = text.split("\0");
    if (parts.at(-1) === "") parts.pop();
    return parts.length === 0 ? undefined : parts;
  } catch {
    return undefined;
  }
}

/** The view of this process for {@linkcode reexecArgv}. */
export function currentProcess(): ProcessView {
  let marker: string | undefined;
  try {
    marker = Deno.env.get(REEXEC_ENV);
  } catch {
    marker = "no env permission";
  }
  return {
    standalone: Deno.build.standalone === true,
    cmdline: readCmdline(),
    args: Deno.args,
    marker,
  };
}

const SYMBOLS = {
  execve: { parameters: ["buffer", "buffer", "buffer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** A NUL-terminated C string. */
function cString(text: string): Uint8Array<ArrayBuffer> {
  const encoded = new TextEncoder().encode(text);
  const out = new Uint8Array(encoded.length + 1);
  out.set(encoded);
  return out;
}

/** A NULL-terminated array of pointers to `strings` (which must stay referenced). */
function pointerArray(strings: readonly Uint8Array<ArrayBuffer>[]): BigUint64Array<ArrayBuffer> {
  const out = new BigUint64Array(strings.length + 1);
  strings.forEach((s, i) => {
    out[i] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(s)));
  });
  return out;
}

/**
 * Replaces this process with `path` run with `argv` (argv[0] included) and this process's
 * environment plus `extraEnv`. Returns only when it could not: the reason (no FFI permission, no
 * libc found, or execve's failure); the process then goes on as it was.
 */
export function execve(
  path: string,
  argv: readonly string[],
  extraEnv: Readonly<Record<string, string>>,
): string {
  let lib: Deno.DynamicLibrary<typeof SYMBOLS>;
  try {
    lib = Deno.dlopen(Deno.build.os === "darwin" ? "libSystem.dylib" : "libc.so.6", SYMBOLS);
  } catch (error) {
    return `no libc through FFI (${error instanceof Error ? error.message : String(error)})`;
  }
  try {
    const env = { ...Deno.env.toObject(), ...extraEnv };
    const argStrings = argv.map(cString);
    const envStrings = Object.entries(env).map(([k, v]) => cString(`${k}=${v}`));
    const pathString = cString(path);
    const result = lib.symbols.execve(
      pathString,
      pointerArray(argStrings),
      pointerArray(envStrings),
    );
    return `execve returned ${result}`;
  } finally {
    lib.close();
  }
}
