/**
 * The `yaml` library, loaded on first need (issue 18): a process that runs an already validated
 * config never holds its code. Config loading awaits {@linkcode loadYaml}; code that runs after
 * it (inside one load) reads the module with {@linkcode yamlLib}.
 *
 * @module
 */
import type * as Yaml from "yaml";

/** The `yaml` module's exports. */
export type YamlModule = typeof Yaml;

let loaded: YamlModule | undefined;
let loading: Promise<YamlModule> | undefined;

/**
 * The library's exports from what importing it gave: the module itself under `deno run`, its
 * `default` (`module.exports`) from a bundle, whose chunk of this CommonJS package has no others.
 */
export function yamlExports(imported: YamlModule | { default: YamlModule }): YamlModule {
  return "parseDocument" in imported ? imported : imported.default;
}

/** Loads the `yaml` library (once) and returns it. */
export function loadYaml(): Promise<YamlModule> {
  loading ??= import("yaml").then((m) => loaded = yamlExports(m));
  return loading;
}

/** Whether the `yaml` library has been loaded into this process. */
export function yamlLoaded(): boolean {
  return loaded !== undefined;
}

/**
 * The loaded `yaml` library.
 *
 * @throws {Error} when {@linkcode loadYaml} has not completed yet.
 */
export function yamlLib(): YamlModule {
  if (loaded === undefined) {
    throw new Error(
      "Yaml is not loaded: call loadYaml() first (the yaml library is loaded lazily)",
    );
  }
  return loaded;
}
