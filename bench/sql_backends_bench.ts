/**
 * The SQL backends benchmark: log records into the `postgresql` exporter (a real PostgreSQL 15)
 * and the `clickhouse` exporter (ClickHouse 26.9 in chDB behind tfo's HTTP front-end), two ways:
 *
 * 1. Pipeline: OTLP/HTTP protobuf logs from `load_gen.ts` (the pass-through benchmark's logs
 *    requests, 100 records each) into `tfo run`, exported into the database. Records/s is what
 *    the exporter delivered (the rise of tfo's `otelcol_exporter_sent_log_records` over the
 *    window), CPU is tfo's over the same window (receiver, queue and exporter), the database's
 *    apart (PostgreSQL: the postmaster and its backends; chDB: the front-end's process).
 * 2. Encoding: the exporter's conversion alone, in this process, over the same records: COPY text
 *    (postgresql) and RowBinary (clickhouse), CPU-seconds per million records.
 *
 * The Collector is not measured: the contrib build here has no clickhouse exporter, and none has
 * a PostgreSQL one. The contrib ClickHouse exporter's README claims about 40k logs/s per core.
 *
 * ```sh
 * deno run -A bench/sql_backends_bench.ts [--duration 10] [--workers 8] [--only postgresql,clickhouse]
 *   [--out bench/RESULTS.md]
 * deno run -A bench/sql_backends_bench.ts --formats [--out bench/RESULTS.md]   # RowBinary vs Native
 * deno run -A bench/sql_backends_bench.ts --clients [--out bench/RESULTS.md]   # pg vs postgres
 * ```
 *
 * `--formats` measures the two ClickHouse insert formats against each other instead, `--clients`
 * the two PostgreSQL clients.
 *
 * @module
 */
import { parseArgs } from "node:util";
import process from "node:process";
import { ChildGroup, freePort, sleep, TFO_RUN_FLAGS, waitForPort } from "./_children.ts";
import { sampleProc } from "./_proc.ts";
import { requestTemplates } from "./_payloads.ts";
import type { LoadGenResult } from "./load_gen.ts";
import { writeResultsSection } from "./_report.ts";
import { decodeLogsRequest } from "../lib/otlp/mod.ts";
import { NO_CLIENT } from "../lib/pdata/payload.ts";
import type { LogsData } from "../lib/pdata/types.ts";
import { logRows as copyRows } from "../components/exporter/postgresql/_rows.ts";
import { logRows as rowBinaryRows } from "../components/exporter/clickhouse/_rows.ts";
import { clickhouseConfigSchema } from "../components/exporter/clickhouse/config.ts";
import { insertStatement, tableDdl } from "../components/exporter/clickhouse/_ddl.ts";
import { nativeLogs } from "./_clickhouse_native.ts";
import pg from "pg";
import { from as pgCopyFrom } from "pg-copy-streams";
// deno-lint-ignore no-import-prefix -- the bench-only rival of the exporter's client, pinned here
import porsager from "npm:postgres@3.4.9";
import { Buffer } from "node:buffer";
import {
  POSTGRES_MISSING,
  POSTGRES_PASSWORD,
  type PostgresCluster,
  startPostgres,
} from "../tests/fixtures/postgres.ts";
import {
  CLICKHOUSE_MISSING,
  type ClickhouseServer,
  startClickhouse,
} from "../tests/fixtures/clickhouse.ts";
import { loadConfigLibs } from "../lib/config/config_libs.ts";

// Config schemas are built lazily: parsing one needs zod (and yaml) loaded first (issue 18).
await loadConfigLibs();

const DENO = Deno.execPath();
const MAIN = new URL("../main.ts", import.meta.url).pathname;
const SECTION_START = "<!-- sql-backends-bench:start -->";
const SECTION_END = "<!-- sql-backends-bench:end -->";
const CLIENTS_START = "<!-- postgres-clients-bench:start -->";
const CLIENTS_END = "<!-- postgres-clients-bench:end -->";
const FORMATS_START = "<!-- clickhouse-formats-bench:start -->";
const FORMATS_END = "<!-- clickhouse-formats-bench:end -->";

type Target = "postgresql" | "clickhouse";

function exporterYaml(target: Target, backend: PostgresCluster | ClickhouseServer): string[] {
  return target === "postgresql"
    ? [
      "  postgresql:",
      `    endpoint: 127.0.0.1:${(backend as PostgresCluster).port}`,
      "    database: tfo",
      "    username: tfo",
      `    password: ${POSTGRES_PASSWORD}`,
      "    tls: { insecure: true }",
      "    timeout: 60s",
    ]
    : [
      "  clickhouse:",
      `    endpoint: ${(backend as ClickhouseServer).url}`,
      "    database: bench",
      "    timeout: 60s",
    ];
}

function tfoConfig(
  target: Target,
  backend: PostgresCluster | ClickhouseServer,
  otlp: number,
  metrics: number,
) {
  return [
    "receivers:",
    "  otlp:",
    "    protocols:",
    `      http: { endpoint: 127.0.0.1:${otlp} }`,
    "exporters:",
    ...exporterYaml(target, backend),
    "    sending_queue:",
    "      queue_size: 200",
    "      num_consumers: 2",
    "      batch: { flush_timeout: 200ms, min_size: 10000, max_size: 20000 }",
    "service:",
    "  telemetry:",
    `    metrics: { address: 127.0.0.1:${metrics} }`,
    "  pipelines:",
    `    logs: { receivers: [otlp], exporters: [${target}] }`,
  ].join("\n");
}

async function counter(metrics: number, target: Target, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metrics}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith(name) && line.includes(`exporter="${target}"`)) {
      sum += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return sum;
}

/** CPU-seconds of a process and its direct children (PostgreSQL's backends). */
async function treeCpu(pid: number): Promise<number> {
  let total = (await sampleProc(pid).catch(() => ({ cpuSeconds: 0 }))).cpuSeconds;
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`).catch(() => "");
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (ppid === pid) {
      total += (await sampleProc(Number(entry.name)).catch(() => ({ cpuSeconds: 0 }))).cpuSeconds;
    }
  }
  return total;
}

interface PipelineResult {
  target: Target;
  recordsPerSecond: number;
  cpuSeconds: number;
  recordsPerCpuSecond: number;
  backendCpuSeconds: number;
  rssMiB: number;
  offered: number;
  refused: number;
  failed: number;
}

async function pipeline(
  target: Target,
  o: { durationS: number; warmupS: number; workers: number },
): Promise<PipelineResult> {
  const group = new ChildGroup();
  const dir = await Deno.makeTempDir({ prefix: "tfo-sql-bench-" });
  await using backend = target === "postgresql" ? await startPostgres() : await startClickhouse();
  try {
    const otlp = freePort();
    const metrics = freePort();
    await Deno.writeTextFile(`${dir}/config.yaml`, tfoConfig(target, backend, otlp, metrics));
    const tfo = group.spawn("tfo", DENO, [
      "run",
      ...TFO_RUN_FLAGS,
      MAIN,
      "run",
      "--config",
      `${dir}/config.yaml`,
    ]);
    await waitForPort(otlp, 60_000, tfo);
    const gen = group.spawn("load_gen", DENO, [
      "run",
      "--allow-all",
      new URL("./load_gen.ts", import.meta.url).pathname,
      "--signal",
      "logs",
      "--protocol",
      "http",
      "--target",
      `127.0.0.1:${otlp}`,
      "--workers",
      String(o.workers),
      "--warmup",
      String(o.warmupS),
      "--duration",
      String(o.durationS),
      "--items",
      "100",
    ]);
    const resultLine = gen.nextLine(
      (l) => l.startsWith("{"),
      (o.warmupS + o.durationS) * 1000 + 120_000,
    );
    resultLine.catch(() => {});
    await gen.nextLine((l) => l === "start", 30_000);
    await sleep(o.warmupS * 1000);
    const pid = target === "postgresql"
      ? await (backend as PostgresCluster).serverPid()
      : (backend as ClickhouseServer).pid();
    const before = await sampleProc(tfo.pid);
    const backendBefore = pid === undefined ? NaN : await treeCpu(pid);
    const sentBefore = await counter(metrics, target, "otelcol_exporter_sent_log_records");
    const t0 = performance.now();
    await sleep(o.durationS * 1000);
    const sentAfter = await counter(metrics, target, "otelcol_exporter_sent_log_records");
    const seconds = (performance.now() - t0) / 1000;
    const after = await sampleProc(tfo.pid);
    const backendAfter = pid === undefined ? NaN : await treeCpu(pid);
    const result = JSON.parse(await resultLine) as LoadGenResult;
    await gen.exited;
    const failed = await counter(metrics, target, "otelcol_exporter_send_failed_log_records");
    if (sentAfter === sentBefore) console.error(`${target}: nothing delivered:\n${tfo.tail()}`);
    const cpu = after.cpuSeconds - before.cpuSeconds;
    const sent = sentAfter - sentBefore;
    return {
      target,
      recordsPerSecond: sent / seconds,
      cpuSeconds: cpu,
      recordsPerCpuSecond: sent / Math.max(cpu, 1e-9),
      backendCpuSeconds: backendAfter - backendBefore,
      rssMiB: after.hwmBytes / 1048576,
      offered: result.window.items,
      refused: result.window.errors,
      failed,
    };
  } finally {
    await group.stopAll();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

interface EncodeResult {
  target: Target;
  cpuSecondsPerMillion: number;
  bytesPerRecord: number;
}

/** CPU of the conversion alone: 20,000-record batches, 1,000,000 records after a warm-up. */
function encoding(target: Target): EncodeResult {
  const batches: LogsData[] = requestTemplates("logs", 20_000, 4).map((t) =>
    decodeLogsRequest(t.bytes)
  );
  const day = 86_400_000;
  let bytes = 0;
  const once = (data: LogsData): number => {
    if (target === "postgresql") return copyRows(data, NO_CLIENT, day).logs!.bytes.length;
    return rowBinaryRows(data).logs!.writer.length;
  };
  for (let i = 0; i < 20; i++) once(batches[i % batches.length]!);
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < 50; i++) bytes += once(batches[i % batches.length]!);
  const cpu = process.cpuUsage(cpu0);
  return {
    target,
    cpuSecondsPerMillion: (cpu.user + cpu.system) / 1e6,
    bytesPerRecord: bytes / 1_000_000,
  };
}

interface FormatResult {
  format: "RowBinary" | "Native";
  encodeCpuSecondsPerMillion: number;
  bytesPerRecord: number;
  insertRecordsPerSecond: number;
  serverCpuSecondsPerMillion: number;
  checksum: string;
}

/**
 * RowBinary against Native for the logs table: the encoder's CPU over 1,000,000 records, then
 * 400,000 records inserted (20,000 per request, one at a time) into chDB, wall time and the
 * server's CPU; a checksum over every inserted column proves both stored the same rows.
 */
async function formats(): Promise<FormatResult[]> {
  const batches: LogsData[] = requestTemplates("logs", 20_000, 4).map((t) =>
    decodeLogsRequest(t.bytes)
  );
  const encoders = {
    RowBinary: (d: LogsData) => rowBinaryRows(d).logs!.writer.bytes().slice(),
    Native: nativeLogs,
  } as const;
  const out: FormatResult[] = [];
  await using server = await startClickhouse();
  const config = clickhouseConfigSchema.parse({ endpoint: server.url });
  await server.query("CREATE DATABASE IF NOT EXISTS fmt");
  for (const format of ["RowBinary", "Native"] as const) {
    const encode = encoders[format];
    for (let i = 0; i < 20; i++) encode(batches[i % batches.length]!);
    const cpu0 = process.cpuUsage();
    let bytes = 0;
    for (let i = 0; i < 50; i++) bytes += encode(batches[i % batches.length]!).length;
    const cpu = process.cpuUsage(cpu0);
    const table = `logs_${format.toLowerCase()}`;
    await server.query(tableDdl(config, "fmt", table, "logs"));
    const bodies = batches.map(encode);
    const query = insertStatement("fmt", table, "logs").replace(/RowBinary$/, format);
    const pid = server.pid()!;
    const server0 = (await sampleProc(pid)).cpuSeconds;
    const t0 = performance.now();
    for (let i = 0; i < 20; i++) {
      const r = await fetch(`${server.url}/?query=${encodeURIComponent(query)}`, {
        method: "POST",
        body: bodies[i % bodies.length]! as Uint8Array<ArrayBuffer>,
      });
      const text = await r.text();
      if (!r.ok) throw new Error(`${format} insert failed: ${text}`);
    }
    const seconds = (performance.now() - t0) / 1000;
    const serverCpu = (await sampleProc(pid)).cpuSeconds - server0;
    const checksum = (await server.query(
      `SELECT count(), groupBitXor(cityHash64(Timestamp, TraceId, SpanId, TraceFlags, ` +
        `SeverityText, SeverityNumber, ServiceName, Body, ResourceAttributes, ScopeName, ` +
        `ScopeVersion, ScopeAttributes, LogAttributes, EventName)) FROM fmt.${table}`,
    )).trim();
    out.push({
      format,
      encodeCpuSecondsPerMillion: (cpu.user + cpu.system) / 1e6,
      bytesPerRecord: bytes / 1_000_000,
      insertRecordsPerSecond: 400_000 / seconds,
      serverCpuSecondsPerMillion: serverCpu / 0.4,
      checksum,
    });
  }
  return out;
}

function renderFormats(results: FormatResult[], load: string): string {
  return [
    FORMATS_START,
    "### ClickHouse insert format: RowBinary against Native (logs table)",
    "",
    `Measured by \`deno run -A bench/sql_backends_bench.ts --formats\` on ${
      new Date().toISOString()
    } (${navigator.hardwareConcurrency} CPUs, load average ${load} before the run, shared). ` +
    "Encoding: tfo's conversion of 1,000,000 log records (20,000 a batch) into the insert body. " +
    "Insert: 400,000 records, 20,000 per request one at a time, into chDB behind tfo's " +
    "front-end (which writes each body to a file and inserts it `FROM INFILE`); the server's " +
    "CPU per million records. The checksum (rows, and a hash over every column) shows both " +
    "stored the same rows. The Native encoder (`bench/_clickhouse_native.ts`) exists only for " +
    "this measurement.",
    "",
    "| format | encode CPU s per million | bytes per record | inserted records/s | server CPU s per million | rows, checksum |",
    "| --- | ---: | ---: | ---: | ---: | --- |",
    ...results.map((r) =>
      `| ${r.format} | ${fmt(r.encodeCpuSecondsPerMillion, 2)} | ${fmt(r.bytesPerRecord)} | ${
        fmt(r.insertRecordsPerSecond)
      } | ${fmt(r.serverCpuSecondsPerMillion, 2)} | ${r.checksum.replace("\t", ", ")} |`
    ),
    FORMATS_END,
  ].join("\n");
}

interface ClientResult {
  client: string;
  method: string;
  rowsPerSecond: number;
  clientCpuMicrosPerRow: number;
}

type Writable = {
  write(b: Uint8Array): boolean;
  end(): void;
  on(e: string, f: (e?: Error) => void): void;
};

function finish(w: Writable, body: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    w.on("error", (e) => reject(e));
    w.on("finish", () => resolve());
    w.write(Buffer.from(body));
    w.end();
  });
}

/**
 * The PostgreSQL client, chosen by this: the exporter's logs COPY bodies (5,000 rows each,
 * 200,000 rows per run) through node-postgres with pg-copy-streams and through porsager's
 * `postgres` (its own COPY stream), and porsager's multi-row INSERT of the same rows; rows/s and
 * this process's CPU per row, each twice, alternating, into one fresh cluster.
 */
async function clients(): Promise<ClientResult[]> {
  await using cluster = await startPostgres();
  const batches: LogsData[] = requestTemplates("logs", 5_000, 4).map((t) =>
    decodeLogsRequest(t.bytes)
  );
  const bodies = batches.map((d) => copyRows(d, NO_CLIENT, 86_400_000).logs!.bytes.slice());
  const { COLUMNS, copyStatement, tableDdl } = await import(
    "../components/exporter/postgresql/_schema.ts"
  );
  for (const sql of tableDdl("public", "otel_logs", "logs")) await cluster.psql(sql);
  await cluster.psql(
    "CREATE TABLE otel_logs_all PARTITION OF otel_logs FOR VALUES FROM (MINVALUE) TO (MAXVALUE)",
  );
  const copy = copyStatement("public", "otel_logs", "logs");
  const runs = 40; // 200,000 rows
  const pgClient = new pg.Client({ connectionString: cluster.url });
  await pgClient.connect();
  const sql = porsager(cluster.url, { max: 1, onnotice: () => {} });
  const columns = COLUMNS.logs.map(([c]) => c);
  const measure = async (client: string, method: string, one: (i: number) => Promise<void>) => {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < runs; i++) await one(i);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    return {
      client,
      method,
      rowsPerSecond: runs * 5_000 / seconds,
      clientCpuMicrosPerRow: (cpu.user + cpu.system) / (runs * 5_000),
    };
  };
  const out: ClientResult[] = [];
  try {
    for (let round = 0; round < 2; round++) {
      out.push(
        await measure("pg 8.23.1 + pg-copy-streams 7.0.0", "COPY", (i) =>
          finish(
            pgClient.query(pgCopyFrom(copy)) as unknown as Writable,
            bodies[i % bodies.length]!,
          )),
      );
      out.push(
        await measure("postgres 3.4.9 (porsager)", "COPY", async (i) => {
          const w = await sql.unsafe(copy).writable();
          await finish(w as unknown as Writable, bodies[i % bodies.length]!);
        }),
      );
    }
    // Multi-row INSERT of the same rows, parsed back from COPY text (not timed).
    const rows = new TextDecoder().decode(bodies[0]!).split("\n").filter((l) => l !== "").map(
      (line) =>
        Object.fromEntries(
          line.split("\t").map((v, i) => [
            columns[i]!,
            v === "\\N" ? null : v.replace(/\\\\x/, "\\x").replace(/\\\\/g, "\\"),
          ]),
        ),
    );
    out.push(
      await measure("postgres 3.4.9 (porsager)", "multi-row INSERT", async () => {
        // At most 65,535 parameters a statement: 2,000 rows of 27 columns.
        for (let at = 0; at < rows.length; at += 2_000) {
          await sql`INSERT INTO otel_logs ${sql(rows.slice(at, at + 2_000), columns)}`;
        }
      }),
    );
  } finally {
    await pgClient.end();
    await sql.end();
  }
  return out;
}

function renderClients(results: ClientResult[], load: string): string {
  return [
    CLIENTS_START,
    "### PostgreSQL client: node-postgres against porsager's postgres",
    "",
    `Measured by \`deno run -A bench/sql_backends_bench.ts --clients\` on ${
      new Date().toISOString()
    } (${navigator.hardwareConcurrency} CPUs, load average ${load} before the run, shared): ` +
    "the postgresql exporter's logs COPY bodies, 5,000 rows each, 200,000 rows a run, one " +
    "connection, into a fresh PostgreSQL 15 (fsync off); each client twice, alternating; the " +
    "multi-row INSERT sends the same rows 2,000 a statement (PostgreSQL's 65,535-parameter " +
    "limit). CPU is " +
    "this process's (the client's) per row; PostgreSQL's work is the same for both COPYs.",
    "",
    "| client | method | rows/s | client CPU µs per row |",
    "| --- | --- | ---: | ---: |",
    ...results.map((r) =>
      `| ${r.client} | ${r.method} | ${fmt(r.rowsPerSecond)} | ${fmt(r.clientCpuMicrosPerRow, 2)} |`
    ),
    CLIENTS_END,
  ].join("\n");
}

function fmt(n: number, digits = 0): string {
  if (Number.isNaN(n)) return "n/a";
  return n.toLocaleString("en-US", {
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  });
}

const BACKEND_NAMES: Record<Target, string> = {
  postgresql: "PostgreSQL 15.18",
  clickhouse: "ClickHouse 26.9 (chDB)",
};

function render(
  pipelines: PipelineResult[],
  encodings: EncodeResult[],
  o: { durationS: number; workers: number },
  load: string,
): string {
  return [
    SECTION_START,
    "### SQL backends: OTLP/HTTP logs → `postgresql` (PostgreSQL 15) and `clickhouse` (ClickHouse 26.9 in chDB)",
    "",
    `Measured by \`deno run -A bench/sql_backends_bench.ts --duration ${o.durationS} --workers ${o.workers}\` ` +
    `on ${new Date().toISOString()} (${navigator.hardwareConcurrency} CPUs, load average ${load} ` +
    "before the run: load generator, tfo and the database share the machine, and other " +
    "engineers' work runs beside it). Records/s is what the exporter delivered " +
    "(`otelcol_exporter_sent_log_records` over the window); tfo's CPU covers the OTLP receiver, " +
    "the queue's batching (10,000–20,000 records per insert, 2 at once) and the exporter; the " +
    "database's CPU is shown apart. No Collector ran (no build here has either exporter); the " +
    "contrib ClickHouse exporter's README claims about 40,000 logs/s per core.",
    "",
    "| exporter → database | records/s delivered | tfo CPU s | records per tfo CPU-second | database CPU s | tfo peak RSS MiB | offered records | refused requests | failed records |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...pipelines.map((r) =>
      `| ${r.target} → ${BACKEND_NAMES[r.target]} | ${fmt(r.recordsPerSecond)} | ${
        fmt(r.cpuSeconds, 1)
      } | ${fmt(r.recordsPerCpuSecond)} | ${fmt(r.backendCpuSeconds, 1)} | ${fmt(r.rssMiB)} | ${
        fmt(r.offered)
      } | ${fmt(r.refused)} | ${fmt(r.failed)} |`
    ),
    "",
    "The conversion alone (pdata → insert body, one process, 20,000-record batches of the same " +
    "records, 1,000,000 records after a warm-up):",
    "",
    "| exporter | format | CPU s per million records | records per CPU-second | bytes per record |",
    "| --- | --- | ---: | ---: | ---: |",
    ...encodings.map((e) =>
      `| ${e.target} | ${e.target === "postgresql" ? "COPY text" : "RowBinary"} | ${
        fmt(e.cpuSecondsPerMillion, 2)
      } | ${fmt(1 / e.cpuSecondsPerMillion * 1e6)} | ${fmt(e.bytesPerRecord)} |`
    ),
    SECTION_END,
  ].join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      duration: { type: "string", default: "10" },
      warmup: { type: "string", default: "3" },
      workers: { type: "string", default: "8" },
      only: { type: "string", default: "postgresql,clickhouse" },
      formats: { type: "boolean", default: false },
      clients: { type: "boolean", default: false },
      out: { type: "string" },
    },
  });
  if (values.clients) {
    const load = (await Deno.readTextFile("/proc/loadavg").catch(() => "? ? ?")).split(" ")
      .slice(0, 3).join(" ");
    if (POSTGRES_MISSING !== undefined) throw new Error(POSTGRES_MISSING);
    const section = renderClients(await clients(), load);
    console.log(section);
    if (values.out !== undefined) {
      await writeResultsSection(values.out, CLIENTS_START, CLIENTS_END, section);
    }
    Deno.exit(0);
  }
  if (values.formats) {
    const load = (await Deno.readTextFile("/proc/loadavg").catch(() => "? ? ?")).split(" ")
      .slice(0, 3).join(" ");
    if (CLICKHOUSE_MISSING !== undefined) throw new Error(CLICKHOUSE_MISSING);
    const section = renderFormats(await formats(), load);
    console.log(section);
    if (values.out !== undefined) {
      await writeResultsSection(values.out, FORMATS_START, FORMATS_END, section);
    }
    Deno.exit(0);
  }
  const o = {
    durationS: Number(values.duration),
    warmupS: Number(values.warmup),
    workers: Number(values.workers),
  };
  const load = (await Deno.readTextFile("/proc/loadavg").catch(() => "? ? ?")).split(" ")
    .slice(0, 3).join(" ");
  const only = values.only.split(",") as Target[];
  const pipelines: PipelineResult[] = [];
  const encodings: EncodeResult[] = [];
  for (const target of only) {
    const missing = target === "postgresql" ? POSTGRES_MISSING : CLICKHOUSE_MISSING;
    if (missing !== undefined) {
      console.error(`${target}: ${missing}`);
      continue;
    }
    encodings.push(encoding(target));
    pipelines.push(await pipeline(target, o));
  }
  const section = render(pipelines, encodings, o, load);
  console.log(section);
  if (values.out !== undefined) {
    await writeResultsSection(values.out, SECTION_START, SECTION_END, section);
  }
}
