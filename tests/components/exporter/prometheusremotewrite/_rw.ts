/**
 * Test helpers for remote write: a decoder of 1.0 `WriteRequest` and 2.0 `Request` messages into
 * flat samples (written independently of the encoder, from the .proto field numbers), and a
 * capturing HTTP sink on a free loopback port whose answers a test scripts.
 */
import { ProtoReader, WT_LEN } from "../../../../lib/otlp/_proto_reader.ts";
import { snappyUncompress } from "../../../../lib/net/snappy.ts";

/** A decoded native histogram. */
export interface DecodedHistogram {
  count: bigint;
  sum: number;
  schema: number;
  zeroThreshold: number;
  zeroCount: bigint;
  positiveSpans: [number, number][];
  positiveDeltas: bigint[];
  negativeSpans: [number, number][];
  negativeDeltas: bigint[];
  timestamp: number;
  start?: number;
}

/** One decoded series. */
export interface DecodedSeries {
  labels: Record<string, string>;
  samples: { value: number; timestamp: number; start?: number }[];
  histograms: DecodedHistogram[];
  exemplars: { labels: Record<string, string>; value: number; timestamp: number }[];
  metadata?: { type: number; help: string; unit: string };
}

/** A decoded request. */
export interface DecodedRequest {
  series: DecodedSeries[];
  metadata: { type: number; family: string; help: string; unit: string }[];
}

function varint(r: ProtoReader): number {
  return Number(r.uint64());
}

function int64(r: ProtoReader): number {
  return Number(r.int64());
}

function zigzag(v: bigint): bigint {
  return (v & 1n) === 0n ? v >> 1n : -((v + 1n) >> 1n);
}

function messageEnd(r: ProtoReader, limit: number): number {
  return r.end(limit);
}

function each(r: ProtoReader, end: number, on: (field: number, wt: number) => void): void {
  while (r.pos < end) {
    const tag = r.uint32();
    const before = r.pos;
    on(tag >>> 3, tag & 7);
    if (r.pos === before) r.skip(tag, 0, end);
  }
}

function span(r: ProtoReader, limit: number): [number, number] {
  const end = messageEnd(r, limit);
  const s: [number, number] = [0, 0];
  each(r, end, (f) => {
    if (f === 1) s[0] = r.sint32();
    else if (f === 2) s[1] = r.uint32();
  });
  return s;
}

function packedSint64(r: ProtoReader, limit: number, wt: number, out: bigint[]): void {
  if (wt !== WT_LEN) {
    out.push(zigzag(r.uint64()));
    return;
  }
  const end = messageEnd(r, limit);
  while (r.pos < end) out.push(zigzag(r.uint64()));
}

function histogram(r: ProtoReader, limit: number): DecodedHistogram {
  const end = messageEnd(r, limit);
  const h: DecodedHistogram = {
    count: 0n,
    sum: 0,
    schema: 0,
    zeroThreshold: 0,
    zeroCount: 0n,
    positiveSpans: [],
    positiveDeltas: [],
    negativeSpans: [],
    negativeDeltas: [],
    timestamp: 0,
  };
  each(r, end, (f, wt) => {
    switch (f) {
      case 1:
        h.count = r.uint64();
        break;
      case 3:
        h.sum = r.double();
        break;
      case 4:
        h.schema = r.sint32();
        break;
      case 5:
        h.zeroThreshold = r.double();
        break;
      case 6:
        h.zeroCount = r.uint64();
        break;
      case 8:
        h.negativeSpans.push(span(r, end));
        break;
      case 9:
        packedSint64(r, end, wt, h.negativeDeltas);
        break;
      case 11:
        h.positiveSpans.push(span(r, end));
        break;
      case 12:
        packedSint64(r, end, wt, h.positiveDeltas);
        break;
      case 15:
        h.timestamp = int64(r);
        break;
      case 17:
        h.start = int64(r);
        break;
    }
  });
  return h;
}

function sample(
  r: ProtoReader,
  limit: number,
): { value: number; timestamp: number; start?: number } {
  const end = messageEnd(r, limit);
  const s: { value: number; timestamp: number; start?: number } = { value: 0, timestamp: 0 };
  each(r, end, (f) => {
    if (f === 1) s.value = r.double();
    else if (f === 2) s.timestamp = int64(r);
    else if (f === 3) s.start = int64(r);
  });
  return s;
}

function labelV1(r: ProtoReader, limit: number): [string, string] {
  const end = messageEnd(r, limit);
  const l: [string, string] = ["", ""];
  each(r, end, (f) => {
    if (f === 1) l[0] = r.string(end);
    else if (f === 2) l[1] = r.string(end);
  });
  return l;
}

/** Decodes an uncompressed 1.0 `WriteRequest`. */
export function decodeV1(bytes: Uint8Array): DecodedRequest {
  const r = new ProtoReader(bytes);
  const out: DecodedRequest = { series: [], metadata: [] };
  each(r, bytes.length, (f) => {
    if (f === 1) {
      const end = messageEnd(r, bytes.length);
      const s: DecodedSeries = { labels: {}, samples: [], histograms: [], exemplars: [] };
      each(r, end, (g) => {
        if (g === 1) {
          const [k, v] = labelV1(r, end);
          if (k in s.labels) throw new Error(`Label ${k} appears twice`);
          s.labels[k] = v;
        } else if (g === 2) {
          s.samples.push(sample(r, end));
        } else if (g === 3) {
          const xend = messageEnd(r, end);
          const e = { labels: {} as Record<string, string>, value: 0, timestamp: 0 };
          each(r, xend, (h) => {
            if (h === 1) {
              const [k, v] = labelV1(r, xend);
              e.labels[k] = v;
            } else if (h === 2) e.value = r.double();
            else if (h === 3) e.timestamp = int64(r);
          });
          s.exemplars.push(e);
        } else if (g === 4) {
          s.histograms.push(histogram(r, end));
        }
      });
      out.series.push(s);
    } else if (f === 3) {
      const end = messageEnd(r, bytes.length);
      const m = { type: 0, family: "", help: "", unit: "" };
      each(r, end, (g) => {
        if (g === 1) m.type = varint(r);
        else if (g === 2) m.family = r.string(end);
        else if (g === 4) m.help = r.string(end);
        else if (g === 5) m.unit = r.string(end);
      });
      out.metadata.push(m);
    }
  });
  return out;
}

function refs(r: ProtoReader, limit: number, wt: number, out: number[]): void {
  if (wt !== WT_LEN) {
    out.push(r.uint32());
    return;
  }
  const end = messageEnd(r, limit);
  while (r.pos < end) out.push(r.uint32());
}

function resolve(symbols: string[], list: number[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (let i = 0; i + 1 < list.length; i += 2) {
    const k = symbols[list[i]!];
    const v = symbols[list[i + 1]!];
    if (k === undefined || v === undefined) throw new Error(`Symbol reference out of range`);
    if (k in labels) throw new Error(`Label ${k} appears twice`);
    labels[k] = v;
  }
  return labels;
}

/** Decodes an uncompressed 2.0 `Request`, resolving its symbol references. */
export function decodeV2(bytes: Uint8Array): DecodedRequest {
  const r = new ProtoReader(bytes);
  const symbols: string[] = [];
  const raw: { refs: number[]; s: DecodedSeries; exemplarRefs: number[][]; md: number[] }[] = [];
  each(r, bytes.length, (f) => {
    if (f === 4) {
      symbols.push(r.string(bytes.length));
    } else if (f === 5) {
      const end = messageEnd(r, bytes.length);
      const entry = {
        refs: [] as number[],
        s: { labels: {}, samples: [], histograms: [], exemplars: [] } as DecodedSeries,
        exemplarRefs: [] as number[][],
        md: [0, 0, 0],
      };
      each(r, end, (g, wt) => {
        if (g === 1) refs(r, end, wt, entry.refs);
        else if (g === 2) entry.s.samples.push(sample(r, end));
        else if (g === 3) entry.s.histograms.push(histogram(r, end));
        else if (g === 4) {
          const xend = messageEnd(r, end);
          const list: number[] = [];
          const e = { labels: {} as Record<string, string>, value: 0, timestamp: 0 };
          each(r, xend, (h, hwt) => {
            if (h === 1) refs(r, xend, hwt, list);
            else if (h === 2) e.value = r.double();
            else if (h === 3) e.timestamp = int64(r);
          });
          entry.exemplarRefs.push(list);
          entry.s.exemplars.push(e);
        } else if (g === 5) {
          const mend = messageEnd(r, end);
          each(r, mend, (h) => {
            if (h === 1) entry.md[0] = r.uint32();
            else if (h === 3) entry.md[1] = r.uint32();
            else if (h === 4) entry.md[2] = r.uint32();
          });
        }
      });
      raw.push(entry);
    }
  });
  if (symbols[0] !== "") throw new Error(`The first symbol must be "", got ${symbols[0]}`);
  return {
    series: raw.map((e) => {
      e.s.labels = resolve(symbols, e.refs);
      e.s.exemplars.forEach((x, i) => x.labels = resolve(symbols, e.exemplarRefs[i]!));
      e.s.metadata = {
        type: e.md[0]!,
        help: symbols[e.md[1]!] ?? "?",
        unit: symbols[e.md[2]!] ?? "?",
      };
      return e.s;
    }),
    metadata: [],
  };
}

/** One request the sink received. */
export interface Received {
  headers: Headers;
  body: Uint8Array;
  decoded: DecodedRequest;
}

/** What the sink answers: a status and headers. */
export type Answer = { status: number; headers?: Record<string, string>; body?: string };

/** A remote write receiver on a free loopback port that records requests and answers as told. */
export class Sink {
  readonly received: Received[] = [];
  readonly answered: number[] = [];
  #server: Deno.HttpServer<Deno.NetAddr>;
  /** Decides each answer; the default is 204. */
  answer: (n: number) => Answer = () => ({ status: 204 });

  constructor(version: 1 | 2 = 1, port = 0) {
    this.#server = Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, async (req) => {
      const compressed = new Uint8Array(await req.arrayBuffer());
      const a = this.answer(this.answered.length);
      this.answered.push(a.status);
      if (a.status >= 200 && a.status < 300) {
        const body = snappyUncompress(compressed);
        this.received.push({
          headers: req.headers,
          body,
          decoded: version === 1 ? decodeV1(body) : decodeV2(body),
        });
      }
      return new Response(a.body ?? null, {
        status: a.status,
        ...(a.headers === undefined ? {} : { headers: a.headers }),
      });
    });
  }

  /** The URL to write to. */
  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}/api/v1/write`;
  }

  /** Every sample received, flattened and sorted: `name{labels} value @ts`. */
  samples(): string[] {
    const out: string[] = [];
    for (const r of this.received) {
      for (const s of r.decoded.series) {
        const labels = Object.entries(s.labels).sort((a, b) => a[0] < b[0] ? -1 : 1)
          .map(([k, v]) => `${k}="${v}"`).join(",");
        for (const x of s.samples) {
          const start = x.start === undefined ? "" : ` start ${x.start}`;
          out.push(`{${labels}} ${x.value} @${x.timestamp}${start}`);
        }
        for (const h of s.histograms) out.push(`{${labels}} ${JSON.stringify(h, big)}`);
      }
    }
    return out.sort();
  }

  async close(): Promise<void> {
    await this.#server.shutdown();
  }
}

function big(_k: string, v: unknown): unknown {
  return typeof v === "bigint" ? v.toString() : v;
}
