/**
 * The OTTL compiler: syntax trees to closures over a {@linkcode TransformContext}. Paths, keys,
 * literals and function arguments are resolved once; evaluation per item only calls closures.
 *
 * @module
 */
import type { BoolNode, CallNode, KeyNode, PathNode, StatementNode, ValueNode } from "./ast.ts";
import { type ContextName, prefixContext, type TransformContext } from "./context.ts";
import { OttlError, OttlRuntimeError } from "./errors.ts";
import type { ArgValue, FunctionDef, FunctionEnv, ParamDef } from "./function_types.ts";
import { compilePath, getIndexed, type Getter, type KeyGetter } from "./paths.ts";
import {
  compare,
  copyValue,
  isMap,
  OttlDuration,
  OttlTime,
  typeName,
  type Value,
} from "./values.ts";
import type { AnyValue, KeyValue } from "../pdata/types.ts";

/** Enum symbols and their values. */
export const ENUMS: Readonly<Record<string, bigint>> = {
  SPAN_KIND_UNSPECIFIED: 0n,
  SPAN_KIND_INTERNAL: 1n,
  SPAN_KIND_SERVER: 2n,
  SPAN_KIND_CLIENT: 3n,
  SPAN_KIND_PRODUCER: 4n,
  SPAN_KIND_CONSUMER: 5n,
  STATUS_CODE_UNSET: 0n,
  STATUS_CODE_OK: 1n,
  STATUS_CODE_ERROR: 2n,
  METRIC_DATA_TYPE_NONE: 0n,
  METRIC_DATA_TYPE_GAUGE: 1n,
  METRIC_DATA_TYPE_SUM: 2n,
  METRIC_DATA_TYPE_HISTOGRAM: 3n,
  METRIC_DATA_TYPE_EXPONENTIAL_HISTOGRAM: 4n,
  METRIC_DATA_TYPE_SUMMARY: 5n,
  AGGREGATION_TEMPORALITY_UNSPECIFIED: 0n,
  AGGREGATION_TEMPORALITY_DELTA: 1n,
  AGGREGATION_TEMPORALITY_CUMULATIVE: 2n,
  ...Object.fromEntries(
    ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"].flatMap((name, i) =>
      [1, 2, 3, 4].map((n) => [
        `SEVERITY_NUMBER_${name}${n === 1 ? "" : n}`,
        BigInt(i * 4 + n),
      ])
    ),
  ),
  SEVERITY_NUMBER_UNSPECIFIED: 0n,
};

const ENUM_CONTEXTS: readonly [string, readonly ContextName[]][] = [
  ["SPAN_KIND_", ["span", "spanevent"]],
  ["STATUS_CODE_", ["span", "spanevent"]],
  ["SEVERITY_NUMBER_", ["log"]],
  ["METRIC_DATA_TYPE_", ["metric", "datapoint"]],
  ["AGGREGATION_TEMPORALITY_", ["metric", "datapoint"]],
];

/** A function table: names to definitions. */
export type FunctionTable = ReadonlyMap<string, FunctionDef>;

/** Options of the compile functions. */
export interface CompileOptions {
  /** The context statements run in. */
  context: ContextName;
  /** The functions available. */
  functions: FunctionTable;
  /** Require a context prefix on every path but `cache` (statements with inferred context). */
  requirePrefix?: boolean;
}

/** One path a statement or condition uses: its context and field (see `fields.ts`). */
export interface PathUse {
  readonly context: ContextName;
  readonly field: string;
  /** Its first key when that is a string literal (`attributes["k"]`). */
  readonly key: string | undefined;
}

/** What a compiled statement or condition touches, for deciding what to decode. */
export interface Uses {
  /** Every path it reads or writes. */
  readonly paths: readonly PathUse[];
  /** Every function it calls (editors, converters, converters passed by name). */
  readonly calls: readonly string[];
}

/** A compiled statement. */
export interface CompiledStatement {
  /** The statement as written. */
  readonly text: string;
  /** The paths and functions it uses. */
  readonly uses: Uses;
  /** Runs it on one item: checks `where`, then calls the editor. Throws OttlRuntimeError. */
  execute(ctx: TransformContext): void;
}

/** A compiled condition. */
export interface CompiledCondition {
  readonly text: string;
  /** The paths and functions it uses. */
  readonly uses: Uses;
  /** Evaluates it on one item. Throws OttlRuntimeError. */
  evaluate(ctx: TransformContext): boolean;
}

class Compiler {
  readonly #o: CompileOptions;
  /** The paths and functions compiled so far. */
  readonly uses: { paths: PathUse[]; calls: string[] } = { paths: [], calls: [] };
  constructor(options: CompileOptions) {
    this.#o = options;
  }

  key(k: KeyNode): KeyGetter {
    if (k.kind === "string") {
      const v = k.value;
      return () => v;
    }
    if (k.kind === "int") {
      const v = k.value;
      return () => v;
    }
    const g = this.value(k.value);
    return (ctx) => {
      const v = g(ctx);
      if (typeof v === "string" || typeof v === "bigint") return v;
      throw new OttlRuntimeError(`a key must be a string or an int, got ${typeName(v)}`);
    };
  }

  path(node: PathNode) {
    const first = node.names[0]!;
    if (
      this.#o.requirePrefix && first !== "cache" && first !== "metadata" &&
      prefixContext(first) === undefined
    ) {
      throw new OttlError(
        `path "${node.names.join(".")}" has no context prefix (start it with one of resource, ` +
          `scope, span, spanevent, metric, datapoint, log)`,
        node.at,
      );
    }
    const acc = compilePath(node, this.#o.context, (k) => this.key(k));
    const firstKey = node.keys[0];
    const key = firstKey?.kind === "string" ? firstKey.value : undefined;
    this.uses.paths.push({ context: acc.context, field: acc.field, key });
    return acc;
  }

  value(node: ValueNode): Getter {
    switch (node.kind) {
      case "string":
      case "bool":
      case "int":
      case "float": {
        const v = node.value;
        return () => v;
      }
      case "bytes": {
        const v = node.value;
        return () => v;
      }
      case "nil":
        return () => undefined;
      case "enum": {
        const v = this.enumValue(node.name, node.at);
        return () => v;
      }
      case "path":
        return this.path(node).get;
      case "call":
        return this.call(node);
      case "list": {
        const items = node.items.map((i) => this.value(i));
        return (ctx) => items.map((g) => storable(g(ctx)));
      }
      case "map": {
        const entries = node.entries.map((e) => ({ key: e.key, get: this.value(e.value) }));
        return (ctx) => {
          const kvlist: KeyValue[] = [];
          for (const e of entries) kvlist.push({ key: e.key, value: storable(e.get(ctx)) });
          return { kvlist };
        };
      }
      case "math":
        return this.math(node.op, this.value(node.left), this.value(node.right));
    }
  }

  enumValue(name: string, at: number): bigint {
    const v = ENUMS[name];
    if (v === undefined) throw new OttlError(`unknown enum "${name}"`, at);
    const rule = ENUM_CONTEXTS.find(([p]) => name.startsWith(p));
    if (rule !== undefined && !rule[1].includes(this.#o.context)) {
      throw new OttlError(`enum "${name}" is not available in context "${this.#o.context}"`, at);
    }
    return v;
  }

  math(op: "+" | "-" | "*" | "/", l: Getter, r: Getter): Getter {
    return (ctx) => arithmetic(op, l(ctx), r(ctx));
  }

  call(node: CallNode): Getter {
    const def = this.#o.functions.get(node.name);
    if (def === undefined) {
      throw new OttlError(`unknown function "${node.name}"`, node.at);
    }
    this.uses.calls.push(node.name);
    if (def.contexts !== undefined && !def.contexts.includes(this.#o.context)) {
      throw new OttlError(
        `function "${node.name}" is not available in context "${this.#o.context}" (only in ${
          def.contexts.join(", ")
        })`,
        node.at,
      );
    }
    const slots = this.bind(def, node);
    const env: FunctionEnv = {
      context: this.#o.context,
      fail: (message, arg) => {
        const at = arg === undefined ? node.at : (slots[arg]?.at ?? node.at);
        throw new OttlError(`${node.name}: ${message}`, at);
      },
      literal: (arg) => {
        const n = slots[arg]?.node;
        return n !== undefined && (n.kind === "string" || n.kind === "int" || n.kind === "float" ||
            n.kind === "bool")
          ? n.value
          : undefined;
      },
    };
    const args = def.params.map((p, i) => {
      const slot = slots[i];
      return slot === undefined ? undefined : this.arg(def, p, slot.node);
    });
    let fn: Getter;
    try {
      fn = def.create(args, env);
    } catch (error) {
      if (error instanceof OttlError) throw error;
      throw new OttlError(`${node.name}: ${(error as Error).message}`, node.at, { cause: error });
    }
    if (node.keys.length === 0) return fn;
    const keys = node.keys.map((k) => this.key(k));
    return (ctx) => {
      const v = fn(ctx);
      const ks = keys.map((k) => k(ctx));
      return getIndexed(v, ks);
    };
  }

  /** Matches the invocation's arguments to parameters: positional first, then named. */
  bind(def: FunctionDef, node: CallNode): ({ node: ValueNode; at: number } | undefined)[] {
    const slots: ({ node: ValueNode; at: number } | undefined)[] = def.params.map(() => undefined);
    let named = false;
    node.args.forEach((a, i) => {
      if (a.name === undefined) {
        if (named) throw new OttlError("positional arguments must come before named ones", a.at);
        if (i >= def.params.length) {
          throw new OttlError(
            `${node.name} takes at most ${def.params.length} argument${
              def.params.length === 1 ? "" : "s"
            }, got ${node.args.length}`,
            a.at,
          );
        }
        slots[i] = { node: a.value, at: a.at };
      } else {
        named = true;
        const j = def.params.findIndex((p) => p.name === a.name);
        if (j < 0) {
          throw new OttlError(
            `${node.name} has no argument named "${a.name}" (arguments: ${
              def.params.map((p) => p.name).join(", ")
            })`,
            a.at,
          );
        }
        if (slots[j] !== undefined) {
          throw new OttlError(`argument "${a.name}" is given twice`, a.at);
        }
        slots[j] = { node: a.value, at: a.at };
      }
    });
    def.params.forEach((p, i) => {
      if (!p.optional && slots[i] === undefined) {
        const required = def.params.filter((q) => !q.optional).length;
        throw new OttlError(
          `${node.name} needs ${required} argument${
            required === 1 ? "" : "s"
          }: missing "${p.name}"`,
          node.at,
        );
      }
    });
    return slots;
  }

  arg(def: FunctionDef, p: ParamDef, node: ValueNode): ArgValue {
    const bad = (want: string): never => {
      throw new OttlError(
        `argument "${p.name}" of ${def.name} must be ${want}, got ${describeNode(node)}`,
        node.at,
      );
    };
    switch (p.kind) {
      case "getter":
        return this.value(node);
      case "getsetter": {
        if (node.kind !== "path") bad("a path");
        const acc = this.path(node as PathNode);
        if (acc.set === undefined) {
          throw new OttlError(`path "${acc.text}" cannot be written`, node.at);
        }
        return acc;
      }
      case "string":
        return node.kind === "string" ? node.value : bad("a string literal");
      case "int":
        return node.kind === "int" ? node.value : bad("an int literal");
      case "float":
        return node.kind === "float"
          ? node.value
          : node.kind === "int"
          ? Number(node.value)
          : bad("a number literal");
      case "bool":
        return node.kind === "bool" ? node.value : bad("true or false");
      case "strings":
        if (node.kind !== "list") return bad("a list of string literals");
        return node.items.map((i) =>
          i.kind === "string" ? i.value : bad("a list of string literals")
        );
      case "getters":
        if (node.kind !== "list") return bad("a list");
        return node.items.map((i) => this.value(i));
      case "enum":
        if (node.kind !== "enum") return bad("an enum");
        return this.enumValue(node.name, node.at);
      case "function": {
        if (node.kind !== "enum") return bad("a converter name");
        const f = this.#o.functions.get(node.name);
        if (f === undefined || f.params.filter((q) => !q.optional).length !== 1) {
          throw new OttlError(`"${node.name}" is not a one-argument converter`, node.at);
        }
        this.uses.calls.push(node.name);
        let current: Value;
        const fn = f.create([() => current, ...f.params.slice(1).map(() => undefined)], {
          context: this.#o.context,
          fail: (m) => {
            throw new OttlError(`${f.name}: ${m}`, node.at);
          },
          literal: () => undefined,
        });
        return (v: Value) => {
          current = v;
          return fn(undefined as unknown as TransformContext);
        };
      }
    }
  }

  bool(node: BoolNode): (ctx: TransformContext) => boolean {
    switch (node.kind) {
      case "const": {
        const v = node.value;
        return () => v;
      }
      case "not": {
        const inner = this.bool(node.item);
        return (ctx) => !inner(ctx);
      }
      case "and": {
        const items = node.items.map((i) => this.bool(i));
        return (ctx) => {
          for (const i of items) if (!i(ctx)) return false;
          return true;
        };
      }
      case "or": {
        const items = node.items.map((i) => this.bool(i));
        return (ctx) => {
          for (const i of items) if (i(ctx)) return true;
          return false;
        };
      }
      case "compare": {
        const l = this.value(node.left);
        const r = this.value(node.right);
        const op = node.op;
        return (ctx) => compare(l(ctx), r(ctx), op);
      }
      case "converter": {
        const g = this.call(node.call);
        const name = node.call.name;
        return (ctx) => {
          const v = g(ctx);
          if (typeof v !== "boolean") {
            throw new OttlRuntimeError(`${name} returned ${typeName(v)}, not a bool`);
          }
          return v;
        };
      }
    }
  }
}

function describeNode(node: ValueNode): string {
  switch (node.kind) {
    case "string":
      return "a string";
    case "int":
      return "an int";
    case "float":
      return "a float";
    case "bool":
      return "a bool";
    case "nil":
      return "nil";
    case "bytes":
      return "a byte slice";
    case "enum":
      return `the enum ${node.name}`;
    case "list":
      return "a list";
    case "map":
      return "a map";
    case "math":
      return "a math expression";
    case "path":
      return `the path ${node.names.join(".")}`;
    case "call":
      return `a call of ${node.name}`;
  }
}

function storable(v: Value): AnyValue {
  if (v instanceof OttlTime || v instanceof OttlDuration) {
    throw new OttlRuntimeError("a time or duration cannot be put in a list or map");
  }
  return copyValue(v);
}

/** `l op r` with the Math Expression rules (int with int, double with double, times). */
export function arithmetic(op: "+" | "-" | "*" | "/", l: Value, r: Value): Value {
  if (typeof l === "bigint" && typeof r === "bigint") {
    switch (op) {
      case "+":
        return BigInt.asIntN(64, l + r);
      case "-":
        return BigInt.asIntN(64, l - r);
      case "*":
        return BigInt.asIntN(64, l * r);
      default:
        if (r === 0n) throw new OttlRuntimeError("attempted to divide by 0");
        return BigInt.asIntN(64, l / r);
    }
  }
  if (typeof l === "number" && typeof r === "number") {
    switch (op) {
      case "+":
        return l + r;
      case "-":
        return l - r;
      case "*":
        return l * r;
      default:
        if (r === 0) throw new OttlRuntimeError("attempted to divide by 0");
        return l / r;
    }
  }
  if (l instanceof OttlTime && r instanceof OttlTime && op === "-") {
    return new OttlDuration(l.ns - r.ns);
  }
  if (l instanceof OttlTime && r instanceof OttlDuration && (op === "+" || op === "-")) {
    return new OttlTime(op === "+" ? l.ns + r.ns : l.ns - r.ns);
  }
  if (l instanceof OttlDuration && r instanceof OttlTime && op === "+") {
    return new OttlTime(l.ns + r.ns);
  }
  if (l instanceof OttlDuration && r instanceof OttlDuration && (op === "+" || op === "-")) {
    return new OttlDuration(op === "+" ? l.ns + r.ns : l.ns - r.ns);
  }
  throw new OttlRuntimeError(`cannot compute ${typeName(l)} ${op} ${typeName(r)}`);
}

/** Compiles a parsed statement. Throws {@linkcode OttlError}. */
export function compileStatementNode(
  text: string,
  node: StatementNode,
  options: CompileOptions,
): CompiledStatement {
  const c = new Compiler(options);
  const def = options.functions.get(node.editor.name);
  if (def !== undefined && def.name[0]! >= "A" && def.name[0]! <= "Z") {
    throw new OttlError(`"${node.editor.name}" is a converter, not an editor`, node.editor.at);
  }
  const editor = c.call(node.editor);
  const where = node.where === undefined ? undefined : c.bool(node.where);
  return {
    text,
    uses: c.uses,
    execute: where === undefined ? (ctx) => void editor(ctx) : (ctx) => {
      if (where(ctx)) editor(ctx);
    },
  };
}

/** Compiles a parsed condition. Throws {@linkcode OttlError}. */
export function compileConditionNode(
  text: string,
  node: BoolNode,
  options: CompileOptions,
): CompiledCondition {
  const c = new Compiler(options);
  const evaluate = c.bool(node);
  return { text, uses: c.uses, evaluate };
}

/** True when `v` is a map value (for functions). */
export { isMap };
