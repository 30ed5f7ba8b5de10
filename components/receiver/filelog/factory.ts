/**
 * The `filelog` receiver: tails files matched by globs, splits them into entries, runs the stanza
 * operators, and sends one payload per poll. Without operators it sends each file's read at once as
 * encoded requests of about 16 KiB instead (built from the bytes when they are ASCII: no object per
 * line, each request written into a buffer of a small per-receiver pool that gets it back at the
 * payload's last release, see `Payload.retain`), each accepted before the next, waiting while the
 * pipeline refuses them as retryable (a full queue): the file is the buffer. Offsets are committed
 * (and, with `storage`, saved at the end of the poll) only after the pipeline accepted what was
 * read, so a crash re-reads at most the last poll and never skips; a clean restart with `storage`
 * neither re-reads nor skips.
 *
 * Files are identified as the OpenTelemetry Collector does, by fingerprint (their first bytes) and,
 * while open, by inode: see `_tracker.ts` for rename and copy-truncate rotation.
 *
 * @module
 */
import { type Clock, SYSTEM_CLOCK } from "../../../lib/clock.ts";
import type { CreateSettings, Host, Receiver, ReceiverFactory } from "../../component.ts";
import type { Consumer, SignalConsumers } from "../../../lib/consumer/consumer.ts";
import { ConsumerError, errorMessage } from "../../../lib/consumer/consumer.ts";
import { type LineSpans, LogLinesEncoder } from "../../../lib/otlp/log_lines_proto.ts";
import { encodeLogsRequest, LOGS_PROTO } from "../../../lib/otlp/logs_proto.ts";
import {
  newBodyLogRecord,
  newLogsData,
  newResource,
  newScope,
  nowUnixNano,
} from "../../../lib/pdata/new.ts";
import { BufferPool, type PooledBuffer } from "../../../lib/pdata/buffer_pool.ts";
import { Payload } from "../../../lib/pdata/payload.ts";
import type { KeyValue, LogRecord, ResourceLogs } from "../../../lib/pdata/types.ts";
import { type Entry, entryToLogRecord, newEntry, toKeyValues } from "../../../lib/stanza/entry.ts";
import { compileGoRegex } from "../../../lib/stanza/expr.ts";
import { buildPipeline } from "../../../lib/stanza/pipeline.ts";
import { getStorageClient, type StorageClient } from "../../../lib/storage/mod.ts";
import { instrumentReceiverOutput } from "../../../lib/telemetry/receiver_metrics.ts";
import { type FilelogConfig, filelogConfigSchema } from "./config.ts";
import { compileGlob, createFileFinder } from "./_finder.ts";
import { type FileReader, type ReaderOptions, ReadScratch } from "./_reader.ts";
import { type FileRecordData, FileTracker, type PlannedRead } from "./_tracker.ts";

/** Bytes read from one file per poll; a file with more is read again without waiting. */
const FILE_BUDGET = 1024 * 1024;
/** Bytes read from all files per poll. */
const POLL_BUDGET = 4 * 1024 * 1024;
/** Encoded bytes per request sent without operators (about 115 lines of 120 bytes). */
const PART_BYTES = 16 * 1024;
/** How long a refused request waits before that is logged. */
const LONG_WAIT_MS = 5000;
/** Storage key prefix of file records. */
const FILES_KEY = "files";
/** Mutations per storage commit (Deno KV allows 1000). */
const COMMIT_CHUNK = 200;

/** Options of {@linkcode createFilelogReceiver}. */
export interface FilelogOptions {
  /** Time for `poll_interval` and `force_flush_period`. @default SYSTEM_CLOCK */
  clock?: Clock;
  /**
   * The pool request buffers are taken from (tests pass a strict one to see misuses and what was
   * reused). @default filelogBufferPool, one per receiver
   */
  pool?: BufferPool;
}

/** A filelog receiver instance. */
export interface FilelogReceiver extends Receiver {
  /**
   * Waits for a poll in flight, then runs one more (tests); resolves when its payload was accepted
   * and its offsets committed.
   */
  pollOnce(): Promise<void>;
}

interface Persisted {
  path: string;
  fingerprint: Uint8Array;
  offset: number;
}

function baseName(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? path : path.slice(i + 1);
}

function absolute(path: string): string {
  return path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
}

/** One encoded request of a read. */
interface Request {
  readonly bytes: Uint8Array;
  readonly items: number;
  /** The pooled buffer `bytes` is in, when it is in one. */
  readonly lease?: PooledBuffer;
}

/** A request of a read, encoded when it is sent. */
interface PlannedRequest {
  readonly items: number;
  encode(): Request;
}

/** Encoded bytes of a record besides its body and the fixed fields: tags and lengths. */
const RECORD_FRAMING = 6;

/**
 * The size of the pooled request buffers: a request is cut once it reaches `PART_BYTES`, so it
 * fits unless its last line is longer than the slack (then it gets an array of its own).
 */
const POOL_BUFFER_BYTES = PART_BYTES + 4 * 1024;

/**
 * Free request buffers a receiver keeps (at most ~20 MiB): about what a sending queue and the
 * batches in flight hold at once when the file is read faster than it is sent.
 */
const POOL_MAX_FREE = 1024;

/** Free request buffers kept over a poll that found nothing to read. */
const POOL_IDLE_FREE = 16;

/** The request buffer pool of a receiver; misuses are logged once. */
export function filelogBufferPool(onMisuse?: (message: string) => void): BufferPool {
  return new BufferPool({
    bufferBytes: POOL_BUFFER_BYTES,
    maxFree: POOL_MAX_FREE,
    ...(onMisuse === undefined ? {} : { onMisuse }),
  });
}

/**
 * The lines of `lines` (ranges of ASCII `data`) as requests of about `PART_BYTES`, each encoded
 * when it is about to be sent, into a buffer of `pool` (or, when larger than its buffers, an array
 * of its own): a read takes only as many buffers as are still held downstream, and a pooled
 * request goes back to the pool once its payload's last holder released it, so buffers are reused
 * instead of left, promoted, for a mark-compact.
 */
function encodeRanges(
  data: Uint8Array,
  lines: LineSpans,
  observed: bigint,
  attributes: readonly KeyValue[],
  pool: BufferPool,
): PlannedRequest[] {
  const encoder = new LogLinesEncoder(observed, attributes);
  const { starts, ends, count } = lines;
  const overhead = encoder.fixedBytes + RECORD_FRAMING;
  const out: PlannedRequest[] = [];
  let from = 0;
  let size = 0;
  for (let i = 0; i < count; i++) {
    size += ends[i]! - starts[i]! + overhead;
    if (size >= PART_BYTES || i === count - 1) {
      const start = from;
      const to = i + 1;
      out.push({
        items: to - start,
        encode(): Request {
          const total = encoder.size(lines, start, to);
          if (total > pool.bufferBytes) {
            return { bytes: encoder.encode(data, lines, start, to), items: to - start };
          }
          const lease = pool.take();
          const end = encoder.encodeInto(lease.bytes, 0, data, lines, start, to);
          return { bytes: lease.bytes.subarray(0, end), items: to - start, lease };
        },
      });
      from = to;
      size = 0;
    }
  }
  return out;
}

/** Decoded lines as requests of about `PART_BYTES` (bodies counted by UTF-16 length). */
function encodeTokens(
  tokens: readonly (string | Uint8Array)[],
  observed: bigint,
  attributes: KeyValue[],
): Request[] {
  const overhead = new LogLinesEncoder(observed, attributes).fixedBytes + RECORD_FRAMING;
  const out: Request[] = [];
  let records: LogRecord[] = [];
  let size = 0;
  for (let i = 0; i < tokens.length; i++) {
    const body = tokens[i]!;
    records.push(newBodyLogRecord(observed, body, attributes));
    size += body.length + overhead;
    if (size >= PART_BYTES || i === tokens.length - 1) {
      out.push({ bytes: encodeLogsRequest(newLogsData(records)), items: records.length });
      records = [];
      size = 0;
    }
  }
  return out;
}

/** Creates a filelog receiver instance. */
export function createFilelogReceiver(
  settings: CreateSettings<FilelogConfig>,
  next: SignalConsumers,
  options: FilelogOptions = {},
): FilelogReceiver {
  const { config, logger, id } = settings;
  const clock = options.clock ?? SYSTEM_CLOCK;
  const logs: Consumer<"logs"> | undefined = next.logs === undefined
    ? undefined
    : instrumentReceiverOutput("logs", next.logs, settings.meter);
  const pipeline = buildPipeline(config.operators, { logger });
  const include = config.include.map(compileGlob);
  const exclude = config.exclude.map(compileGlob);
  const finder = createFileFinder(include, exclude);
  const encoding = config.encoding === "nop"
    ? "nop"
    : config.encoding === "ascii" || config.encoding === "us-ascii"
    ? "ascii"
    : "utf-8";
  const readerOptions: ReaderOptions = {
    maxLogSize: config.max_log_size,
    encoding,
    lineStart: config.multiline?.line_start_pattern === undefined
      ? undefined
      : compileGoRegex(config.multiline.line_start_pattern),
    lineEnd: config.multiline?.line_end_pattern === undefined
      ? undefined
      : compileGoRegex(config.multiline.line_end_pattern),
    preserveLeading: config.preserve_leading_whitespaces,
    preserveTrailing: config.preserve_trailing_whitespaces,
    forceFlushMs: config.force_flush_period,
    budget: FILE_BUDGET,
  };
  const tracker = new FileTracker(readerOptions, config.fingerprint_size);
  const fastPath = pipeline.empty && Object.keys(config.resource).length === 0;
  // Without operators the records are encoded as they are read (from the bytes when ASCII), so
  // what waits downstream is one array per read, not an object and a string per line.
  const scratch = new ReadScratch(fastPath);
  const pool = options.pool ??
    filelogBufferPool((message) =>
      logger.error("Pooled request buffers were misused (reported once)", { error: message })
    );
  const saved = new Map<string, string>();
  const resolved = new Map<string, string>();

  let storage: StorageClient | undefined;
  let firstPoll = true;
  let stopped = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  let polling: Promise<boolean> | undefined;
  let rotate = 0;
  /** Bytes the last poll read. */
  let readBytes = 0;

  async function fileAttributes(path: string): Promise<Record<string, string>> {
    const attrs: Record<string, string> = {};
    if (config.include_file_name) attrs["log.file.name"] = baseName(path);
    if (config.include_file_path) attrs["log.file.path"] = absolute(path);
    if (config.include_file_name_resolved || config.include_file_path_resolved) {
      let real = resolved.get(path);
      if (real === undefined) {
        try {
          real = await Deno.realPath(path);
        } catch {
          real = absolute(path);
        }
        if (resolved.size > 10_000) resolved.clear();
        resolved.set(path, real);
      }
      if (config.include_file_name_resolved) attrs["log.file.name_resolved"] = baseName(real);
      if (config.include_file_path_resolved) attrs["log.file.path_resolved"] = real;
    }
    for (const [k, v] of Object.entries(config.attributes)) attrs[k] = v;
    return attrs;
  }

  function toResourceLogs(entries: readonly Entry[]): ResourceLogs[] {
    const groups = new Map<string, { resource: KeyValue[]; records: LogRecord[] }>();
    for (const e of entries) {
      const key = JSON.stringify(e.resource, (_k, v) => typeof v === "bigint" ? String(v) : v);
      let g = groups.get(key);
      if (g === undefined) {
        g = { resource: toKeyValues(e.resource), records: [] };
        groups.set(key, g);
      }
      g.records.push(entryToLogRecord(e));
    }
    return [...groups.values()].map((g) => ({
      resource: newResource({ attributes: g.resource }),
      scopeLogs: [{ scope: newScope(), logRecords: g.records, schemaUrl: "" }],
      schemaUrl: "",
    }));
  }

  async function persist(readers: readonly FileReader[], forgotten: readonly string[]) {
    if (storage === undefined) return;
    const ops: { key: string; value: Persisted | undefined }[] = [];
    for (const r of readers) {
      const stamp = `${r.offset}\u0000${r.path}\u0000${r.fingerprint.length}`;
      if (saved.get(r.id) === stamp) continue;
      saved.set(r.id, stamp);
      ops.push({
        key: r.id,
        value: { path: r.path, fingerprint: r.fingerprint, offset: r.offset },
      });
    }
    for (const key of forgotten) {
      saved.delete(key);
      ops.push({ key, value: undefined });
    }
    for (let i = 0; i < ops.length; i += COMMIT_CHUNK) {
      const atomic = storage.atomic();
      for (const op of ops.slice(i, i + COMMIT_CHUNK)) {
        if (op.value === undefined) atomic.delete([FILES_KEY, op.key]);
        else atomic.set([FILES_KEY, op.key], op.value);
      }
      await atomic.commit();
    }
  }

  /** One poll: find, read, send, commit. Resolves true when files have more to read. */
  async function poll(): Promise<boolean> {
    readBytes = 0;
    let paths = await finder.find();
    if (paths.length > config.max_concurrent_files) {
      rotate %= paths.length;
      paths = [...paths.slice(rotate), ...paths.slice(0, rotate)]
        .slice(0, config.max_concurrent_files);
      rotate += config.max_concurrent_files;
    }
    const startAtEnd = firstPoll && config.start_at === "end";
    firstPoll = false;
    const plan = await tracker.poll(paths, startAtEnd);
    const now = clock.now();
    const observed = nowUnixNano();
    const unfinished = new Set<FileReader>();
    const reads: { p: PlannedRead; offset: number }[] = [];
    const entries: Entry[] = [];
    const emit = (e: Entry) => entries.push(e);
    let total = 0;
    let more = false;
    const refused = (error: unknown, items: number): false => {
      logger.warn("The pipeline refused log entries; they will be read again", {
        error: errorMessage(error),
        items,
      });
      for (const p of plan) if (p.lost) unfinished.add(p.reader);
      tracker.finishPoll(plan, unfinished);
      return false;
    };
    for (const p of plan) {
      if (total >= POLL_BUDGET) {
        unfinished.add(p.reader);
        more = true;
        continue;
      }
      let result;
      try {
        result = await p.reader.read(p.size, now, scratch);
      } catch (error) {
        logger.warn("Cannot read file", { path: p.reader.path, error: errorMessage(error) });
        continue;
      }
      total += result.offset - p.reader.offset;
      readBytes += result.offset - p.reader.offset;
      if (result.more) {
        more = true;
        unfinished.add(p.reader);
      }
      const lines = result.bytes === undefined ? 0 : scratch.lines.count;
      if (!fastPath || logs === undefined || (result.tokens.length === 0 && lines === 0)) {
        reads.push({ p, offset: result.offset });
        if (result.tokens.length === 0) continue;
        const attrs = await fileAttributes(p.reader.path);
        for (const body of result.tokens) {
          const e = newEntry(body, observed);
          Object.assign(e.attributes, attrs);
          Object.assign(e.resource, config.resource);
          pipeline.process(e, emit);
        }
        continue;
      }
      // No operators: the read goes out now, as requests of about PART_BYTES encoded from the
      // bytes (ASCII) or from the decoded lines, each accepted before the next is sent, and the
      // file's offset moves once all were. The ranges and bytes stay valid until the next read
      // with the scratch (polls never overlap).
      const attrs = await fileAttributes(p.reader.path);
      const attributes: KeyValue[] = Object.entries(attrs).map(([key, value]) => ({ key, value }));
      const requests: readonly PlannedRequest[] = result.bytes === undefined
        ? encodeTokens(result.tokens, observed, attributes).map((r) => ({
          items: r.items,
          encode: () => r,
        }))
        : encodeRanges(result.bytes, scratch.lines, observed, attributes, pool);
      for (let i = 0; i < requests.length; i++) {
        const { bytes, items, lease } = requests[i]!.encode();
        const payload = lease === undefined
          ? Payload.fromProto("logs", bytes, LOGS_PROTO, undefined, items)
          : Payload.fromPooled("logs", bytes, lease, LOGS_PROTO, items);
        try {
          await consumeWaiting(logs, payload);
        } catch (error) {
          let left = 0;
          for (let j = i; j < requests.length; j++) left += requests[j]!.items;
          return refused(error, left);
        } finally {
          // Whoever keeps it past the call retained it (see `Payload.retain`).
          payload.release();
        }
      }
      p.reader.commit({ tokens: [], offset: result.offset, more: false });
    }
    if (stopped) pipeline.flush(emit);
    if (entries.length > 0 && logs !== undefined) {
      try {
        await logs.consume(Payload.of("logs", { resourceLogs: toResourceLogs(entries) }));
      } catch (error) {
        return refused(error, entries.length);
      }
    }
    for (const { p, offset } of reads) p.reader.commit({ tokens: [], offset, more: false });
    tracker.finishPoll(plan, unfinished);
    try {
      await persist(tracker.readers, tracker.takeForgotten());
    } catch (error) {
      logger.warn("Cannot save file offsets", { error: errorMessage(error) });
    }
    return more;
  }

  /**
   * `consume`, retried while the pipeline refuses it as retryable (a full queue, the memory
   * limiter): the file is the buffer, so the reader waits — 5 ms, doubling up to `poll_interval`
   * — rather than holding more in memory or reading it again. Gives up when the receiver stops.
   */
  async function consumeWaiting(consumer: Consumer<"logs">, payload: Payload<"logs">) {
    let delay = 5;
    let waited = 0;
    for (;;) {
      try {
        return await consumer.consume(payload);
      } catch (error) {
        if (stopped || !(error instanceof ConsumerError) || error.permanent) throw error;
        if (waited < LONG_WAIT_MS && waited + delay >= LONG_WAIT_MS) {
          logger.warn("The pipeline keeps refusing log entries; still waiting to send them", {
            error: errorMessage(error),
            items: payload.itemCount,
          });
        }
        await pause(delay);
        waited += delay;
        delay = Math.min(delay * 2, Math.max(5, config.poll_interval));
      }
    }
  }

  /** Waits `ms`, or until the receiver stops. */
  function pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = clock.setTimer(() => {
        wake = undefined;
        resolve();
      }, ms);
      wake = () => {
        clock.clearTimer(timer);
        wake = undefined;
        resolve();
      };
    });
  }

  function pollOnce(): Promise<boolean> {
    polling ??= poll().finally(() => {
      polling = undefined;
      // Nothing to read: most free request buffers go back to the garbage collector.
      if (readBytes === 0) pool.trim(POOL_IDLE_FREE);
    });
    return polling;
  }

  async function run(): Promise<void> {
    while (!stopped) {
      let more = false;
      try {
        more = await pollOnce();
      } catch (error) {
        logger.error("Poll failed", { error: errorMessage(error) });
      }
      if (stopped) break;
      if (!more) await pause(config.poll_interval);
    }
  }

  async function loadRecords(client: StorageClient): Promise<void> {
    for await (const { key, value } of client.list<Persisted>([FILES_KEY])) {
      const rid = key[key.length - 1];
      if (typeof rid !== "string" || !(value.fingerprint instanceof Uint8Array)) continue;
      const data: FileRecordData = {
        path: value.path,
        fingerprint: value.fingerprint,
        offset: value.offset,
      };
      tracker.restore(rid, data);
      saved.set(rid, `${data.offset}\u0000${data.path}\u0000${data.fingerprint.length}`);
    }
    if (tracker.readers.length > 0) firstPoll = false;
  }

  return {
    async start(host: Host) {
      if (config.storage !== undefined) {
        storage = getStorageClient(host, config.storage, "receiver", id);
        await loadRecords(storage);
      }
      if (logs === undefined) return;
      loop = run();
    },
    async shutdown() {
      if (stopped) return await loop;
      stopped = true;
      wake?.();
      await loop;
      await polling?.catch(() => {});
      // One last pass sends operator-held partial entries.
      if (loop !== undefined) await pollOnce().catch(() => false);
      tracker.closeAll();
      await storage?.close();
    },
    async pollOnce() {
      await polling?.catch(() => false);
      await pollOnce();
    },
  };
}

/** The `filelog` receiver factory. */
export const filelogReceiverFactory: ReceiverFactory<FilelogConfig> = {
  kind: "receiver",
  type: "filelog",
  configSchema: filelogConfigSchema,
  signals: { logs: "beta" },
  create: createFilelogReceiver,
};
