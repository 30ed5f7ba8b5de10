/**
 * Log sources at saturation, each against its peer on the same load in one run:
 *
 * - syslog: RFC 5424 lines over TCP (newline framing, 4 connections) into tfo's `syslog` receiver
 *   → batch → otlphttp → sink, and into rsyslog (`imtcp` → `omfile`, Debian's rsyslogd); the
 *   Collector's syslog receiver cannot be built here (its `pkg/stanza` v0.161.0 is refused by the
 *   module proxy);
 * - forward: Fluent Forward PackedForward messages of 100 records over TCP into tfo's
 *   `fluentforward` receiver and the Collector's `fluent_forward` receiver (otelcol-contrib from
 *   `bench/peers.sh`), each → batch → otlphttp → sink.
 *
 * The generator (`bench/_stream_gen.ts`, its own process) writes `--records` records as fast as
 * the receiver reads; a run ends when the sink counted every record (rsyslog: when its output file
 * holds every line). Reported: records/s from the first byte to the last record delivered, and
 * records per CPU-second of the receiving process.
 *
 * ```sh
 * deno run -A bench/sources_bench.ts [--records 500000] [--rounds 2] [--out bench/RESULTS.md]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { ChildGroup, freePort, sleep, TFO_RUN_FLAGS, waitForPort } from "./_children.ts";
import { sampleProc } from "./_proc.ts";
import { summarizeProfile } from "./_profile.ts";
import { writeResultsSection } from "./_report.ts";
import type { SinkStats } from "./sink.ts";

const DENO = Deno.execPath();
const MAIN = new URL("../main.ts", import.meta.url).pathname;
const SECTION_START = "<!-- sources-bench:start -->";
const SECTION_END = "<!-- sources-bench:end -->";
const PEERS = `${Deno.env.get("TFO_PEERS_DIR") ?? `${Deno.env.get("HOME")}/.cache/tfo-peers`}/bin`;
const OTELCOL_CONTRIB = Deno.env.get("OTELCOL_CONTRIB") ?? `${PEERS}/otelcol-contrib`;
const RSYSLOGD = "/usr/sbin/rsyslogd";

type Protocol = "syslog" | "forward";
type Engine = "tfo" | "collector" | "rsyslog";

interface Result {
  protocol: Protocol;
  engine: Engine;
  records: number;
  seconds: number;
  cpuSeconds: number;
  peakRssMiB: number;
}

function tfoConfig(protocol: Protocol, port: number, sink: number, telemetry: number): string {
  const receiver = protocol === "syslog"
    ? `syslog:\n    protocol: rfc5424\n    tcp:\n      listen_address: 127.0.0.1:${port}`
    : `fluentforward:\n    endpoint: 127.0.0.1:${port}`;
  return `receivers:
  ${receiver}
processors:
  batch:
    send_batch_size: 8192
    timeout: 200ms
exporters:
  otlphttp:
    endpoint: http://127.0.0.1:${sink}
    compression: none
    sending_queue: { block_on_overflow: true }
service:
  telemetry:
    logs: { level: warn }
    metrics: { address: 127.0.0.1:${telemetry} }
  pipelines:
    logs:
      receivers: [${protocol === "syslog" ? "syslog" : "fluentforward"}]
      processors: [batch]
      exporters: [otlphttp]
`;
}

function collectorConfig(port: number, sink: number, telemetry: number): string {
  return `receivers:
  fluent_forward:
    endpoint: 127.0.0.1:${port}
processors:
  batch:
    send_batch_size: 8192
    timeout: 200ms
exporters:
  otlp_http:
    endpoint: http://127.0.0.1:${sink}
    compression: none
    sending_queue: { enabled: true, num_consumers: 10, queue_size: 10, block_on_overflow: true }
service:
  telemetry:
    logs: { level: warn }
    metrics:
      level: normal
      readers:
        - pull: { exporter: { prometheus: { host: 127.0.0.1, port: ${telemetry} } } }
  pipelines:
    logs:
      receivers: [fluent_forward]
      processors: [batch]
      exporters: [otlp_http]
`;
}

function rsyslogConfig(dir: string, port: number): string {
  return `global(workDirectory="${dir}")
module(load="imtcp" MaxSessions="64")
input(type="imtcp" address="127.0.0.1" port="${port}")
template(name="all" type="string" string="%jsonmesg%\\n")
main_queue(queue.type="FixedArray" queue.size="100000")
action(type="omfile" file="${dir}/out.log" template="all" asyncWriting="on"
       ioBufferSize="256k" flushInterval="1" flushOnTXEnd="off")
`;
}

async function sinkLogs(port: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/stats`);
  return ((await res.json()) as SinkStats).items.logs;
}

/** Counts the lines of a file that only grows, reading only what was added since last time. */
function lineCounter(path: string): () => Promise<number> {
  let offset = 0;
  let lines = 0;
  const chunk = new Uint8Array(1 << 20);
  return async () => {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path);
    } catch {
      return 0;
    }
    try {
      await file.seek(offset, Deno.SeekMode.Start);
      for (;;) {
        const n = await file.read(chunk);
        if (n === null || n === 0) break;
        offset += n;
        for (let at = chunk.indexOf(0x0a); at >= 0 && at < n; at = chunk.indexOf(0x0a, at + 1)) {
          lines++;
        }
      }
    } finally {
      file.close();
    }
    return lines;
  };
}

async function runOne(
  protocol: Protocol,
  engine: Engine,
  o: { records: number; connections: number; profileDir?: string | undefined },
): Promise<Result> {
  const group = new ChildGroup();
  const dir = await Deno.makeTempDir({ prefix: "tfo-sources-bench-" });
  try {
    const port = freePort();
    const sinkGrpc = freePort();
    const sinkHttp = freePort();
    const telemetry = freePort();
    let delivered: () => Promise<number>;
    let receiver;
    if (engine === "rsyslog") {
      await Deno.writeTextFile(`${dir}/rsyslog.conf`, rsyslogConfig(dir, port));
      receiver = group.spawn("rsyslogd", RSYSLOGD, [
        "-n",
        "-f",
        `${dir}/rsyslog.conf`,
        "-i",
        `${dir}/rsyslogd.pid`,
      ]);
      delivered = lineCounter(`${dir}/out.log`);
    } else {
      const sink = group.spawn("sink", DENO, [
        "run",
        "--allow-all",
        new URL("./sink.ts", import.meta.url).pathname,
        "--grpc-port",
        String(sinkGrpc),
        "--http-port",
        String(sinkHttp),
      ]);
      await sink.nextLine((l) => l === "ready", 30_000);
      const config = `${dir}/${engine}.yaml`;
      if (engine === "tfo") {
        await Deno.writeTextFile(config, tfoConfig(protocol, port, sinkHttp, telemetry));
        receiver = group.spawn("tfo", DENO, [
          "run",
          ...TFO_RUN_FLAGS,
          ...(o.profileDir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${o.profileDir}`]),
          MAIN,
          "run",
          "--config",
          config,
        ]);
      } else {
        await Deno.writeTextFile(config, collectorConfig(port, sinkHttp, telemetry));
        receiver = group.spawn("otelcol-contrib", OTELCOL_CONTRIB, ["--config", config]);
      }
      delivered = () => sinkLogs(sinkHttp);
    }
    await waitForPort(port, 60_000, receiver);
    await sleep(500);
    const before = await sampleProc(receiver.pid);
    const start = await delivered();
    const t0 = performance.now();
    const gen = group.spawn("stream_gen", DENO, [
      "run",
      "--allow-all",
      new URL("./_stream_gen.ts", import.meta.url).pathname,
      "--target",
      `127.0.0.1:${port}`,
      "--mode",
      protocol,
      "--records",
      String(o.records),
      "--connections",
      String(o.connections),
    ]);
    const sent = JSON.parse(await gen.nextLine((l) => l.startsWith("{"), 600_000)) as {
      records: number;
    };
    const deadline = performance.now() + 30_000;
    let got = 0;
    for (;;) {
      got = (await delivered()) - start;
      if (got >= sent.records) break;
      if (performance.now() > deadline) {
        const metrics = engine === "rsyslog" ? "" : await fetch(
          `http://127.0.0.1:${telemetry}/metrics`,
        ).then((r) => r.text()).catch(() => "");
        const counts = metrics.split("\n").filter((l) =>
          /^otelcol_(receiver|exporter|processor)_\w*(log|refused|failed)/.test(l)
        ).join("\n");
        throw new Error(
          `${engine} ${protocol}: ${got} of ${sent.records} records after 30 s:\n${counts}\n${receiver.tail()}`,
        );
      }
      await sleep(20);
    }
    const seconds = (performance.now() - t0) / 1000;
    const after = await sampleProc(receiver.pid);
    if (o.profileDir !== undefined && engine === "tfo") {
      await receiver.stop(30_000);
      for await (const e of Deno.readDir(o.profileDir)) {
        if (!e.name.endsWith(".cpuprofile")) continue;
        const text = await Deno.readTextFile(`${o.profileDir}/${e.name}`);
        console.log(`### ${protocol}\n\n${summarizeProfile(text, 30)}\n`);
        await Deno.remove(`${o.profileDir}/${e.name}`);
      }
    }
    return {
      protocol,
      engine,
      records: got,
      seconds,
      cpuSeconds: after.cpuSeconds - before.cpuSeconds,
      peakRssMiB: after.hwmBytes / 1048576,
    };
  } finally {
    await group.stopAll();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

function fmt(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return "n/a";
  return n.toLocaleString("en-US", {
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  });
}

function render(results: Result[], o: { records: number; connections: number }, load: string) {
  const rows = results.map((r) =>
    `| ${r.protocol} | ${r.engine} | ${fmt(r.records)} | ${fmt(r.seconds, 2)} | ${
      fmt(r.records / r.seconds)
    } | ${fmt(r.cpuSeconds, 2)} | ${fmt(r.records / r.cpuSeconds)} | ${fmt(r.peakRssMiB)} |`
  );
  const ratio = (protocol: Protocol, peer: Engine) => {
    const mine = results.filter((r) => r.protocol === protocol && r.engine === "tfo");
    const theirs = results.filter((r) => r.protocol === protocol && r.engine === peer);
    if (mine.length === 0 || theirs.length === 0) return "n/a";
    const sum = (rs: Result[], f: (r: Result) => number) => rs.reduce((s, r) => s + f(r), 0);
    const rate = (rs: Result[]) => sum(rs, (r) => r.records) / sum(rs, (r) => r.seconds);
    const perCpu = (rs: Result[]) => sum(rs, (r) => r.records) / sum(rs, (r) => r.cpuSeconds);
    return `${fmt(rate(mine) / rate(theirs), 2)}× the records/s, ${
      fmt(perCpu(mine) / perCpu(theirs), 2)
    }× the records per CPU-second`;
  };
  return [
    SECTION_START,
    "### Log sources: syslog against rsyslog, Fluent Forward against the Collector",
    "",
    `Measured by \`deno run -A bench/sources_bench.ts --records ${o.records}\` on ${
      new Date().toISOString()
    } (${navigator.hardwareConcurrency} CPUs, load average ${load} before the run). A separate ` +
    `generator process writes the records over ${o.connections} TCP connections as fast as the ` +
    "receiver reads them. syslog: RFC 5424 lines of 160 bytes with structured data, newline " +
    "framed; tfo parses them into log records and sends OTLP (batch → otlphttp) to the sink; " +
    "rsyslog 8 parses them (`imtcp`, RFC 5424 parser) and writes every parsed field as one JSON " +
    "line (`%jsonmesg%`) to a file (`omfile`, async writes), its natural job. forward: " +
    "PackedForward messages of 100 records (Fluent Bit's form); tfo and the Collector v0.161 " +
    "(`fluent_forward`) both send OTLP (batch → otlp_http) to the sink, both exporters' sending " +
    "queues with `block_on_overflow: true` (the Collector's with `queue_size: 10` batches behind " +
    "its batch processor, tfo's at its default 1,000 requests with the batch settings handed to " +
    "it). Time runs from the first " +
    "byte to the last record counted at the sink (or in rsyslog's file); CPU is the receiving " +
    "process's own. The Collector's syslog receiver cannot be built here (the proxy refuses its " +
    "pkg/stanza v0.161.0).",
    "",
    "| protocol | engine | records | seconds | records/s | CPU s | records per CPU-s | peak RSS MiB |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows,
    "",
    `syslog: tfo at ${ratio("syslog", "rsyslog")} of rsyslog. forward: tfo at ${
      ratio("forward", "collector")
    } of the Collector.`,
    SECTION_END,
  ].join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      records: { type: "string", default: "500000" },
      connections: { type: "string", default: "4" },
      rounds: { type: "string", default: "2" },
      only: { type: "string", default: "syslog,forward" },
      engines: { type: "string", default: "tfo,collector,rsyslog" },
      profile: { type: "string" },
      out: { type: "string" },
    },
  });
  const load = (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
  const o = {
    records: Number(values.records),
    connections: Number(values.connections),
    profileDir: values.profile,
  };
  const engines = values.engines.split(",");
  const plan: [Protocol, Engine][] = [];
  const only = values.only.split(",");
  for (let round = 0; round < Number(values.rounds); round++) {
    if (only.includes("syslog")) {
      const exists = await Deno.stat(RSYSLOGD).then(() => true, () => false);
      if (!exists) console.error(`sources_bench: ${RSYSLOGD} is missing (apt install rsyslog)`);
      plan.push(["syslog", "tfo"]);
      if (exists) plan.push(["syslog", "rsyslog"]);
    }
    if (only.includes("forward")) {
      plan.push(["forward", "tfo"], ["forward", "collector"]);
    }
  }
  const results: Result[] = [];
  for (const [protocol, engine] of plan.filter(([, e]) => engines.includes(e))) {
    const r = await runOne(protocol, engine, o);
    console.error(
      `${protocol} ${engine}: ${fmt(r.records / r.seconds)} records/s, ${
        fmt(r.records / r.cpuSeconds)
      } per CPU-s, ${fmt(r.peakRssMiB)} MiB`,
    );
    results.push(r);
  }
  const section = render(results, o, load);
  console.log(section);
  if (values.out !== undefined) {
    await writeResultsSection(values.out, SECTION_START, SECTION_END, section);
  }
}
