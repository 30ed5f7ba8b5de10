import assert from "node:assert/strict";
import { CHUNK_BYTES } from "../../../../components/receiver/filelog/factory.ts";
import type { Consumer } from "../../../../lib/consumer/consumer.ts";
import type { Payload } from "../../../../lib/pdata/payload.ts";
import { append, filelog, recorder } from "./_kit.ts";

/** `n` lines of 100 bytes (newline included), numbered. */
function lines(n: number, from = 0): string {
  let text = "";
  for (let i = from; i < from + n; i++) {
    text += `line ${String(i).padStart(8, "0")} `.padEnd(99, "x") + "\n";
  }
  return text;
}

function bodiesOf(payloads: readonly Payload<"logs">[]): string[] {
  return payloads.flatMap((p) =>
    p.read().resourceLogs.flatMap((rl) =>
      rl.scopeLogs.flatMap((sl) => sl.logRecords.map((r) => String(r.body)))
    )
  );
}

Deno.test("filelog sends a big file in chunks of at most CHUNK_BYTES of lines, in order, each line once", async () => {
  const dir = await Deno.makeTempDir();
  const count = Math.ceil((CHUNK_BYTES * 5.5) / 100);
  await append(`${dir}/a.log`, lines(count));
  const rec = recorder();
  const r = filelog({ include: [`${dir}/*.log`], start_at: "beginning" }, rec.consumer);
  try {
    await r.pollOnce();
    assert.ok(rec.payloads.length >= 6, `${rec.payloads.length} payloads`);
    for (const p of rec.payloads) assert.ok(p.itemCount * 100 <= CHUNK_BYTES, `${p.itemCount}`);
    const bodies = bodiesOf(rec.payloads);
    assert.equal(bodies.length, count);
    assert.deepEqual(bodies, lines(count).trimEnd().split("\n"));
  } finally {
    await r.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("filelog reads the next chunk only after the pipeline accepted the last one", async () => {
  const dir = await Deno.makeTempDir();
  const count = Math.ceil((CHUNK_BYTES * 3.5) / 100);
  await append(`${dir}/a.log`, lines(count));
  const received: Payload<"logs">[] = [];
  const waiting: Array<() => void> = [];
  let inFlight = 0;
  let most = 0;
  const slow: Consumer<"logs"> = {
    mutatesData: false,
    consume(payload) {
      received.push(payload);
      inFlight++;
      most = Math.max(most, inFlight);
      return new Promise<void>((resolve) =>
        waiting.push(() => {
          inFlight--;
          resolve();
        })
      );
    },
  };
  const r = filelog({ include: [`${dir}/*.log`], start_at: "beginning" }, slow);
  try {
    const poll = r.pollOnce();
    // Release one payload at a time; each time exactly one more is waiting.
    for (let i = 0; i < 50 && bodiesOf(received).length < count; i++) {
      for (let tries = 0; waiting.length === 0 && tries < 5000; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      assert.equal(waiting.length, 1, "one payload outstanding at a time");
      waiting.shift()!();
    }
    await poll;
    assert.equal(most, 1);
    assert.equal(bodiesOf(received).length, count);
  } finally {
    const stopping = r.shutdown();
    while (waiting.length > 0) waiting.shift()!();
    await stopping;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("filelog re-reads only the chunks the pipeline refused", async () => {
  const dir = await Deno.makeTempDir();
  const count = Math.ceil((CHUNK_BYTES * 2.5) / 100);
  await append(`${dir}/a.log`, lines(count));
  const accepted: Payload<"logs">[] = [];
  let calls = 0;
  const flaky: Consumer<"logs"> = {
    mutatesData: false,
    consume(payload) {
      calls++;
      if (calls === 2) return Promise.reject(new Error("Refused for the test"));
      accepted.push(payload);
      return Promise.resolve();
    },
  };
  const r = filelog({ include: [`${dir}/*.log`], start_at: "beginning" }, flaky);
  try {
    await r.pollOnce();
    const first = bodiesOf(accepted).length;
    assert.ok(first > 0 && first < count, `${first} accepted before the refusal`);
    await r.pollOnce();
    await r.pollOnce();
    assert.deepEqual(
      bodiesOf(accepted),
      lines(count).trimEnd().split("\n"),
      "no gap, no duplicate",
    );
  } finally {
    await r.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
