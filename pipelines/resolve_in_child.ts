/**
 * `tfo run` resolves its config (sources, YAML, environment and secret expansion, merge,
 * validation) in a short-lived child process of the same executable, so that the running process
 * never loads the config machinery: yaml, the validator, the TFO-Agent translation, and zod too
 * where the component modules build their schemas without loading it (~12 MiB of the idle agent
 * together, bench/RESULTS.md, issue 18; 3.5 MiB with zod still loaded by the components). The child is the same command line up to the script (`deno run`,
 * its flags, the main module; a compiled binary: `Deno.execPath()` itself) with the argument
 * `run` and {@linkcode RESOLVE_CHILD_ENV} set; it reads the {@linkcode ConfigSources} as JSON on
 * its stdin and writes the resolution (`resolved_transport.ts`) on its stdout; its stderr is this
 * process's. The parent prints the child's diagnostics exactly as it would have printed its own.
 *
 * Before the resolution, the child's stdout carries one line `load <kind> <type>` per component
 * module it loads (as soon as it starts loading it) and then `end`: the parent loads the same
 * modules meanwhile, so linking the factories afterwards costs it nothing (their loading was
 * ~100–150 ms of the parent's start, measured at load 8).
 *
 * The parent validates in its own process instead, and says why at debug level
 * ({@linkcode ChildResolver.takeNotes}), when: {@linkcode VALIDATE_IN_CHILD_ENV} is `0`, the
 * command line is unknown (not Linux) or not a `deno run` of a script, the child cannot be
 * started (no `--allow-run`), it fails or exits without a message, or the config holds a value
 * structured clone would not keep.
 *
 * When the process replaces itself with a bigger young generation (`lib/host/young_gen.ts`), the
 * bytes the child sent are handed to the new image through a 0600 temporary file named in
 * {@linkcode HANDOFF_ENV} ({@linkcode ChildResolver.handOff}), which the new image reads once and
 * deletes, so it does not start a second child.
 *
 * @module
 */
import { type FactoryEntry, isLazyFactory, type LazyFactory } from "../components/component.ts";
import { currentProcess, type ProcessView } from "../lib/host/young_gen.ts";
import type { ConfigSources } from "./config_sources.ts";
import { formatDiagnostic } from "./diagnostics.ts";
import {
  decodeResolution,
  encodeResolution,
  type Resolution,
  UnclonableConfigError,
} from "./resolved_transport.ts";

/** `TFO_VALIDATE_IN_CHILD=0` makes `tfo run` validate in its own process (for diagnosis). */
export const VALIDATE_IN_CHILD_ENV = "TFO_VALIDATE_IN_CHILD";

/** Set in the child's environment: this `tfo run` only resolves the config on its stdin. */
export const RESOLVE_CHILD_ENV = "TFO_INTERNAL_RESOLVE_CONFIG";

/** Names the file with the resolution a process hands to its re-executed image. */
export const HANDOFF_ENV = "TFO_INTERNAL_RESOLVED_CONFIG_FILE";

/** How to start the validating child. */
export interface ChildCommand {
  /** The executable. */
  readonly path: string;
  /** Its arguments (without argv[0]). */
  readonly args: readonly string[];
}

/**
 * The command that starts this program again as `tfo run` (the same `deno run` flags and main
 * module, or the same compiled binary), or the reason there is none.
 */
export function childCommand(
  view: ProcessView,
  execPath: string = Deno.execPath(),
): ChildCommand | string {
  if (view.standalone) return { path: execPath, args: ["run"] };
  const cmd = view.cmdline;
  if (cmd === undefined) return "the command line is unknown";
  const script = cmd.length - view.args.length - 1;
  if (script < 2 || cmd[1] !== "run") return "the process is not a `deno run` of a script";
  for (let i = 0; i < view.args.length; i++) {
    if (cmd[script + 1 + i] !== view.args[i]) return "the command line does not end in Deno.args";
  }
  return { path: execPath, args: [...cmd.slice(1, script + 1), "run"] };
}

/** An environment variable's value; undefined when unset or not readable (no permission). */
export function envValue(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function writeAll(writer: { write(p: Uint8Array): Promise<number> }, bytes: Uint8Array) {
  for (let offset = 0; offset < bytes.length;) {
    offset += await writer.write(bytes.subarray(offset));
  }
}

/** A file handed over by {@linkcode ChildResolver.handOff}. */
export interface HandOff {
  /** The environment the new image needs to find it. */
  readonly env: Readonly<Record<string, string>>;
  /** Deletes the file (the re-exec did not happen). */
  discard(): void;
}

/** Resolves configs in a child process (module docs); one per `tfo run`. */
export class ChildResolver {
  readonly #command: ChildCommand | string;
  readonly #entries: readonly FactoryEntry[];
  #handedOver: string | undefined;
  #last: Uint8Array | undefined;
  #notes: string[] = [];

  /**
   * @param command how to start the child, or why it cannot be
   * @param entries the registry rows the factories are linked from
   * @param handedOver the file a previous image of this process left ({@linkcode HANDOFF_ENV})
   */
  constructor(
    command: ChildCommand | string,
    entries: readonly FactoryEntry[],
    handedOver?: string,
  ) {
    this.#command = command;
    this.#entries = entries;
    this.#handedOver = handedOver;
  }

  /**
   * What happened to the configs resolved since the last call, oldest first: validated in a
   * child (and how long it took), taken from a previous image, or why in this process instead.
   */
  takeNotes(): string[] {
    const notes = this.#notes;
    this.#notes = [];
    return notes;
  }

  /**
   * The resolution of `sources` from the child (or the file a previous image handed over);
   * undefined when the caller must resolve in its own process (the reason is noted).
   */
  async resolve(sources: ConfigSources): Promise<Resolution | undefined> {
    this.#last = undefined;
    const handed = await this.#takeHandedOver();
    if (handed !== undefined) return handed;
    if (typeof this.#command === "string") {
      this.#notes.push(`Validating the config in this process: ${this.#command}`);
      return undefined;
    }
    const started = performance.now();
    let bytes: Uint8Array;
    try {
      bytes = await this.#run(this.#command, sources);
    } catch (error) {
      this.#notes.push(`Validating the config in this process: ${messageOf(error)}`);
      return undefined;
    }
    const resolution = await this.#decode(bytes);
    if (resolution !== undefined) {
      this.#notes.push(
        `Validated the config in a child process (${Math.round(performance.now() - started)} ms)`,
      );
    }
    return resolution;
  }

  /**
   * The bytes of the last {@linkcode resolve}'s result when it came from a child (or a previous
   * image), for the other workers of `service.workers` to decode instead of validating again;
   * undefined when it was resolved in this process.
   */
  lastResolved(): Uint8Array | undefined {
    return this.#last;
  }

  /**
   * Writes the last resolution the child sent to a new 0600 temporary file for the image this
   * process is about to become; undefined when there is none (it validated in this process).
   */
  async handOff(): Promise<HandOff | undefined> {
    if (this.#last === undefined) return undefined;
    try {
      const path = await Deno.makeTempFile({ prefix: "tfo-resolved-" });
      await Deno.writeFile(path, this.#last, { mode: 0o600 });
      return {
        env: { [HANDOFF_ENV]: path },
        discard: () => Deno.remove(path).catch(() => {}),
      };
    } catch (error) {
      this.#notes.push(`Cannot hand the resolved config over: ${messageOf(error)}`);
      return undefined;
    }
  }

  async #takeHandedOver(): Promise<Resolution | undefined> {
    const path = this.#handedOver;
    if (path === undefined) return undefined;
    this.#handedOver = undefined;
    try {
      Deno.env.delete(HANDOFF_ENV);
    } catch {
      // No env permission: nothing to clean.
    }
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(path);
    } catch (error) {
      this.#notes.push(`Cannot read the config resolved before the re-exec: ${messageOf(error)}`);
      return undefined;
    } finally {
      await Deno.remove(path).catch(() => {});
    }
    const resolution = await this.#decode(bytes);
    if (resolution === undefined) return undefined;
    this.#notes.push("Took the config resolved before the re-exec");
    // Its diagnostics were printed by the image that resolved it.
    return { diagnostics: [], config: resolution.config };
  }

  async #run(command: ChildCommand, sources: ConfigSources): Promise<Uint8Array> {
    const child = new Deno.Command(command.path, {
      args: [...command.args],
      env: { [RESOLVE_CHILD_ENV]: "1" },
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const fed = (async () => {
      const writer = child.stdin.getWriter();
      try {
        await writer.write(new TextEncoder().encode(JSON.stringify(sources)));
        await writer.close();
      } catch {
        // The child died before reading; its status says why.
      }
    })();
    const [body] = await Promise.all([this.#readAnnounced(child.stdout), fed]);
    const status = await child.status;
    if (!status.success) {
      throw new Error(`the validating child exited with code ${status.code}`);
    }
    if (body === undefined) throw new Error("the validating child's output has no end line");
    return body;
  }

  /**
   * Reads the child's stdout: loads the component modules its `load` lines name while it
   * validates, and gives the bytes after its `end` line (undefined when there is none).
   */
  async #readAnnounced(stdout: ReadableStream<Uint8Array>): Promise<Uint8Array | undefined> {
    const chunks: Uint8Array[] = [];
    let pending = new Uint8Array(0);
    let ended = false;
    for await (const chunk of stdout) {
      if (ended) {
        chunks.push(chunk);
        continue;
      }
      const joined = new Uint8Array(pending.length + chunk.length);
      joined.set(pending);
      joined.set(chunk, pending.length);
      let start = 0;
      for (let nl = joined.indexOf(10); nl >= 0 && !ended; nl = joined.indexOf(10, start)) {
        const line = new TextDecoder().decode(joined.subarray(start, nl));
        start = nl + 1;
        if (line === END_LINE) ended = true;
        else this.#preload(line);
      }
      if (ended) chunks.push(joined.subarray(start));
      else pending = joined.subarray(start);
    }
    if (!ended) return undefined;
    const length = chunks.reduce((n, c) => n + c.length, 0);
    const out = new Uint8Array(length);
    let offset = 0;
    for (const c of chunks) {
      out.set(c, offset);
      offset += c.length;
    }
    return out;
  }

  /** Starts loading the registry row a `load <kind> <type>` line names; failures show later. */
  #preload(line: string): void {
    const [word, kind, type] = line.split(" ");
    if (word !== "load") return;
    const entry = this.#entries.find((e) => e.kind === kind && e.type === type);
    if (entry !== undefined && isLazyFactory(entry)) entry.load().catch(() => {});
  }

  async #decode(bytes: Uint8Array): Promise<Resolution | undefined> {
    try {
      const resolution = await decodeResolution(bytes, this.#entries);
      if (resolution.config !== undefined) this.#last = bytes;
      return resolution;
    } catch (error) {
      this.#notes.push(
        error instanceof UnclonableConfigError
          ? `Validating the config in this process: ${error.message}`
          : `Validating the config in this process: the child's message is unusable: ${
            messageOf(error)
          }`,
      );
      return undefined;
    }
  }
}

/**
 * The resolver of this process: its child command from the command line, and the file a previous
 * image handed over, if any.
 */
export function createChildResolver(
  entries: readonly FactoryEntry[],
  view: ProcessView = currentProcess(),
): ChildResolver {
  const command = envValue(VALIDATE_IN_CHILD_ENV) === "0"
    ? `${VALIDATE_IN_CHILD_ENV} is 0`
    : childCommand(view);
  return new ChildResolver(command, entries, envValue(HANDOFF_ENV));
}

/** The line that ends the child's `load` lines. */
const END_LINE = "end";

/** `entry`, announcing on stdout (`load <kind> <type>`) when it starts loading. */
function announcing(entry: LazyFactory): LazyFactory {
  return {
    ...entry,
    load: () => {
      const line = new TextEncoder().encode(`load ${entry.kind} ${entry.type}\n`);
      for (let offset = 0; offset < line.length;) {
        offset += Deno.stdout.writeSync(line.subarray(offset));
      }
      return entry.load();
    },
  };
}

/**
 * The child's side: reads {@linkcode ConfigSources} as JSON on stdin, resolves them against
 * `entries` (announcing each component module as it loads it) and writes the resolution on
 * stdout. Resolves to the exit status (0 when a message was written, whatever the config's
 * validity).
 */
export async function serveResolution(entries: readonly FactoryEntry[]): Promise<number> {
  // The machinery loads while the parent writes the sources.
  const [text, { resolveSources }] = await Promise.all([
    new Response(Deno.stdin.readable).text(),
    import("./config_sources.ts"),
  ]);
  const sources = JSON.parse(text) as ConfigSources;
  const announced = entries.map((e) => isLazyFactory(e) ? announcing(e) : e);
  const { config, diagnostics } = await resolveSources(sources, announced);
  const bytes = encodeResolution({ diagnostics: diagnostics.map(formatDiagnostic), config });
  await writeAll(Deno.stdout, new TextEncoder().encode(`${END_LINE}\n`));
  await writeAll(Deno.stdout, bytes);
  return 0;
}
