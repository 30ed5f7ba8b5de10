/**
 * `parseProcStat` and `parseProcStatus` cut out only the values they use; these tests hold them to
 * what a split of every field or line gives, on every process of this machine and on texts the
 * kernel does not write.
 */
import assert from "node:assert/strict";
import {
  CLOCK_TICKS_PER_SECOND,
  kbValue,
  num,
  parseKeyValueLines,
  splitFields,
} from "../../../lib/host/_read.ts";
import {
  listPids,
  parseProcStat,
  parseProcStatus,
  type ProcStat,
  type ProcStatus,
} from "../../../lib/host/process.ts";

/** The stat fields read from a split of every field. */
function byEveryField(text: string): ProcStat {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  const f = splitFields(text.slice(close + 1));
  const at = (n: number) => num(f[n - 3]);
  const seconds = (n: number) => at(n) / CLOCK_TICKS_PER_SECOND;
  return {
    pid: num(text.slice(0, open).trim()),
    comm: text.slice(open + 1, close),
    state: f[0] ?? "",
    ppid: at(4),
    minorFaults: at(10),
    majorFaults: at(12),
    userSeconds: seconds(14),
    systemSeconds: seconds(15),
    threads: at(20),
    startSecondsAfterBoot: seconds(22),
    virtualBytes: at(23),
    residentPages: at(24),
    ioWaitSeconds: seconds(42),
    flags: at(9),
    argStart: at(48),
    argEnd: at(49),
  };
}

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

Deno.test("stat and status parsers read what a split of every field or line reads, for every process of this machine", async () => {
  let compared = 0;
  for (const pid of await listPids()) {
    let stat: string;
    let status: string;
    try {
      stat = await Deno.readTextFile(`/proc/${pid}/stat`);
      status = await Deno.readTextFile(`/proc/${pid}/status`);
    } catch {
      continue; // exited meanwhile
    }
    assert.deepEqual(parseProcStat(stat), byEveryField(stat), `pid ${pid}: ${stat}`);
    assert.deepEqual(parseProcStatus(status), byEveryLine(status), `pid ${pid}`);
    compared++;
  }
  assert.ok(compared > 0);
});

Deno.test("stat parser reads odd texts as a split of every field does", () => {
  for (
    const text of [
      "",
      "12",
      "12 (a) S",
      "12 (name (with) parens) R 1 2 3\n",
      "7 (sp ace)  S\t4  x  0 0 0 -5 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18",
      "9 (x) S " + Array.from({ length: 52 }, (_, i) => String(i * 1000 + 7)).join(" ") + "\n",
    ]
  ) {
    assert.deepEqual(parseProcStat(text), byEveryField(text), JSON.stringify(text));
  }
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
