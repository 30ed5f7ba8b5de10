/**
 * `parseProcStatus` cuts out only the values it uses; these tests hold it to what a parse of every
 * `Key: value` line gives, on every process of this machine and on texts the kernel does not write.
 */
import assert from "node:assert/strict";
import { kbValue, num, parseKeyValueLines, splitFields } from "../../../lib/host/_read.ts";
import { listPids, parseProcStatus, type ProcStatus } from "../../../lib/host/process.ts";

/** The status fields read from a map of every line. */
function byEveryLine(text: string): ProcStatus {
  const m = parseKeyValueLines(text);
  const sigq = m.get("SigQ") ?? "0/0";
  const uid = splitFields(m.get("Uid") ?? "")[0];
  return {
    name: m.get("Name") ?? "",
    uid: uid === undefined ? -1 : num(uid),
    residentBytes: kbValue(m.get("VmRSS")),
    virtualBytes: kbValue(m.get("VmSize")),
    threads: num(m.get("Threads")),
    voluntaryContextSwitches: num(m.get("voluntary_ctxt_switches")),
    involuntaryContextSwitches: num(m.get("nonvoluntary_ctxt_switches")),
    signalsQueued: num(sigq.slice(0, Math.max(0, sigq.indexOf("/")))),
  };
}

Deno.test("status parser reads what a parse of every line reads, for every process of this machine", async () => {
  let compared = 0;
  for (const pid of await listPids()) {
    let text: string;
    try {
      text = await Deno.readTextFile(`/proc/${pid}/status`);
    } catch {
      continue; // exited meanwhile
    }
    assert.deepEqual(parseProcStatus(text), byEveryLine(text), `pid ${pid}`);
    compared++;
  }
  assert.ok(compared > 0);
});

Deno.test("status parser reads odd texts as a parse of every line does", () => {
  for (
    const text of [
      "",
      "\n\n",
      "Name:\t  spaced name  \nUid:\n",
      "Name:\ta:b\nSigQ:\t7\nThreads:\tmany\nVmRSS:\t12 kB",
      ":\tno key\nNameX:\tnot it\nName\tno colon\nName:\tlast\nName:\twins\n",
      "Uid:\t1000\t1000\t1000\t1000\nVmSize:\t  4096\nSigQ:\t3/15000\nvoluntary_ctxt_switches:\t9\n" +
      "nonvoluntary_ctxt_switches:\t2\n",
    ]
  ) {
    assert.deepEqual(parseProcStatus(text), byEveryLine(text), JSON.stringify(text));
  }
});
