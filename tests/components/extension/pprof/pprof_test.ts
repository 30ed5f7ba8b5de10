import assert from "node:assert/strict";
import type { Host } from "../../../../components/component.ts";
import { createPprofExtension } from "../../../../components/extension/pprof/factory.ts";
import { pprofConfigSchema } from "../../../../components/extension/pprof/config.ts";
import { NOOP_LOGGER } from "../../../../lib/telemetry/logger.ts";
import { loadConfigLibs } from "../../../../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

const HOST: Host = { getExtension: () => undefined, status: () => "running" };

async function started(config: Record<string, unknown> = {}) {
  const extension = createPprofExtension(
    pprofConfigSchema.parse({ endpoint: "127.0.0.1:0", ...config }),
    NOOP_LOGGER,
  );
  await extension.start(HOST);
  const base = `http://127.0.0.1:${extension.port}/debug/pprof`;
  return { extension, base };
}

/** Runs `work` in slices, yielding between them, until `pending` settles; resolves to its value. */
async function busyUntil<T>(pending: Promise<T>, work: () => void): Promise<T> {
  let settled = false;
  const done = pending.finally(() => settled = true);
  while (!settled) {
    work();
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return await done;
}

/** Work the CPU profiler can see. */
function spin(ms: number): number {
  const end = performance.now() + ms;
  let x = 0;
  while (performance.now() < end) x += Math.sqrt(x + 1);
  return x;
}

Deno.test("pprof serves a CPU profile of the asked seconds that Chrome DevTools can load", async () => {
  const { extension, base } = await started();
  try {
    const index = await fetch(`${base}/`);
    assert.equal(index.status, 200);
    assert.match(await index.text(), /\/debug\/pprof\/profile\?seconds=30/);
    const pending = fetch(`${base}/profile?seconds=0.4`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    // The CPU profiler is taken: a second profile is refused, not merged.
    const second = await fetch(`${base}/profile?seconds=0.1`);
    assert.equal(second.status, 409);
    await second.body?.cancel();
    const response = await busyUntil(pending, () => spin(20));
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-disposition")!, /filename="tfo-.*\.cpuprofile"/);
    const profile = await response.json();
    // The .cpuprofile shape DevTools reads: nodes with call frames, samples, time deltas.
    assert.ok(profile.nodes.length > 1);
    assert.ok(profile.nodes[0].callFrame.functionName !== undefined);
    assert.ok(profile.samples.length > 0);
    assert.equal(profile.samples.length, profile.timeDeltas.length);
    assert.ok(profile.endTime - profile.startTime >= 300_000, "about 0.4 s in µs");
    assert.ok(
      profile.nodes.some((n: { callFrame: { functionName: string } }) =>
        n.callFrame.functionName === "spin"
      ),
    );
  } finally {
    await extension.shutdown();
  }
});

Deno.test("pprof serves a heap snapshot and an allocation profile, and refuses what V8 cannot give", async () => {
  const { extension, base } = await started();
  try {
    const heap = await fetch(`${base}/heap`);
    assert.equal(heap.status, 200);
    const snapshot = await heap.json();
    assert.ok(snapshot.snapshot.meta.node_fields.includes("name"));
    assert.ok(snapshot.snapshot.node_count > 1000);
    assert.equal(
      snapshot.nodes.length,
      snapshot.snapshot.node_count * snapshot.snapshot.meta.node_fields.length,
    );

    const pending = fetch(`${base}/allocs?seconds=0.5`);
    const kept: unknown[] = [];
    const allocs = await busyUntil(pending, () => {
      for (let i = 0; i < 2_000; i++) kept.push({ i, text: `item ${i}` });
    });
    assert.equal(allocs.status, 200);
    const sampled = await allocs.json();
    assert.ok(sampled.head.children !== undefined);
    assert.ok(sampled.samples.length > 0);
    assert.ok(kept.length > 0);

    for (const [path, status] of [["goroutine", 404], ["mutex", 404], ["nope", 404]] as const) {
      const response = await fetch(`${base}/${path}`);
      assert.equal(response.status, status);
      await response.body?.cancel();
    }
    const bad = await fetch(`${base}/profile?seconds=-1`);
    assert.equal(bad.status, 400);
    await bad.body?.cancel();
    const post = await fetch(`${base}/heap`, { method: "POST" });
    assert.equal(post.status, 405);
    await post.body?.cancel();
    const cmdline = await fetch(`${base}/cmdline`);
    assert.ok((await cmdline.text()).startsWith(Deno.execPath()));
  } finally {
    await extension.shutdown();
  }
});

Deno.test("pprof shutdown ends a long profile early and writes save_to_file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tfo-pprof-" });
  const path = `${dir}/run.cpuprofile`;
  const { extension, base } = await started({ save_to_file: path });
  try {
    // The whole-run profile holds the CPU profiler.
    const busy = await fetch(`${base}/profile?seconds=1`);
    assert.equal(busy.status, 409);
    await busy.body?.cancel();
    const long = fetch(`${base}/allocs?seconds=600`);
    await busyUntil(new Promise((resolve) => setTimeout(resolve, 200)), () => spin(20));
    const began = performance.now();
    await extension.shutdown();
    const response = await long;
    assert.equal(response.status, 200);
    await response.body?.cancel();
    assert.ok(performance.now() - began < 60_000, "shutdown did not wait for the 600 s profile");
    const saved = JSON.parse(await Deno.readTextFile(path));
    assert.ok(
      saved.nodes.some((n: { callFrame: { functionName: string } }) =>
        n.callFrame.functionName === "spin"
      ),
    );
  } finally {
    await extension.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pprof refuses the Go runtime's block and mutex fractions and unknown keys", () => {
  assert.equal(pprofConfigSchema.parse({}).endpoint, "127.0.0.1:1777");
  assert.ok(
    pprofConfigSchema.safeParse({ block_profile_fraction: 0, mutex_profile_fraction: 0 }).success,
  );
  const block = pprofConfigSchema.safeParse({ block_profile_fraction: 1 });
  assert.ok(!block.success);
  assert.match(block.error.issues[0]!.message, /Go runtime contention/);
  assert.ok(!pprofConfigSchema.safeParse({ mutex_profile_fraction: 5 }).success);
  assert.ok(!pprofConfigSchema.safeParse({ endpoint: "127.0.0.1:1777", extra: true }).success);
});
