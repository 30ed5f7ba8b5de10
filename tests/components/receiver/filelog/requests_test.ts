import assert from "node:assert/strict";
import type { Consumer } from "../../../../lib/consumer/consumer.ts";
import { permanentError, retryableError } from "../../../../lib/consumer/consumer.ts";
import type { Payload } from "../../../../lib/pdata/payload.ts";
import { append, attr, filelog, hostWith, recorder } from "./_kit.ts";

/** `n` numbered lines of about 100 bytes; `wide` puts a non-ASCII character in line 7. */
function lines(n: number, wide = false): string[] {
  return Array.from(
    { length: n },
    (_, i) =>
      `line ${String(i).padStart(6, "0")} ${wide && i === 7 ? "\u00e9" : "x"}${"y".repeat(88)}`,
  );
}

Deno.test("filelog without operators sends a large read as encoded requests of about 16 KiB, in order", async () => {
  for (const wide of [false, true]) {
    const dir = await Deno.makeTempDir();
    const expected = lines(3000, wide);
    await append(`${dir}/a.log`, expected.join("\n") + "\n");
    const rec = recorder();
    const r = filelog({ include: [`${dir}/*.log`], start_at: "beginning" }, rec.consumer);
    await r.pollOnce();
    await r.shutdown();
    await Deno.remove(dir, { recursive: true });
    assert.deepEqual(rec.bodies(), expected, wide ? "decoded lines" : "ASCII bytes");
    assert.ok(rec.payloads.length >= 15, `${rec.payloads.length} requests`);
    for (const p of rec.payloads) {
      assert.ok(p.encodedSize !== undefined, "sent encoded");
      assert.ok(p.encodedSize < 20_000, `a request of ${p.encodedSize} bytes`);
    }
    assert.ok(rec.records().every(({ record }) => attr(record, "log.file.name") === "a.log"));
  }
});

/** A consumer that refuses the first `refusals` calls with `error`, then records. */
function refusing(refusals: number, error: () => Error) {
  const accepted: Payload<"logs">[] = [];
  let calls = 0;
  const consumer: Consumer<"logs"> = {
    mutatesData: false,
    consume(payload) {
      if (calls++ < refusals) return Promise.reject(error());
      accepted.push(payload.retain());
      return Promise.resolve();
    },
  };
  const bodies = () =>
    accepted.flatMap((p) =>
      p.read().resourceLogs.flatMap((rl) =>
        rl.scopeLogs.flatMap((sl) => sl.logRecords.map((l) => l.body))
      )
    );
  return { consumer, accepted, bodies, calls: () => calls };
}

Deno.test("filelog waits out retryable refusals (a full queue) and sends the same request again, once", async () => {
  const dir = await Deno.makeTempDir();
  await append(`${dir}/a.log`, "one\ntwo\n");
  const c = refusing(3, () => retryableError("Sending queue is full (capacity 1)"));
  const r = filelog({ include: [`${dir}/*.log`], start_at: "beginning" }, c.consumer);
  await r.pollOnce();
  assert.deepEqual(c.bodies(), ["one", "two"]);
  assert.equal(c.calls(), 4);
  await r.pollOnce();
  assert.deepEqual(c.bodies(), ["one", "two"], "the offset moved once accepted");
  await r.shutdown();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("filelog reads a permanently refused read again at the next poll", async () => {
  const dir = await Deno.makeTempDir();
  await append(`${dir}/a.log`, "one\n");
  const c = refusing(1, () => permanentError("Bad data for the test"));
  const r = filelog({ include: [`${dir}/*.log`], start_at: "beginning" }, c.consumer);
  await r.pollOnce();
  assert.deepEqual(c.bodies(), []);
  await r.pollOnce();
  assert.deepEqual(c.bodies(), ["one"]);
  await r.shutdown();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("filelog shutdown ends a wait for a pipeline that keeps refusing", async () => {
  const dir = await Deno.makeTempDir();
  await append(`${dir}/a.log`, "one\n");
  const c = refusing(Infinity, () => retryableError("Sending queue is full (capacity 1)"));
  const r = filelog({ include: [`${dir}/*.log`], start_at: "beginning" }, c.consumer);
  await r.start(hostWith());
  while (c.calls() < 3) await new Promise((resolve) => setTimeout(resolve, 5));
  const started = performance.now();
  await r.shutdown();
  assert.ok(performance.now() - started < 1000, "shutdown did not wait for the backoff");
  assert.deepEqual(c.bodies(), []);
  await Deno.remove(dir, { recursive: true });
});
