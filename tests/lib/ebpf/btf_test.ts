import assert from "node:assert/strict";
import { loadBtf, memberOffset, parseBtf, VMLINUX_BTF } from "../../../lib/ebpf/btf.ts";

/** A BTF blob with `int` and `struct pair { int a; int b; }` (b at byte 4). */
function tinyBtf(): Uint8Array {
  const strings = new TextEncoder().encode("\0int\0pair\0a\0b\0");
  const types = new DataView(new ArrayBuffer(16 + 12 + 24));
  // [1] INT "int": name_off 1, info kind 1, size 4, then the int encoding word.
  types.setUint32(0, 1, true);
  types.setUint32(4, 1 << 24, true);
  types.setUint32(8, 4, true);
  types.setUint32(12, 32, true);
  // [2] STRUCT "pair": name_off 5, kind 4, vlen 2, size 8.
  types.setUint32(16, 5, true);
  types.setUint32(20, (4 << 24) | 2, true);
  types.setUint32(24, 8, true);
  // members: name, type, bit offset
  types.setUint32(28, 10, true);
  types.setUint32(32, 1, true);
  types.setUint32(36, 0, true);
  types.setUint32(40, 12, true);
  types.setUint32(44, 1, true);
  types.setUint32(48, 32, true);
  const header = new DataView(new ArrayBuffer(24));
  header.setUint16(0, 0xeb9f, true);
  header.setUint8(2, 1);
  header.setUint32(4, 24, true);
  header.setUint32(8, 0, true);
  header.setUint32(12, types.byteLength, true);
  header.setUint32(16, types.byteLength, true);
  header.setUint32(20, strings.length, true);
  const out = new Uint8Array(24 + types.byteLength + strings.length);
  out.set(new Uint8Array(header.buffer), 0);
  out.set(new Uint8Array(types.buffer), 24);
  out.set(strings, 24 + types.byteLength);
  return out;
}

Deno.test("BTF parsing finds struct members and their byte offsets", () => {
  const btf = parseBtf(tinyBtf());
  assert.deepEqual([...btf.struct("pair")!], [["a", 0], ["b", 4]]);
  assert.equal(btf.struct("nope"), undefined);
  assert.throws(() => memberOffset(btf, "pair", "c"), /BTF struct pair has no member "c"/);
  assert.throws(() => memberOffset(btf, "task_struct", "pid"), /BTF has no struct task_struct/);
  assert.throws(() => parseBtf(new Uint8Array(32)), /is not BTF/);
});

const hasVmlinux = (() => {
  try {
    return Deno.statSync(VMLINUX_BTF).isFile;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "BTF of the running kernel gives task_struct's pid, tgid and comm",
  ignore: !hasVmlinux,
  fn() {
    const btf = loadBtf();
    const pid = memberOffset(btf, "task_struct", "pid");
    assert.equal(memberOffset(btf, "task_struct", "tgid"), pid + 4);
    assert.ok(memberOffset(btf, "task_struct", "comm") > pid);
  },
});

Deno.test("BTF missing at a path is an error that says what is needed", () => {
  assert.throws(() => loadBtf("/nonexistent/vmlinux"), /BTF is not available at \/nonexistent/);
});
