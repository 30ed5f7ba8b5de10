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

/** How long a directory's listing is reused at most, even when its times say nothing changed. */
export const RESCAN_MS = 5_000;

/**
 * A listing is reused only when the directory's last change was at least this old when it was
 * listed: file system clocks tick coarsely, so an entry made in the same tick as the listing would
 * leave the directory's times as they were.
 */
export const SETTLED_MS = 1_000;

/** Finds the files of a set of globs, again and again. */
export interface FileFinder {
  /** Lists matching files, sorted, each once. Unreadable directories are skipped. */
  find(): Promise<string[]>;
}

/** A directory's times as last seen, and whether a listing taken then may be reused. */
interface Seen {
  /** Modification and status-change times (ms; NaN when the platform has none). */
  mtime: number;
  ctime: number;
  /** True when the directory had not changed for {@linkcode SETTLED_MS} when it was seen. */
  settled: boolean;
  /** Date.now() when it was seen. */
  at: number;
}

/** What one directory holds for one glob. */
interface Listing extends Seen {
  /** Matching, not excluded files. */
  files: string[];
  /** Directories the glob goes into. */
  dirs: string[];
  /** Symbolic links, resolved on every pass (their target may change without the directory). */
  links: string[];
  /** The pass that last used it (listings no pass used are dropped). */
  pass: number;
}

/** A glob whose fixed directory does not exist: the nearest ancestor that does, as last seen. */
interface Missing extends Seen {
  ancestor: string;
}

function seen(info: Deno.FileInfo, now: number): Seen {
  const mtime = info.mtime?.getTime() ?? NaN;
  const ctime = info.ctime?.getTime() ?? NaN;
  const changed = Math.max(mtime, ctime);
  return { mtime, ctime, settled: changed <= now - SETTLED_MS, at: now };
}

/** True when a directory's times are those of a settled, recent sighting. */
function unchanged(info: Deno.FileInfo, before: Seen, now: number): boolean {
  return before.settled && now - before.at < RESCAN_MS &&
    (info.mtime?.getTime() ?? NaN) === before.mtime &&
    (info.ctime?.getTime() ?? NaN) === before.ctime;
}

async function statOrUndefined(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.stat(path);
  } catch {
    return undefined;
  }
}

async function lstatOrUndefined(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.lstat(path);
  } catch {
    return undefined;
  }
}

function parentOf(path: string): string | undefined {
  if (path === "/" || path === ".") return undefined;
  const slash = path.lastIndexOf("/", path.length - 2);
  if (slash < 0) return ".";
  return slash === 0 ? "/" : path.slice(0, slash);
}

function isWanted(glob: Glob, level: number, isFile: boolean, isDir: boolean): 0 | 1 | 2 {
  if (isFile && (level + 1 === glob.depth || glob.deep)) return 1;
  if (isDir && (glob.deep || level + 1 < glob.depth)) return 2;
  return 0;
}

/**
 * Creates a finder that, between passes, keeps what each directory holds and lists a directory
 * again only when its modification or status-change time moved (an entry was added, removed or
 * renamed), when it had changed shortly before it was listed, or after {@linkcode RESCAN_MS}. A
 * glob whose fixed directory is missing costs one `stat` of the nearest existing ancestor per pass
 * (no error built per pass) until that ancestor changes. Files themselves are not looked at: their
 * growth, truncation and rotation are the tracker's, by their own `stat`.
 */
export function createFileFinder(
  include: readonly Glob[],
  exclude: readonly Glob[],
): FileFinder {
  const listings = new Map<string, Listing>();
  const missing = new Map<number, Missing>();
  let pass = 0;

  /**
   * Remembers the nearest existing ancestor of glob `g`'s missing fixed directory. When a link on
   * the way is there but points nowhere, its target may appear without the ancestor changing, so
   * nothing is remembered and every pass looks again.
   */
  async function noteMissing(g: number, glob: Glob, now: number): Promise<void> {
    if (await lstatOrUndefined(glob.base) !== undefined) return;
    for (let dir = parentOf(glob.base); dir !== undefined; dir = parentOf(dir)) {
      const info = await statOrUndefined(dir);
      if (info === undefined) {
        if (await lstatOrUndefined(dir) !== undefined) return;
        continue;
      }
      missing.set(g, { ...seen(info, now), ancestor: dir });
      return;
    }
  }

  async function list(
    glob: Glob,
    dir: string,
    level: number,
    info: Deno.FileInfo,
    now: number,
  ): Promise<Listing | undefined> {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(dir));
    } catch {
      return undefined;
    }
    const listing: Listing = { ...seen(info, now), files: [], dirs: [], links: [], pass };
    for (const e of entries) {
      const path = dir === "." ? e.name : dir.endsWith("/") ? dir + e.name : `${dir}/${e.name}`;
      if (e.isSymlink) {
        listing.links.push(path);
        continue;
      }
      const wanted = isWanted(glob, level, e.isFile, e.isDirectory);
      if (wanted === 1) {
        if (glob.re.test(path) && !exclude.some((x) => x.re.test(path))) listing.files.push(path);
      } else if (wanted === 2) listing.dirs.push(path);
    }
    return listing;
  }

  async function walk(
    g: number,
    glob: Glob,
    dir: string,
    level: number,
    found: Set<string>,
    now: number,
  ): Promise<boolean> {
    const key = `${g}\0${dir}`;
    const info = await statOrUndefined(dir);
    if (info === undefined || !info.isDirectory) {
      listings.delete(key);
      return info !== undefined;
    }
    let listing = listings.get(key);
    if (listing === undefined || !unchanged(info, listing, now)) {
      listing = await list(glob, dir, level, info, now);
      if (listing === undefined) {
        listings.delete(key);
        return true;
      }
      listings.set(key, listing);
    }
    listing.pass = pass;
    for (const path of listing.files) found.add(path);
    for (const path of listing.links) {
      const target = await statOrUndefined(path);
      if (target === undefined) continue;
      const wanted = isWanted(glob, level, target.isFile, target.isDirectory && !glob.deep);
      if (wanted === 1) {
        if (glob.re.test(path) && !exclude.some((x) => x.re.test(path))) found.add(path);
      } else if (wanted === 2) await walk(g, glob, path, level + 1, found, now);
    }
    for (const path of listing.dirs) await walk(g, glob, path, level + 1, found, now);
    return true;
  }

  return {
    async find() {
      pass++;
      const now = Date.now();
      const found = new Set<string>();
      for (let g = 0; g < include.length; g++) {
        const glob = include[g]!;
        const before = missing.get(g);
        if (before !== undefined) {
          const info = await statOrUndefined(before.ancestor);
          if (info !== undefined && unchanged(info, before, now)) continue;
          missing.delete(g);
        }
        if (!await walk(g, glob, glob.base, 0, found, now)) await noteMissing(g, glob, now);
      }
      for (const [key, listing] of listings) if (listing.pass !== pass) listings.delete(key);
      return [...found].sort();
    },
  };
}

/** Lists matching files once, sorted, each once. Unreadable directories are skipped. */
export function findFiles(include: readonly Glob[], exclude: readonly Glob[]): Promise<string[]> {
  return createFileFinder(include, exclude).find();
}
