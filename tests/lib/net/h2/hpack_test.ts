import assert from "node:assert/strict";
import { type HeaderField, HpackDecoder, HpackEncoder } from "../../../../lib/net/h2/hpack.ts";
import { huffmanDecode, huffmanEncode } from "../../../../lib/net/h2/huffman.ts";
import { H2Error } from "../../../../lib/net/h2/frames.ts";

const hex = (s: string) =>
  Uint8Array.from(s.replace(/\s+/g, "").match(/../g)!.map((b) => parseInt(b, 16)));
const toHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

const REQUEST_1: HeaderField[] = [
  [":method", "GET"],
  [":scheme", "http"],
  [":path", "/"],
  [":authority", "www.example.com"],
];
const REQUEST_2: HeaderField[] = [...REQUEST_1, ["cache-control", "no-cache"]];
const REQUEST_3: HeaderField[] = [
  [":method", "GET"],
  [":scheme", "https"],
  [":path", "/index.html"],
  [":authority", "www.example.com"],
  ["custom-key", "custom-value"],
];
const DATE_1 = "Mon, 21 Oct 2013 20:13:21 GMT";
const RESPONSE_1: HeaderField[] = [
  [":status", "302"],
  ["cache-control", "private"],
  ["date", DATE_1],
  ["location", "https://www.example.com"],
];
const RESPONSE_2: HeaderField[] = [[":status", "307"], ...RESPONSE_1.slice(1)];
const RESPONSE_3: HeaderField[] = [
  [":status", "200"],
  ["cache-control", "private"],
  ["date", "Mon, 21 Oct 2013 20:13:22 GMT"],
  ["location", "https://www.example.com"],
  ["content-encoding", "gzip"],
  ["set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"],
];

/** RFC 7541 Appendix C examples: [blocks, header lists, table sizes after each]. */
const EXAMPLES = {
  "C.3 requests without Huffman": {
    tableSize: 4096,
    huffman: "never" as const,
    blocks: [
      "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
      "8286 84be 5808 6e6f 2d63 6163 6865",
      "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
    ],
    lists: [REQUEST_1, REQUEST_2, REQUEST_3],
    sizes: [57, 110, 164],
  },
  "C.4 requests with Huffman": {
    tableSize: 4096,
    huffman: "always" as const,
    blocks: [
      "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
      "8286 84be 5886 a8eb 1064 9cbf",
      "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
    ],
    lists: [REQUEST_1, REQUEST_2, REQUEST_3],
    sizes: [57, 110, 164],
  },
  "C.5 responses without Huffman": {
    tableSize: 256,
    huffman: "never" as const,
    blocks: [
      `4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
       2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70
       6c65 2e63 6f6d`,
      "4803 3330 37c1 c0bf",
      `88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
       54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
       5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e
       3d31`,
    ],
    lists: [RESPONSE_1, RESPONSE_2, RESPONSE_3],
    sizes: [222, 222, 215],
  },
  "C.6 responses with Huffman": {
    tableSize: 256,
    huffman: "always" as const,
    blocks: [
      `4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
       2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`,
      "4883 640e ffc1 c0bf",
      `88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
       77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
       9587 3160 65c0 03ed 4ee5 b106 3d50 07`,
    ],
    lists: [RESPONSE_1, RESPONSE_2, RESPONSE_3],
    sizes: [222, 222, 215],
  },
};

for (const [name, example] of Object.entries(EXAMPLES)) {
  Deno.test(`hpack decodes RFC 7541 ${name}`, () => {
    const decoder = new HpackDecoder(example.tableSize);
    example.blocks.forEach((block, i) => {
      const { headers } = decoder.decode(hex(block));
      assert.deepEqual(headers, example.lists[i]);
      assert.equal(decoder.tableSize, example.sizes[i]);
    });
  });

  Deno.test(`hpack encodes RFC 7541 ${name} byte for byte`, () => {
    const encoder = new HpackEncoder({ huffman: example.huffman, tableSize: example.tableSize });
    example.lists.forEach((list, i) => {
      assert.equal(toHex(encoder.encode(list)), toHex(hex(example.blocks[i]!)));
    });
  });
}

Deno.test("hpack decodes the RFC 7541 C.2 literal representations", () => {
  const d = new HpackDecoder();
  assert.deepEqual(
    d.decode(hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572")).headers,
    [["custom-key", "custom-header"]],
  );
  assert.equal(d.tableSize, 55);
  assert.deepEqual(d.decode(hex("040c 2f73 616d 706c 652f 7061 7468")).headers, [[
    ":path",
    "/sample/path",
  ]]);
  assert.deepEqual(d.decode(hex("1008 7061 7373 776f 7264 0673 6563 7265 74")).headers, [[
    "password",
    "secret",
  ]]);
  assert.deepEqual(d.decode(hex("82")).headers, [[":method", "GET"]]);
  assert.equal(d.tableSize, 55, "only the first was indexed");
});

Deno.test("hpack encoder Huffman-codes only when shorter and round-trips any header list", () => {
  const encoder = new HpackEncoder();
  const decoder = new HpackDecoder();
  const lists: HeaderField[][] = [
    [[":status", "200"], ["content-type", "application/grpc"], ["x-ünïcode", "välue ✓"]],
    [["grpc-status", "0"], ["grpc-message", "%00 odd \u0001 bytes"]],
    [["content-type", "application/grpc"], ["x-long", "x".repeat(5000)]],
    [["content-type", "application/grpc"], ["x-binary-bin", "AAEC"]],
  ];
  for (let round = 0; round < 3; round++) {
    for (const list of lists) assert.deepEqual(decoder.decode(encoder.encode(list)).headers, list);
  }
  // "}}}}" has long codes: Huffman would be longer, so the raw form is used.
  const block = new HpackEncoder().encode([["x-a", "}}}}"]]);
  assert.equal(block.at(-5), 4, "value length 4 without the Huffman bit");
});

Deno.test("hpack encoder announces table size changes the peer asked for", () => {
  const encoder = new HpackEncoder();
  const decoder = new HpackDecoder(4096);
  decoder.decode(encoder.encode([["x-a", "1"], ["x-b", "2"]]));
  encoder.setMaxTableSize(0);
  encoder.setMaxTableSize(100);
  const block = encoder.encode([["x-a", "1"]]);
  assert.equal(block[0], 0x20, "size update to 0 first");
  assert.deepEqual(decoder.decode(block).headers, [["x-a", "1"]]);
  assert.equal(decoder.tableSize, 36);
});

Deno.test("hpack decoder rejects malformed blocks with COMPRESSION_ERROR", () => {
  const bad = [
    "80", // index 0
    "ff00", // index 127 beyond the tables
    "400a 6375", // string longer than the block
    "3fe21f", // size update over the 4096 limit
    "82 20", // size update after a field
    "41 ff", // truncated integer inside a literal
    "ffffffffffffff0f", // integer overflow
    "0085 ffffffffff 00", // Huffman string of EOS
  ];
  for (const b of bad) {
    assert.throws(() => new HpackDecoder().decode(hex(b)), (e: unknown) => {
      assert.ok(e instanceof H2Error, `${b}: ${e}`);
      assert.equal(e.code, 0x9);
      return true;
    });
  }
});

Deno.test("hpack decoder stops collecting past the header list limit but keeps its table", () => {
  const encoder = new HpackEncoder();
  const decoder = new HpackDecoder();
  const big = encoder.encode([["x-a", "a".repeat(100)], ["x-b", "b".repeat(100)]]);
  const { headers, size } = decoder.decode(big, 150);
  assert.equal(headers.length, 1);
  assert.ok(size > 150);
  assert.deepEqual(decoder.decode(encoder.encode([["x-b", "b".repeat(100)]])).headers, [[
    "x-b",
    "b".repeat(100),
  ]]);
});

Deno.test("huffman round-trips every byte and rejects bad padding", () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  assert.deepEqual(huffmanDecode(huffmanEncode(all)), all);
  assert.equal(
    new TextDecoder().decode(huffmanDecode(hex("f1e3 c2e5 f23a 6ba0 ab90 f4ff"))),
    "www.example.com",
  );
  assert.throws(() => huffmanDecode(hex("f1e3 c2e5 f23a 6ba0 ab90 f4ff ff")), /padding/);
  assert.throws(() => huffmanDecode(hex("00")), /padding/); // '0' code then zero padding
});
