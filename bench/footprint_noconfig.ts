/**
 * What the running agent would save if zod and yaml were never imported into it (issue 18): one
 * fresh `deno run` per measurement imports `main.ts` and every component module of the default
 * agent config, as `bench/footprint_modules.ts`'s last row does, then calls `releaseMemory()` and
 * reports its anonymous RSS. The variants differ only in the import map: the repository's, or one
 * in which `zod`, `yaml` or both resolve to a stand-in module (a `Proxy` that answers every
 * property read and call with itself, so the modules' top-level schema building still runs, over
 * no library code). The stand-in validates nothing: the numbers are what the libraries' code,
 * their npm-layer bookkeeping and the schema objects they build hold, i.e. an upper bound of what
 * a run path that validated elsewhere and kept zod and yaml out of the process would give back.
 * Each probe first checks whether the real zod is loaded (`"object" in z`) and fails otherwise,
 * so a stand-in that does not take effect cannot pass unnoticed (yaml follows the same map). Variants alternate; medians of `runs` each.
 *
 * ```sh
 * deno run -A bench/footprint_noconfig.ts 3       # markdown table on stdout
 * ```
 *
 * @module
 */
import { AGENT_COMPONENT_MODULES, measure, type ModuleCost, PROBE } from "./footprint_modules.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** The stand-in module for zod and yaml (`_config_libs_stand_in.js`). */
const STAND_IN = new URL("./_config_libs_stand_in.js", import.meta.url);

/** The probe, first failing unless `"zod"` resolves to the real zod exactly when `real`. */
function checkedProbe(real: boolean): string {
  return `const { z } = await import("zod");
if (("object" in z) !== ${real}) throw new Error("The import map did not take effect");
${PROBE}`;
}

interface Variant {
  readonly label: string;
  readonly standIn: readonly ("zod" | "yaml")[];
  /** Import one `deno bundle` (code splitting) of the same modules instead of the sources. */
  readonly bundled?: boolean;
  /**
   * Packages imported as well by the specifier deno.json maps them to (`npm:zod@…`), which the
   * stand-in's import map does not redirect: the library loaded, but no schema built with it.
   */
  readonly alsoReal?: readonly ("zod" | "yaml")[];
}

const VARIANTS: readonly Variant[] = [
  { label: "as shipped (zod and yaml loaded)", standIn: [] },
  { label: "zod replaced by the stand-in", standIn: ["zod"] },
  { label: "yaml replaced by the stand-in", standIn: ["yaml"] },
  { label: "zod and yaml replaced", standIn: ["zod", "yaml"] },
  {
    label: "zod and yaml replaced, the real zod and yaml imported beside (no schema built)",
    standIn: ["zod", "yaml"],
    alsoReal: ["zod", "yaml"],
  },
  {
    label: "bundled (`deno bundle --code-splitting` of the same modules)",
    standIn: [],
    bundled: true,
  },
  {
    label: "bundled, zod and yaml replaced (left external)",
    standIn: ["zod", "yaml"],
    bundled: true,
  },
];

/** Bundles `imports` into `dir/<name>/entry.js`, leaving the stand-in's packages external. */
async function bundleOf(dir: string, name: string, imports: readonly string[], v: Variant) {
  const entry = `${dir}/${name}_entry.ts`;
  await Deno.writeTextFile(entry, imports.map((i) => `import ${JSON.stringify(i)};\n`).join(""));
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      "--config",
      `${ROOT}deno.json`,
      "--platform",
      "deno",
      "--code-splitting",
      ...v.standIn.flatMap((p) => ["--external", p]),
      "--outdir",
      `${dir}/${name}`,
      entry,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`deno bundle failed: ${new TextDecoder().decode(out.stderr)}`);
  return `file://${dir}/${name}/${name}_entry.js`;
}

/** A deno.json like the repository's whose import map sends `names` to the stand-in. */
async function configFor(dir: string, variant: Variant): Promise<string[]> {
  if (variant.standIn.length === 0) return ["--config", `${ROOT}deno.json`];
  const repo = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)) as {
    imports: Record<string, string>;
    unstable: string[];
  };
  const imports = { ...repo.imports };
  for (const name of variant.standIn) imports[name] = `${dir}/stand_in.js`;
  const path = `${dir}/deno.${variant.standIn.join("_")}.json`;
  await Deno.writeTextFile(path, JSON.stringify({ imports, unstable: repo.unstable }));
  return ["--config", path, "--no-lock"];
}

/** Measures every variant `runs` times, alternating, and returns the markdown table. */
export async function runFootprintNoConfig(runs = 3): Promise<string> {
  // Outside the repository: a config file under it would be read as part of its workspace, whose
  // deno.json maps zod and yaml to the real packages again.
  const dir = await Deno.makeTempDir({ prefix: "tfo-noconfig-" });
  const probes = VARIANTS.map((_, i) => `${dir}/probe${i}.ts`);
  for (const [i, v] of VARIANTS.entries()) {
    await Deno.writeTextFile(probes[i]!, checkedProbe(!v.standIn.includes("zod")));
  }
  await Deno.copyFile(STAND_IN, `${dir}/stand_in.js`);
  const imports = [new URL("../main.ts", import.meta.url).href, ...AGENT_COMPONENT_MODULES];
  try {
    const args = await Promise.all(VARIANTS.map((v) => configFor(dir, v)));
    const repoImports = (JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)) as {
      imports: Record<string, string>;
    }).imports;
    const importsOf = await Promise.all(
      VARIANTS.map((v, i) => v.bundled === true ? bundleOf(dir, `b${i}`, imports, v) : undefined),
    );
    const results: ModuleCost[][] = VARIANTS.map(() => []);
    for (let round = 0; round < runs; round++) {
      for (const [i, v] of VARIANTS.entries()) {
        const what = [
          ...(importsOf[i] === undefined ? imports : [importsOf[i]!]),
          ...(v.alsoReal ?? []).map((name) => repoImports[name]!),
        ];
        results[i]!.push(await measure(v.label, what, probes[i]!, args[i]!));
      }
    }
    const med = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const base = med(results[0]!.map((r) => r.releasedAnonMib));
    const lines = [
      `| main.ts + the default agent config's components (${runs} runs each, medians) | RSS MiB | V8 heap used MiB | after release: RSS / anonymous MiB | anonymous saved |`,
      "| --- | ---: | ---: | ---: | ---: |",
      ...VARIANTS.map((v, i) => {
        const rs = results[i]!;
        const anon = med(rs.map((r) => r.releasedAnonMib));
        return `| ${v.label} | ${med(rs.map((r) => r.rssMib)).toFixed(1)} | ${
          med(rs.map((r) => r.heapUsedMib)).toFixed(1)
        } | ${med(rs.map((r) => r.releasedRssMib)).toFixed(1)} / ${anon.toFixed(1)} | ${
          (base - anon).toFixed(1)
        } |`;
      }),
    ];
    return lines.join("\n") + "\n";
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  console.log(await runFootprintNoConfig(Number(Deno.args[0] ?? 3)));
}
