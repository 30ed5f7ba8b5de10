import assert from "node:assert/strict";
import { startHarness, tracesProto } from "./_helpers.ts";

Deno.test("otlp http receiver refuses with 503 and Retry-After once its in-flight body budget is spent", async () => {
  // 1 MiB bodies: the budget is 256 MiB, and a body of undeclared length holds a whole MiB of it.
  await using h = await startHarness({ http: { max_request_body_size: 1024 * 1024 } });
  h.sinks.traces.delayMs = 1500;
  const body = tracesProto("held");
  const send = async () => {
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(body);
        c.close();
      },
    });
    const res = await fetch(`${h.httpBase}/v1/traces`, {
      method: "POST",
      body: stream,
      headers: { "content-type": "application/x-protobuf" },
    });
    await res.body?.cancel();
    return { status: res.status, retryAfter: res.headers.get("retry-after") };
  };
  const answers = await Promise.all(Array.from({ length: 300 }, send));
  const refused = answers.filter((a) => a.status === 503);
  const accepted = answers.filter((a) => a.status === 200);
  assert.equal(accepted.length + refused.length, 300, JSON.stringify(answers.slice(0, 3)));
  assert.ok(accepted.length <= 256, `${accepted.length} held at once`);
  assert.ok(refused.length >= 300 - 256, `${refused.length} refused`);
  assert.ok(refused.every((a) => a.retryAfter === "1"));
  // Once the held requests are answered, the budget is free again.
  h.sinks.traces.delayMs = 0;
  assert.equal((await send()).status, 200);
});
