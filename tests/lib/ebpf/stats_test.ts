/**
 * lib/ebpf/stats.ts against the real kernel: run-time statistics count a program's runs and their
 * time while enabled, and a program's information names it. Skipped when not root / no bpf(2).
 */
import assert from "node:assert/strict";
import { Assembler, Helper, R0 } from "../../../lib/ebpf/asm.ts";
import { attachRawTracepoint, loadProgram, ProgType } from "../../../lib/ebpf/bpf.ts";
import { FdSet } from "../../../lib/ebpf/fds.ts";
import { enableStats, nsPerRun, programInfo } from "../../../lib/ebpf/stats.ts";
import { closeFd } from "../../../lib/ebpf/_libc.ts";
import { ebpfSkipReason } from "../../fixtures/ebpf/env.ts";

const skip = ebpfSkipReason();
if (skip !== undefined) console.warn(`lib/ebpf stats tests skipped: ${skip}`);

const libc = skip === undefined
  ? Deno.dlopen("libc.so.6", { syscall: { parameters: ["i64"], result: "i64" } })
  : undefined;
globalThis.addEventListener("unload", () => libc?.close());
const NR_GETPPID = Deno.build.arch === "x86_64" ? 110n : 173n;

Deno.test({
  name: "bpf stats: run count and run time of a program while statistics are on",
  ignore: skip !== undefined,
  fn() {
    const fds = new FdSet();
    try {
      // Two clock reads, so a run takes measurable time whatever the machine.
      const code = new Assembler().call(Helper.ktimeGetNs).call(Helper.ktimeGetNs)
        .movImm(R0, 0).exit().assemble();
      const prog = fds.own(loadProgram({ name: "t_stats", type: ProgType.rawTracepoint, code }));
      const info = programInfo(prog);
      assert.equal(info.name, "t_stats");
      assert.equal(info.type, ProgType.rawTracepoint);
      assert.ok(info.id > 0);
      assert.ok(info.xlatedInstructions >= 4, `${info.xlatedInstructions} instructions`);
      assert.ok(info.jitedBytes > 0);
      assert.equal(info.runCount, 0n);
      fds.own(attachRawTracepoint(prog, "sys_enter"));
      const stats = enableStats();
      let before;
      let after;
      try {
        before = programInfo(prog);
        for (let i = 0; i < 2000; i++) libc!.symbols.syscall(NR_GETPPID);
        after = programInfo(prog);
      } finally {
        closeFd(stats);
      }
      // Every call ran it once (other processes' calls add runs).
      assert.ok(after.runCount - before.runCount >= 2000n, `${after.runCount - before.runCount}`);
      assert.ok(after.runTimeNs > before.runTimeNs);
      const ns = nsPerRun(before, after);
      assert.ok(ns > 0 && ns < 1_000_000, `${ns} ns per run`);
      assert.ok(Number.isNaN(nsPerRun(after, after)));
    } finally {
      fds.closeAll();
    }
  },
});

Deno.test({
  name: "bpf stats: a descriptor that is not open is a clear error",
  ignore: skip !== undefined,
  fn() {
    assert.throws(() => programInfo(1_000_000), /Cannot read the information .*EBADF/);
  },
});
