/**
 * The shared /proc and /sys readers against a fake root with hand-written files (exact values), and
 * against this machine (cross-checked with an independent read).
 */
import assert from "node:assert/strict";
import {
  countOpenFds,
  listPids,
  parseCpuInfo,
  parseFileNr,
  readCgroup,
  readCmdline,
  readDiskStats,
  readEntropy,
  readExe,
  readFileHandles,
  readKernelStat,
  readLoadAverage,
  readMemInfo,
  readMounts,
  readNetDev,
  readPhysicalFsTypes,
  readPressure,
  readProcessCensus,
  readProcIo,
  readProcStat,
  readProcStatus,
  readSockstat,
  readSwaps,
  readTcpStates,
  readThermalZones,
  readUsers,
  readVmStat,
} from "../../../lib/host/mod.ts";
import { makeFakeRoot } from "./_fake_root.ts";

async function withRoot(
  fn: (root: string) => Promise<void>,
  options?: Parameters<typeof makeFakeRoot>[0],
) {
  const root = await makeFakeRoot(options);
  try {
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("kernel stat reader gives CPU seconds, boot time and counters", () =>
  withRoot(async (root) => {
    const s = await readKernelStat(root);
    assert.equal(s.bootTimeSeconds, 1700000000);
    assert.equal(s.total.user, 10);
    assert.equal(s.total.iowait, 0.5);
    assert.equal(s.total.steal, 0.08);
    assert.deepEqual(s.perCpu.map((c) => c.cpu), ["cpu0", "cpu1"]);
    assert.equal(s.perCpu[1]!.idle, 20);
    assert.equal(s.contextSwitches, 67890);
    assert.equal(s.interrupts, 12345);
    assert.equal(s.softInterrupts, 555);
    assert.equal(s.processesCreated, 4242);
    assert.equal(s.procsRunning, 3);
    assert.equal(s.procsBlocked, 1);
  }));

Deno.test("meminfo reader derives used and cached as gopsutil does", () =>
  withRoot(async (root) => {
    const m = await readMemInfo(root);
    const kb = 1024;
    assert.equal(m.total, 16000000 * kb);
    assert.equal(m.cached, 3400000 * kb);
    assert.equal(m.used, 8100000 * kb);
    assert.equal(m.used + m.free + m.buffers + m.cached, m.total);
    assert.equal(m.available, 9000000 * kb);
    assert.equal(m.slabUnreclaimable, 300000 * kb);
    assert.equal(m.dirty, 1234 * kb);
    assert.equal(m.hugePageSize, 2048 * kb);
    assert.equal(m.raw.get("HugePages_Total"), 0);
  }));

Deno.test("diskstats reader converts sectors and milliseconds", () =>
  withRoot(async (root) => {
    const [sda, sda1, loop0] = await readDiskStats(root);
    assert.equal(sda!.name, "sda");
    assert.equal(sda!.readBytes, 2000 * 512);
    assert.equal(sda!.writtenBytes, 4000 * 512);
    assert.equal(sda!.readTime, 0.05);
    assert.equal(sda!.ioTime, 0.12);
    assert.equal(sda!.weightedIoTime, 0.13);
    assert.equal(sda1!.iosInProgress, 1);
    assert.equal(loop0!.readsCompleted, 0);
  }));

Deno.test("network readers parse interfaces and count TCP states over IPv4 and IPv6", () =>
  withRoot(async (root) => {
    const devs = await readNetDev(root);
    assert.deepEqual(devs.map((d) => d.name), ["lo", "eth0", "docker0"]);
    const eth0 = devs[1]!;
    assert.deepEqual(
      [eth0.rxBytes, eth0.rxPackets, eth0.rxErrors, eth0.rxDropped],
      [12345678901, 20000, 1, 2],
    );
    assert.deepEqual(
      [eth0.txBytes, eth0.txPackets, eth0.txErrors, eth0.txDropped],
      [987654, 15000, 3, 4],
    );
    const states = await readTcpStates(root);
    assert.deepEqual(Object.fromEntries(states), { LISTEN: 1, ESTABLISHED: 2, TIME_WAIT: 2 });
  }));

Deno.test("load, swaps and vmstat readers", () =>
  withRoot(async (root) => {
    assert.deepEqual(await readLoadAverage(root), {
      load1: 0.5,
      load5: 1.25,
      load15: 2,
      running: 2,
      total: 300,
      lastPid: 12345,
    });
    assert.deepEqual(await readSwaps(root), [{
      name: "/dev/sda2",
      type: "partition",
      sizeBytes: 2097148 * 1024,
      usedBytes: 97148 * 1024,
      priority: -2,
    }]);
    const v = await readVmStat(root);
    assert.equal(v.get("pgmajfault"), 300);
    assert.equal(v.get("nr_free_pages"), 123);
  }));

Deno.test("mount reader unescapes paths and reports the mode; nodev types are known", () =>
  withRoot(async (root) => {
    const mounts = await readMounts(root);
    assert.deepEqual(
      mounts.map((m) => [m.device, m.mountPoint, m.fsType, m.mode]),
      [
        ["/dev/sda1", "/", "ext4", "rw"],
        ["proc", "/proc", "proc", "rw"],
        ["tmpfs", "/run", "tmpfs", "rw"],
        ["/dev/sda2", "/data", "xfs", "ro"],
        ["/dev/sdb1", "/mnt/my disk", "ext4", "rw"],
      ],
    );
    assert.deepEqual([...await readPhysicalFsTypes(root)].sort(), ["ext4", "xfs", "zfs"]);
  }));

Deno.test("pressure, sockstat, entropy, file handle and thermal readers", () =>
  withRoot(async (root) => {
    const cpu = await readPressure("cpu", root);
    assert.deepEqual(cpu?.some, { avg10: 1.5, avg60: 2, avg300: 0.25, totalSeconds: 123.456789 });
    assert.equal(cpu?.full?.totalSeconds, 0);
    assert.equal(await readPressure("irq", root), undefined);
    const s = await readSockstat(root);
    assert.equal(s?.socketsUsed, 150);
    const tcp = s?.protocols.find((p) => p.protocol === "tcp");
    assert.deepEqual(Object.fromEntries(tcp!.values), {
      inuse: 12,
      orphan: 1,
      tw: 7,
      alloc: 20,
      mem: 3,
    });
    assert.ok(s?.protocols.some((p) => p.protocol === "tcp6" && p.values.get("inuse") === 5));
    assert.deepEqual(await readEntropy(root), { availableBits: 256, poolSizeBits: 256 });
    assert.deepEqual(await readFileHandles(root), {
      allocated: 2048,
      used: 2048,
      max: 9223372036854775807,
    });
    assert.deepEqual(parseFileNr("1000 10 5000"), { allocated: 1000, used: 990, max: 5000 });
    assert.deepEqual(await readThermalZones(root), [
      { zone: "thermal_zone0", type: "x86_pkg_temp", celsius: 45 },
      { zone: "thermal_zone1", type: "acpitz", celsius: 27.8 },
    ]);
  }));

Deno.test("optional sources read as undefined when absent", () =>
  withRoot(async (root) => {
    assert.equal(await readPressure("cpu", root), undefined);
    assert.equal(await readThermalZones(root), undefined);
    assert.equal(await readEntropy(root + "/nowhere"), undefined);
    assert.equal(await readSockstat(root + "/nowhere"), undefined);
  }, { psi: false, thermal: false }));

Deno.test("process readers parse stat (name with a space), status, cmdline, io, exe and fds", () =>
  withRoot(async (root) => {
    assert.deepEqual(await listPids(root), [1, 100, 200, 300]);
    const stat = await readProcStat(100, root);
    assert.equal(stat.comm, "my server");
    assert.equal(stat.state, "S");
    assert.equal(stat.ppid, 1);
    assert.equal(stat.userSeconds, 15);
    assert.equal(stat.systemSeconds, 2.5);
    assert.equal(stat.ioWaitSeconds, 0.3);
    assert.equal(stat.startSecondsAfterBoot, 120);
    assert.equal(stat.minorFaults, 500);
    assert.equal(stat.majorFaults, 7);
    assert.equal(stat.threads, 4);
    const status = await readProcStatus(100, root);
    assert.equal(status.name, "my server");
    assert.equal(status.uid, 1000);
    assert.equal(status.residentBytes, 10240 * 1024);
    assert.equal(status.virtualBytes, 102400 * 1024);
    assert.equal(status.signalsQueued, 2);
    assert.equal(status.voluntaryContextSwitches, 11);
    assert.deepEqual(await readCmdline(100, root), ["/usr/bin/my-server", "--port", "8080"]);
    assert.deepEqual(await readCmdline(300, root), []);
    const io = await readProcIo(100, root);
    assert.deepEqual([io.readChars, io.writeChars, io.storageReadBytes], [5000, 6000, 4096]);
    assert.equal(await readExe(100, root), "/usr/bin/my-server");
    assert.equal(await countOpenFds(100, root), 3);
    assert.equal((await readUsers(root)).get(1000), "alice");
    const census = await readProcessCensus(root);
    assert.deepEqual(Object.fromEntries(census.byState), { S: 1, R: 1, Z: 1 });
    assert.equal(census.threads, 4 + 1 + 0);
  }));

Deno.test("cpuinfo parser counts logical and physical CPUs", () => {
  const text = [0, 1, 2, 3].map((n) =>
    `processor\t: ${n}\nvendor_id\t: GenuineIntel\nmodel name\t: Test CPU\ncpu MHz\t\t: 2400.000\ncache size\t: 8192 KB\nphysical id\t: 0\ncore id\t\t: ${
      n % 2
    }\n\n`
  ).join("");
  const info = parseCpuInfo(text);
  assert.equal(info.logicalCount, 4);
  assert.equal(info.physicalCount, 2);
  assert.equal(info.processors[0]!.cacheSizeBytes, 8192 * 1024);
  assert.equal(info.processors[3]!.mhz, 2400);
});

// --- this machine ---------------------------------------------------------------------------

Deno.test("readers agree with an independent read of this machine's /proc", async () => {
  const stat = await readKernelStat();
  const raw = await Deno.readTextFile("/proc/stat");
  const btime = raw.split("\n").find((l) => l.startsWith("btime "))!;
  assert.equal(stat.bootTimeSeconds, Number(btime.slice(6)));
  const cpus = raw.split("\n").filter((l) => /^cpu\d+ /.test(l)).length;
  assert.equal(stat.perCpu.length, cpus);
  const mem = await readMemInfo();
  const memTotal = (await Deno.readTextFile("/proc/meminfo")).match(/^MemTotal:\s+(\d+) kB/m)!;
  assert.equal(mem.total, Number(memTotal[1]) * 1024);
  assert.ok((await readMounts()).some((m) => m.mountPoint === "/"));
  const self = await readProcStat(Deno.pid);
  assert.equal(self.pid, Deno.pid);
  assert.equal((await readProcStatus(Deno.pid)).threads > 0, true);
  assert.ok((await readCgroup(Deno.pid)).length > 0);
  assert.equal(await readExe(Deno.pid), Deno.execPath());
});
