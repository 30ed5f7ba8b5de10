/**
 * The OTTL parser: statements (`editor(args) where condition`) and conditions, with the offset of
 * every node. Precedence: `not` over `and` over `or`; `*` `/` over `+` `-`, left to right.
 *
 * @module
 */
import type {
  ArgNode,
  BoolNode,
  CallNode,
  CompareOp,
  KeyNode,
  PathNode,
  StatementNode,
  ValueNode,
} from "./ast.ts";
import { OttlError } from "./errors.ts";
import { type Token, tokenize } from "./_lexer.ts";

const COMPARE = new Set(["==", "!=", "<", "<=", ">", ">="]);
/** Nesting bound for lists, maps, parentheses and calls: no unbounded recursion on input. */
const MAX_DEPTH = 100;

class Parser {
  readonly #t: Token[];
  #i = 0;
  #depth = 0;
  constructor(src: string) {
    this.#t = tokenize(src);
  }

  get peek(): Token {
    return this.#t[this.#i]!;
  }
  #next(): Token {
    const t = this.#t[this.#i]!;
    if (t.kind !== "eof") this.#i++;
    return t;
  }
  #is(text: string, i = this.#i): boolean {
    const t = this.#t[i];
    return t !== undefined && (t.kind === "punct" || t.kind === "op") && t.text === text;
  }
  #word(text: string): boolean {
    const t = this.peek;
    return t.kind === "lower" && t.text === text;
  }
  #expect(text: string): Token {
    if (!this.#is(text)) throw this.#unexpected(`expected "${text}"`);
    return this.#next();
  }
  #unexpected(what: string): OttlError {
    const t = this.peek;
    const got = t.kind === "eof" ? "end of input" : `"${this.#source(t)}"`;
    return new OttlError(`${what}, got ${got}`, t.at);
  }
  #source(t: Token): string {
    return t.kind === "string" ? `"${t.text}"` : t.kind === "bytes" ? `0x${t.text}` : t.text;
  }
  #enter(at: number): void {
    if (++this.#depth > MAX_DEPTH) throw new OttlError("expression nests too deeply", at);
  }
  #leave(): void {
    this.#depth--;
  }

  end(): void {
    if (this.peek.kind !== "eof") throw this.#unexpected("expected end of statement");
  }

  statement(): StatementNode {
    const t = this.peek;
    if (t.kind !== "lower" || !this.#is("(", this.#i + 1)) {
      if (t.kind === "upper" && this.#is("(", this.#i + 1)) {
        throw new OttlError(
          `"${t.text}" is a converter; a statement must start with an editor (lowercase name)`,
          t.at,
        );
      }
      throw this.#unexpected("expected an editor invocation");
    }
    const editor = this.#call();
    if (editor.keys.length > 0) {
      throw new OttlError("an editor's result cannot be indexed", editor.keys[0]!.at);
    }
    let where: BoolNode | undefined;
    if (this.#word("where")) {
      this.#next();
      where = this.boolExpr();
    }
    this.end();
    return { editor, where };
  }

  boolExpr(): BoolNode {
    const at = this.peek.at;
    const items = [this.#andExpr()];
    while (this.#word("or")) {
      this.#next();
      items.push(this.#andExpr());
    }
    return items.length === 1 ? items[0]! : { kind: "or", items, at };
  }

  #andExpr(): BoolNode {
    const at = this.peek.at;
    const items = [this.#term()];
    while (this.#word("and")) {
      this.#next();
      items.push(this.#term());
    }
    return items.length === 1 ? items[0]! : { kind: "and", items, at };
  }

  #term(): BoolNode {
    const at = this.peek.at;
    this.#enter(at);
    try {
      if (this.#word("not")) {
        this.#next();
        return { kind: "not", item: this.#term(), at };
      }
      if (this.#is("(")) {
        // "(" may open a boolean group or a math group on the left of a comparison.
        const save = this.#i;
        try {
          this.#next();
          const inner = this.boolExpr();
          this.#expect(")");
          if (!COMPARE.has(this.peek.text) && !"+-*/".includes(this.peek.text || "x")) {
            return inner;
          }
        } catch (error) {
          if (!(error instanceof OttlError)) throw error;
        }
        this.#i = save;
      }
      const left = this.value();
      const op = this.peek;
      if (op.kind === "op" && COMPARE.has(op.text)) {
        this.#next();
        const right = this.value();
        return { kind: "compare", op: op.text as CompareOp, left, right, at };
      }
      if (left.kind === "bool") return { kind: "const", value: left.value, at };
      if (left.kind === "call" && isConverterName(left.name)) {
        return { kind: "converter", call: left, at };
      }
      throw this.#unexpected("expected a comparison operator");
    } finally {
      this.#leave();
    }
  }

  /** A value, including math expressions. */
  value(): ValueNode {
    return this.#additive();
  }

  #additive(): ValueNode {
    let left = this.#multiplicative();
    while (this.#is("+") || this.#is("-")) {
      const op = this.#next();
      const right = this.#multiplicative();
      left = { kind: "math", op: op.text as "+" | "-", left, right, at: op.at };
    }
    return left;
  }

  #multiplicative(): ValueNode {
    let left = this.#primary();
    while (this.#is("*") || this.#is("/")) {
      const op = this.#next();
      const right = this.#primary();
      left = { kind: "math", op: op.text as "*" | "/", left, right, at: op.at };
    }
    return left;
  }

  #primary(): ValueNode {
    const t = this.peek;
    this.#enter(t.at);
    try {
      return this.#primaryInner(t);
    } finally {
      this.#leave();
    }
  }

  #primaryInner(t: Token): ValueNode {
    if ((this.#is("-") || this.#is("+"))) {
      const sign = this.#next();
      const num = this.peek;
      if (num.kind === "int" || num.kind === "float") {
        this.#next();
        const text = (sign.text === "-" ? "-" : "") + num.text;
        return num.kind === "int"
          ? { kind: "int", value: parseInt64(text, sign.at), at: sign.at }
          : { kind: "float", value: Number(text), at: sign.at };
      }
      const inner = this.#primary();
      if (sign.text === "+") return inner;
      return {
        kind: "math",
        op: "*",
        left: { kind: "int", value: -1n, at: sign.at },
        right: inner,
        at: sign.at,
      };
    }
    switch (t.kind) {
      case "string":
        this.#next();
        return { kind: "string", value: t.text, at: t.at };
      case "int":
        this.#next();
        return { kind: "int", value: parseInt64(t.text, t.at), at: t.at };
      case "float":
        this.#next();
        return { kind: "float", value: Number(t.text), at: t.at };
      case "bytes": {
        this.#next();
        const bytes = new Uint8Array(t.text.length / 2);
        for (let k = 0; k < bytes.length; k++) {
          bytes[k] = parseInt(t.text.slice(2 * k, 2 * k + 2), 16);
        }
        return { kind: "bytes", value: bytes, at: t.at };
      }
      case "upper":
        if (this.#is("(", this.#i + 1)) return this.#call();
        this.#next();
        return { kind: "enum", name: t.text, at: t.at };
      case "lower":
        if (t.text === "true" || t.text === "false") {
          this.#next();
          return { kind: "bool", value: t.text === "true", at: t.at };
        }
        if (t.text === "nil") {
          this.#next();
          return { kind: "nil", at: t.at };
        }
        if (this.#is("(", this.#i + 1)) {
          throw new OttlError(
            `"${t.text}" is an editor; only converters (uppercase names) return values`,
            t.at,
          );
        }
        return this.#path();
      case "punct":
        if (t.text === "[") return this.#list();
        if (t.text === "{") return this.#map();
        if (t.text === "(") {
          this.#next();
          const inner = this.value();
          this.#expect(")");
          return inner;
        }
    }
    throw this.#unexpected("expected a value");
  }

  #list(): ValueNode {
    const at = this.#expect("[").at;
    const items: ValueNode[] = [];
    if (!this.#is("]")) {
      for (;;) {
        items.push(this.value());
        if (!this.#is(",")) break;
        this.#next();
      }
    }
    this.#expect("]");
    return { kind: "list", items, at };
  }

  #map(): ValueNode {
    const at = this.#expect("{").at;
    const entries: { key: string; value: ValueNode; at: number }[] = [];
    if (!this.#is("}")) {
      for (;;) {
        const k = this.peek;
        if (k.kind !== "string") throw this.#unexpected("expected a string map key");
        this.#next();
        this.#expect(":");
        entries.push({ key: k.text, value: this.value(), at: k.at });
        if (!this.#is(",")) break;
        this.#next();
      }
    }
    this.#expect("}");
    return { kind: "map", entries, at };
  }

  #path(): PathNode {
    const first = this.#next();
    const names = [first.text];
    const nameAt = [first.at];
    while (this.#is(".")) {
      this.#next();
      const t = this.peek;
      if (t.kind !== "lower" && t.kind !== "upper") throw this.#unexpected("expected a field name");
      this.#next();
      names.push(t.text);
      nameAt.push(t.at);
    }
    return { kind: "path", names, nameAt, keys: this.#keys(), at: first.at };
  }

  #keys(): KeyNode[] {
    const keys: KeyNode[] = [];
    while (this.#is("[")) {
      this.#next();
      const t = this.peek;
      if (t.kind === "string" && this.#is("]", this.#i + 1)) {
        this.#next();
        keys.push({ kind: "string", value: t.text, at: t.at });
      } else if (t.kind === "int" && this.#is("]", this.#i + 1)) {
        this.#next();
        keys.push({ kind: "int", value: parseInt64(t.text, t.at), at: t.at });
      } else if (t.kind === "lower" || t.kind === "upper") {
        keys.push({ kind: "expr", value: this.value(), at: t.at });
      } else {
        throw this.#unexpected("expected a string or int key");
      }
      this.#expect("]");
    }
    return keys;
  }

  #call(): CallNode {
    const name = this.#next();
    this.#expect("(");
    const args: ArgNode[] = [];
    if (!this.#is(")")) {
      for (;;) {
        const t = this.peek;
        let argName: string | undefined;
        if (t.kind === "lower" && this.#is("=", this.#i + 1)) {
          argName = t.text;
          this.#next();
          this.#next();
        }
        args.push({ name: argName, value: this.value(), at: t.at });
        if (!this.#is(",")) break;
        this.#next();
      }
    }
    this.#expect(")");
    return { kind: "call", name: name.text, args, keys: this.#keys(), at: name.at };
  }
}

function parseInt64(text: string, at: number): bigint {
  const v = BigInt(text);
  if (v > 0x7fffffffffffffffn || v < -0x8000000000000000n) {
    throw new OttlError(`integer ${text} does not fit in 64 bits`, at);
  }
  return v;
}

/** True for a converter name (starts with an uppercase letter). */
export function isConverterName(name: string): boolean {
  return name[0]! >= "A" && name[0]! <= "Z";
}

/** Parses one statement. Throws {@linkcode OttlError} with the offset of the bad character. */
export function parseStatement(src: string): StatementNode {
  return new Parser(src).statement();
}

/** Parses one condition (a boolean expression). */
export function parseCondition(src: string): BoolNode {
  const p = new Parser(src);
  const node = p.boolExpr();
  p.end();
  return node;
}

/** Parses one value expression (for tests and tools). */
export function parseValue(src: string): ValueNode {
  const p = new Parser(src);
  const node = p.value();
  p.end();
  return node;
}
