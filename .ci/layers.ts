/**
 * Checks the import layers of the source tree (`deno task layers`, part of `deno task check`):
 *
 * - `lib/` imports only `lib/`; `components/` imports `lib/` and `components/`; `pipelines/`
 *   imports those and itself; `main.ts` imports any of them. None of them imports `tests/`,
 *   `bench/` or `.ci/`. Tests, benchmarks and this tooling may import anything.
 * - No import cycle joins modules of different folders (type-only imports included: a cycle of
 *   types still ties two folders together), and none joins `pipelines/config.ts` and
 *   `pipelines/validate.ts`, the pair that had one.
 *
 * Every `.ts` file's static imports, re-exports and literal dynamic imports are read after comments
 * are blanked out. Prints every violation with its file and line; exits 1 when there is one.
 *
 * @module
 */
import { dirname, join, normalize, relative } from "node:path";

/** Layers that must not reach upward; a folder not listed (tests, bench, .ci) may import anything. */
const RANK: Readonly<Record<string, number>> = { lib: 0, components: 1, pipelines: 2, main: 3 };

/** Folders never walked. */
const SKIP = new Set([".git", "dist", "node_modules", "tools", "fixtures_out"]);

/** One import of one module. */
export interface Import {
  readonly from: string;
  readonly to: string;
  readonly line: number;
}

/** The layer of a repository path: its top folder, `main` for `main.ts`. */
export function layerOf(path: string): string {
  if (path === "main.ts") return "main";
  const slash = path.indexOf("/");
  return slash < 0 ? "" : path.slice(0, slash);
}

/** The text with comments replaced by spaces (newlines kept), strings and templates left alone. */
export function blankComments(text: string): string {
  let out = "";
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    const next = text[i + 1];
    if (c === "/" && next === "/") {
      const end = text.indexOf("\n", i);
      const stop = end < 0 ? text.length : end;
      out += " ".repeat(stop - i);
      i = stop;
    } else if (c === "/" && next === "*") {
      const end = text.indexOf("*/", i + 2);
      const stop = end < 0 ? text.length : end + 2;
      out += text.slice(i, stop).replace(/[^\n]/g, " ");
      i = stop;
    } else if (c === '"' || c === "'" || c === "`") {
      let j = i + 1;
      while (j < text.length && text[j] !== c) {
        if (text[j] === "\\") j++;
        else if (c !== "`" && text[j] === "\n") break;
        j++;
      }
      out += text.slice(i, j + 1);
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

const PATTERNS: readonly RegExp[] = [
  // import x from "…"; import type { x } from "…"; export { x } from "…"; export * from "…"
  /(?:^|[\s;}])(?:import|export)\s[^;"'`]*?\sfrom\s*["']([^"']+)["']/g,
  // import "…"
  /(?:^|[\s;}])import\s*["']([^"']+)["']/g,
  // import("…")
  /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
];

/** The relative specifiers a module imports, with their lines. */
export function importsOf(text: string): Array<{ specifier: string; line: number }> {
  const code = blankComments(text);
  const found: Array<{ specifier: string; line: number; at: number }> = [];
  for (const pattern of PATTERNS) {
    for (const m of code.matchAll(pattern)) {
      const specifier = m[1]!;
      if (!specifier.startsWith(".")) continue;
      const at = m.index! + m[0].lastIndexOf(specifier);
      found.push({ specifier, at, line: code.slice(0, at).split("\n").length });
    }
  }
  return found.sort((a, b) => a.at - b.at).map(({ specifier, line }) => ({ specifier, line }));
}

async function* walk(root: string, dir = ""): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(join(root, dir))) {
    if (SKIP.has(entry.name)) continue;
    const path = dir === "" ? entry.name : `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* walk(root, path);
    else if (entry.isFile && path.endsWith(".ts")) yield path;
  }
}

/** Every import between the repository's modules, paths relative to `root`. */
export async function readImports(root: string): Promise<Import[]> {
  const out: Import[] = [];
  for await (const from of walk(root)) {
    const text = await Deno.readTextFile(join(root, from));
    for (const { specifier, line } of importsOf(text)) {
      const to = normalize(join(dirname(from), specifier));
      out.push({ from, to: relative(".", to), line });
    }
  }
  return out;
}

/** Imports that reach a layer they must not. */
export function layerViolations(imports: readonly Import[]): string[] {
  const out: string[] = [];
  for (const { from, to, line } of imports) {
    const fromRank = RANK[layerOf(from)];
    if (fromRank === undefined || !to.endsWith(".ts")) continue;
    const toRank = RANK[layerOf(to)];
    if (toRank === undefined || toRank > fromRank) {
      out.push(`${from}:${line}  imports ${to}: ${layerOf(from)} must not import ${layerOf(to)}`);
    }
  }
  return out;
}

/** Strongly connected groups of more than one module (Tarjan), each sorted. */
export function cycles(imports: readonly Import[]): string[][] {
  const edges = new Map<string, string[]>();
  for (const { from, to } of imports) {
    if (!edges.has(to)) edges.set(to, []);
    edges.set(from, [...(edges.get(from) ?? []), to]);
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  let counter = 0;
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1) groups.push(group.sort());
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return groups;
}

/** Pairs that must never be in one cycle, even within a folder. */
const NEVER_TOGETHER: ReadonlyArray<readonly [string, string]> = [
  ["pipelines/config.ts", "pipelines/validate.ts"],
];

/** Cycles that join modules of different folders, or a pair of {@linkcode NEVER_TOGETHER}. */
export function cycleViolations(imports: readonly Import[]): string[] {
  const out: string[] = [];
  for (const group of cycles(imports)) {
    const folders = new Set(group.map((p) => dirname(p)));
    const pair = NEVER_TOGETHER.find(([a, b]) => group.includes(a) && group.includes(b));
    if (folders.size > 1 || pair !== undefined) {
      out.push(`import cycle: ${group.join(" ⇄ ")}`);
    }
  }
  return out;
}

if (import.meta.main) {
  const root = new URL("..", import.meta.url).pathname;
  Deno.chdir(root);
  const imports = await readImports(".");
  const problems = [...layerViolations(imports), ...cycleViolations(imports)];
  for (const p of problems) console.error(p);
  if (problems.length > 0) {
    console.error(`${problems.length} layer problem(s)`);
    Deno.exit(1);
  }
  console.log(`layers: ${imports.length} imports checked, none crosses a layer the wrong way`);
}
