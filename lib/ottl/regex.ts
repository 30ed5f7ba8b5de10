/**
 * Bounded regular expressions for OTTL. The Collector uses Go's RE2, which runs in linear time;
 * JavaScript's engine backtracks, so a pattern such as `(a+)+$` could run away on a crafted value.
 * tfo therefore refuses, at compile time, what RE2 would refuse anyway (backreferences,
 * lookaround) and the shapes that backtrack exponentially (an unbounded quantifier over a group
 * that itself contains an unbounded quantifier, as `(a+)+`, `(a*b?)*`, `(x+|y)*`), and refuses at
 * run time to match a value longer than {@linkcode MAX_REGEX_INPUT} characters.
 *
 * @module
 */
import { compileRegex } from "../processing/regex.ts";
import { OttlRuntimeError } from "./errors.ts";

/** The longest string a pattern is run on (1 MiB); longer values are a run-time error. */
export const MAX_REGEX_INPUT = 1 << 20;

/** Why `pattern` is refused, or `undefined` when it is safe to run. */
export function unsafeRegexReason(pattern: string): string | undefined {
  // One frame per open group: does it contain an unbounded quantifier?
  const stack: boolean[] = [false];
  let inClass = false;
  let lastGroupUnbounded: boolean | undefined; // set right after ")"
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    const afterGroup = lastGroupUnbounded;
    lastGroupUnbounded = undefined;
    if (c === "\\") {
      const d = pattern[i + 1];
      if (!inClass && d !== undefined && d >= "1" && d <= "9") {
        return "backreferences are not supported (RE2 syntax)";
      }
      if (!inClass && d === "k" && pattern[i + 2] === "<") {
        return "backreferences are not supported (RE2 syntax)";
      }
      i++;
      continue;
    }
    if (inClass) {
      if (c === "]") inClass = false;
      continue;
    }
    if (c === "[") {
      inClass = true;
      if (pattern[i + 1] === "]") i++;
      continue;
    }
    if (c === "(") {
      const head = pattern.slice(i, i + 4);
      if (/^\(\?(=|!|<=|<!)/.test(head)) return "lookaround is not supported (RE2 syntax)";
      stack.push(false);
      continue;
    }
    if (c === ")") {
      if (stack.length > 1) lastGroupUnbounded = stack.pop()!;
      continue;
    }
    let unbounded = false;
    if (c === "*" || c === "+") unbounded = true;
    else if (c === "{") {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(i));
      if (m !== null) {
        unbounded = m[2] !== undefined && (m[3] === "" || Number(m[3]) > 100);
        i += m[0].length - 1;
      }
    } else if (c === "?") {
      if (afterGroup) {
        // `(a+)?` is fine by itself; only an enclosing unbounded repeat matters.
        stack[stack.length - 1] = true;
      }
      continue;
    } else continue;
    if (unbounded) {
      if (afterGroup === true) {
        return "nested unbounded quantifiers (like (a+)+) can take exponential time; rewrite the pattern";
      }
      stack[stack.length - 1] = true;
    } else if (afterGroup === true) stack[stack.length - 1] = true;
  }
  return undefined;
}

/** Compiles a Go-syntax pattern after the safety checks; throws with a message when refused. */
export function compileBoundedRegex(pattern: string, flags = ""): RegExp {
  const reason = unsafeRegexReason(pattern);
  if (reason !== undefined) throw new Error(reason);
  const re = compileRegex(pattern);
  return flags === "" ? re : new RegExp(re.source, re.flags + flags);
}

/** Throws when `s` is too long to match safely. */
export function checkRegexInput(s: string): void {
  if (s.length > MAX_REGEX_INPUT) {
    throw new OttlRuntimeError(
      `value of ${s.length} characters is longer than the ${MAX_REGEX_INPUT} a pattern runs on`,
    );
  }
}

/** Characters with a meaning in RE2 syntax outside a class (`{` included, though RE2 reads some literally). */
const META = "\\.+*?()|[]{}^$";

/**
 * The text `pattern` matches when it is a plain literal in RE2 syntax (no operator, class, anchor,
 * group or flag; `\` only before ASCII punctuation, which RE2 reads as that character), else
 * `undefined`. The empty pattern is not a literal here (it matches between every character).
 */
export function literalOf(pattern: string): string | undefined {
  if (pattern.length === 0) return undefined;
  let out = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "\\") {
      const next = pattern.charCodeAt(i + 1);
      const punct = (next >= 0x21 && next <= 0x2f) || (next >= 0x3a && next <= 0x40) ||
        (next >= 0x5b && next <= 0x60) || (next >= 0x7b && next <= 0x7e);
      if (!punct) return undefined;
      out += pattern[++i]!;
    } else if (META.includes(c)) return undefined;
    else out += c;
  }
  return out;
}

/**
 * Replaces every occurrence of `literal` (not empty) in `s` with `replacement`, left to right and
 * not overlapping: what an RE2 replace-all of a literal pattern with a template without `$` gives.
 * Refuses values longer than {@linkcode MAX_REGEX_INPUT} as the regex path does.
 */
export function replaceLiteral(s: string, literal: string, replacement: string): string {
  checkRegexInput(s);
  let at = s.indexOf(literal);
  if (at < 0) return s;
  let out = "";
  let last = 0;
  while (at >= 0) {
    out += s.slice(last, at) + replacement;
    last = at + literal.length;
    at = s.indexOf(literal, last);
  }
  return out + s.slice(last);
}
