/**
 * Loads and validates the embedded default agent config, as `tfo run` does before it starts the
 * service; run as a Worker it posts the outcome to its parent. Used by
 * `bench/footprint_worker.ts`.
 *
 * @module
 */
import { loadConfig } from "../pipelines/config.ts";
import { validateWith } from "../pipelines/validate.ts";
import { BUILTIN_COMPONENTS } from "../components/registry.ts";
import text from "../examples/agent.yaml" with { type: "text" };

/** Validates the default agent config; resolves to the number of errors. */
export async function validateDefaultConfig(): Promise<number> {
  const { raw, diagnostics } = await loadConfig({
    files: [],
    texts: [{ name: "<embedded agent.yaml>", text }],
    set: [],
  });
  if (raw === undefined) return diagnostics.length;
  const validated = await validateWith(raw, BUILTIN_COMPONENTS);
  return [...diagnostics, ...validated.diagnostics].filter((d) => d.severity === "error").length;
}

// In a Worker: validate and post the result.
if ("WorkerGlobalScope" in globalThis) {
  (globalThis as unknown as { postMessage(m: unknown): void }).postMessage(
    await validateDefaultConfig(),
  );
}
