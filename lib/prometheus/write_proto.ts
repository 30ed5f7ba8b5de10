/**
 * Writes metric families in the Prometheus protobuf exposition (`io.prometheus.client
 * .MetricFamily`, each message preceded by its varint length: `encoding=delimited`), the only
 * exposition format Prometheus 2.x reads native histograms from. Fields are written in field
 * number order and only when set, as the Prometheus client library's messages are (proto2:
 * presence matters, so zero counts and sums are written).
 *
 * @module
 */
import { escapeName } from "./naming.ts";
import type { WriteExemplar, WriteFamily, WriteSeries } from "./write.ts";

const TYPE_NUMBERS = { counter: 0, gauge: 1, summary: 2, untyped: 3, histogram: 4 } as const;

/** A growable byte buffer with the few protobuf encodings the exposition needs. */
class Buf {
  bytes = new Uint8Array(256);
  length = 0;
  readonly #scratch = new DataView(new ArrayBuffer(8));

  #room(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    let cap = this.bytes.length * 2;
    while (cap < this.length + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
  }

  varint(v: number | bigint): void {
    let x = BigInt.asUintN(64, BigInt(v));
    this.#room(10);
    while (x > 0x7fn) {
      this.bytes[this.length++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.bytes[this.length++] = Number(x);
  }

  tag(field: number, wireType: number): void {
    this.varint((field << 3) | wireType);
  }

  uint(field: number, v: number | bigint): void {
    this.tag(field, 0);
    this.varint(v);
  }

  sint(field: number, v: number | bigint): void {
    const x = BigInt(v);
    this.uint(field, x >= 0n ? x << 1n : ((-x) << 1n) - 1n);
  }

  double(field: number, v: number): void {
    this.tag(field, 1);
    this.#scratch.setFloat64(0, v, true);
    this.#room(8);
    this.bytes.set(new Uint8Array(this.#scratch.buffer), this.length);
    this.length += 8;
  }

  raw(b: Uint8Array): void {
    this.#room(b.length);
    this.bytes.set(b, this.length);
    this.length += b.length;
  }

  bytesField(field: number, b: Uint8Array): void {
    this.tag(field, 2);
    this.varint(b.length);
    this.raw(b);
  }

  string(field: number, s: string): void {
    this.bytesField(field, encoder.encode(s));
  }

  message(field: number, write: (b: Buf) => void): void {
    const inner = new Buf();
    write(inner);
    this.bytesField(field, inner.view());
  }

  view(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }
}

const encoder = new TextEncoder();

function labelPairs(b: Buf, field: number, labels: readonly (readonly [string, string])[]): void {
  for (const [name, value] of labels) {
    b.message(field, (m) => {
      m.string(1, escapeName(name, true));
      m.string(2, value);
    });
  }
}

/** A `google.protobuf.Timestamp` of nanoseconds since the epoch (not negative). */
function timestamp(b: Buf, field: number, ns: bigint): void {
  const seconds = ns / 1_000_000_000n;
  const nanos = Number(ns % 1_000_000_000n);
  b.message(field, (t) => {
    if (seconds !== 0n) t.uint(1, seconds);
    if (nanos !== 0) t.uint(2, nanos);
  });
}

function exemplar(b: Buf, field: number, e: WriteExemplar): void {
  b.message(field, (m) => {
    labelPairs(m, 1, e.labels);
    m.double(2, e.value);
    if (e.timestampNs !== undefined) timestamp(m, 3, e.timestampNs);
  });
}

/** Spans and deltas of sparse buckets, gaps of up to two buckets filled, as the client does. */
export function spansAndDeltas(
  buckets: readonly (readonly [number, bigint])[],
): { spans: [number, number][]; deltas: bigint[] } {
  const spans: [number, number][] = [];
  const deltas: bigint[] = [];
  let prev = 0n;
  let next = 0;
  buckets.forEach(([index, count], n) => {
    const gap = index - next;
    if (n === 0 || gap > 2) {
      spans.push([gap, 0]);
    } else {
      for (let j = 0; j < gap; j++) {
        spans[spans.length - 1]![1]++;
        deltas.push(-prev);
        prev = 0n;
      }
    }
    spans[spans.length - 1]![1]++;
    deltas.push(count - prev);
    prev = count;
    next = index + 1;
  });
  return { spans, deltas };
}

function histogram(b: Buf, s: WriteSeries): void {
  b.message(7, (h) => {
    h.uint(1, s.count ?? 0n);
    h.double(2, s.sum ?? 0);
    const native = s.native;
    if (native === undefined) {
      (s.buckets ?? []).forEach((bucket, i) => {
        h.message(3, (m) => {
          m.uint(1, bucket.cumulativeCount);
          m.double(2, bucket.upperBound);
          const e = s.bucketExemplars?.get(i);
          if (e !== undefined) exemplar(m, 3, e);
        });
      });
    } else {
      h.sint(5, native.schema);
      h.double(6, native.zeroThreshold);
      h.uint(7, native.zeroCount);
      const neg = spansAndDeltas(native.negative);
      const pos = spansAndDeltas(native.positive);
      if (
        native.zeroThreshold === 0 && native.zeroCount === 0n && pos.spans.length === 0 &&
        neg.spans.length === 0
      ) {
        pos.spans.push([0, 0]);
      }
      const spans = (field: number, list: [number, number][]) => {
        for (const [offset, length] of list) {
          h.message(field, (m) => {
            m.sint(1, offset);
            m.uint(2, length);
          });
        }
      };
      spans(9, neg.spans);
      for (const d of neg.deltas) h.sint(10, d);
      spans(12, pos.spans);
      for (const d of pos.deltas) h.sint(13, d);
    }
    if (s.createdNs !== undefined) timestamp(h, 15, s.createdNs);
    else if (native !== undefined) {
      // The client library writes Go's zero time when a native histogram has no start.
      h.message(15, (t) => t.uint(1, -62135596800n));
    }
    if (native !== undefined) { for (const e of native.exemplars) exemplar(h, 16, e); }
  });
}

function metric(b: Buf, f: WriteFamily, s: WriteSeries): void {
  b.message(4, (m) => {
    labelPairs(m, 1, s.labels);
    switch (f.type) {
      case "gauge":
        m.message(2, (g) => g.double(1, s.value ?? 0));
        break;
      case "untyped":
        m.message(5, (g) => g.double(1, s.value ?? 0));
        break;
      case "counter":
        m.message(3, (c) => {
          c.double(1, s.value ?? 0);
          if (s.exemplar !== undefined) exemplar(c, 2, s.exemplar);
          if (s.createdNs !== undefined) timestamp(c, 3, s.createdNs);
        });
        break;
      case "summary":
        m.message(4, (q) => {
          q.uint(1, s.count ?? 0n);
          q.double(2, s.sum ?? 0);
          for (const [quantile, value] of s.quantiles ?? []) {
            q.message(3, (v) => {
              v.double(1, quantile);
              v.double(2, value);
            });
          }
          if (s.createdNs !== undefined) timestamp(q, 4, s.createdNs);
        });
        break;
      case "histogram":
        break;
    }
    if (s.timestampMs !== undefined) m.uint(6, BigInt(Math.floor(s.timestampMs)));
    if (f.type === "histogram") histogram(m, s);
  });
}

/** Writes families as length-delimited `MetricFamily` messages. */
export function writeProtobuf(families: readonly WriteFamily[]): Uint8Array {
  const out = new Buf();
  for (const f of families) {
    if (f.series.length === 0) continue;
    const family = new Buf();
    family.string(1, escapeName(f.name, false));
    family.string(2, f.help);
    family.uint(3, TYPE_NUMBERS[f.type]);
    for (const s of f.series) metric(family, f, s);
    const bytes = family.view();
    out.varint(bytes.length);
    out.raw(bytes);
  }
  return out.view().slice() as Uint8Array<ArrayBuffer>;
}
