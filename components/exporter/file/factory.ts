/**
 * The `file` exporter: writes every request it gets to a file, as the OpenTelemetry Collector's
 * `file` exporter does (with its default message-level compression):
 *
 * - `format: json`, no compression: one OTLP/JSON `Export*ServiceRequest` per line;
 * - `format: proto`, or any format with `compression: zstd`: each message (zstd-compressed on its
 *   own, one zstd frame, when asked) preceded by its length as a 4-byte big-endian unsigned
 *   integer.
 *
 * Protobuf output of data still in its encoded form is the bytes it arrived as (no decode).
 * With `group_by`, each resource goes to the file whose path has the `*` replaced by the
 * resource's string attribute `group_by.resource_attribute` (`./` and `../` at the start of the
 * value are stripped, and the result can never leave the directory before the `*`); resources
 * without it are dropped, counted in `tfo_exporter_file_dropped_resources` and logged once.
 * At most `max_open_files` files are open; the least recently used is closed.
 *
 * Unlike the Collector's, writes are never buffered in memory: a record is acknowledged once the
 * operating system has it, and a failed write (full disk, read-only file system) is a retryable
 * error, so the sending queue keeps the data and retries; a retried grouped request skips the
 * groups already written. Data reaches the disk at the latest `flush_interval` later (a periodic
 * `fdatasync`).
 *
 * @module
 */
import { posix } from "node:path";
import { zstdCompressSync } from "node:zlib";
import type { CreateSettings, Exporter, ExporterFactory } from "../../component.ts";
import { retryableError } from "../../../lib/consumer/consumer.ts";
import {
  createExporterHelper,
  type PushBySignal,
  type PushFunc,
} from "../../../lib/exporterhelper/exporter_helper.ts";
import type { Payload } from "../../../lib/pdata/payload.ts";
import type { Resource, Signal, SignalData } from "../../../lib/pdata/types.ts";
import { OTLP_SIGNALS, type OtlpSignal, requestProto } from "../otlp/signals.ts";
import { type FileExporterConfig, fileExporterConfigSchema } from "./config.ts";
import { FileWriter, type FileWriterOptions } from "./_writer.ts";

const encoder = new TextEncoder();
const NEWLINE = 0x0a;

/** How a message becomes a record: a JSON line, or a length-prefixed (maybe compressed) blob. */
export function frameRecord(config: FileExporterConfig, message: Uint8Array): Uint8Array {
  if (config.compression === "" && config.format === "json") {
    const out = new Uint8Array(message.length + 1);
    out.set(message);
    out[message.length] = NEWLINE;
    return out;
  }
  const body = config.compression === "zstd" ? new Uint8Array(zstdCompressSync(message)) : message;
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length, false);
  out.set(body, 4);
  return out;
}

function encodeMessage<S extends Signal>(
  config: FileExporterConfig,
  signal: S,
  data: SignalData[S],
): Uint8Array {
  const codec = OTLP_SIGNALS[signal] as OtlpSignal<S>;
  return config.format === "json"
    ? encoder.encode(codec.encodeJson(data))
    : codec.encodeProto(data);
}

/** `path.Clean` of Go: normalized, no trailing slash (but `/`), `.` for empty. */
function clean(p: string): string {
  const n = posix.normalize(p === "" ? "." : p);
  return n.length > 1 && n.endsWith("/") ? n.slice(0, -1) : n;
}

/** The path of a group, as the Collector builds it. */
export function groupPath(prefix: string, suffix: string, segment: string): string {
  let seg = segment.replaceAll("\\", "/");
  if (seg.startsWith("./")) seg = seg.slice(1);
  else if (seg.startsWith("../")) seg = seg.slice(2);
  const full = clean(prefix + seg + suffix);
  if (full.startsWith(prefix)) return full;
  return posix.join(prefix, posix.join("/", seg + suffix));
}

function cleanPrefix(prefix: string): string {
  const cleaned = clean(prefix);
  return prefix.endsWith("/") && !cleaned.endsWith("/") ? cleaned + "/" : cleaned;
}

function resourcesOf<S extends Signal>(signal: S, data: SignalData[S]): { resource: Resource }[] {
  switch (signal) {
    case "traces":
      return (data as SignalData["traces"]).resourceSpans;
    case "metrics":
      return (data as SignalData["metrics"]).resourceMetrics;
    default:
      return (data as SignalData["logs"]).resourceLogs;
  }
}

function dataOf<S extends Signal>(signal: S, list: unknown[]): SignalData[S] {
  switch (signal) {
    case "traces":
      return { resourceSpans: list } as unknown as SignalData[S];
    case "metrics":
      return { resourceMetrics: list } as unknown as SignalData[S];
    default:
      return { resourceLogs: list } as unknown as SignalData[S];
  }
}

/** Creates one `file` exporter instance serving `signals`. */
export function createFileExporter(
  settings: CreateSettings<FileExporterConfig>,
  signals: readonly Signal[],
): Exporter {
  const { config, logger, meter } = settings;
  const writerOptions: FileWriterOptions = {
    append: config.append,
    rotation: config.rotation,
    syncIntervalMs: config.flush_interval === 0 ? 1000 : config.flush_interval,
  };
  const grouped = config.group_by.enabled;
  const [rawPrefix = "", suffix = ""] = config.path.split("*");
  const prefix = cleanPrefix(rawPrefix);
  const writers = new Map<string, FileWriter>(); // insertion order = least recently used first
  const openedBefore = new Set<string>();
  const dirMode = config.directory_permissions === undefined
    ? 0o755
    : parseInt(config.directory_permissions, 8);
  const droppedResources = meter.counter(
    "tfo_exporter_file_dropped_resources",
    "Resources the file exporter dropped: no string group_by.resource_attribute",
  );
  let warnedMissing = false;
  const written = new WeakMap<Payload, Set<string>>();
  let stopped = false;

  async function writerFor(path: string): Promise<FileWriter> {
    const existing = writers.get(path);
    if (existing !== undefined) {
      writers.delete(path);
      writers.set(path, existing);
      return existing;
    }
    await Deno.mkdir(posix.dirname(path), { recursive: true, mode: dirMode });
    // A file closed to make room (max_open_files) and opened again is appended to: only its
    // first opening in this run truncates it (the Collector truncates it again, losing data).
    const writer = new FileWriter(
      path,
      openedBefore.has(path) ? { ...writerOptions, append: true } : writerOptions,
    );
    await writer.open();
    if (openedBefore.size < 1_000_000) openedBefore.add(path);
    writers.set(path, writer);
    while (writers.size > config.group_by.max_open_files) {
      const [oldPath, old] = writers.entries().next().value as [string, FileWriter];
      writers.delete(oldPath);
      old.close().catch((error) => logger.warn("Cannot close a file", { path: oldPath, error }));
    }
    return writer;
  }

  async function writeTo(path: string, record: Uint8Array): Promise<void> {
    try {
      const writer = await writerFor(path);
      await writer.write(record);
    } catch (error) {
      throw retryableError(`Cannot write to "${path}": ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  function pushFor<S extends Signal>(signal: S): PushFunc<S> {
    if (!grouped) {
      return async (payload) => {
        if (stopped) throw retryableError(`The file exporter "${settings.id}" is shut down`);
        const message = config.format === "proto"
          ? requestProto(payload)
          : encodeMessage(config, signal, payload.read());
        await writeTo(config.path, frameRecord(config, message));
      };
    }
    return async (payload) => {
      if (stopped) throw retryableError(`The file exporter "${settings.id}" is shut down`);
      const groups = new Map<string, unknown[]>();
      let missing = 0;
      for (const r of resourcesOf(signal, payload.read())) {
        const kv = r.resource.attributes.find((a) => a.key === config.group_by.resource_attribute);
        if (kv === undefined || typeof kv.value !== "string") {
          missing++;
          continue;
        }
        let list = groups.get(kv.value);
        if (list === undefined) groups.set(kv.value, list = []);
        list.push(r);
      }
      if (missing > 0 && !written.has(payload)) {
        droppedResources.add(missing);
        if (!warnedMissing) {
          warnedMissing = true;
          logger.warn("Dropping resources without the group_by attribute", {
            attribute: config.group_by.resource_attribute,
            resources: missing,
          });
        }
      }
      let done = written.get(payload);
      if (done === undefined) written.set(payload, done = new Set());
      const failures: unknown[] = [];
      for (const [segment, list] of groups) {
        if (done.has(segment)) continue;
        const message = encodeMessage(config, signal, dataOf(signal, list));
        try {
          await writeTo(groupPath(prefix, suffix, segment), frameRecord(config, message));
          done.add(segment);
        } catch (error) {
          failures.push(error);
        }
      }
      if (failures.length > 0) throw failures[0];
    };
  }

  const pushes: Partial<Record<Signal, PushFunc>> = {};
  for (const signal of new Set(signals)) pushes[signal] = pushFor(signal) as PushFunc;
  const helper = createExporterHelper(
    settings,
    { ...config, timeout: 0 },
    pushes as PushBySignal,
  );

  return {
    consumers: helper.consumers,
    async start(host) {
      if (config.create_directory && !grouped) {
        await Deno.mkdir(posix.dirname(config.path), { recursive: true, mode: dirMode });
      }
      if (!grouped) {
        try {
          await writerFor(config.path);
        } catch (error) {
          // Not fatal: each write tries again and fails retryably until the path is writable.
          logger.error("Cannot open the output file; writes will retry", {
            path: config.path,
            error,
          });
        }
      }
      await helper.start(host);
    },
    async shutdown() {
      await helper.shutdown();
      stopped = true;
      const all = [...writers.values()];
      writers.clear();
      await Promise.allSettled(all.map((w) => w.close()));
    },
  };
}

/** The `file` exporter factory. */
export const fileExporterFactory: ExporterFactory<FileExporterConfig> = {
  kind: "exporter",
  type: "file",
  configSchema: fileExporterConfigSchema,
  // One writer per file.
  placement: "single",
  signals: { traces: "alpha", metrics: "alpha", logs: "alpha" },
  create: createFileExporter,
};
