/**
 * zod without loading zod: the `z` that every config schema is built with (issue 18). A process
 * that only runs an already validated config never imports the library, and what its code and
 * schema objects hold stays out of it (~16 MiB of anonymous memory with the default agent's
 * components, `bench/footprint_lazy_config.ts`).
 *
 * Before {@linkcode loadZod} has run, `z.strictObject({...}).default({})` and every other chain of
 * schema builders only records itself: each step is a small node (a property read or a call with
 * its arguments) behind a `Proxy`. Once the library is loaded, a recorded schema materializes on
 * first use by replaying its chain onto the real zod (arguments that are recorded schemas, also
 * inside plain objects and arrays, materialize first) and from then on forwards every operation
 * to that real schema: property reads, `in`, `instanceof` (its prototype), keys. Schemas built
 * after loading are real zod objects.
 *
 * Before loading, anything that needs the library — `parse`, `safeParse`, `shape`, `_zod`, `def`,
 * `instanceof`, `z.ZodError`, `z.NEVER`, a name that is not a schema builder — throws
 * {@linkcode ZodNotLoadedError}; a recorder never stands in for a real answer.
 *
 * Import `z` from `./z.js`, which types it exactly as zod's `z` (namespace types included).
 *
 * @module
 */
import type { z as Zod } from "zod";

/** Thrown when the real zod is needed before {@linkcode loadZod} has run. */
export class ZodNotLoadedError extends Error {
  /** `what`: the operation that needed the library, e.g. `schema.parse`. */
  constructor(what: string) {
    super(`Zod is not loaded: call loadZod() first (${what} needs the real library)`);
    this.name = "ZodNotLoadedError";
  }
}

/**
 * The builders of `z` that return a schema and may be recorded before loading (zod 4's API;
 * `tests/lib/config/zod_test.ts` checks each against the real library).
 */
export const ROOT_BUILDERS: ReadonlySet<string> = new Set([
  "any",
  "array",
  "base64",
  "base64url",
  "bigint",
  "boolean",
  "cidrv4",
  "cidrv6",
  "codec",
  "cuid",
  "cuid2",
  "custom",
  "date",
  "discriminatedUnion",
  "e164",
  "email",
  "emoji",
  "enum",
  "file",
  "float32",
  "float64",
  "function",
  "guid",
  "hash",
  "hex",
  "hostname",
  "httpUrl",
  "instanceof",
  "int",
  "int32",
  "int64",
  "intersection",
  "ipv4",
  "ipv6",
  "json",
  "jwt",
  "keyof",
  "ksuid",
  "lazy",
  "literal",
  "looseObject",
  "looseRecord",
  "map",
  "nan",
  "nanoid",
  "nativeEnum",
  "never",
  "nonoptional",
  "null",
  "nullable",
  "nullish",
  "number",
  "object",
  "optional",
  "partialRecord",
  "pipe",
  "prefault",
  "preprocess",
  "promise",
  "readonly",
  "record",
  "set",
  "strictObject",
  "string",
  "stringbool",
  "stringFormat",
  "success",
  "symbol",
  "templateLiteral",
  "transform",
  "tuple",
  "uint32",
  "uint64",
  "ulid",
  "undefined",
  "union",
  "unknown",
  "url",
  "uuid",
  "uuidv4",
  "uuidv6",
  "uuidv7",
  "void",
  "xid",
  "xor",
]);

/** Namespaces of `z` whose members are builders too (`z.coerce.number()`, `z.iso.date()`). */
const BUILDER_NAMESPACES: ReadonlySet<string> = new Set(["coerce", "iso"]);

/**
 * The methods of a schema that return a schema and may be recorded before loading (the test
 * checks each is a method of a real schema of some type).
 */
export const SCHEMA_METHODS: ReadonlySet<string> = new Set([
  "and",
  "array",
  "brand",
  "catch",
  "catchall",
  "check",
  "clone",
  "default",
  "describe",
  "endsWith",
  "exactOptional",
  "exclude",
  "extend",
  "extract",
  "finite",
  "gt",
  "gte",
  "includes",
  "int",
  "keyof",
  "length",
  "loose",
  "lowercase",
  "lt",
  "lte",
  "max",
  "merge",
  "meta",
  "min",
  "multipleOf",
  "negative",
  "nonempty",
  "nonnegative",
  "nonoptional",
  "nonpositive",
  "normalize",
  "nullable",
  "nullish",
  "omit",
  "optional",
  "or",
  "overwrite",
  "partial",
  "passthrough",
  "pick",
  "pipe",
  "positive",
  "prefault",
  "readonly",
  "refine",
  "regex",
  "removeDefault",
  "required",
  "safeExtend",
  "startsWith",
  "step",
  "strict",
  "strip",
  "superRefine",
  "toLowerCase",
  "toUpperCase",
  "transform",
  "trim",
  "unwrap",
  "uppercase",
  "with",
]);

/**
 * One recorded step — the root `z`, a property read of `parent`, or a call of the read method
 * `callee` — and, once replayed, the real value it stands for. A call's `callee` and `args` are
 * dropped once it is real, so a materialized schema holds no copy of its recipe.
 */
interface Node {
  readonly kind: "root" | "get" | "call";
  /** Of a read: what it reads from. */
  readonly parent?: Node;
  /** Of a read: the property name. */
  readonly key?: string;
  /** Of a call: the method read, then its arguments. */
  callee?: Node | undefined;
  args?: readonly unknown[] | undefined;
  real?: unknown;
  /** Arguments-materializing wrappers of the real value's builder methods, by name. */
  wrappers?: Map<string, unknown>;
}

let real: typeof Zod | undefined;
let loading: Promise<void> | undefined;

/** Every recorder proxy's node, so arguments can be recognized and materialized. */
const nodes = new WeakMap<object, Node>();

/** Where a proxy's target (its shadow) keeps the proxy's node. */
const NODE: unique symbol = Symbol("lazy zod node");

/** Loads the real zod (once; later calls return at once). Every validating path awaits it. */
export function loadZod(): Promise<void> {
  loading ??= import("zod").then((m) => {
    real = m.z;
  });
  return loading;
}

/** Whether the real zod has been loaded into this process. */
export function zodLoaded(): boolean {
  return real !== undefined;
}

/** Whether `value` is a schema (or builder) recorded before zod was loaded. */
export function isRecorded(value: unknown): boolean {
  return (typeof value === "object" || typeof value === "function") && value !== null &&
    nodes.has(value);
}

/** The text naming a node in errors: `z.strictObject().parse`. */
function labelOf(node: Node): string {
  if (node.kind === "root") return "z";
  if (node.kind === "get") return `${labelOf(node.parent!)}.${node.key!}`;
  return node.callee === undefined ? "a schema" : `${labelOf(node.callee)}()`;
}

/** The real value of a node, replaying its chain onto the loaded zod the first time. */
function materialize(node: Node): unknown {
  if ("real" in node) return node.real;
  if (real === undefined) throw new ZodNotLoadedError(labelOf(node));
  let value: unknown;
  if (node.kind === "root") {
    value = real;
  } else if (node.kind === "get") {
    value = Reflect.get(materialize(node.parent!) as object, node.key!);
  } else {
    const callee = node.callee!;
    const fn = materialize(callee) as (...args: unknown[]) => unknown;
    const self = callee.kind === "get" ? materialize(callee.parent!) : undefined;
    value = Reflect.apply(fn, self, materializeArgs(node.args!));
    node.callee = undefined;
    node.args = undefined;
  }
  node.real = value;
  return value;
}

/** `value` with every recorded schema in it (also in plain objects and arrays) made real. */
function materializeValue(value: unknown, depth: number): unknown {
  if (typeof value !== "object" && typeof value !== "function") return value;
  if (value === null) return value;
  const node = nodes.get(value);
  if (node !== undefined) return materialize(node);
  if (depth > 8 || typeof value === "function") return value;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v = materializeValue(value[i], depth + 1);
      if (v !== value[i]) (out ??= value.slice())[i] = v;
    }
    return out ?? value;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  let out: Record<string, unknown> | undefined;
  for (const key of Object.keys(value)) {
    const v0 = (value as Record<string, unknown>)[key];
    const v = materializeValue(v0, depth + 1);
    if (v !== v0) (out ??= { ...value as Record<string, unknown> })[key] = v;
  }
  return out ?? value;
}

function materializeArgs(args: readonly unknown[]): unknown[] {
  return args.map((a) => materializeValue(a, 0));
}

/** Whether a read of `key` on `node` may be recorded before loading. */
function recordable(node: Node, key: string): boolean {
  if (node.kind === "root") return ROOT_BUILDERS.has(key) || BUILDER_NAMESPACES.has(key);
  if (node.kind === "get") return node.parent!.kind === "root" && ROOT_BUILDERS.has(key);
  return SCHEMA_METHODS.has(key);
}

/** Whether `key`, read on the real value of `node`, is a builder to wrap. */
function builderKey(node: Node, key: string): boolean {
  return recordable(node, key) && !BUILDER_NAMESPACES.has(key);
}

/**
 * The real value's property `key`; a builder method comes bound to the real value and
 * materializes recorded schemas among its arguments.
 */
function forwardGet(node: Node, key: string | symbol): unknown {
  const target = materialize(node) as object;
  const value = Reflect.get(target, key, target);
  if (typeof value !== "function" || typeof key !== "string" || !builderKey(node, key)) {
    return value;
  }
  node.wrappers ??= new Map();
  let wrapper = node.wrappers.get(key);
  if (wrapper === undefined) {
    const fn = value as (...args: unknown[]) => unknown;
    wrapper = (...args: unknown[]) => Reflect.apply(fn, target, materializeArgs(args));
    node.wrappers.set(key, wrapper);
  }
  return wrapper;
}

/** Keeps a proxy's target in step with a non-configurable property the real value reports. */
function mirrored(shadow: object, key: string | symbol, desc: PropertyDescriptor | undefined) {
  if (desc !== undefined && !desc.configurable && !Object.hasOwn(shadow, key)) {
    Object.defineProperty(shadow, key, desc);
  }
  return desc;
}

/** A proxy's target: it holds its node and, later, mirrored non-configurable properties. */
type Shadow = { [NODE]: Node };

/** The real value behind a proxy, replayed on first use. */
const realOf = (shadow: Shadow) => materialize(shadow[NODE]) as object;

const notLoaded = (node: Node, what: string) => new ZodNotLoadedError(`${labelOf(node)}${what}`);

/** One handler for every recorder proxy (its node sits on the target, not in closures). */
const HANDLER: ProxyHandler<Shadow> = {
  get(shadow, key) {
    const node = shadow[NODE];
    if (real !== undefined) return forwardGet(node, key);
    if (key === "then" || typeof key === "symbol") return undefined;
    if (!recordable(node, key)) throw notLoaded(node, `.${key}`);
    return record({ kind: "get", parent: node, key });
  },
  apply(shadow, self, args) {
    const node = shadow[NODE];
    if (real !== undefined) {
      const fn = materialize(node) as (...a: unknown[]) => unknown;
      const bound = node.kind === "get" ? materialize(node.parent!) : self;
      return Reflect.apply(fn, bound, materializeArgs(args));
    }
    if (node.kind !== "get" || !builderKey(node.parent!, node.key!)) throw notLoaded(node, "()");
    // `schema.meta()` and `schema.describe()` without an argument read, they do not build.
    if (args.length === 0 && (node.key === "meta" || node.key === "describe")) {
      throw notLoaded(node, "()");
    }
    return record({ kind: "call", callee: node, args });
  },
  construct(shadow, args) {
    return Reflect.construct(realOf(shadow) as new (...a: unknown[]) => object, args);
  },
  has(shadow, key) {
    return Reflect.has(realOf(shadow), key);
  },
  ownKeys(shadow) {
    const target = realOf(shadow);
    const keys = Reflect.ownKeys(target);
    for (const key of keys) mirrored(shadow, key, Reflect.getOwnPropertyDescriptor(target, key));
    return keys;
  },
  getOwnPropertyDescriptor(shadow, key) {
    return mirrored(shadow, key, Reflect.getOwnPropertyDescriptor(realOf(shadow), key));
  },
  getPrototypeOf(shadow) {
    return Reflect.getPrototypeOf(realOf(shadow));
  },
  set(shadow, key, value) {
    const target = realOf(shadow);
    return Reflect.set(target, key, value, target);
  },
  defineProperty(shadow, key, desc) {
    const ok = Reflect.defineProperty(realOf(shadow), key, desc);
    if (ok && desc.configurable === false) Object.defineProperty(shadow, key, desc);
    return ok;
  },
  deleteProperty(shadow, key) {
    return Reflect.deleteProperty(realOf(shadow), key);
  },
  setPrototypeOf(shadow, proto) {
    return Reflect.setPrototypeOf(realOf(shadow), proto);
  },
  preventExtensions() {
    throw new TypeError("A lazily built zod schema cannot be made non-extensible");
  },
};

/**
 * A recorder proxy for `node`. A schema's target is an object (`typeof` says so, as for the real
 * schema); a method's is a function, so it can be called.
 */
function record(node: Node): object {
  const shadow = (node.kind === "get" ? () => {} : {}) as unknown as Shadow;
  // Configurable and not enumerable: no invariant ties the proxy's answers to it.
  Object.defineProperty(shadow, NODE, { value: node, configurable: true });
  const proxy = new Proxy(shadow, HANDLER);
  nodes.set(proxy, node);
  return proxy;
}

/**
 * zod's `z`, lazily: builds recorded schemas until {@linkcode loadZod} has run, the real thing
 * after. Typed loosely here; import it from `./z.js` for zod's own types.
 */
export const lazyZ: typeof Zod = record({ kind: "root" }) as typeof Zod;
