/**
 * The OTTL tokenizer. Tokens keep the offset of their first character.
 *
 * @module
 */
import { OttlError } from "./errors.ts";

/** Token kinds. */
export type TokenKind =
  | "string"
  | "int"
  | "float"
  | "bytes"
  | "lower"
  | "upper"
  | "punct"
  | "op"
  | "eof";

/** One token. `text` is the decoded value for strings, the source text otherwise. */
export interface Token {
  kind: TokenKind;
  text: string;
  at: number;
}

const PUNCT = new Set(["(", ")", "[", "]", "{", "}", ",", ".", ":"]);
const MAX_STATEMENT = 64 * 1024;

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= "0" && c <= "9";
}
function isIdentStart(c: string | undefined): boolean {
  return c !== undefined && (c >= "a" && c <= "z" || c >= "A" && c <= "Z" || c === "_");
}
function isIdent(c: string | undefined): boolean {
  return isIdentStart(c) || isDigit(c);
}

const ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  "\\": "\\",
  n: "\n",
  t: "\t",
  r: "\r",
  "/": "/",
  b: "\b",
  f: "\f",
};

/** Splits `src` into tokens; throws {@linkcode OttlError} at the first bad character. */
export function tokenize(src: string): Token[] {
  if (src.length > MAX_STATEMENT) {
    throw new OttlError(`statement is longer than ${MAX_STATEMENT} characters`, 0);
  }
  const out: Token[] = [];
  let i = 0;
  const n = src.length;
  while (i < n) {
    const c = src[i]!;
    if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      i++;
      continue;
    }
    const at = i;
    if (c === '"') {
      let s = "";
      i++;
      for (;;) {
        if (i >= n) throw new OttlError("unterminated string", at);
        const d = src[i]!;
        if (d === '"') {
          i++;
          break;
        }
        if (d === "\\") {
          const e = src[i + 1];
          if (e === undefined) throw new OttlError("unterminated string", at);
          if (e === "u") {
            const hex = src.slice(i + 2, i + 6);
            if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new OttlError("bad \\u escape", i);
            s += String.fromCharCode(parseInt(hex, 16));
            i += 6;
            continue;
          }
          const r = ESCAPES[e];
          // Unknown escapes keep the backslash, as Go's strconv-free OTTL unquoting does for
          // regex patterns like "\d".
          s += r ?? "\\" + e;
          i += 2;
          continue;
        }
        s += d;
        i++;
      }
      out.push({ kind: "string", text: s, at });
      continue;
    }
    if (c === "0" && (src[i + 1] === "x" || src[i + 1] === "X")) {
      let j = i + 2;
      while (j < n && /[0-9a-fA-F]/.test(src[j]!)) j++;
      if (j === i + 2 || (j - i - 2) % 2 !== 0) {
        throw new OttlError("byte slice literal needs an even number of hex digits", at);
      }
      out.push({ kind: "bytes", text: src.slice(i + 2, j), at });
      i = j;
      continue;
    }
    if (isDigit(c) || (c === "." && isDigit(src[i + 1]))) {
      let j = i;
      while (isDigit(src[j])) j++;
      let kind: TokenKind = "int";
      if (src[j] === "." && !isIdentStart(src[j + 1])) {
        kind = "float";
        j++;
        while (isDigit(src[j])) j++;
      }
      if (isIdentStart(src[j])) throw new OttlError(`unexpected character "${src[j]}"`, j);
      out.push({ kind, text: src.slice(i, j), at });
      i = j;
      continue;
    }
    if (isIdentStart(c)) {
      let j = i + 1;
      while (isIdent(src[j])) j++;
      out.push({ kind: c >= "A" && c <= "Z" ? "upper" : "lower", text: src.slice(i, j), at });
      i = j;
      continue;
    }
    const two = src.slice(i, i + 2);
    if (two === "==" || two === "!=" || two === "<=" || two === ">=") {
      out.push({ kind: "op", text: two, at });
      i += 2;
      continue;
    }
    if (c === "<" || c === ">" || c === "+" || c === "-" || c === "*" || c === "/" || c === "=") {
      out.push({ kind: "op", text: c, at });
      i++;
      continue;
    }
    if (PUNCT.has(c)) {
      out.push({ kind: "punct", text: c, at });
      i++;
      continue;
    }
    throw new OttlError(`unexpected character "${c}"`, at);
  }
  out.push({ kind: "eof", text: "", at: n });
  return out;
}
