/**
 * Regular expressions written for the OpenTelemetry Collector (Go RE2 syntax) compiled to
 * JavaScript: `(?P<name>…)` named groups and leading `(?i)`, `(?s)`, `(?m)` flags are translated.
 * Patterns compile without the `u` flag unless they need it (`\p{…}`), as JavaScript is stricter
 * about escapes in Unicode mode. Matching is unanchored, as Go's `MatchString`.
 *
 * @module
 */

const GO_NAMED_GROUP = /\(\?P</g;
const LEADING_FLAGS = /^\(\?([ims]+)\)/;

/**
 * Compiles a Go-style pattern. Throws a `SyntaxError` when JavaScript cannot compile it.
 * @param pattern the pattern as written in the config
 */
export function compileRegex(pattern: string): RegExp {
  let source = pattern.replace(GO_NAMED_GROUP, "(?<");
  let flags = "";
  const lead = LEADING_FLAGS.exec(source);
  if (lead !== null) {
    for (const f of new Set(lead[1]!)) flags += f;
    source = source.slice(lead[0].length);
  }
  try {
    return new RegExp(source, flags);
  } catch (error) {
    // Unicode classes (`\p{L}`) need the `u` flag, which is stricter about other escapes.
    try {
      return new RegExp(source, flags + "u");
    } catch {
      throw error;
    }
  }
}

/** The error message of a pattern that does not compile, or undefined when it compiles. */
export function regexError(pattern: string): string | undefined {
  try {
    compileRegex(pattern);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** The capture groups of a compiled pattern: how many, and the names of the named ones. */
export function captureGroups(re: RegExp): { count: number; names: string[] } {
  // An alternative that matches the empty string yields every group, unset.
  const m = new RegExp(`${re.source}|`, re.flags).exec("")!;
  return { count: m.length - 1, names: m.groups === undefined ? [] : Object.keys(m.groups) };
}
