/**
 * A cursor over one exposition line with the token readers both formats share: names, quoted
 * strings, label sets, numbers. Scanning is by character codes and indexes; no regular
 * expressions on the hot path.
 *
 * @module
 */
import { ExpositionError, type Label } from "./types.ts";

const SPACE = 0x20;
const TAB = 0x09;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const EQUALS = 0x3d;
const CLOSE_BRACE = 0x7d;

function isNameStart(c: number, colon: boolean): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f ||
    (colon && c === 0x3a);
}

function isNameChar(c: number, colon: boolean): boolean {
  return isNameStart(c, colon) || (c >= 0x30 && c <= 0x39);
}

/** True for the characters of a number token (`-1.5e+3`); words such as `NaN` are checked apart. */
function isNumberChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x2b || c === 0x2d || c === 0x65 ||
    c === 0x45;
}

/** Parses a sample value: a decimal float, `NaN`, `+Inf`, `-Inf` (any case), or undefined. */
export function parseFloatToken(token: string): number | undefined {
  if (token.length === 0) return undefined;
  const first = token.charCodeAt(0);
  const digitLike = (first >= 0x30 && first <= 0x39) || first === 0x2e ||
    ((first === 0x2b || first === 0x2d) && token.length > 1 &&
      (isNumberChar(token.charCodeAt(1)) && token.charCodeAt(1) !== 0x65 &&
        token.charCodeAt(1) !== 0x45));
  if (digitLike) {
    let digits = false;
    for (let i = 0; i < token.length; i++) {
      const c = token.charCodeAt(i);
      if (!isNumberChar(c)) return undefined;
      if (c >= 0x30 && c <= 0x39) digits = true;
    }
    if (!digits) return undefined;
    const n = Number(token);
    return Number.isNaN(n) ? undefined : n;
  }
  switch (token.toLowerCase()) {
    case "nan":
    case "+nan":
    case "-nan":
      return NaN;
    case "inf":
    case "+inf":
    case "infinity":
    case "+infinity":
      return Infinity;
    case "-inf":
    case "-infinity":
      return -Infinity;
    default:
      return undefined;
  }
}

/** A cursor over one line (`s` from `pos` to `end`), reporting errors with the line number. */
export class LineScanner {
  /** The whole exposition. */
  readonly s: string;
  /** The current index. */
  pos: number;
  /** The index just past the line's last character. */
  end: number;
  /** The 1-based line number. */
  line: number;

  constructor(s: string) {
    this.s = s;
    this.pos = 0;
    this.end = 0;
    this.line = 0;
  }

  /** Points the cursor at a new line. */
  reset(pos: number, end: number, line: number): void {
    this.pos = pos;
    this.end = end;
    this.line = line;
  }

  /** Throws an {@linkcode ExpositionError} for the current line. */
  fail(detail: string): never {
    throw new ExpositionError(this.line, detail);
  }

  /** The character code at the cursor, or -1 at the end of the line. */
  peek(): number {
    return this.pos < this.end ? this.s.charCodeAt(this.pos) : -1;
  }

  /** True when nothing but the end of the line is left. */
  atEnd(): boolean {
    return this.pos >= this.end;
  }

  /** A description of what is at the cursor, for error messages. */
  found(): string {
    if (this.pos >= this.end) return "end of line";
    const rest = this.s.slice(this.pos, Math.min(this.end, this.pos + 12));
    return JSON.stringify(rest.length < this.end - this.pos ? rest + "…" : rest);
  }

  /** Skips spaces and tabs; returns how many. */
  skipBlanks(): number {
    const start = this.pos;
    while (this.pos < this.end) {
      const c = this.s.charCodeAt(this.pos);
      if (c !== SPACE && c !== TAB) break;
      this.pos++;
    }
    return this.pos - start;
  }

  /** Consumes `code` or fails saying `what` was expected. */
  expect(code: number, what: string): void {
    if (this.peek() !== code) this.fail(`expected ${what}, got ${this.found()}`);
    this.pos++;
  }

  /** Reads a metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`). */
  metricName(): string {
    return this.name(true, "metric name");
  }

  /** Reads a label name (`[a-zA-Z_][a-zA-Z0-9_]*`). */
  labelName(): string {
    return this.name(false, "label name");
  }

  private name(colon: boolean, what: string): string {
    const start = this.pos;
    if (!isNameStart(this.peek(), colon)) this.fail(`expected a ${what}, got ${this.found()}`);
    this.pos++;
    while (this.pos < this.end && isNameChar(this.s.charCodeAt(this.pos), colon)) this.pos++;
    return this.s.slice(start, this.pos);
  }

  /** Reads up to the next blank or the end of the line. */
  token(): string {
    const start = this.pos;
    while (this.pos < this.end) {
      const c = this.s.charCodeAt(this.pos);
      if (c === SPACE || c === TAB) break;
      this.pos++;
    }
    return this.s.slice(start, this.pos);
  }

  /** The rest of the line. */
  rest(): string {
    const text = this.s.slice(this.pos, this.end);
    this.pos = this.end;
    return text;
  }

  /**
   * Reads a double-quoted string, the cursor on its opening quote; `\\`, `\"` and `\n` are
   * unescaped, any other backslash sequence is kept as written.
   */
  quoted(): string {
    this.expect(QUOTE, "a '\"'");
    const start = this.pos;
    let escaped = false;
    while (this.pos < this.end) {
      const c = this.s.charCodeAt(this.pos);
      if (c === QUOTE) {
        const raw = this.s.slice(start, this.pos);
        this.pos++;
        return escaped ? unescape(raw, true) : raw;
      }
      if (c === BACKSLASH) {
        escaped = true;
        this.pos++;
      }
      this.pos++;
    }
    return this.fail("unterminated quoted string");
  }

  /**
   * Reads a label set, the cursor just past `{`, up to and including `}`. A first quoted entry
   * without `=` is a metric name (the UTF-8 syntax `{"my.metric", a="b"}`); it is returned.
   */
  labels(into: Label[], nameAllowed: boolean): string | undefined {
    let metricName: string | undefined;
    let first = true;
    for (;;) {
      this.skipBlanks();
      const c = this.peek();
      if (c === CLOSE_BRACE) {
        this.pos++;
        return metricName;
      }
      let name: string;
      if (c === QUOTE) {
        name = this.quoted();
        this.skipBlanks();
        if (this.peek() !== EQUALS) {
          if (!first || !nameAllowed) this.fail(`expected "=" after label name ${name}`);
          metricName = name;
          first = false;
          if (!this.separator()) return metricName;
          continue;
        }
      } else {
        name = this.labelName();
        this.skipBlanks();
      }
      first = false;
      this.expect(EQUALS, `"=" after label name "${name}"`);
      this.skipBlanks();
      if (this.peek() !== QUOTE) {
        this.fail(`expected a quoted value for label "${name}", got ${this.found()}`);
      }
      const value = this.quoted();
      for (let i = 0; i < into.length; i++) {
        if (into[i]!.name === name) this.fail(`duplicate label name "${name}"`);
      }
      into.push({ name, value });
      if (!this.separator()) return metricName;
    }
  }

  /** After a label: consumes `,` (true: more may follow) or `}` (false: the set is closed). */
  private separator(): boolean {
    this.skipBlanks();
    const c = this.peek();
    if (c === COMMA) {
      this.pos++;
      return true;
    }
    if (c === CLOSE_BRACE) {
      this.pos++;
      return false;
    }
    return this.fail(`expected "," or "}" in label set, got ${this.found()}`);
  }
}

/** Unescapes `\\`, `\n` and (when `quotes`) `\"`; other backslash sequences stay as written. */
export function unescape(raw: string, quotes: boolean): string {
  if (raw.indexOf("\\") < 0) return raw;
  let out = "";
  let from = 0;
  for (let i = 0; i < raw.length; i++) {
    if (raw.charCodeAt(i) !== BACKSLASH || i + 1 >= raw.length) continue;
    const next = raw.charCodeAt(i + 1);
    let replacement: string | undefined;
    if (next === BACKSLASH) replacement = "\\";
    else if (next === 0x6e) replacement = "\n";
    else if (next === QUOTE && quotes) replacement = '"';
    if (replacement === undefined) continue;
    out += raw.slice(from, i) + replacement;
    i++;
    from = i + 1;
  }
  return out + raw.slice(from);
}
