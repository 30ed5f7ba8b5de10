/**
 * Every built-in factory, loaded: for tests and tools that want the whole list synchronously.
 * The CLI never imports this module; it loads only the factories a config names.
 *
 * @module
 */
import type { Factory } from "./component.ts";
import { loadBuiltinFactories } from "./registry.ts";

/** Every built-in component factory, in registry order. */
export const BUILTIN_FACTORIES: readonly Factory[] = await loadBuiltinFactories();
