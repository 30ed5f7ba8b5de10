/**
 * One await for everything config validation needs: zod and yaml, both loaded lazily (issue 18).
 *
 * @module
 */
import { loadZod } from "./zod.ts";
import { loadYaml } from "./yaml.ts";

/** Loads zod and yaml (once); every path that loads or validates a config awaits it first. */
export async function loadConfigLibs(): Promise<void> {
  await Promise.all([loadZod(), loadYaml()]);
}
