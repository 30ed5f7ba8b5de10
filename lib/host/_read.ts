/**
 * Private helpers of the /proc and /sys readers: path joining under a root prefix, file reads that
 * tell "absent" apart from other failures, and whitespace field splitting without regular
 * expressions (these run on every line of every scrape).
 *
 * @module
 */

/** The kernel's USER_HZ: /proc reports CPU times in these ticks (100 on every Linux ABI). */
export const CLOCK_TICKS_PER_SECOND = 100;

/** Where the host's file system is mounted; "" for this machine's own `/`. */
export type RootPath = string;

/** Joins `root` (no trailing slash needed) and an absolute path such as `/proc/stat`. */
export function hostPath(root: RootPath, path: string): string {
  if (root === "" || root === "/") return path;
  return root.endsWith("/") ? root + path.slice(1) : root + path;
}

/** True for the errors a read gives when a source does not exist or is not offered. */
export function isAbsent(error: unknown): boolean {
  return error instanceof Deno.errors.NotFound ||
    error instanceof Deno.errors.NotSupported ||
    error instanceof Deno.errors.PermissionDenied ||
    (error instanceof Error && "code" in error &&
      (error.code === "EOPNOTSUPP" || error.code === "ENOTSUP" || error.code === "ENOENT"));
}

/** Reads a whole text file. */
export function readText(path: string): Promise<string> {
  return Deno.readTextFile(path);
}

/**
 * Reads a whole text file on the calling thread. Only for small /proc files whose read never waits
 * for another process's memory map (`stat`, `status`, `io`; not `cmdline` or `environ`): there the
 * trip through the runtime's blocking pool costs several times the read itself.
 */
export function readTextSync(path: string): string {
  return Deno.readTextFileSync(path);
}

/** Reads a whole text file, or undefined when it is absent (or not readable/supported). */
export async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (isAbsent(error)) return undefined;
    throw error;
  }
}

/** True for a space, tab, newline or carriage return (a character code). */
export function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

/** Splits on runs of spaces and tabs, ignoring leading and trailing ones. */
export function splitFields(line: string): string[] {
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (isSpace(c)) {
      if (start >= 0) {
        out.push(line.slice(start, i));
        start = -1;
      }
    } else if (start < 0) {
      start = i;
    }
  }
  if (start >= 0) out.push(line.slice(start));
  return out;
}

/** Splits text into lines, dropping a trailing empty line. */
export function splitLines(text: string): string[] {
  const lines = text.split("\n");
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines;
}

/** A decimal number, or 0 for a missing or malformed field. */
export function num(text: string | undefined): number {
  if (text === undefined) return 0;
  const n = Number(text);
  return Number.isFinite(n) ? n : 0;
}

/** Parses `Key: value` lines (meminfo, status, io) into a map of trimmed value texts. */
export function parseKeyValueLines(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of splitLines(text)) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    out.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return out;
}

/** A `1234 kB` value in bytes (a plain number is taken as is). */
export function kbValue(text: string | undefined): number {
  if (text === undefined) return 0;
  const space = text.indexOf(" ");
  if (space < 0) return num(text);
  const n = num(text.slice(0, space));
  return text.endsWith("kB") ? n * 1024 : n;
}

/** Undoes the octal escapes (`\040` for a space) that /proc uses in mount paths. */
export function unescapeOctal(text: string): string {
  if (!text.includes("\\")) return text;
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "\\" && i + 3 < text.length && /^[0-7]{3}$/.test(text.slice(i + 1, i + 4))) {
      out += String.fromCharCode(parseInt(text.slice(i + 1, i + 4), 8));
      i += 3;
    } else {
      out += c;
    }
  }
  return out;
}
