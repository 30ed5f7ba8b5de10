/**
 * Issue 18: importing tfo's run-time code — `main.ts`, the service, and every built-in
 * component's factory module — loads neither zod nor yaml. A fresh `deno run` imports them under a
 * config whose import map points `zod` and `yaml` at a tripwire module that throws when
 * evaluated, so any import of either library (static or dynamic, direct or through a dependency)
 * fails the probe; the probe also reports the facades' own state and checks that every factory's
 * `configSchema` is a recorded (not yet real) schema.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../../../", import.meta.url);
const file = (path: string) => new URL(path, ROOT).href;

const PROBE = `
await import(${JSON.stringify(file("main.ts"))});
await import(${JSON.stringify(file("pipelines/service.ts"))});
const { BUILTIN_COMPONENTS } = await import(${JSON.stringify(file("components/registry.ts"))});
const factories = await Promise.all(BUILTIN_COMPONENTS.map((row) => row.load()));
const { isRecorded, zodLoaded } = await import(${JSON.stringify(file("lib/config/zod.ts"))});
const { yamlLoaded } = await import(${JSON.stringify(file("lib/config/yaml.ts"))});
console.log(JSON.stringify({
  factories: factories.length,
  zodLoaded: zodLoaded(),
  yamlLoaded: yamlLoaded(),
  zodGlobals: Object.keys(globalThis).filter((k) => k.startsWith("__zod")),
  realSchemas: factories.filter((f) => !isRecorded(f.configSchema)).map((f) => f.kind + "/" + f.type),
}));
`;

const TRIPWIRE = `throw new Error("A run-time module imported " + import.meta.url);\n`;

Deno.test("main.ts, the service and every component module import neither zod nor yaml", async () => {
  // Outside the repository: a config file under it would join its workspace.
  const dir = await Deno.makeTempDir({ prefix: "tfo-zlazy-" });
  try {
    const repo = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))) as {
      imports: Record<string, string>;
      unstable: string[];
    };
    await Deno.writeTextFile(`${dir}/zod_tripwire.js`, TRIPWIRE);
    await Deno.writeTextFile(`${dir}/yaml_tripwire.js`, TRIPWIRE);
    const imports = {
      ...repo.imports,
      zod: `${dir}/zod_tripwire.js`,
      yaml: `${dir}/yaml_tripwire.js`,
    };
    await Deno.writeTextFile(
      `${dir}/deno.json`,
      JSON.stringify({ imports, unstable: repo.unstable }),
    );
    await Deno.writeTextFile(`${dir}/probe.js`, PROBE);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", "--config", `${dir}/deno.json`, "--no-lock", `${dir}/probe.js`],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.ok(out.success, `The probe failed:\n${stderr}`);
    const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
    const report = JSON.parse(lines[lines.length - 1]!);
    assert.ok(report.factories >= 40, `only ${report.factories} factories loaded`);
    assert.deepEqual(
      { ...report, factories: undefined },
      {
        factories: undefined,
        zodLoaded: false,
        yamlLoaded: false,
        zodGlobals: [],
        realSchemas: [],
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
