import assert from "node:assert/strict";
import { decodeOne, Incomplete, isMap, MsgpackError } from "../../../lib/msgpack/decode.ts";
import { type Encodable, encode } from "../../../lib/msgpack/encode.ts";

Deno.test("msgpack round-trips what the encoder writes, every length class included", () => {
  const value: Encodable = {
    small: 5,
    negative: -7,
    wide: 70_000,
    minus: -70_000,
    float: 1.5,
    nil: null,
    yes: true,
    text: "é".repeat(40),
    long: "x".repeat(70_000),
    bin: new Uint8Array(300),
    list: Array.from({ length: 20 }, (_, i) => i),
  };
  const { value: back, end } = decodeOne(encode(value));
  assert.equal(end, encode(value).length);
  assert.ok(isMap(back));
  const map = new Map(back.entries.map(([k, v]) => [k as string, v]));
  assert.equal(map.get("small"), 5);
  assert.equal(map.get("negative"), -7);
  assert.equal(map.get("wide"), 70_000);
  assert.equal(map.get("minus"), -70_000);
  assert.equal(map.get("float"), 1.5);
  assert.equal(map.get("nil"), null);
  assert.equal(map.get("yes"), true);
  assert.equal(map.get("text"), "é".repeat(40));
  assert.equal((map.get("long") as string).length, 70_000);
  assert.equal((map.get("bin") as Uint8Array).length, 300);
  assert.equal((map.get("list") as number[]).length, 20);
});

Deno.test("msgpack tells an incomplete value from an invalid one at every cut", () => {
  const bytes = encode(["tag", 1700000000, { message: "hello", n: 1 }]);
  for (let cut = 0; cut < bytes.length; cut++) {
    assert.throws(() => decodeOne(bytes.subarray(0, cut)), Incomplete, `cut at ${cut}`);
  }
  assert.throws(() => decodeOne(Uint8Array.of(0xc1)), MsgpackError);
  assert.throws(() => decodeOne(Uint8Array.of(0xa2, 0xff, 0xfe)), /not valid UTF-8/);
});

Deno.test("msgpack decodes 64-bit integers beyond 2^53 as bigint and extension values with their type", () => {
  assert.equal(
    decodeOne(Uint8Array.of(0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)).value,
    2n ** 64n - 1n,
  );
  assert.equal(decodeOne(Uint8Array.of(0xd3, 0, 0, 0, 0, 0, 0, 0, 42)).value, 42);
  const ext = decodeOne(Uint8Array.of(0xd7, 0x00, 0, 0, 0, 1, 0, 0, 0, 2)).value as {
    ext: number;
    data: Uint8Array;
  };
  assert.equal(ext.ext, 0);
  assert.deepEqual([...ext.data], [0, 0, 0, 1, 0, 0, 0, 2]);
});

Deno.test("msgpack refuses length and nesting bombs before allocating", () => {
  // An array that claims 2^32 - 1 elements in 5 bytes.
  assert.throws(
    () => decodeOne(Uint8Array.of(0xdd, 0xff, 0xff, 0xff, 0xff), 0, { maxBytes: 1 << 20 }),
    MsgpackError,
  );
  // A string that claims 4 GiB.
  assert.throws(
    () => decodeOne(Uint8Array.of(0xdb, 0xff, 0xff, 0xff, 0xff), 0, { maxBytes: 1 << 20 }),
    MsgpackError,
  );
  // 100,000 nested one-element arrays.
  assert.throws(() => decodeOne(new Uint8Array(100_000).fill(0x91)), /nested deeper than 64/);
});
