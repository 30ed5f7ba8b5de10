/**
 * A small subset of the expression language the Collector's stanza uses (`expr-lang`) in `if`,
 * router `routes[].expr` and `EXPR(...)` values. Supported:
 *
 * - values: `body`, `attributes`, `resource`, `timestamp`, `severity`, `severity_text`, with
 *   `.key` and `["key"]` access (`body.stream`, `attributes["log.file.name"]`); string literals in
 *   double or single quotes (`\\`, `\"`, `\'`, `\n`, `\t` escapes; other backslashes are kept, so
 *   `"^\d+"` is a regex), numbers, `true`, `false`, `nil`, array literals `["a", "b"]`,
 *   `env("NAME")`;
 * - operators, loosest first: `or` / `||`; `and` / `&&`; `not` / `!`; comparisons `==`, `!=`,
 *   `<`, `<=`, `>`, `>=`, `matches` (a regex, unanchored), `contains`, `startsWith`, `endsWith`,
 *   `in` (array membership); `+` (numbers add, strings concatenate); parentheses.
 *
 * A missing field is `nil`; comparing it is false rather than an error.
 *
 * @module
 */
import type { Entry } from "./entry.ts";
import { isMap } from "./entry.ts";

/** A compiled expression. */
export type Expr = (entry: Entry) => unknown;

type Token =
  | { kind: "str"; value: string }
  | { kind: "num"; value: number }
  | { kind: "id"; value: string }
  | { kind: "op"; value: string };

const OPS = ["==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "(", ")", "[", "]", ",", ".", "+"];

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      let value = "";
      let j = i + 1;
      for (;;) {
        if (j >= src.length) throw new Error(`Unterminated string in expression: ${src}`);
        const d = src[j]!;
        if (d === c) break;
        if (d === "\\" && j + 1 < src.length) {
          const e = src[j + 1]!;
          if (e === "n") value += "\n";
          else if (e === "t") value += "\t";
          else if (e === "\\" || e === '"' || e === "'") value += e;
          else value += "\\" + e;
          j += 2;
          continue;
        }
        value += d;
        j++;
      }
      out.push({ kind: "str", value });
      i = j + 1;
      continue;
    }
    if (c >= "0" && c <= "9") {
      let j = i;
      while (j < src.length && /[0-9._eE]/.test(src[j]!)) j++;
      out.push({ kind: "num", value: Number(src.slice(i, j).replaceAll("_", "")) });
      i = j;
      continue;
    }
    if (/[A-Za-z_$]/.test(c)) {
      let j = i;
      while (j < src.length && /[A-Za-z0-9_$]/.test(src[j]!)) j++;
      out.push({ kind: "id", value: src.slice(i, j) });
      i = j;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (op === undefined) throw new Error(`Unexpected "${c}" in expression: ${src}`);
    out.push({ kind: "op", value: op });
    i += op.length;
  }
  return out;
}

function num(v: unknown): number | undefined {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  return undefined;
}

function equal(a: unknown, b: unknown): boolean {
  if (a === null) a = undefined;
  if (b === null) b = undefined;
  const na = num(a);
  const nb = num(b);
  if (na !== undefined && nb !== undefined) return na === nb;
  return a === b;
}

function truthy(v: unknown): boolean {
  return v === true;
}

const regexCache = new Map<string, RegExp>();

function regexOf(pattern: string): RegExp {
  let re = regexCache.get(pattern);
  if (re === undefined) {
    re = compileGoRegex(pattern);
    if (regexCache.size < 1000) regexCache.set(pattern, re);
  }
  return re;
}

/**
 * Compiles a Go (RE2) regular expression as a JavaScript one: `(?P<name>` becomes `(?<name>`, and
 * leading inline flags (`(?i)`, `(?s)`, `(?m)`) become flags.
 */
export function compileGoRegex(pattern: string): RegExp {
  let src = pattern.replaceAll("(?P<", "(?<");
  let flags = "";
  const m = /^\(\?([ims]+)\)/.exec(src);
  if (m !== null) {
    flags = [...new Set(m[1]!)].join("");
    src = src.slice(m[0].length);
  }
  return new RegExp(src, flags);
}

class Parser {
  #tokens: Token[];
  #pos = 0;
  #src: string;

  constructor(src: string) {
    this.#src = src;
    this.#tokens = tokenize(src);
  }

  parse(): Expr {
    const e = this.#or();
    if (this.#pos < this.#tokens.length) this.#fail("unexpected token");
    return e;
  }

  #fail(what: string): never {
    const t = this.#tokens[this.#pos];
    const at = t === undefined ? "end" : `"${t.value}"`;
    throw new Error(`Invalid expression "${this.#src}": ${what} at ${at}`);
  }

  #peekOp(...values: string[]): string | undefined {
    const t = this.#tokens[this.#pos];
    if (t === undefined) return undefined;
    if ((t.kind === "op" || t.kind === "id") && values.includes(t.value)) return t.value;
    return undefined;
  }

  #expect(value: string): void {
    if (this.#peekOp(value) === undefined) this.#fail(`expected "${value}"`);
    this.#pos++;
  }

  #or(): Expr {
    let left = this.#and();
    while (this.#peekOp("or", "||") !== undefined) {
      this.#pos++;
      const l = left;
      const r = this.#and();
      left = (e) => truthy(l(e)) || truthy(r(e));
    }
    return left;
  }

  #and(): Expr {
    let left = this.#not();
    while (this.#peekOp("and", "&&") !== undefined) {
      this.#pos++;
      const l = left;
      const r = this.#not();
      left = (e) => truthy(l(e)) && truthy(r(e));
    }
    return left;
  }

  #not(): Expr {
    if (this.#peekOp("not", "!") !== undefined) {
      this.#pos++;
      const inner = this.#not();
      return (e) => !truthy(inner(e));
    }
    return this.#comparison();
  }

  #comparison(): Expr {
    const left = this.#sum();
    const op = this.#peekOp(
      "==",
      "!=",
      "<",
      "<=",
      ">",
      ">=",
      "matches",
      "contains",
      "startsWith",
      "endsWith",
      "in",
    );
    if (op === undefined) return left;
    this.#pos++;
    const right = this.#sum();
    switch (op) {
      case "==":
        return (e) => equal(left(e), right(e));
      case "!=":
        return (e) => !equal(left(e), right(e));
      case "matches":
        return (e) => {
          const s = left(e);
          const p = right(e);
          return typeof s === "string" && typeof p === "string" && regexOf(p).test(s);
        };
      case "contains":
        return (e) => {
          const s = left(e);
          const p = right(e);
          return typeof s === "string" && typeof p === "string" && s.includes(p);
        };
      case "startsWith":
        return (e) => {
          const s = left(e);
          const p = right(e);
          return typeof s === "string" && typeof p === "string" && s.startsWith(p);
        };
      case "endsWith":
        return (e) => {
          const s = left(e);
          const p = right(e);
          return typeof s === "string" && typeof p === "string" && s.endsWith(p);
        };
      case "in":
        return (e) => {
          const v = left(e);
          const list = right(e);
          if (Array.isArray(list)) return list.some((x) => equal(x, v));
          if (isMap(list) && typeof v === "string") return v in list;
          return false;
        };
      default:
        return (e) => {
          const a = left(e);
          const b = right(e);
          const na = num(a);
          const nb = num(b);
          let c: number;
          if (na !== undefined && nb !== undefined) c = na - nb;
          else if (typeof a === "string" && typeof b === "string") c = a < b ? -1 : a > b ? 1 : 0;
          else return false;
          return op === "<" ? c < 0 : op === "<=" ? c <= 0 : op === ">" ? c > 0 : c >= 0;
        };
    }
  }

  #sum(): Expr {
    let left = this.#postfix();
    while (this.#peekOp("+") !== undefined) {
      this.#pos++;
      const l = left;
      const r = this.#postfix();
      left = (e) => {
        const a = l(e);
        const b = r(e);
        const na = num(a);
        const nb = num(b);
        if (na !== undefined && nb !== undefined) return na + nb;
        return String(a ?? "") + String(b ?? "");
      };
    }
    return left;
  }

  #postfix(): Expr {
    let value = this.#primary();
    for (;;) {
      if (this.#peekOp(".") !== undefined) {
        this.#pos++;
        const t = this.#tokens[this.#pos];
        if (t === undefined || t.kind !== "id") this.#fail('expected a key after "."');
        this.#pos++;
        const key = t.value;
        const v = value;
        value = (e) => {
          const m = v(e);
          return isMap(m) ? m[key] : undefined;
        };
      } else if (this.#peekOp("[") !== undefined) {
        this.#pos++;
        const index = this.#or();
        this.#expect("]");
        const v = value;
        value = (e) => {
          const m = v(e);
          const k = index(e);
          if (Array.isArray(m) && typeof k === "number") return m[k];
          return isMap(m) && typeof k === "string" ? m[k] : undefined;
        };
      } else {
        return value;
      }
    }
  }

  #primary(): Expr {
    const t = this.#tokens[this.#pos];
    if (t === undefined) this.#fail("unexpected end");
    this.#pos++;
    if (t.kind === "str" || t.kind === "num") {
      const v = t.value;
      return () => v;
    }
    if (t.kind === "op") {
      if (t.value === "(") {
        const inner = this.#or();
        this.#expect(")");
        return inner;
      }
      if (t.value === "[") {
        const items: Expr[] = [];
        while (this.#peekOp("]") === undefined) {
          items.push(this.#or());
          if (this.#peekOp(",") === undefined) break;
          this.#pos++;
        }
        this.#expect("]");
        return (e) => items.map((x) => x(e));
      }
      this.#pos--;
      this.#fail("unexpected token");
    }
    switch (t.value) {
      case "true":
        return () => true;
      case "false":
        return () => false;
      case "nil":
      case "null":
        return () => undefined;
      case "body":
        return (e) => e.body;
      case "attributes":
        return (e) => e.attributes;
      case "resource":
        return (e) => e.resource;
      case "timestamp":
        return (e) => e.timestamp;
      case "severity":
        return (e) => e.severity;
      case "severity_text":
        return (e) => e.severityText;
      case "env": {
        this.#expect("(");
        const arg = this.#or();
        this.#expect(")");
        return (e) => {
          const name = arg(e);
          return typeof name === "string" ? (Deno.env.get(name) ?? "") : "";
        };
      }
      default:
        this.#pos--;
        this.#fail(`unknown name "${t.value}"`);
    }
  }
}

/** Compiles an expression; throws an Error describing a syntax error. */
export function compileExpr(source: string): Expr {
  return new Parser(source).parse();
}

/** Compiles a boolean condition: true only when the expression yields `true`. */
export function compileCondition(source: string): (entry: Entry) => boolean {
  const e = compileExpr(source);
  return (entry) => e(entry) === true;
}
