/**
 * The OpenTelemetry Transformation Language: parse statements and conditions once (with source
 * offsets), infer their context from path prefixes, compile them to closures over the pdata
 * model.
 *
 * @module
 */
import type { Signal } from "../pdata/types.ts";
import type { BoolNode, CallNode, KeyNode, StatementNode, ValueNode } from "./ast.ts";
import {
  compileConditionNode,
  type CompiledCondition,
  type CompiledStatement,
  compileStatementNode,
  type FunctionTable,
} from "./compile.ts";
import { type ContextName, inferContext, prefixContext, SIGNAL_CONTEXTS } from "./context.ts";
import { OttlError } from "./errors.ts";
import type { FunctionDef } from "./function_types.ts";
import { CONVERTERS } from "./funcs/converters.ts";
import { EDITORS } from "./funcs/editors.ts";
import { METRIC_FUNCTIONS } from "./funcs/metrics.ts";
import { parseCondition, parseStatement } from "./parser.ts";

export { OttlError, OttlRuntimeError } from "./errors.ts";
export type { CompiledCondition, CompiledStatement } from "./compile.ts";
export {
  type ContextName,
  newTransformContext,
  SIGNAL_CONTEXTS,
  type TransformContext,
} from "./context.ts";

function table(defs: readonly FunctionDef[]): FunctionTable {
  return new Map(defs.map((d) => [d.name, d]));
}

/** The functions of every context: the `ottlfuncs` editors and converters. */
export const STANDARD_FUNCTIONS: FunctionTable = table([...EDITORS, ...CONVERTERS]);
/** The transform processor's functions: standard ones plus the metric functions. */
export const TRANSFORM_FUNCTIONS: FunctionTable = table([
  ...EDITORS,
  ...CONVERTERS,
  ...METRIC_FUNCTIONS,
]);
/** The filter processor's functions: converters only (conditions call no editors). */
export const FILTER_FUNCTIONS: FunctionTable = table(CONVERTERS);

/** One problem with one statement or condition of a list. */
export interface OttlIssue {
  /** The index of the statement or condition in its list. */
  index: number;
  /** The offset in that string of the offending character. */
  offset: number;
  message: string;
}

/** Options of {@linkcode compileStatements} and {@linkcode compileConditions}. */
export interface CompileGroupOptions {
  signal: Signal;
  /** The context to run in; inferred from path prefixes when omitted. */
  context?: ContextName;
  /** The function table. @default TRANSFORM_FUNCTIONS for statements, FILTER_FUNCTIONS for conditions */
  functions?: FunctionTable;
}

/** The outcome of compiling a group: its context and compiled items, or every issue found. */
export type GroupResult<T> =
  | { ok: true; context: ContextName; items: T[] }
  | { ok: false; issues: OttlIssue[] };

function visitValue(
  v: ValueNode,
  onPath: (n: string) => void,
  onCall: (c: CallNode) => void,
): void {
  switch (v.kind) {
    case "path":
      onPath(v.names.length > 1 ? v.names[0]! : "");
      v.keys.forEach((k) => visitKey(k, onPath, onCall));
      break;
    case "call":
      visitCall(v, onPath, onCall);
      break;
    case "list":
      v.items.forEach((i) => visitValue(i, onPath, onCall));
      break;
    case "map":
      v.entries.forEach((e) => visitValue(e.value, onPath, onCall));
      break;
    case "math":
      visitValue(v.left, onPath, onCall);
      visitValue(v.right, onPath, onCall);
      break;
  }
}
function visitKey(k: KeyNode, onPath: (n: string) => void, onCall: (c: CallNode) => void): void {
  if (k.kind === "expr") visitValue(k.value, onPath, onCall);
}
function visitCall(c: CallNode, onPath: (n: string) => void, onCall: (c: CallNode) => void): void {
  onCall(c);
  c.args.forEach((a) => visitValue(a.value, onPath, onCall));
  c.keys.forEach((k) => visitKey(k, onPath, onCall));
}
function visitBool(b: BoolNode, onPath: (n: string) => void, onCall: (c: CallNode) => void): void {
  switch (b.kind) {
    case "and":
    case "or":
      b.items.forEach((i) => visitBool(i, onPath, onCall));
      break;
    case "not":
      visitBool(b.item, onPath, onCall);
      break;
    case "compare":
      visitValue(b.left, onPath, onCall);
      visitValue(b.right, onPath, onCall);
      break;
    case "converter":
      visitCall(b.call, onPath, onCall);
      break;
  }
}

const MAIN: Readonly<Record<Signal, ContextName>> = {
  traces: "span",
  metrics: "metric",
  logs: "log",
};

function compileGroup<N, T>(
  texts: readonly string[],
  options: CompileGroupOptions,
  functions: FunctionTable,
  parse: (s: string) => N,
  visit: (n: N, onPath: (n: string) => void, onCall: (c: CallNode) => void) => void,
  compile: (text: string, n: N, context: ContextName, requirePrefix: boolean) => T,
): GroupResult<T> {
  const issues: OttlIssue[] = [];
  const parsed: (N | undefined)[] = texts.map((text, index) => {
    try {
      return parse(text);
    } catch (error) {
      if (!(error instanceof OttlError)) throw error;
      issues.push({ index, offset: error.offset, message: error.message });
      return undefined;
    }
  });
  let context = options.context;
  const inferred = context === undefined;
  if (context !== undefined && !SIGNAL_CONTEXTS[options.signal].includes(context)) {
    issues.push({
      index: 0,
      offset: 0,
      message: `context "${context}" is not available for ${options.signal} (use ${
        SIGNAL_CONTEXTS[options.signal].join(", ")
      })`,
    });
    return { ok: false, issues };
  }
  if (context === undefined) {
    const named = new Set<ContextName>();
    parsed.forEach((n) => {
      if (n === undefined) return;
      visit(n, (name) => {
        const c = prefixContext(name);
        if (c !== undefined) named.add(c);
      }, (call) => {
        const def = functions.get(call.name);
        if (def?.contexts !== undefined && def.contexts.length === 1) named.add(def.contexts[0]!);
      });
    });
    const r = inferContext(options.signal, named, MAIN[options.signal]);
    if ("error" in r) {
      issues.push({ index: 0, offset: 0, message: r.error });
      return { ok: false, issues };
    }
    context = r.context;
  }
  const items: T[] = [];
  parsed.forEach((n, index) => {
    if (n === undefined) return;
    try {
      items.push(compile(texts[index]!, n, context!, inferred));
    } catch (error) {
      if (!(error instanceof OttlError)) throw error;
      issues.push({ index, offset: error.offset, message: error.message });
    }
  });
  return issues.length > 0 ? { ok: false, issues } : { ok: true, context, items };
}

/** Parses and compiles a group of statements; every problem of every statement is reported. */
export function compileStatements(
  texts: readonly string[],
  options: CompileGroupOptions,
): GroupResult<CompiledStatement> {
  const functions = options.functions ?? TRANSFORM_FUNCTIONS;
  return compileGroup<StatementNode, CompiledStatement>(
    texts,
    options,
    functions,
    parseStatement,
    (n, p, c) => {
      visitCall(n.editor, p, c);
      if (n.where !== undefined) visitBool(n.where, p, c);
    },
    (text, n, context, requirePrefix) =>
      compileStatementNode(text, n, { context, functions, requirePrefix }),
  );
}

/** Parses and compiles a group of conditions. */
export function compileConditions(
  texts: readonly string[],
  options: CompileGroupOptions,
): GroupResult<CompiledCondition> {
  const functions = options.functions ?? FILTER_FUNCTIONS;
  return compileGroup<BoolNode, CompiledCondition>(
    texts,
    options,
    functions,
    parseCondition,
    visitBool,
    (text, n, context, requirePrefix) =>
      compileConditionNode(text, n, { context, functions, requirePrefix }),
  );
}
