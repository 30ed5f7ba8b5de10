/**
 * A fake host root in a temp directory, with /proc and /sys files hand-written in the published
 * formats (proc(5), Documentation/ABI, Documentation/accounting/psi.rst), so readers and scrapers
 * can be checked against exact values.
 */

/** Options of {@linkcode makeFakeRoot}. */
export interface FakeRootOptions {
  /** Write /proc/pressure/{cpu,memory,io}. @default true */
  psi?: boolean;
  /** Write /sys/class/thermal/thermal_zone{0,1}. @default true */
  thermal?: boolean;
}

/** `/proc/[pid]/stat` with the given fields (numbered as in proc(5), from 3) set, zeros elsewhere. */
export function procStatLine(pid: number, comm: string, fields: Record<number, string | number>) {
  const f: (string | number)[] = new Array(52 - 2).fill(0);
  for (const [n, v] of Object.entries(fields)) f[Number(n) - 3] = v;
  return `${pid} (${comm}) ${f.join(" ")}\n`;
}

async function write(root: string, path: string, text: string): Promise<void> {
  const full = root + path;
  await Deno.mkdir(full.slice(0, full.lastIndexOf("/")), { recursive: true });
  await Deno.writeTextFile(full, text);
}

/** Builds the fake root; returns its path (remove it with `Deno.remove(path, {recursive})`). */
export async function makeFakeRoot(options: FakeRootOptions = {}): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "tfo-fake-root-" });
  const w = (path: string, text: string) => write(root, path, text);
  await w(
    "/proc/stat",
    [
      "cpu  1000 200 300 4000 50 6 7 8 0 0",
      "cpu0 600 100 200 2000 25 3 4 4 0 0",
      "cpu1 400 100 100 2000 25 3 3 4 0 0",
      "intr 12345 1 2 3 0 0",
      "ctxt 67890",
      "btime 1700000000",
      "processes 4242",
      "procs_running 3",
      "procs_blocked 1",
      "softirq 555 1 2 3",
      "",
    ].join("\n"),
  );
  await w(
    "/proc/meminfo",
    [
      "MemTotal:       16000000 kB",
      "MemFree:         4000000 kB",
      "MemAvailable:    9000000 kB",
      "Buffers:          500000 kB",
      "Cached:          3000000 kB",
      "SwapCached:          100 kB",
      "Active:          5000000 kB",
      "Inactive:        2000000 kB",
      "Dirty:              1234 kB",
      "Shmem:             20000 kB",
      "Slab:             700000 kB",
      "SReclaimable:     400000 kB",
      "SUnreclaim:       300000 kB",
      "SwapTotal:       2097148 kB",
      "SwapFree:        2000000 kB",
      "HugePages_Total:       0",
      "Hugepagesize:       2048 kB",
      "",
    ].join("\n"),
  );
  await w(
    "/proc/diskstats",
    [
      "   8       0 sda 100 10 2000 50 200 20 4000 80 0 120 130 0 0 0 0 0 0",
      "   8       1 sda1 90 9 1800 45 190 19 3800 75 1 110 120",
      "   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0",
      "",
    ].join("\n"),
  );
  await w(
    "/proc/net/dev",
    [
      "Inter-|   Receive                                                |  Transmit",
      " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed",
      "    lo:    1000      10    0    0    0     0          0         0     1000      10    0    0    0     0       0          0",
      "  eth0:12345678901  20000    1    2    0     0          0         5   987654   15000    3    4    0     0       0          0",
      "docker0:     500       5    0    0    0     0          0         0      600       6    0    0    0     0       0          0",
      "",
    ].join("\n"),
  );
  const tcpHeader =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";
  await w(
    "/proc/net/tcp",
    [
      tcpHeader,
      "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1 0 100 0 0 10 0",
      "   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 1002 1 0 20 4 30 10 -1",
      "   2: 0100007F:C350 0100007F:1F90 06 00000000:00000000 03:00000F9E 00000000     0        0 0 3 0",
      "   3: 0100007F:C352 0100007F:1F90 06 00000000:00000000 03:00000F9E 00000000     0        0 0 3 0",
      "",
    ].join("\n"),
  );
  await w(
    "/proc/net/tcp6",
    [
      tcpHeader,
      "   0: 00000000000000000000000001000000:1F90 00000000000000000000000001000000:C354 01 00000000:00000000 00:00000000 00000000     0        0 2001 1 0 20 4 30 10 -1",
      "",
    ].join("\n"),
  );
  await w("/proc/loadavg", "0.50 1.25 2.00 2/300 12345\n");
  await w(
    "/proc/swaps",
    "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/dev/sda2                               partition\t2097148\t\t97148\t\t-2\n",
  );
  await w(
    "/proc/vmstat",
    [
      "nr_free_pages 123",
      "pgpgin 1000",
      "pgpgout 2000",
      "pswpin 10",
      "pswpout 20",
      "pgfault 50000",
      "pgmajfault 300",
      "pgscan_kswapd 7",
      "oom_kill 2",
      "",
    ].join("\n"),
  );
  if (options.psi ?? true) {
    await w(
      "/proc/pressure/cpu",
      "some avg10=1.50 avg60=2.00 avg300=0.25 total=123456789\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
    );
    await w(
      "/proc/pressure/memory",
      "some avg10=0.10 avg60=0.20 avg300=0.30 total=5000000\nfull avg10=0.05 avg60=0.10 avg300=0.15 total=2500000\n",
    );
    await w(
      "/proc/pressure/io",
      "some avg10=4.00 avg60=3.00 avg300=2.00 total=7000000\nfull avg10=1.00 avg60=0.50 avg300=0.25 total=1000000\n",
    );
  }
  await w(
    "/proc/net/sockstat",
    "sockets: used 150\nTCP: inuse 12 orphan 1 tw 7 alloc 20 mem 3\nUDP: inuse 4 mem 2\nUDPLITE: inuse 0\nRAW: inuse 1\nFRAG: inuse 0 memory 0\n",
  );
  await w(
    "/proc/net/sockstat6",
    "TCP6: inuse 5\nUDP6: inuse 2\nUDPLITE6: inuse 0\nRAW6: inuse 0\nFRAG6: inuse 0 memory 0\n",
  );
  await w("/proc/sys/kernel/random/entropy_avail", "256\n");
  await w("/proc/sys/kernel/random/poolsize", "256\n");
  await w("/proc/sys/fs/file-nr", "2048\t0\t9223372036854775807\n");
  await w("/proc/filesystems", "nodev\tsysfs\nnodev\tproc\nnodev\ttmpfs\n\text4\n\txfs\n");
  await w(
    "/proc/1/mountinfo",
    [
      "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro",
      "23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw",
      "24 22 0:22 / /run rw,nosuid,nodev - tmpfs tmpfs rw,size=1024k",
      "25 22 8:2 / /data ro,noatime - xfs /dev/sda2 ro",
      "26 22 8:17 / /mnt/my\\040disk rw,relatime - ext4 /dev/sdb1 rw",
      "",
    ].join("\n"),
  );
  for (const dir of ["/run", "/data", "/mnt/my disk"]) {
    await Deno.mkdir(root + dir, { recursive: true });
  }
  // Process 100: "my server", owned by alice, with I/O counters.
  await w(
    "/proc/100/stat",
    procStatLine(100, "my server", {
      3: "S",
      4: 1,
      10: 500,
      12: 7,
      14: 1500,
      15: 250,
      20: 4,
      22: 12000,
      23: 104857600,
      24: 2560,
      42: 30,
    }),
  );
  await w(
    "/proc/100/status",
    [
      "Name:\tmy server",
      "State:\tS (sleeping)",
      "PPid:\t1",
      "Uid:\t1000\t1000\t1000\t1000",
      "VmSize:\t  102400 kB",
      "VmRSS:\t   10240 kB",
      "Threads:\t4",
      "SigQ:\t2/1000",
      "voluntary_ctxt_switches:\t11",
      "nonvoluntary_ctxt_switches:\t3",
      "",
    ].join("\n"),
  );
  await w("/proc/100/cmdline", "/usr/bin/my-server\0--port\x008080\0");
  await w(
    "/proc/100/io",
    "rchar: 5000\nwchar: 6000\nsyscr: 50\nsyscw: 60\nread_bytes: 4096\nwrite_bytes: 8192\ncancelled_write_bytes: 0\n",
  );
  await Deno.mkdir(`${root}/proc/100/fd`, { recursive: true });
  for (const fd of ["0", "1", "2"]) await Deno.writeTextFile(`${root}/proc/100/fd/${fd}`, "");
  await Deno.symlink("/usr/bin/my-server", `${root}/proc/100/exe`);
  // Process 200: "bash", root, running; no io file (as for another user's process).
  await w(
    "/proc/200/stat",
    procStatLine(200, "bash", { 3: "R", 4: 100, 14: 10, 15: 5, 20: 1, 22: 50000 }),
  );
  await w(
    "/proc/200/status",
    "Name:\tbash\nUid:\t0\t0\t0\t0\nVmSize:\t    8000 kB\nVmRSS:\t    4000 kB\nThreads:\t1\nSigQ:\t0/1000\n",
  );
  await w("/proc/200/cmdline", "-bash\0");
  await Deno.symlink("/bin/bash", `${root}/proc/200/exe`);
  // Process 300: a zombie, no status owner lookup issue.
  await w("/proc/300/stat", procStatLine(300, "defunct", { 3: "Z", 4: 200, 22: 60000 }));
  await w("/proc/300/status", "Name:\tdefunct\nUid:\t0\t0\t0\t0\nThreads:\t1\n");
  await w("/proc/300/cmdline", "");
  await w(
    "/etc/passwd",
    "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n",
  );
  if (options.thermal ?? true) {
    await w("/sys/class/thermal/thermal_zone0/type", "x86_pkg_temp\n");
    await w("/sys/class/thermal/thermal_zone0/temp", "45000\n");
    await w("/sys/class/thermal/thermal_zone1/type", "acpitz\n");
    await w("/sys/class/thermal/thermal_zone1/temp", "27800\n");
    await w("/sys/class/thermal/cooling_device0/type", "Processor\n");
  }
  return root;
}
