/**
 * Where a config comes from, as data ({@linkcode ConfigSources}), and the one function that loads
 * and validates it ({@linkcode resolveSources}): the primary and every other worker of a service
 * (`service.workers`) read the same sources the same way, so they run the same config.
 *
 * @module
 */
import type { FactoryEntry } from "../components/component.ts";
import { type Diagnostic, loadConfig, type ResolvedConfig } from "./config.ts";
import { validateWith } from "./validate.ts";

/** A text read as if it were a file. */
export interface NamedText {
  readonly name: string;
  readonly text: string;
}

/** The sources of a config: plain data, so it can be posted to a worker. */
export interface ConfigSources {
  /** `--config` values, in order. */
  readonly files: readonly string[];
  /** `--set` values, in order. */
  readonly sets: readonly string[];
  /** Remote config layers, merged over the files (under `--set`), read as named files. */
  readonly layers: readonly NamedText[];
  /** The config to run when `files` is empty (the embedded agent config). */
  readonly fallback?: NamedText;
}

/** What {@linkcode resolveSources} gave. */
export interface ResolvedSources {
  /** The validated config; undefined when a diagnostic is an error. */
  readonly config: ResolvedConfig | undefined;
  /** Every diagnostic of loading and validating, errors and warnings. */
  readonly diagnostics: readonly Diagnostic[];
}

/** Loads, merges and validates the config of `sources` against `factories`. */
export async function resolveSources(
  sources: ConfigSources,
  factories: readonly FactoryEntry[],
): Promise<ResolvedSources> {
  const layerTexts = new Map(sources.layers.map((l) => [l.name, l.text]));
  const { raw, diagnostics } = await loadConfig({
    files: [...sources.files, ...layerTexts.keys()],
    readFile: (path) => {
      const layer = layerTexts.get(path);
      return layer === undefined ? Deno.readTextFile(path) : Promise.resolve(layer);
    },
    set: [...sources.sets],
    ...(sources.files.length === 0 && sources.fallback !== undefined
      ? { texts: [sources.fallback] }
      : {}),
  });
  const all = [...diagnostics];
  let config: ResolvedConfig | undefined;
  if (raw !== undefined && !diagnostics.some((d) => d.severity === "error")) {
    const validated = await validateWith(raw, factories);
    all.push(...validated.diagnostics);
    config = validated.config;
  }
  return { config: all.some((d) => d.severity === "error") ? undefined : config, diagnostics: all };
}
