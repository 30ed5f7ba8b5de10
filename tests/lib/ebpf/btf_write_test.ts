/**
 * lib/ebpf/btf_write.ts: the blob's layout (read back by lib/ebpf/btf.ts's parser) and, on the
 * real kernel, a task storage map created with it.
 */
import assert from "node:assert/strict";
import { parseBtf } from "../../../lib/ebpf/btf.ts";
import { BtfBuilder, createTaskStorage, loadBtfBlob } from "../../../lib/ebpf/btf_write.ts";
import { MapType } from "../../../lib/ebpf/bpf.ts";
import { closeFd } from "../../../lib/ebpf/_libc.ts";
import { ebpfSkipReason } from "../../fixtures/ebpf/env.ts";

const skip = ebpfSkipReason();
if (skip !== undefined) console.warn(`lib/ebpf BTF writer kernel tests skipped: ${skip}`);

Deno.test("btf writer: a struct of integers reads back with its member offsets", () => {
  const types = new BtfBuilder();
  const u32 = types.int("u32", 4, false);
  const u64 = types.int("u64", 8, false);
  assert.deepEqual([u32, u64], [1, 2]);
  const id = types.struct("slot", [["a", u64], ["b", u32], ["c", u64]]);
  assert.equal(id, 3);
  const layout = parseBtf(types.encode()).struct("slot");
  assert.deepEqual(layout && Object.fromEntries(layout), { a: 0, b: 8, c: 12 });
  assert.throws(() => types.struct("bad", [["x", 9]]), /no type 9/);
});

Deno.test({
  name: "btf writer: the kernel loads the blob and makes task storage with it",
  ignore: skip !== undefined,
  fn() {
    const types = new BtfBuilder();
    types.int("int", 4, true);
    closeFd(loadBtfBlob(types.encode()));
    const bad = types.encode();
    bad[0] = 0; // not the magic any more
    assert.throws(() => loadBtfBlob(bad), /Cannot load BTF/);
    const map = createTaskStorage("t_task", ["x", "y"]);
    try {
      assert.equal(map.type, MapType.taskStorage);
      assert.equal(map.valueSize, 16);
    } finally {
      closeFd(map.fd);
    }
  },
});
