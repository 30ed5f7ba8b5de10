/** The `loadbalancing` exporter's resolvers: static lists and DNS answers turned into backends. */
import assert from "node:assert/strict";
import {
  dnsResolver,
  staticResolver,
  systemLookup,
} from "../../../../components/exporter/loadbalancing/resolver.ts";
import { NOOP_LOGGER } from "../../../../lib/telemetry/logger.ts";
import { waitFor } from "../../../fixtures/interop/services.ts";

Deno.test("the static resolver adds port 4317 where none is given and reports the list once", async () => {
  const lists: (readonly string[])[] = [];
  const r = staticResolver(["b.example", "a.example:5000", "b.example"]);
  await r.start((l) => {
    lists.push(l);
  });
  await r.shutdown();
  assert.deepEqual(lists, [["a.example:5000", "b.example:4317"]]);
});

Deno.test("the dns resolver reports changed answers only, and keeps the last list on failures", async () => {
  let answer: string[] | Error = ["127.0.0.2", "127.0.0.1", "::1"];
  const outcomes: boolean[] = [];
  const lists: (readonly string[])[] = [];
  const r = dnsResolver({
    hostname: "backends.test",
    port: 4318,
    intervalMs: 10,
    timeoutMs: 1000,
    logger: NOOP_LOGGER,
    onResolution: (ok) => outcomes.push(ok),
    lookup: (name) => {
      assert.equal(name, "backends.test");
      return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
    },
  });
  await r.start((l) => {
    lists.push(l);
  });
  try {
    assert.deepEqual(lists, [["127.0.0.1:4318", "127.0.0.2:4318", "[::1]:4318"]]);
    await waitFor("a few more resolutions", () => outcomes.length >= 3);
    assert.equal(lists.length, 1, "the same answer is no change");
    answer = new Error("SERVFAIL");
    const failuresFrom = outcomes.length;
    await waitFor("a failed resolution", () => outcomes.slice(failuresFrom).includes(false));
    assert.equal(lists.length, 1, "a failure keeps the last list");
    answer = ["127.0.0.1"];
    await waitFor("the changed answer", () => lists.length === 2);
    assert.deepEqual(lists[1], ["127.0.0.1:4318"]);
  } finally {
    await r.shutdown();
  }
  const after = outcomes.length;
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(outcomes.length, after, "no resolution after shutdown");
});

Deno.test("the dns resolver times a slow lookup out", async () => {
  const outcomes: boolean[] = [];
  const lists: (readonly string[])[] = [];
  const r = dnsResolver({
    hostname: "slow.test",
    port: 4317,
    intervalMs: 60_000,
    timeoutMs: 20,
    logger: NOOP_LOGGER,
    onResolution: (ok) => outcomes.push(ok),
    lookup: () => new Promise(() => {}),
  });
  await r.start((l) => {
    lists.push(l);
  });
  await r.shutdown();
  assert.deepEqual(outcomes, [false]);
  assert.deepEqual(lists, []);
});

Deno.test("the system lookup resolves localhost through the system resolver", async () => {
  const addresses = await systemLookup("localhost");
  assert.ok(
    addresses.some((a) => a === "127.0.0.1" || a === "::1"),
    `localhost is a loopback address: ${addresses.join(", ")}`,
  );
});
