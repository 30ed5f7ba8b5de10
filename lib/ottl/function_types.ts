/**
 * How an OTTL function declares its parameters, so the compiler can check every invocation
 * (argument count, names, literal-versus-path kinds) before anything runs.
 *
 * @module
 */
import type { ContextName } from "./context.ts";
import type { Accessor, Getter } from "./paths.ts";
import type { Value } from "./values.ts";

/**
 * A parameter kind:
 * - `getter`: any value (path, literal, converter, math); `getsetter`: a writable path;
 * - `string` / `int` / `float` / `bool`: a literal of that type, known at compile time;
 * - `strings`: a list of string literals; `getters`: a list of values;
 * - `function`: the name of a one-argument converter (`SHA256`); `enum`: an enum symbol.
 */
export type ParamKind =
  | "getter"
  | "getsetter"
  | "string"
  | "int"
  | "float"
  | "bool"
  | "strings"
  | "getters"
  | "function"
  | "enum";

/** One declared parameter. */
export interface ParamDef {
  name: string;
  kind: ParamKind;
  optional?: boolean;
}

/** The compiled form of an argument, by kind (`undefined` for an absent optional). */
export type ArgValue =
  | Getter
  | Accessor
  | string
  | bigint
  | number
  | boolean
  | string[]
  | Getter[]
  | ((v: Value) => Value)
  | undefined;

/** What a function's factory gets besides its arguments. */
export interface FunctionEnv {
  /** The context the statement runs in. */
  context: ContextName;
  /** Raises a compile error at the offset of argument `i` (or of the call when omitted). */
  fail(message: string, arg?: number): never;
  /** The value of argument `i` when it is a literal (string, number, bool), else `undefined`. */
  literal(arg: number): string | bigint | number | boolean | undefined;
}

/** A function the compiler can call. `create` runs once per invocation site, at compile time. */
export interface FunctionDef {
  name: string;
  params: readonly ParamDef[];
  /** Contexts it is available in; all when omitted. */
  contexts?: readonly ContextName[];
  create(args: readonly ArgValue[], env: FunctionEnv): Getter;
}
