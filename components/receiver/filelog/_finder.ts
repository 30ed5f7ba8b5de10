/**
 * Finds the files the `include` globs name and the `exclude` globs do not. Globs: `*` and `?`
 * within one path segment, `[abc]` / `[!abc]` classes, `{a,b}` alternatives, and `**` for any
 * number of directories (zero included). Walking starts at each glob's fixed leading directory.
 *
 * @module
 */

/** A compiled glob. */
export interface Glob {
  /** The directory before the first wildcard. */
  readonly base: string;
  /** Matches a whole path. */
  readonly re: RegExp;
  /** True when the glob can match below `base` at any depth. */
  readonly deep: boolean;
  /** How many segments below `base` the glob spans (when not deep). */
  readonly depth: number;
}

const SPECIAL = /[*?[{]/;

function escapeRe(c: string): string {
  return /[.+^$()|\\\]\/]/.test(c) ? "\\" + c : c;
}

/** Compiles a glob to a regex over whole paths. */
export function compileGlob(pattern: string): Glob {
  const segments = pattern.split("/");
  let fixed = 0;
  while (fixed < segments.length - 1 && !SPECIAL.test(segments[fixed]!)) fixed++;
  const base = segments.slice(0, fixed).join("/") || (pattern.startsWith("/") ? "/" : ".");
  let re = "";
  let deep = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*") {
      if (pattern[i + 1] === "*") {
        deep = true;
        const slashAfter = pattern[i + 2] === "/";
        const slashBefore = i === 0 || pattern[i - 1] === "/";
        if (slashBefore && slashAfter) {
          re += "(?:[^/]*/)*";
          i += 2;
        } else {
          re += ".*";
          i += 1;
        }
      } else re += "[^/]*";
    } else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end < 0) re += "\\[";
      else {
        let body = pattern.slice(i + 1, end);
        if (body.startsWith("!")) body = "^" + body.slice(1);
        re += "[" + body.replaceAll("\\", "\\\\") + "]";
        i = end;
      }
    } else if (c === "{") {
      const end = pattern.indexOf("}", i);
      if (end < 0) re += "\\{";
      else {
        re += "(?:" + pattern.slice(i + 1, end).split(",").map((alt) =>
          [...alt].map(escapeRe).join("")
        ).join("|") + ")";
        i = end;
      }
    } else re += escapeRe(c);
  }
  return { base, re: new RegExp("^" + re + "$"), deep, depth: segments.length - fixed };
}

/** Lists matching files, sorted, each once. Unreadable directories are skipped. */
export async function findFiles(
  include: readonly Glob[],
  exclude: readonly Glob[],
): Promise<string[]> {
  const found = new Set<string>();
  for (const glob of include) await walk(glob, glob.base, 0, found, exclude);
  return [...found].sort();
}

async function walk(
  glob: Glob,
  dir: string,
  level: number,
  found: Set<string>,
  exclude: readonly Glob[],
): Promise<void> {
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch {
    return;
  }
  for (const e of entries) {
    const path = dir === "." ? e.name : dir.endsWith("/") ? dir + e.name : `${dir}/${e.name}`;
    let isFile = e.isFile;
    let isDir = e.isDirectory;
    if (e.isSymlink) {
      try {
        const info = await Deno.stat(path);
        isFile = info.isFile;
        isDir = info.isDirectory && glob.deep === false;
      } catch {
        continue;
      }
    }
    if (isFile && level + 1 === glob.depth || isFile && glob.deep) {
      if (glob.re.test(path) && !exclude.some((x) => x.re.test(path))) found.add(path);
    } else if (isDir && (glob.deep || level + 1 < glob.depth)) {
      await walk(glob, path, level + 1, found, exclude);
    }
  }
}
