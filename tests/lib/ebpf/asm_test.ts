import assert from "node:assert/strict";
import { Assembler, FP, Helper, R0, R1, R2, R6 } from "../../../lib/ebpf/asm.ts";

/** The 8-byte slots of a program as hex strings. */
function slots(code: Uint8Array): string[] {
  const out: string[] = [];
  for (let i = 0; i < code.length; i += 8) {
    out.push([...code.subarray(i, i + 8)].map((b) => b.toString(16).padStart(2, "0")).join(""));
  }
  return out;
}

Deno.test("assembler encodes moves, memory access, calls and exit as the kernel defines them", () => {
  const a = new Assembler()
    .movImm(R0, 0) // b7 00 0000 00000000
    .movReg(R6, R1) // bf 16 0000 00000000
    .ldx("dw", R2, R6, 8) // 79 62 0800 00000000
    .stx("w", FP, -8, R0) // 63 0a f8ff 00000000
    .st("dw", FP, -16, -1) // 7a 0a f0ff ffffffff
    .aluImm("rsh", R0, 32) // 77 00 0000 20000000
    .aluReg("sub", R0, R1) // 1f 10 0000 00000000
    .atomicAdd("dw", R0, 8, R1) // db 10 0800 00000000
    .call(Helper.getCurrentPidTgid) // 85 00 0000 0e000000
    .exit(); // 95 00 0000 00000000
  assert.deepEqual(slots(a.assemble()), [
    "b700000000000000",
    "bf16000000000000",
    "7962080000000000",
    "630af8ff00000000",
    "7a0af0ffffffffff",
    "7700000020000000",
    "1f10000000000000",
    "db10080000000000",
    "850000000e000000",
    "9500000000000000",
  ]);
});

Deno.test("assembler emits 64-bit loads and map descriptors as two slots", () => {
  const a = new Assembler().ld64(R1, 0x1122334455667788n).ldMapFd(R2, 7);
  assert.equal(a.length, 4);
  assert.deepEqual(slots(a.assemble()), [
    "1801000088776655",
    "0000000044332211",
    "1812000007000000",
    "0000000000000000",
  ]);
});

Deno.test("assembler resolves forward and backward jumps to labels, counting two-slot loads", () => {
  const a = new Assembler()
    .label("top")
    .jmpImm("jeq", R0, 0, "out") // slot 0 → out at slot 4: offset 3
    .ldMapFd(R1, 3) // slots 1-2
    .jmp("top") // slot 3 → 0: offset -4
    .label("out")
    .exit();
  const s = slots(a.assemble());
  assert.equal(s[0], "1500030000000000");
  assert.equal(s[3], "0500fcff00000000");
  assert.equal(s[4], "9500000000000000");
});

Deno.test("assembler refuses undefined and duplicate labels and out-of-range operands", () => {
  assert.throws(() => new Assembler().jmp("nowhere").assemble(), /undefined label "nowhere"/);
  assert.throws(() => new Assembler().label("x").label("x"), /Label "x" is defined twice/);
  assert.throws(() => new Assembler().movImm(R0, 2 ** 33), /32-bit integer/);
  assert.throws(() => new Assembler().ldx("dw", R0, R1, 40000), /16-bit signed/);
  const far = new Assembler().jmp("end");
  for (let i = 0; i < 40000; i++) far.movImm(R0, 0);
  far.label("end").exit();
  assert.throws(() => far.assemble(), /Jump to "end"/);
});
