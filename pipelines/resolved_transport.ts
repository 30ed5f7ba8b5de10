/**
 * A resolved config as bytes, for a process that did not validate it (`resolve_in_child.ts`):
 * V8's structured-clone serialization (`node:v8`'s `serialize`), with every component's factory
 * replaced by its kind and type, since a factory holds functions and schemas that cannot be
 * cloned. The receiving process links the factories again from its registry's rows, so it loads
 * the component modules the config names and nothing of the config machinery (zod, yaml,
 * validation).
 *
 * Structured clone keeps plain objects, arrays, `Map`, `Set`, `Date`, `RegExp`, typed arrays and
 * primitives; it drops class prototypes (an instance arrives as a plain object) and refuses
 * functions and symbols. {@linkcode unclonablePath} finds such a value before the bytes are
 * written, so the sender can say "validate in your own process" instead of sending a config
 * that would arrive changed.
 *
 * @module
 */
import { deserialize, serialize } from "node:v8";
import {
  type Factory,
  type FactoryEntry,
  isLazyFactory,
  type Kind,
} from "../components/component.ts";
import type { ComponentConfig, ResolvedConfig } from "./config.ts";

/** The sections of a resolved config that hold components. */
const COMPONENT_SECTIONS = [
  "receivers",
  "processors",
  "exporters",
  "connectors",
  "extensions",
] as const;

/** A factory as it travels: which registry row makes it. */
export interface FactoryRef {
  readonly kind: Kind;
  readonly type: string;
}

/** What a validating process sends: the diagnostics as printed, and the config when valid. */
export interface Resolution {
  /** Every diagnostic, formatted as `tfo validate` prints it, in order. */
  readonly diagnostics: readonly string[];
  /** The resolved config; undefined when a diagnostic was an error. */
  readonly config: ResolvedConfig | undefined;
}

/** The message on the wire: a {@linkcode Resolution} with factories as {@linkcode FactoryRef}s. */
interface WireResolution {
  readonly v: 1;
  readonly diagnostics: readonly string[];
  readonly config?: unknown;
  /** Set instead of `config` when the config holds a value that would not survive the clone. */
  readonly unclonable?: string;
}

/** The first bytes of every message, so that stray output is never taken for a config. */
const MAGIC = new Uint8Array([0x54, 0x46, 0x4f, 0x52]); // "TFOR"

/** A message that {@linkcode decodeResolution} could not read or link. */
export class TransportError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TransportError";
  }
}

/** The receiving side found that the sender could not send the config as it is. */
export class UnclonableConfigError extends Error {
  /** Where in the config the value that would not survive is, e.g. `processors.x.config.f`. */
  readonly path: string;

  constructor(path: string) {
    super(`The resolved config holds a value structured clone cannot keep: ${path}`);
    this.name = "UnclonableConfigError";
    this.path = path;
  }
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * The path of the first value under `value` that structured clone would refuse (a function, a
 * symbol) or change (an instance of a class other than the built-ins it keeps, an accessor, a
 * property keyed by a symbol); undefined when everything survives.
 */
export function unclonablePath(
  value: unknown,
  path = "",
  seen = new Set<object>(),
): string | undefined {
  if (typeof value === "function" || typeof value === "symbol") return path || "(top)";
  if (typeof value !== "object" || value === null || seen.has(value)) return undefined;
  seen.add(value);
  if (
    value instanceof Date || value instanceof RegExp || value instanceof ArrayBuffer ||
    ArrayBuffer.isView(value)
  ) return undefined;
  if (value instanceof Map) {
    if (Object.getPrototypeOf(value) !== Map.prototype) return path || "(top)";
    for (const [k, v] of value) {
      const found = unclonablePath(k, `${path}<key>`, seen) ??
        unclonablePath(v, `${path}.${String(k)}`, seen);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (value instanceof Set) {
    if (Object.getPrototypeOf(value) !== Set.prototype) return path || "(top)";
    let i = 0;
    for (const v of value) {
      const found = unclonablePath(v, `${path}[${i++}]`, seen);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (!Array.isArray(value) && !isPlainObject(value)) return path || "(top)";
  if (Object.getOwnPropertySymbols(value).length > 0) return path || "(top)";
  for (const [key, descriptor] of Object.entries(Object.getOwnPropertyDescriptors(value))) {
    if (Array.isArray(value) && key === "length") continue;
    const at = Array.isArray(value) ? `${path}[${key}]` : path === "" ? key : `${path}.${key}`;
    if (!("value" in descriptor)) return at;
    const found = unclonablePath(descriptor.value, at, seen);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** `config` with each component's factory replaced by its {@linkcode FactoryRef}; `config` is not changed. */
export function withFactoryRefs(config: ResolvedConfig): Record<string, unknown> {
  const out: Record<string, unknown> = { ...config };
  for (const section of COMPONENT_SECTIONS) {
    const components = new Map<string, unknown>();
    for (const [id, component] of config[section]) {
      const ref: FactoryRef = { kind: component.factory.kind, type: component.factory.type };
      components.set(id, { ...component, factory: ref });
    }
    out[section] = components;
  }
  return out;
}

/**
 * The bytes of `resolution`. A config holding a value that would not survive the clone
 * ({@linkcode unclonablePath}) is sent as "unclonable" with that value's path instead, which
 * {@linkcode decodeResolution} turns into an {@linkcode UnclonableConfigError}.
 */
export function encodeResolution(resolution: Resolution): Uint8Array {
  let wire: WireResolution = { v: 1, diagnostics: [...resolution.diagnostics] };
  if (resolution.config !== undefined) {
    const config = withFactoryRefs(resolution.config);
    const unclonable = unclonablePath(config);
    wire = unclonable === undefined ? { ...wire, config } : { ...wire, unclonable };
  }
  let body: Uint8Array;
  try {
    body = serialize(wire);
  } catch (error) {
    // A value unclonablePath let through (it should not): the receiver validates itself.
    body = serialize({
      v: 1,
      diagnostics: wire.diagnostics,
      unclonable: `(serialize: ${error instanceof Error ? error.message : String(error)})`,
    });
  }
  const out = new Uint8Array(MAGIC.length + body.length);
  out.set(MAGIC);
  out.set(body, MAGIC.length);
  return out;
}

function findEntry(
  entries: readonly FactoryEntry[],
  ref: FactoryRef,
): FactoryEntry | undefined {
  return entries.find((e) => e.kind === ref.kind && e.type === ref.type);
}

async function linkFactory(entries: readonly FactoryEntry[], ref: unknown): Promise<Factory> {
  const { kind, type } = (ref ?? {}) as Partial<FactoryRef>;
  if (typeof kind !== "string" || typeof type !== "string") {
    throw new TransportError("A component of the resolved config names no factory");
  }
  const entry = findEntry(entries, { kind, type });
  if (entry === undefined) {
    throw new TransportError(`No ${kind} "${type}" in this process's registry`);
  }
  try {
    return isLazyFactory(entry) ? await entry.load() : entry;
  } catch (error) {
    throw new TransportError(
      `Cannot load ${kind} "${type}": ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}

/**
 * The {@linkcode Resolution} in `bytes`, factories linked from `entries` (registry rows are
 * loaded, so the component modules of the config load here). Rejects with a
 * {@linkcode TransportError} when the bytes are not such a message or name a factory `entries`
 * does not have, and with an {@linkcode UnclonableConfigError} when the sender could not send
 * the config.
 */
export async function decodeResolution(
  bytes: Uint8Array,
  entries: readonly FactoryEntry[],
): Promise<Resolution> {
  if (bytes.length < MAGIC.length || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new TransportError("Not a resolved config message");
  }
  let wire: WireResolution;
  try {
    wire = deserialize(bytes.subarray(MAGIC.length)) as WireResolution;
  } catch (error) {
    throw new TransportError("Cannot read the resolved config message", { cause: error });
  }
  if (wire?.v !== 1 || !Array.isArray(wire.diagnostics)) {
    throw new TransportError("Not a resolved config message of this version");
  }
  if (wire.unclonable !== undefined) throw new UnclonableConfigError(wire.unclonable);
  if (wire.config === undefined) return { diagnostics: wire.diagnostics, config: undefined };
  const config = wire.config as ResolvedConfig;
  const pending: Promise<void>[] = [];
  for (const section of COMPONENT_SECTIONS) {
    const components = config[section];
    if (!(components instanceof Map)) {
      throw new TransportError(`The resolved config has no ${section} map`);
    }
    for (const component of components.values() as Iterable<ComponentConfig>) {
      pending.push(
        linkFactory(entries, component.factory).then((f) => {
          component.factory = f;
        }),
      );
    }
  }
  await Promise.all(pending);
  return { diagnostics: wire.diagnostics, config };
}
