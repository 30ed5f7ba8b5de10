import assert from "node:assert/strict";
import {
  blankComments,
  cycleViolations,
  type Import,
  importsOf,
  layerViolations,
  readImports,
} from "../../.ci/layers.ts";

Deno.test("layers reads static, type-only, re-export and literal dynamic imports, not comments", () => {
  const text = `import { a } from "./a.ts";
import type { B } from "../b.ts";
export * from "./c.ts";
export { d } from "./d.ts";
import "./side.ts";
const e = await import("./e.ts");
// import { x } from "./commented.ts";
/* export * from "./block.ts"; */
const s = "import { y } from './in_string.ts'";
import { z } from "zod";
`;
  assert.deepEqual(importsOf(text).map((i) => `${i.line} ${i.specifier}`), [
    "1 ./a.ts",
    "2 ../b.ts",
    "3 ./c.ts",
    "4 ./d.ts",
    "5 ./side.ts",
    "6 ./e.ts",
  ]);
  assert.equal(blankComments("a /* b\nc */ d").split("\n").length, 2);
});

const edge = (from: string, to: string): Import => ({ from, to, line: 1 });

Deno.test("layers refuses imports that reach up a layer or into tests, and allows tests anything", () => {
  assert.deepEqual(
    layerViolations([
      edge("lib/a.ts", "components/component.ts"),
      edge("lib/a.ts", "pipelines/config.ts"),
      edge("components/x/f.ts", "pipelines/graph.ts"),
      edge("components/x/f.ts", "main.ts"),
      edge("pipelines/p.ts", "tests/fixtures/k.ts"),
      edge("components/x/f.ts", "lib/a.ts"),
      edge("pipelines/p.ts", "components/x/f.ts"),
      edge("main.ts", "pipelines/p.ts"),
      edge("tests/t.ts", "main.ts"),
      edge("main.ts", "examples/agent.yaml"),
    ]),
    [
      "lib/a.ts:1  imports components/component.ts: lib must not import components",
      "lib/a.ts:1  imports pipelines/config.ts: lib must not import pipelines",
      "components/x/f.ts:1  imports pipelines/graph.ts: components must not import pipelines",
      "components/x/f.ts:1  imports main.ts: components must not import main",
      "pipelines/p.ts:1  imports tests/fixtures/k.ts: pipelines must not import tests",
    ],
  );
});

Deno.test("layers refuses cycles across folders and the config ⇄ validate cycle, not others", () => {
  assert.deepEqual(
    cycleViolations([
      edge("lib/a/x.ts", "lib/b/y.ts"),
      edge("lib/b/y.ts", "lib/a/x.ts"),
      edge("lib/c/p.ts", "lib/c/q.ts"),
      edge("lib/c/q.ts", "lib/c/p.ts"),
      edge("pipelines/config.ts", "pipelines/validate.ts"),
      edge("pipelines/validate.ts", "pipelines/config.ts"),
    ]),
    [
      "import cycle: lib/a/x.ts ⇄ lib/b/y.ts",
      "import cycle: pipelines/config.ts ⇄ pipelines/validate.ts",
    ],
  );
});

Deno.test("the repository's own imports respect the layers", async () => {
  const imports = await readImports(new URL("../..", import.meta.url).pathname);
  assert.ok(imports.length > 500, `${imports.length} imports`);
  assert.deepEqual([...layerViolations(imports), ...cycleViolations(imports)], []);
});
