import assert from "node:assert/strict";
import { InFlightBytes } from "../../../../lib/net/in_flight_bytes.ts";
import type { Consumer } from "../../../../lib/consumer/consumer.ts";
import { makeReceiver, startHarness, testHost, tracesProto } from "./_helpers.ts";

Deno.test("otlp http receiver refuses with 503 and Retry-After once the in-flight bound is spent", async () => {
  // Bodies of about 60 KiB against a 1 MiB bound: at most 17 are held while the pipeline is slow.
  const inFlight = new InFlightBytes(1024 * 1024);
  await using h = await startHarness({ http: null }, ["traces"], { inFlight });
  h.sinks.traces.delayMs = 1500;
  const body = tracesProto("x".repeat(60 * 1024));
  // Half declare their length (refused before the body is read), half stream it (charged once read).
  const send = async (streamed: boolean) => {
    const res = await fetch(`${h.httpBase}/v1/traces`, {
      method: "POST",
      body: streamed
        ? new ReadableStream<Uint8Array>({
          start(c) {
            c.enqueue(body);
            c.close();
          },
        })
        : body,
      headers: { "content-type": "application/x-protobuf" },
    });
    await res.body?.cancel();
    return { status: res.status, retryAfter: res.headers.get("retry-after") };
  };
  const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => send(i % 2 === 0)));
  const refused = answers.filter((a) => a.status === 503);
  const accepted = answers.filter((a) => a.status === 200);
  assert.equal(accepted.length + refused.length, 60, JSON.stringify(answers.slice(0, 3)));
  assert.ok(refused.length >= 60 - 17, `${refused.length} refused`);
  assert.ok(refused.every((a) => a.retryAfter === "1"));
  assert.ok(inFlight.peak <= inFlight.limit, `held ${inFlight.peak} > ${inFlight.limit}`);
  assert.equal(inFlight.held, 0, "everything is released once answered");
  // Once the held requests are answered, the bound is free again.
  h.sinks.traces.delayMs = 0;
  assert.equal((await send(true)).status, 200);
  assert.equal((await send(false)).status, 200);
});

Deno.test("otlp http receiver charges a body of undeclared length chunk by chunk and refuses it once the bound is reached", async () => {
  const inFlight = new InFlightBytes(256 * 1024);
  let answer: () => void = () => {};
  const gate = new Promise<void>((resolve) => (answer = resolve));
  const waiting: Consumer<"traces"> = { mutatesData: false, consume: () => gate };
  const receiver = makeReceiver(
    { protocols: { http: { endpoint: "127.0.0.1:0" } } },
    { traces: waiting },
    [],
    "otlp",
    { inFlight },
  );
  await receiver.start(testHost());
  const url = `http://127.0.0.1:${receiver.httpPort}/v1/traces`;
  const headers = { "content-type": "application/x-protobuf" };
  try {
    // Held by a pipeline that has not answered yet, declared: 200 KiB of the 256 KiB.
    const held = tracesProto("x".repeat(200 * 1024));
    const first = fetch(url, { method: "POST", body: held, headers })
      .then(async (r) => (await r.body?.cancel(), r.status));
    const end = Date.now() + 20_000;
    while (inFlight.held === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    assert.ok(inFlight.held >= held.length, `${inFlight.held} held`);
    // A chunked body of 16 MiB in 8 KiB chunks: refused once it no longer fits, mid-body (read
    // whole before it was charged, all 16 MiB would have been taken in first).
    const total = 16 * 1024 * 1024;
    const chunk = new Uint8Array(8 * 1024);
    let sent = 0;
    const second = await fetch(url, {
      method: "POST",
      body: new ReadableStream<Uint8Array>({
        pull(c) {
          if (sent >= total) return c.close();
          sent += chunk.length;
          c.enqueue(chunk);
        },
      }),
      headers,
    }).catch((error: Error) => error);
    if (second instanceof Response) {
      await second.body?.cancel();
      assert.equal(second.status, 503);
      assert.equal(second.headers.get("retry-after"), "1");
    }
    // Either way (an answer, or a connection closed under a client still sending) nothing past
    // the bound was held, and the held request is answered once the pipeline is.
    assert.ok(inFlight.peak <= inFlight.limit, `held ${inFlight.peak} > ${inFlight.limit}`);
    assert.ok(sent < total, `the client got to send all ${sent} bytes`);
    answer();
    assert.equal(await first, 200);
    assert.equal(inFlight.held, 0);
  } finally {
    answer();
    await receiver.shutdown();
  }
});
