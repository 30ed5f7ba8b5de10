/**
 * Where the persistent queue's request latency goes (issue 9): what the disk gives, what one Deno
 * KV commit costs for the queue's entry sizes, and what an `offer` costs in process at a fixed rate
 * with the queue's journal (`file_storage` `fsync: false`, the default) and without it (`fsync:
 * true`: every offer waits for its synced commit), with the event loop's lag meanwhile. With
 * `--writer`, a second process writes and syncs a file the whole time, as other work on a shared
 * machine does.
 *
 * ```sh
 * deno run -A --unstable-kv bench/queue_profile.ts [--writer] [--n 400] [--rate 200] [--seconds 6]
 * ```
 *
 * {@linkcode runQueueProfile} returns the markdown; run directly, it prints it.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createPersistentQueue } from "../lib/exporterhelper/persistent_queue.ts";
import { compressItem } from "../lib/exporterhelper/_queue_compress.ts";
import { Payload } from "../lib/pdata/payload.ts";
import { TRACES_PROTO } from "../lib/otlp/mod.ts";
import { createStorageClient, journalName } from "../lib/storage/client.ts";
import { openKvStore } from "../lib/storage/store.ts";
import { requestTemplates } from "./_payloads.ts";

/** Options of {@linkcode runQueueProfile}. */
export interface QueueProfileOptions {
  /** Samples per disk and KV measurement. @default 400 */
  n?: number;
  /** Offers per second in the queue phase (requests of 100 spans). @default 200 */
  rate?: number;
  /** Seconds of the queue phase, per mode. @default 6 */
  seconds?: number;
  /** Run a process that writes and syncs beside the measurement. @default false */
  writer?: boolean;
}

interface Stats {
  p50: number;
  p99: number;
  max: number;
}

function stats(samples: number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
  return { p50: at(0.5), p99: at(0.99), max: s.at(-1) ?? NaN };
}

const f = (x: number) => x.toFixed(2);
const row = (name: string, s: Stats, extra = "") =>
  `| ${name} | ${f(s.p50)} | ${f(s.p99)} | ${f(s.max)} |${extra}`;

async function diskRows(dir: string, n: number): Promise<string[]> {
  const file = await Deno.open(`${dir}/probe.bin`, { write: true, create: true, truncate: true });
  const block = new Uint8Array(8192).fill(7);
  const write: number[] = [];
  const datasync: number[] = [];
  const sync: number[] = [];
  const plain: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await file.write(block);
      plain.push(performance.now() - t);
    }
    for (let i = 0; i < n; i++) {
      let t = performance.now();
      await file.write(block);
      write.push(performance.now() - t);
      t = performance.now();
      await file.syncData();
      datasync.push(performance.now() - t);
      await file.write(block);
      t = performance.now();
      await file.sync();
      sync.push(performance.now() - t);
    }
  } finally {
    file.close();
  }
  return [
    row("write 8 KiB, no sync (appending)", stats(plain)),
    row("write 8 KiB between syncs", stats(write)),
    row("fdatasync after 8 KiB", stats(datasync)),
    row("fsync after 8 KiB", stats(sync)),
  ];
}

async function kvRows(dir: string, n: number, sizes: readonly number[]): Promise<string[]> {
  const kv = await Deno.openKv(`${dir}/probe.kv`);
  const rows: string[] = [];
  try {
    for (const size of sizes) {
      const value = new Uint8Array(size).fill(3);
      const set: number[] = [];
      const del: number[] = [];
      for (let i = 0; i < n; i++) {
        const t = performance.now();
        await kv.atomic().set(["c", size, i, 0], value).set(["i", size, i], { v: 2, bytes: size })
          .commit();
        set.push(performance.now() - t);
      }
      for (let i = 0; i < n; i++) {
        const t = performance.now();
        await kv.atomic().delete(["c", size, i, 0]).delete(["i", size, i]).commit();
        del.push(performance.now() - t);
      }
      rows.push(row(`KV commit: one ${size.toLocaleString("en-US")} B entry`, stats(set)));
      rows.push(row(`KV commit: delete it`, stats(del)));
    }
  } finally {
    kv.close();
  }
  return rows;
}

/** The event loop's lag with nothing else to do in this process: what the machine's load costs. */
async function idleLagRow(seconds: number): Promise<string> {
  const lag: number[] = [];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const t = performance.now();
    await new Promise((r) => setTimeout(r, 1));
    lag.push(performance.now() - t - 1);
  }
  return row("event-loop lag with nothing else running here (1 ms timer)", stats(lag));
}

/** Offers at a fixed rate for `seconds`; takes and acknowledges everything as it comes. */
async function queueRows(
  dir: string,
  journal: boolean,
  rate: number,
  seconds: number,
): Promise<string[]> {
  const store = await openKvStore(`${dir}/${journal ? "journal" : "direct"}`, {
    createDirectory: true,
  });
  const prefix = ["exporter", "bench", "traces"];
  const client = createStorageClient(
    store.kv,
    prefix,
    undefined,
    undefined,
    journal ? { directory: `${dir}/journal-files`, name: journalName(prefix) } : undefined,
  );
  const queue = await createPersistentQueue(client, "traces", { capacity: 100_000 });
  const templates = requestTemplates("traces", 100);
  const offers: number[] = [];
  const compress: number[] = [];
  const lag: number[] = [];
  let stop = false;
  const consumer = (async () => {
    while (true) {
      const entry = await queue.take();
      if (entry === undefined) return;
      void entry.ack();
    }
  })();
  const ticker = (async () => {
    while (!stop) {
      const t = performance.now();
      await new Promise((r) => setTimeout(r, 1));
      lag.push(performance.now() - t - 1);
    }
  })();
  const pending: Promise<void>[] = [];
  const start = performance.now();
  const total = Math.round(rate * seconds);
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const bytes = templates[i % templates.length]!.bytes;
    const t = performance.now();
    const c = await compressItem(bytes);
    compress.push(performance.now() - t);
    void c;
    const t0 = performance.now();
    pending.push(
      queue.offer(Payload.fromProto("traces", bytes, TRACES_PROTO)).then(() => {
        offers.push(performance.now() - t0);
      }),
    );
  }
  await Promise.all(pending);
  stop = true;
  await ticker;
  await queue.close();
  await consumer;
  await client.close();
  store.close();
  const mode = journal ? "journal (fsync: false)" : "synced KV commit (fsync: true)";
  return [
    row(`offer → resolved, ${mode}`, stats(offers)),
    row(
      journal
        ? "  zstd of one ~41 KiB request (measured apart; the journal compresses only at its fold)"
        : "  of which zstd of one ~41 KiB request (measured apart)",
      stats(compress),
    ),
    row(`  event-loop lag meanwhile (1 ms timer)`, stats(lag)),
  ];
}

/** Runs every measurement and returns the markdown section. */
export async function runQueueProfile(options: QueueProfileOptions = {}): Promise<string> {
  const n = options.n ?? 400;
  const rate = options.rate ?? 200;
  const seconds = options.seconds ?? 6;
  const dir = await Deno.makeTempDir({ prefix: "tfo-queue-profile-" });
  let writer: Deno.ChildProcess | undefined;
  if (options.writer === true) {
    const script = `const f = await Deno.open(${JSON.stringify(`${dir}/writer.bin`)}, ` +
      `{ write: true, create: true }); const b = new Uint8Array(1 << 20); ` +
      `for (let i = 0; ; i++) { if (i % 64 === 0) await f.seek(0, Deno.SeekMode.Start); ` +
      `await f.write(b); await f.syncData(); }`;
    writer = new Deno.Command(Deno.execPath(), {
      args: ["eval", script],
      stdout: "null",
      stderr: "null",
    }).spawn();
  }
  const load = (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
  try {
    const stored = (await compressItem(requestTemplates("traces", 100)[0]!.bytes)).bytes.length;
    const rows = [
      await idleLagRow(3),
      ...await diskRows(dir, n),
      ...await kvRows(dir, n, [stored, 41_000, 65_536]),
      ...await queueRows(dir, true, rate, seconds),
      ...await queueRows(dir, false, rate, seconds),
    ];
    const after = (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
    return [
      "### Where the persistent queue's latency goes (bench/queue_profile.ts)",
      "",
      `${n} samples per disk and KV row; the queue rows offer ${rate} requests/s of 100 spans ` +
      `(~41 KiB, ${stored.toLocaleString("en-US")} B stored after zstd) for ${seconds} s, taken ` +
      `and acknowledged as they come. Load average ${load} before, ${after} after` +
      `${writer === undefined ? "" : "; a second process writing and syncing 1 MiB blocks"}.`,
      "",
      "| what | p50 (ms) | p99 (ms) | max (ms) |",
      "| --- | ---: | ---: | ---: |",
      ...rows,
      "",
    ].join("\n");
  } finally {
    if (writer !== undefined) {
      writer.kill("SIGKILL");
      await writer.status;
    }
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      n: { type: "string" },
      rate: { type: "string" },
      seconds: { type: "string" },
      writer: { type: "boolean" },
    },
  });
  console.log(
    await runQueueProfile({
      ...(values.n === undefined ? {} : { n: Number(values.n) }),
      ...(values.rate === undefined ? {} : { rate: Number(values.rate) }),
      ...(values.seconds === undefined ? {} : { seconds: Number(values.seconds) }),
      writer: values.writer ?? false,
    }),
  );
}
