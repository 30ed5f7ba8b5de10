/**
 * `deno task bundle`: tfo as a few JavaScript files in `dist/bundle/` (issue 18, the idle agent's
 * memory). `deno bundle` (esbuild) joins the ~450 source modules and the npm packages they import
 * into chunks, one per component factory that a config loads on demand (code splitting keeps the
 * registry's dynamic imports lazy) plus the chunks they share, so the running process holds a few
 * dozen modules instead of hundreds and no npm package layer. Run it with the `start` task's flags
 * and lazy dynamic imports (deno.json's `unstable` list does not apply outside the repository):
 *
 * ```sh
 * deno task bundle
 * deno run --unstable-lazy-dynamic-imports --allow-all --unstable-kv --unstable-net \
 *   --v8-flags=--max-semi-space-size=2 dist/bundle/main.js run
 * ```
 *
 * The two workers' entry modules (`pipelines/worker_main.ts`, the zpages page server) are bundled
 * as entries of their own; the `new URL("./x.ts", import.meta.url)` that starts each is rewritten
 * to the bundled file's place (esbuild leaves such URLs alone). Every rewrite must match exactly
 * once, so a renamed worker file fails the bundle instead of shipping a worker that cannot start.
 *
 * Files that npm packages open relative to their own module (`@platformatic/kafka`'s WebAssembly)
 * are copied into `assets/` and their URLs rewritten the same way.
 *
 * Not minified: Deno 2.9.6's `deno bundle --minify` emits esbuild's throwing `require` shim in
 * place of Deno's, and the bundled CommonJS packages then fail at start ("Dynamic require of
 * "node:process" is not supported").
 *
 * @module
 */
import { parseArgs } from "node:util";
import { basename, dirname, join, relative } from "node:path";
import { copyFileSync, existsSync, mkdirSync } from "node:fs";

const ROOT = new URL("../", import.meta.url).pathname;

/** The entry modules: the CLI and the modules workers start. */
export const ENTRIES: readonly string[] = [
  "main.ts",
  "pipelines/worker_main.ts",
  "components/extension/zpages/_page_server.ts",
];

/** A worker URL as the source writes it, and the bundled entry it must point to. */
interface WorkerUrl {
  readonly source: string;
  readonly bundled: string;
}

const WORKER_URLS: readonly WorkerUrl[] = [
  { source: "./worker_main.ts", bundled: "pipelines/worker_main.js" },
  { source: "./_page_server.ts", bundled: "components/extension/zpages/_page_server.js" },
];

/** Every `.js` file under `dir`, as paths relative to it. */
async function jsFiles(dir: string, under = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(join(dir, under))) {
    const path = under === "" ? entry.name : `${under}/${entry.name}`;
    if (entry.isDirectory) out.push(...await jsFiles(dir, path));
    else if (entry.name.endsWith(".js")) out.push(path);
  }
  return out;
}

/**
 * Points each worker's `new URL(…, import.meta.url)` at its bundled entry, relative to the chunk
 * the code landed in. Throws unless each source URL occurs exactly once in the output.
 */
export async function rewriteWorkerUrls(outDir: string): Promise<void> {
  const files = await jsFiles(outDir);
  for (const url of WORKER_URLS) {
    // Any spacing, in case esbuild's printing changes.
    const quoted = JSON.stringify(url.source).replaceAll(".", "\\.");
    const needle = new RegExp(`new URL\\(\\s*${quoted}\\s*,\\s*import\\.meta\\.url\\s*\\)`, "g");
    const hits: string[] = [];
    for (const file of files) {
      const text = await Deno.readTextFile(join(outDir, file));
      for (const _ of text.matchAll(needle)) hits.push(file);
    }
    if (hits.length !== 1) {
      throw new Error(
        `Cannot point the worker ${url.source} at its bundle: ${hits.length} occurrences of ${needle.source}`,
      );
    }
    const file = hits[0]!;
    const dir = file.includes("/") ? file.slice(0, file.lastIndexOf("/")) : "";
    let target = relative(join(outDir, dir), join(outDir, url.bundled));
    if (!target.startsWith(".")) target = `./${target}`;
    const text = await Deno.readTextFile(join(outDir, file));
    await Deno.writeTextFile(
      join(outDir, file),
      text.replace(needle, `new URL(${JSON.stringify(target)}, import.meta.url)`),
    );
  }
}

/** `new URL("relative", import.meta.url)` with any spacing; group 1 is the JSON string. */
const FILE_URL = /new URL\(\s*("(?:\.\.?\/)[^"]*")\s*,\s*import\.meta\.url\s*\)/g;

/** esbuild's comment naming the source file of the code after it, relative to the repository. */
const SOURCE_COMMENT = /^\/\/ (\S+\.[cm]?[jt]s)$/gm;

/**
 * Copies every file the bundled code opens by a URL relative to its own module (an npm package's
 * `.wasm`, read with `readFileSync(new URL("../dist/native.wasm", import.meta.url))`) into
 * `assets/` and points the URL there. The module is the one esbuild's `// path` comment before
 * the URL names. Runs after {@linkcode rewriteWorkerUrls}, whose targets exist in the bundle and
 * are left alone. Throws when a file cannot be found.
 */
export async function copyRelativeAssets(outDir: string): Promise<string[]> {
  const copied: string[] = [];
  for (const file of await jsFiles(outDir)) {
    const path = join(outDir, file);
    const text = await Deno.readTextFile(path);
    const sources = [...text.matchAll(SOURCE_COMMENT)].map((m) => ({ at: m.index, path: m[1]! }));
    const chunkDir = dirname(path);
    let changed = false;
    const rewritten = text.replace(FILE_URL, (whole, quoted: string, at: number) => {
      const rel = JSON.parse(quoted) as string;
      // A worker entry, already pointed at the bundle.
      if (existsSync(join(chunkDir, rel))) return whole;
      const source = sources.filter((s) => s.at < at).at(-1);
      if (source === undefined) {
        throw new Error(`Cannot tell which module of ${file} opens ${rel}`);
      }
      const asset = join(ROOT, dirname(source.path), rel);
      if (!existsSync(asset)) {
        throw new Error(`Cannot find ${rel}, opened by ${source.path}, at ${asset}`);
      }
      const name = `assets/${copied.length}_${basename(asset)}`;
      mkdirSync(join(outDir, "assets"), { recursive: true });
      copyFileSync(asset, join(outDir, name));
      copied.push(name);
      changed = true;
      let target = relative(chunkDir, join(outDir, name));
      if (!target.startsWith(".")) target = `./${target}`;
      return `new URL(${JSON.stringify(target)}, import.meta.url)`;
    });
    if (changed) await Deno.writeTextFile(path, rewritten);
  }
  return copied;
}

/** Options of {@linkcode bundle}. */
export interface BundleOptions {
  /**
   * The output directory; emptied first.
   * @default dist/bundle under the repository
   */
  outDir?: string;
}

/** Bundles tfo into `outDir` and returns the path of its entry, `main.js`. */
export async function bundle(options: BundleOptions = {}): Promise<string> {
  const outDir = options.outDir ?? join(ROOT, "dist/bundle");
  await Deno.remove(outDir, { recursive: true }).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      "--platform",
      "deno",
      "--code-splitting",
      "--outdir",
      outDir,
      ...ENTRIES,
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`deno bundle failed:\n${new TextDecoder().decode(out.stderr)}`);
  }
  await rewriteWorkerUrls(outDir);
  await copyRelativeAssets(outDir);
  return join(outDir, "main.js");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { out: { type: "string" } },
  });
  const entry = await bundle(values.out === undefined ? {} : { outDir: values.out });
  console.log(`Bundled into ${entry}`);
}
