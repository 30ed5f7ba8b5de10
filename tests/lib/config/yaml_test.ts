import assert from "node:assert/strict";
import * as realYaml from "yaml";
import { loadYaml, yamlExports, yamlLib, yamlLoaded } from "../../../lib/config/yaml.ts";

// Taken at module evaluation, before any test loads the library.
const loadedAtStart = yamlLoaded();
let errorAtStart = "";
try {
  yamlLib();
} catch (error) {
  errorAtStart = String(error);
}

Deno.test("yamlLib throws until loadYaml has run, then gives the library", async () => {
  assert.equal(loadedAtStart, false);
  assert.match(errorAtStart, /Yaml is not loaded: call loadYaml\(\) first/);
  const lib = await loadYaml();
  assert.equal(yamlLoaded(), true);
  assert.equal(yamlLib(), lib);
  assert.equal(lib.parse("a: [1, 2]").a[1], 2);
});

Deno.test("yamlExports takes the module as imported or a bundle's default export", () => {
  assert.equal(yamlExports(realYaml).parseDocument, realYaml.parseDocument);
  const bundled = { default: realYaml } as unknown as Parameters<typeof yamlExports>[0];
  assert.equal(yamlExports(bundled).parseDocument, realYaml.parseDocument);
});
