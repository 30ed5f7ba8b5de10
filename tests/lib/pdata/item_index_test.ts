import assert from "node:assert/strict";
import { indexItem, lookupItem, newItemIndex } from "../../../lib/pdata/fields.ts";

function indexOf(n: number) {
  const index = newItemIndex();
  const items = Array.from({ length: n }, (_, i) => ({ i }));
  items.forEach((item, i) => indexItem(index, item, i * 10));
  return { index, items };
}

Deno.test("item index finds items asked for in decode order, with some removed, without a map", () => {
  const { index, items } = indexOf(50);
  index.cursor = 0;
  for (const [i, item] of items.entries()) {
    if (i % 3 === 1) continue; // removed by a filter
    assert.equal(lookupItem(index, item), i * 10);
  }
  assert.equal(index.map, undefined);
});

Deno.test("item index finds items in any order, and says when an item is not in it", () => {
  const { index, items } = indexOf(50);
  index.cursor = 0;
  for (let i = items.length - 1; i >= 0; i--) assert.equal(lookupItem(index, items[i]!), i * 10);
  assert.equal(lookupItem(index, { i: 3 }), undefined);
  // Items added after the map was built are found too.
  const late = { i: 50 };
  indexItem(index, late, 500);
  assert.equal(lookupItem(index, late), 500);
  // Many removed in a row: past the look-ahead, still found.
  index.cursor = 0;
  assert.equal(lookupItem(index, items[40]!), 400);
  assert.equal(lookupItem(index, items[41]!), 410);
});
