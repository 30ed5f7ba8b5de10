import assert from "node:assert/strict";
import { TFO_RUN_FLAGS } from "../../bench/_children.ts";

const config = JSON.parse(
  await Deno.readTextFile(new URL("../../deno.json", import.meta.url)),
) as { tasks: Record<string, string> };

/**
 * The flags of a task between its subcommand and `main.ts`, build-only options (`--output`, and
 * `--include`, which embeds a worker module) left out.
 */
function runtimeFlags(task: string, subcommand: string): string[] {
  const words = config.tasks[task]!.split(/\s+/);
  const flags = words.slice(words.indexOf(subcommand) + 1, words.indexOf("main.ts"));
  const out: string[] = [];
  for (let i = 0; i < flags.length; i++) {
    if (flags[i] === "--output" || flags[i] === "--include") i++;
    else out.push(flags[i]!);
  }
  return out;
}

Deno.test("deno run (the start task) and the compiled binary get exactly the same runtime flags", () => {
  assert.deepEqual(runtimeFlags("start", "run"), runtimeFlags("compile", "compile"));
  assert.ok(runtimeFlags("start", "run").includes("--allow-all"));
});

Deno.test("the benches start tfo with the start task's flags", () => {
  assert.deepEqual([...TFO_RUN_FLAGS], runtimeFlags("start", "run"));
});
