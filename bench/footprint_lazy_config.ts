/**
 * What the lazy zod and yaml loading (issue 18, `lib/config/zod.ts`, `lib/config/yaml.ts`) gives
 * back: one fresh `deno run` per measurement imports `main.ts` and every component module of the
 * default agent config, then calls `releaseMemory()` and reports its memory (the probe of
 * `footprint_modules.ts`). Variants, alternated round by round:
 *
 * - **base**: the same imports from a copy of another commit (`git archive REF`, default `main`),
 *   where they load zod and yaml;
 * - **base, agent config validated**: the same after loading and validating the embedded agent
 *   config;
 * - **lazy**: this tree, where they load neither (each run checks zod's global marker is absent);
 * - **lazy, libraries loaded**: this tree after `loadConfigLibs()` (zod and yaml loaded, no schema
 *   materialized);
 * - **lazy, agent config validated**: this tree after loading and validating the embedded agent
 *   config, as a process that validates (`tfo validate`, or `tfo run` validating in-process) holds.
 *
 * ```sh
 * deno run -A bench/footprint_lazy_config.ts [runs=3] [REF=main]   # markdown table on stdout
 * ```
 *
 * @module
 */
import { AGENT_COMPONENT_MODULES, measure, type ModuleCost, PROBE } from "./footprint_modules.ts";

const ROOT = new URL("../", import.meta.url).pathname;

interface Variant {
  readonly label: string;
  /** The tree the imports come from. */
  readonly tree: string;
  /** Helper modules imported after the agent's modules (written to the temporary folder). */
  readonly after: readonly string[];
}

/** Helpers: `name` → source. Each imports the tree's modules by absolute URL. */
function helpers(tree: string): Record<string, string> {
  const url = (path: string) => JSON.stringify(new URL(path, `file://${tree}`).href);
  return {
    "expect_zod_loaded.js":
      `if (!("__zod_globalConfig" in globalThis)) throw new Error("zod was expected loaded");\n`,
    "expect_zod_absent.js":
      `if ("__zod_globalConfig" in globalThis) throw new Error("zod was loaded");\n`,
    "load_libs.js": `const { loadConfigLibs } = await import(${url("lib/config/config_libs.ts")});
await loadConfigLibs();
`,
    "validate_agent.js": `const { loadConfig } = await import(${url("pipelines/config.ts")});
const { validateWith } = await import(${url("pipelines/validate.ts")});
const { BUILTIN_COMPONENTS } = await import(${url("components/registry.ts")});
const text = await Deno.readTextFile(${JSON.stringify(`${tree}examples/agent.yaml`)});
const { raw } = await loadConfig({ files: [], texts: [{ name: "agent.yaml", text }] });
const result = await validateWith(raw, BUILTIN_COMPONENTS);
if (result.config === undefined) throw new Error("the agent config did not validate");
`,
  };
}

/** `runs` rounds of every variant in turn; the median of each, by released anonymous memory. */
export async function runFootprintLazyConfig(runs = 3, ref = "main"): Promise<string> {
  // Outside the repository: a copy under it would be read as part of its workspace.
  const dir = await Deno.makeTempDir({ prefix: "tfo-lazy-config-" });
  try {
    const base = `${dir}/base/`;
    await Deno.mkdir(base);
    const archive = new Deno.Command("sh", {
      args: ["-c", `git -C "${ROOT}" archive "${ref}" | tar -x -C "${base}"`],
    });
    if (!(await archive.output()).success) throw new Error(`Cannot export ${ref}`);
    for (const [tree, sub] of [[base, "b"], [ROOT, "l"]] as const) {
      await Deno.mkdir(`${dir}/${sub}`);
      for (const [name, text] of Object.entries(helpers(tree))) {
        await Deno.writeTextFile(`${dir}/${sub}/${name}`, text);
      }
    }
    const probe = `${dir}/probe.ts`;
    await Deno.writeTextFile(probe, PROBE);
    const variants: Variant[] = [
      { label: `base (${ref})`, tree: base, after: ["b/expect_zod_loaded.js"] },
      {
        label: `base (${ref}), then the agent config loaded and validated`,
        tree: base,
        after: ["b/validate_agent.js", "b/expect_zod_loaded.js"],
      },
      { label: "lazy (this tree)", tree: ROOT, after: ["l/expect_zod_absent.js"] },
      {
        label: "lazy, then `loadConfigLibs()`",
        tree: ROOT,
        after: ["l/load_libs.js", "l/expect_zod_loaded.js"],
      },
      {
        label: "lazy, then the agent config loaded and validated",
        tree: ROOT,
        after: ["l/validate_agent.js", "l/expect_zod_loaded.js"],
      },
    ];
    const all: ModuleCost[][] = variants.map(() => []);
    for (let round = 0; round < runs; round++) {
      for (const [i, v] of variants.entries()) {
        const imports = [
          new URL("main.ts", `file://${v.tree}`).href,
          ...AGENT_COMPONENT_MODULES.map((m) => m.replace(`file://${ROOT}`, `file://${v.tree}`)),
          ...v.after.map((h) => `file://${dir}/${h}`),
        ];
        all[i]!.push(
          await measure(v.label, imports, probe, ["--config", `${v.tree}deno.json`, "--no-lock"]),
        );
      }
    }
    const medians = all.map((list) => {
      const sorted = [...list].sort((a, b) => a.releasedAnonMib - b.releasedAnonMib);
      return sorted[Math.floor(sorted.length / 2)]!;
    });
    const first = medians[0]!;
    const range = (list: ModuleCost[]) => {
      const anon = list.map((m) => m.releasedAnonMib);
      return `${Math.min(...anon).toFixed(1)}–${Math.max(...anon).toFixed(1)}`;
    };
    return [
      `| main.ts + the default agent config's components (${runs} rounds, medians) | RSS MiB | V8 heap used MiB | after release: RSS / anonymous MiB | anonymous range | anonymous vs base |`,
      "| --- | ---: | ---: | ---: | ---: | ---: |",
      ...medians.map((m, i) =>
        `| ${m.label} | ${m.rssMib.toFixed(1)} | ${m.heapUsedMib.toFixed(1)} | ${
          m.releasedRssMib.toFixed(1)
        } / ${m.releasedAnonMib.toFixed(1)} | ${range(all[i]!)} | ${
          (m.releasedAnonMib - first.releasedAnonMib).toFixed(1)
        } |`
      ),
    ].join("\n") + "\n";
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const runs = Number(Deno.args[0] ?? 3);
  console.log(await runFootprintLazyConfig(runs, Deno.args[1] ?? "main"));
}
