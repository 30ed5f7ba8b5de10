/**
 * Attribute maps as Go's `encoding/json` writes a `map[string]any`: keys sorted, a later
 * duplicate key winning, for short lists (sorted by insertion) and long ones alike.
 */
import assert from "node:assert/strict";
import { attributesJson, idHex, sortedUnique } from "../../../lib/pdata/go_json.ts";
import type { KeyValue } from "../../../lib/pdata/types.ts";

function kv(pairs: [string, string][]): KeyValue[] {
  return pairs.map(([key, value]) => ({ key, value }));
}

Deno.test("attributesJson sorts keys and keeps the last of a duplicate key", () => {
  assert.equal(
    attributesJson(kv([["b", "1"], ["a", "2"], ["c", "3"], ["a", "4"]])),
    '{"a":"4","b":"1","c":"3"}',
  );
  assert.equal(attributesJson(kv([["z", "<&>"]])), '{"z":"\\u003c\\u0026\\u003e"}');
  assert.equal(attributesJson([]), "{}");
});

Deno.test("sortedUnique gives the same order for short and long attribute lists", () => {
  for (const n of [2, 5, 16, 17, 40]) {
    const pairs: [string, string][] = Array.from(
      { length: n },
      (_, i) => [`k${(i * 7919) % n % 10}`, `v${i}`],
    );
    const got = sortedUnique(kv(pairs)).map((x) => [x.key, x.value]);
    const last = new Map<string, string>();
    for (const [k, v] of pairs) last.set(k, v);
    const want = [...last].sort((a, b) => (a[0] < b[0] ? -1 : 1));
    assert.deepEqual(got, want, `${n} attributes`);
  }
  const input = kv([["b", "1"], ["a", "2"]]);
  sortedUnique(input);
  assert.deepEqual(input.map((x) => x.key), ["b", "a"], "the input is not reordered");
});

Deno.test("idHex writes lower-case hex and nothing for an unset ID", () => {
  assert.equal(idHex(Uint8Array.from([0, 1, 0xab, 0xff])), "0001abff");
  assert.equal(idHex(new Uint8Array(16)), "");
  assert.equal(idHex(new Uint8Array(0)), "");
});
