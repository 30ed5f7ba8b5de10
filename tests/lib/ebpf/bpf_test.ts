/**
 * lib/ebpf against the real kernel: maps, program load and its verifier log, attachment by raw
 * tracepoint and by perf event + BPF_LINK_CREATE, and closing. Skipped when not root / no bpf(2).
 */
import assert from "node:assert/strict";
import { Assembler, FP, Helper, R0, R1, R2 } from "../../../lib/ebpf/asm.ts";
import {
  attachRawTracepoint,
  AttachType,
  createLink,
  createMap,
  deleteBatch,
  deleteElem,
  loadProgram,
  lookupBatch,
  lookupElem,
  MapType,
  nextKey,
  possibleCpus,
  ProgType,
  updateElem,
} from "../../../lib/ebpf/bpf.ts";
import { BpfError } from "../../../lib/ebpf/errors.ts";
import { FdSet } from "../../../lib/ebpf/fds.ts";
import { openTracepointEvent } from "../../../lib/ebpf/perf.ts";
import { findTracefs, readFormat } from "../../../lib/ebpf/tracefs.ts";
import { addImm } from "../../../lib/ebpf/codegen.ts";
import { closeFd } from "../../../lib/ebpf/_libc.ts";
import { ebpfSkipReason, openBpfObjects } from "../../fixtures/ebpf/env.ts";

const skip = ebpfSkipReason();
if (skip !== undefined) console.warn(`lib/ebpf kernel tests skipped: ${skip}`);

const u32 = (v: number) => new Uint8Array(new Uint32Array([v]).buffer);
const u64 = (v: bigint) => new Uint8Array(new BigUint64Array([v]).buffer);

Deno.test({
  name: "bpf maps: update, lookup, next key, delete and batch lookup over many buckets",
  ignore: skip !== undefined,
  fn() {
    const fds = new FdSet();
    try {
      const map = createMap({
        name: "t_hash",
        type: MapType.hash,
        keySize: 4,
        valueSize: 8,
        maxEntries: 5000,
      });
      fds.own(map.fd);
      assert.equal(lookupElem(map, u32(1)), undefined);
      for (let i = 0; i < 3000; i++) updateElem(map, u32(i), u64(BigInt(i * 10)));
      assert.deepEqual(lookupElem(map, u32(42)), u64(420n));
      assert.throws(() => updateElem(map, u32(1), u64(1n), 1), /EEXIST/);
      assert.ok(deleteElem(map, u32(42)));
      assert.equal(deleteElem(map, u32(42)), false);
      let n = 0;
      for (let k = nextKey(map, undefined); k !== undefined; k = nextKey(map, k)) n++;
      assert.equal(n, 2999);
      const batch = lookupBatch(map, 256);
      assert.equal(batch.count, 2999);
      const keys = new Uint32Array(batch.keys.buffer);
      const values = new BigUint64Array(batch.values.buffer);
      for (let i = 0; i < batch.count; i++) assert.equal(values[i], BigInt(keys[i]! * 10));
      assert.throws(() => lookupElem(map, new Uint8Array(8)), /takes 4-byte keys/);
      // Batch delete: keys 0..99 except 42, which is gone already.
      const keys99 = new Uint32Array(100).map((_, i) => i);
      assert.equal(deleteBatch(map, new Uint8Array(keys99.buffer), 100), 99);
      assert.equal(lookupBatch(map).count, 2900);
      assert.equal(lookupElem(map, u32(99)), undefined);
      assert.deepEqual(lookupElem(map, u32(100)), u64(1000n));
    } finally {
      fds.closeAll();
    }
  },
});

Deno.test({
  name: "bpf per-CPU maps read one value per possible CPU",
  ignore: skip !== undefined,
  fn() {
    const map = createMap({
      name: "t_pcpu",
      type: MapType.percpuArray,
      keySize: 4,
      valueSize: 4,
      maxEntries: 2,
    });
    const fds = new FdSet();
    fds.own(map.fd);
    try {
      assert.equal(map.userValueSize, 8 * possibleCpus());
      assert.equal(lookupElem(map, u32(1))!.length, 8 * possibleCpus());
      assert.equal(lookupBatch(map).count, 2);
    } finally {
      fds.closeAll();
    }
  },
});

Deno.test({
  name: "bpf program load failure carries the verifier's log",
  ignore: skip !== undefined,
  fn() {
    // Returns R2, which was never written.
    const code = new Assembler().movReg(R0, R2).exit().assemble();
    assert.throws(
      () => loadProgram({ name: "t_bad", type: ProgType.rawTracepoint, code }),
      (e: unknown) => e instanceof BpfError && e.errno === 13 && /R2 !read_ok/.test(e.verifierLog),
    );
    assert.throws(
      () => loadProgram({ name: "t_bad", type: ProgType.rawTracepoint, code }),
      /Cannot load BPF program "t_bad" \(verifier: .*R2 !read_ok/s,
    );
  },
});

/** A program adding 1 to slot 0 of the per-CPU array `fd` for each event of the current pid. */
function counter(fd: number): Uint8Array<ArrayBuffer> {
  const a = new Assembler();
  a.call(Helper.getCurrentPidTgid).aluImm("rsh", R0, 32).jmpImm("jne", R0, Deno.pid, "out");
  a.st("w", FP, -4, 0).ldMapFd(R1, fd).movReg(R2, FP).aluImm("add", R2, -4);
  a.call(Helper.mapLookupElem).jmpImm("jeq", R0, 0, "out");
  addImm(a, R0, 0, 1);
  a.label("out").movImm(R0, 0).exit();
  return a.assemble();
}

function total(value: Uint8Array): bigint {
  return new BigUint64Array(value.buffer, value.byteOffset, value.length / 8).reduce(
    (s, v) => s + v,
    0n,
  );
}

const libc = skip === undefined
  ? Deno.dlopen("libc.so.6", { syscall: { parameters: ["i64"], result: "i64" } })
  : undefined;
globalThis.addEventListener("unload", () => libc?.close());
const getppid = (n: number) => {
  for (let i = 0; i < n; i++) libc!.symbols.syscall(110n);
};

Deno.test({
  name: "bpf programs attach by raw tracepoint and by perf event link, and detach on close",
  ignore: skip !== undefined || Deno.build.arch !== "x86_64",
  fn() {
    const before = openBpfObjects();
    const fds = new FdSet();
    const mk = (name: string) =>
      createMap({ name, type: MapType.percpuArray, keySize: 4, valueSize: 8, maxEntries: 1 });
    const raw = mk("t_raw");
    const perf = mk("t_perf");
    fds.own(raw.fd);
    fds.own(perf.fd);
    const rawProg = fds.own(
      loadProgram({ name: "t_raw", type: ProgType.rawTracepoint, code: counter(raw.fd) }),
    );
    const tpProg = fds.own(
      loadProgram({ name: "t_tp", type: ProgType.tracepoint, code: counter(perf.fd) }),
    );
    const rawLink = attachRawTracepoint(rawProg, "sys_enter");
    const f = readFormat(findTracefs(), "raw_syscalls", "sys_enter");
    const ev = fds.own(openTracepointEvent(f.id, f.event));
    fds.own(createLink(tpProg, ev, AttachType.perfEvent));
    getppid(1000);
    const r1 = total(lookupElem(raw, u32(0))!);
    const p1 = total(lookupElem(perf, u32(0))!);
    assert.ok(r1 >= 1000n && p1 >= 1000n, `raw ${r1}, perf ${p1}`);
    assert.throws(() => attachRawTracepoint(rawProg, "no_such_tracepoint"), /ENOENT/);
    // Closing the raw tracepoint's descriptor detaches it; the perf link still counts.
    closeFd(rawLink);
    const detached = total(lookupElem(raw, u32(0))!);
    getppid(1000);
    assert.equal(total(lookupElem(raw, u32(0))!), detached);
    assert.ok(total(lookupElem(perf, u32(0))!) >= p1 + 1000n);
    const opened = [...openBpfObjects()].filter((id) => !before.has(id));
    // Two maps, two programs and the perf event's link (the raw tracepoint's is closed).
    assert.equal(opened.length, 5, opened.join(" "));
    fds.closeAll();
    const after = openBpfObjects();
    assert.deepEqual(opened.filter((id) => after.has(id)), []);
  },
});
