/**
 * Loads the factories a config needs. Registry rows ({@linkcode LazyFactory}) are loaded only for
 * the component types the config names (by type or older name, in the section of their kind);
 * factories given already loaded pass through. Validation then sees the loaded factories, and the
 * names of every known component for its "unknown type" messages.
 *
 * @module
 */
import {
  type ComponentName,
  type Factory,
  type FactoryEntry,
  isLazyFactory,
  type Kind,
  KINDS,
  type LazyFactory,
  parseComponentId,
} from "../components/component.ts";
import type { RawConfig } from "./_raw.ts";

/** The config section of each kind. */
export const SECTIONS: Readonly<Record<Kind, string>> = {
  receiver: "receivers",
  processor: "processors",
  exporter: "exporters",
  connector: "connectors",
  extension: "extensions",
};

/** What {@linkcode factoriesFor} gives validation. */
export interface ConfigFactories {
  /** The factories of the types the config names, and every factory given already loaded. */
  readonly factories: readonly Factory[];
  /** Every component that could be named, loaded or not. */
  readonly known: readonly ComponentName[];
}

/** A component module that could not be loaded (a broken build, not a config error). */
export class FactoryLoadError extends Error {
  /** The component that failed to load. */
  readonly component: ComponentName;

  constructor(component: ComponentName, cause: unknown) {
    super(
      `Cannot load ${component.kind} "${component.type}": ${
        cause instanceof Error ? cause.message : String(cause)
      }`,
      { cause },
    );
    this.name = "FactoryLoadError";
    this.component = component;
  }
}

/** The component types named in each section of `raw` (before any `/name`). */
export function namedTypes(raw: RawConfig): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const kind of KINDS) {
    const types = new Set<string>();
    out.set(kind, types);
    const section = raw.root.entries.get(SECTIONS[kind])?.value;
    if (section?.kind !== "map") continue;
    for (const id of section.entries.keys()) types.add(parseComponentId(id).type);
  }
  return out;
}

async function load(entry: LazyFactory): Promise<Factory> {
  try {
    return await entry.load();
  } catch (error) {
    throw new FactoryLoadError(entry, error);
  }
}

/**
 * Loads the factories `raw` needs from `entries`; rejects with a {@linkcode FactoryLoadError} when
 * a component module cannot be imported.
 */
export async function factoriesFor(
  raw: RawConfig,
  entries: readonly FactoryEntry[],
): Promise<ConfigFactories> {
  const named = namedTypes(raw);
  const pending: Promise<Factory>[] = [];
  for (const entry of entries) {
    if (!isLazyFactory(entry)) {
      pending.push(Promise.resolve(entry));
      continue;
    }
    const types = named.get(entry.kind)!;
    if (types.has(entry.type) || (entry.aliases ?? []).some((a) => types.has(a))) {
      pending.push(load(entry));
    }
  }
  return { factories: await Promise.all(pending), known: entries };
}

/** Loads every entry (`tfo components`). */
export function loadAll(entries: readonly FactoryEntry[]): Promise<Factory[]> {
  return Promise.all(entries.map((e) => isLazyFactory(e) ? load(e) : Promise.resolve(e)));
}
