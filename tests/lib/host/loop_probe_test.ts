import assert from "node:assert/strict";
import { markLoopProbe, startLoopProbe } from "../../../lib/host/loop_probe.ts";

function blockFor(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* the event loop is blocked */ }
}

Deno.test("loop probe records a blocked event loop and the marks, then writes them once", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/probe.jsonl`;
  Deno.env.set("TFO_LOOP_PROBE", path);
  try {
    startLoopProbe({ windowMs: 150, thresholdMs: 10 });
    await new Promise((r) => setTimeout(r, 20));
    markLoopProbe("before the block");
    const blockedAt = performance.now();
    blockFor(40);
    await new Promise((r) => setTimeout(r, 400));
    const lines = (await Deno.readTextFile(path)).trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(lines[0].origin_epoch_ms, Math.round(performance.timeOrigin));
    const mark = lines.find((l) => l.mark === "before the block");
    assert.ok(mark !== undefined && Math.abs(mark.at_ms - blockedAt) < 2, JSON.stringify(lines));
    const late = lines.filter((l) => l.late_ms !== undefined);
    assert.ok(
      late.some((l) => l.late_ms >= 30 && Math.abs(l.at_ms - blockedAt) < 10),
      JSON.stringify(lines),
    );
    // The window is over: marks are no longer kept.
    markLoopProbe("after the window");
    const again = await Deno.readTextFile(path);
    assert.doesNotMatch(again, /after the window/);
  } finally {
    Deno.env.delete("TFO_LOOP_PROBE");
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loop probe does nothing without TFO_LOOP_PROBE", async () => {
  Deno.env.delete("TFO_LOOP_PROBE");
  startLoopProbe({ windowMs: 10 });
  markLoopProbe("nothing");
  // No timer was left: the test's op sanitizer would fail on a pending interval.
  await new Promise((r) => setTimeout(r, 30));
});
