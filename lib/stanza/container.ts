/**
 * The `container` parser: docker JSON lines (`{"log":…,"stream":…,"time":…}`) and CRI-O /
 * containerd lines (`<time> <stream> <P|F> <log>`), detected per line unless `format` is set.
 * Partial lines (CRI `P`, docker pieces without a trailing newline) are recombined per file and
 * stream until the final piece or `max_log_size`. With `add_metadata_from_filepath`, Kubernetes
 * metadata comes from a `/var/log/pods/<ns>_<pod>_<uid>/<container>/<restart>.log` path in the
 * `log.file.path` attribute.
 *
 * Docker's trailing newline is removed from the body.
 *
 * @module
 */
import { type Entry, isMap } from "./entry.ts";
import { type Field, setField } from "./field.ts";
import { compileTimestamp } from "./timestamp.ts";

/** Settings of {@linkcode createContainerParser}. */
export interface ContainerSettings {
  readonly format?: "docker" | "crio" | "containerd" | undefined;
  readonly addMetadataFromFilepath: boolean;
  /** The most bytes of a recombined log; 0 means no limit. */
  readonly maxLogSize: number;
  readonly parseTo: Field;
}

/** A parsed container line, before recombination. */
interface Piece {
  time: string;
  stream: string;
  log: string;
  /** CRI tag (`P`/`F`), or undefined for docker. */
  tag: string | undefined;
  partial: boolean;
}

const parseRfc3339 = compileTimestamp({
  layout_type: "gotime",
  layout: "2006-01-02T15:04:05.999999999Z07:00",
  location: "UTC",
});

const POD_PATH = /^.*\/([^_/]+)_([^_/]+)_([a-f0-9-]+)\/([^._/]+)\/(\d+)\.log$/;

function parseLine(value: string, format: ContainerSettings["format"]): Piece {
  const fmt = format ?? (value.startsWith("{") ? "docker" : "cri");
  if (fmt === "docker") {
    const doc: unknown = JSON.parse(value);
    if (!isMap(doc) || typeof doc.log !== "string") {
      throw new Error("The docker log line has no log field");
    }
    const log = doc.log;
    const partial = !log.endsWith("\n");
    return {
      time: String(doc.time ?? ""),
      stream: String(doc.stream ?? ""),
      log: partial ? log : log.slice(0, log.endsWith("\r\n") ? -2 : -1),
      tag: undefined,
      partial,
    };
  }
  const a = value.indexOf(" ");
  const b = a < 0 ? -1 : value.indexOf(" ", a + 1);
  const c = b < 0 ? -1 : value.indexOf(" ", b + 1);
  if (a < 0 || b < 0) throw new Error("The line is not in the CRI format");
  const tag = c < 0 ? value.slice(b + 1) : value.slice(b + 1, c);
  return {
    time: value.slice(0, a),
    stream: value.slice(a + 1, b),
    log: c < 0 ? "" : value.slice(c + 1),
    tag,
    partial: tag === "P",
  };
}

interface Pending {
  entry: Entry;
  parts: string[];
  size: number;
}

/** A container parser with its recombination state. */
export interface ContainerParser {
  /** Parses one entry; returns it when complete, or undefined while it waits for more parts. */
  parse(entry: Entry, value: unknown): Entry | undefined;
  /** Entries still waiting for their last part, combined as they are; the state is cleared. */
  flush(): Entry[];
}

/** Creates a container parser. */
export function createContainerParser(settings: ContainerSettings): ContainerParser {
  const pending = new Map<string, Pending>();

  function finish(p: Pending): Entry {
    p.entry.body = p.parts.length === 1 ? p.parts[0] : p.parts.join("");
    return p.entry;
  }

  function decorate(entry: Entry, piece: Piece): void {
    entry.timestamp = parseRfc3339(piece.time);
    const fields: Record<string, unknown> = { "log.iostream": piece.stream };
    if (piece.tag !== undefined) fields.logtag = piece.tag === "P" ? "F" : piece.tag;
    setField(entry, settings.parseTo, fields);
    if (settings.addMetadataFromFilepath) {
      const path = entry.attributes["log.file.path"];
      if (typeof path !== "string") {
        throw new Error(
          "The container parser needs the log.file.path attribute (include_file_path: true) " +
            "or add_metadata_from_filepath: false",
        );
      }
      const m = POD_PATH.exec(path);
      if (m === null) throw new Error(`The path "${path}" is not a Kubernetes pod log path`);
      entry.resource["k8s.namespace.name"] = m[1];
      entry.resource["k8s.pod.name"] = m[2];
      entry.resource["k8s.pod.uid"] = m[3];
      entry.resource["k8s.container.name"] = m[4];
      entry.resource["k8s.container.restart_count"] = m[5];
    }
  }

  return {
    parse(entry, value) {
      if (typeof value !== "string") {
        throw new Error(`Cannot parse a ${typeof value} as a container line`);
      }
      const piece = parseLine(value, settings.format);
      const key = `${String(entry.attributes["log.file.path"] ?? "")}\u0000${piece.stream}`;
      const held = pending.get(key);
      if (held === undefined && !piece.partial) {
        entry.body = piece.log;
        decorate(entry, piece);
        return entry;
      }
      let p = held;
      if (p === undefined) {
        decorate(entry, piece);
        p = { entry, parts: [], size: 0 };
        pending.set(key, p);
      }
      p.parts.push(piece.log);
      p.size += piece.log.length;
      if (!piece.partial || (settings.maxLogSize > 0 && p.size >= settings.maxLogSize)) {
        pending.delete(key);
        return finish(p);
      }
      return undefined;
    },
    flush() {
      const out = [...pending.values()].map(finish);
      pending.clear();
      return out;
    },
  };
}
