/**
 * The OTTL syntax tree. Every node carries `at`, the offset (in UTF-16 code units) of its first
 * character within the statement text, so compile errors can point at the offending character.
 *
 * @module
 */

/** A key inside square brackets: a string or int literal, or an expression (path or converter). */
export type KeyNode =
  | { kind: "string"; value: string; at: number }
  | { kind: "int"; value: bigint; at: number }
  | { kind: "expr"; value: ValueNode; at: number };

/** A path such as `span.attributes["a"][0]`: dotted names, then keys. */
export interface PathNode {
  kind: "path";
  /** The dotted names, `["span", "attributes"]`. */
  names: string[];
  /** Offsets of each name. */
  nameAt: number[];
  keys: KeyNode[];
  at: number;
}

/** One argument of a call, maybe named (`name = value`). */
export interface ArgNode {
  name: string | undefined;
  value: ValueNode;
  at: number;
}

/** A function call: an editor (lowercase) or a converter (uppercase), with keys after it. */
export interface CallNode {
  kind: "call";
  name: string;
  args: ArgNode[];
  keys: KeyNode[];
  at: number;
}

/** The values of the language. */
export type ValueNode =
  | { kind: "string"; value: string; at: number }
  | { kind: "int"; value: bigint; at: number }
  | { kind: "float"; value: number; at: number }
  | { kind: "bool"; value: boolean; at: number }
  | { kind: "nil"; at: number }
  | { kind: "bytes"; value: Uint8Array; at: number }
  | { kind: "enum"; name: string; at: number }
  | { kind: "list"; items: ValueNode[]; at: number }
  | { kind: "map"; entries: { key: string; value: ValueNode; at: number }[]; at: number }
  | { kind: "math"; op: "+" | "-" | "*" | "/"; left: ValueNode; right: ValueNode; at: number }
  | PathNode
  | CallNode;

/** A comparison operator. */
export type CompareOp = "==" | "!=" | "<" | "<=" | ">" | ">=";

/** A boolean expression. */
export type BoolNode =
  | { kind: "and"; items: BoolNode[]; at: number }
  | { kind: "or"; items: BoolNode[]; at: number }
  | { kind: "not"; item: BoolNode; at: number }
  | { kind: "compare"; op: CompareOp; left: ValueNode; right: ValueNode; at: number }
  | { kind: "const"; value: boolean; at: number }
  | { kind: "converter"; call: CallNode; at: number };

/** A statement: one editor invocation and an optional `where` condition. */
export interface StatementNode {
  editor: CallNode;
  where: BoolNode | undefined;
}
