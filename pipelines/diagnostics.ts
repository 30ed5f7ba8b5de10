/**
 * Config diagnostics: one problem at one position. Loading and validation return lists of them
 * rather than throwing, so every problem of a config is reported at once.
 *
 * @module
 */

/** One problem found in a config, with where it is. */
export interface Diagnostic {
  /** An error makes the config unusable; a warning does not. */
  severity: "error" | "warning";
  /** The source: a file path, the name of a text config, or `--set`. */
  file: string;
  /** 1-based line; 0 when the problem concerns the whole source (it cannot be read). */
  line: number;
  /** 1-based column; 0 with line 0. */
  col: number;
  /** The dotted config path, `exporters.otlphttp/eu.endpoint`; empty for the whole source. */
  path: string;
  /** What is wrong, never echoing a secret value. */
  message: string;
}

/**
 * Formats a diagnostic as one line:
 * `agent.yaml:12:5  exporters.otlphttp.endpoint: must be an http or https URL …`. Warnings say
 * `warning:` before the path; a diagnostic without a line shows the file alone.
 */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.file === "" ? "" : d.line > 0 ? `${d.file}:${d.line}:${d.col}  ` : `${d.file}  `;
  const severity = d.severity === "warning" ? "warning: " : "";
  const path = d.path === "" ? "" : `${d.path}: `;
  return `${where}${severity}${path}${d.message}`;
}

/** True when any diagnostic is an error. */
export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === "error");
}

/**
 * Sorts diagnostics by source, line and column, and drops duplicates.
 * @param sources source names in load order; sources not listed sort after them, by name
 */
export function sortDiagnostics(
  diagnostics: readonly Diagnostic[],
  sources: readonly string[] = [],
): Diagnostic[] {
  const rank = (file: string) => {
    const i = sources.indexOf(file);
    return i < 0 ? sources.length : i;
  };
  const seen = new Set<string>();
  const unique: Diagnostic[] = [];
  for (const d of diagnostics) {
    const key = JSON.stringify([d.severity, d.file, d.line, d.col, d.path, d.message]);
    if (seen.has(key)) continue;
    seen.add(key);
    unique.push(d);
  }
  return unique.sort((a, b) =>
    rank(a.file) - rank(b.file) ||
    (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) ||
    a.line - b.line ||
    a.col - b.col ||
    (a.severity === b.severity ? 0 : a.severity === "error" ? -1 : 1) ||
    (a.path < b.path ? -1 : a.path > b.path ? 1 : 0) ||
    (a.message < b.message ? -1 : a.message > b.message ? 1 : 0)
  );
}
