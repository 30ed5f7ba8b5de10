/**
 * The remote write 1.0 encoder writes a series whose encoded labels it remembers (the fast path,
 * lengths summed up front) exactly as it writes it the first time (nested messages forked and
 * joined), for every sample value and timestamp shape and for label sets of every length class;
 * and the 2.0 encoder, which remembers label strings as IDs between requests, writes the same
 * requests again, each with only the symbols it uses.
 */
import assert from "node:assert/strict";
import {
  encodeWriteRequestsV1,
  encodeWriteRequestsV2,
  type RwSample,
  type RwSeries,
  STALE_NAN,
} from "../../../lib/prometheus/remote_write.ts";
import { decodeV1, decodeV2 } from "../../components/exporter/prometheusremotewrite/_rw.ts";

function seriesWith(labelLength: number, samples: RwSample[], i: number): RwSeries {
  return {
    labels: [["__name__", `m${i}`], ["long", "x".repeat(labelLength)]],
    samples,
    histograms: [],
    exemplars: [],
    metadata: { type: "gauge", help: "", unit: "" },
    labelBytes: {},
  };
}

const SAMPLES: RwSample[][] = [
  [{ value: 1.5, timestampMs: 1700000000123 }],
  [{ value: 0, timestampMs: 1700000000123 }],
  [{ value: -0, timestampMs: 1700000000123 }],
  [{ value: STALE_NAN, timestampMs: 1700000000124 }],
  [{ value: 7, timestampMs: 0 }],
  [{ value: 0, timestampMs: 0 }],
  [{ value: 3, timestampMs: 1 }],
  [{ value: 3, timestampMs: 2 ** 53 - 1 }],
  [{ value: -1, timestampMs: -5 }],
  [{ value: 1, timestampMs: 10 }, { value: 2, timestampMs: 20 }],
  [],
];

Deno.test("remote write 1.0 encodes a remembered series byte for byte as the first time", () => {
  const series: RwSeries[] = [];
  let i = 0;
  for (const labelLength of [1, 90, 200, 20_000]) {
    for (const samples of SAMPLES) series.push(seriesWith(labelLength, samples, i++));
  }
  const first = encodeWriteRequestsV1(series, [], Infinity);
  assert.ok(series.every((s) => s.labelBytes?.bytes !== undefined), "labels remembered");
  const second = encodeWriteRequestsV1(series, [], Infinity);
  assert.deepEqual(second, first);
  const decoded = decodeV1(first[0]!);
  assert.equal(decoded.series.length, series.length);
  for (const [j, s] of series.entries()) {
    const d = decoded.series[j]!;
    assert.equal(d.labels.__name__, `m${j}`);
    assert.equal(d.labels.long!.length, s.labels[1]![1].length);
    assert.equal(d.samples.length, s.samples.length);
    for (const [k, x] of s.samples.entries()) {
      assert.equal(d.samples[k]!.timestamp, x.timestampMs);
      assert.ok(Object.is(d.samples[k]!.value, x.value) || Number.isNaN(x.value));
    }
  }
});

Deno.test("remote write 2.0 writes remembered series the same again, split with their own symbols", () => {
  const series: RwSeries[] = [];
  for (let i = 0; i < 60; i++) {
    series.push({
      labels: [["__name__", `m${i % 7}`], ["job", "shop"], ["route", `/r/${i}`]],
      samples: [{ value: i, timestampMs: 1700000000000 + i, startMs: 1699999990000 }],
      histograms: [],
      exemplars: [],
      metadata: { type: "counter", help: `help ${i % 3}`, unit: "seconds" },
      labelBytes: {},
    });
  }
  for (const maxBytes of [Infinity, 600]) {
    const first = encodeWriteRequestsV2(series, maxBytes, (b) => b.slice());
    const second = encodeWriteRequestsV2(series, maxBytes, (b) => b.slice());
    assert.deepEqual(second, first, `max ${maxBytes}`);
    if (maxBytes !== Infinity) assert.ok(first.length > 3, "split into several requests");
    const decoded = first.flatMap((r) => decodeV2(r).series);
    assert.deepEqual(
      decoded.map((
        d,
      ) => [d.labels.__name__, d.labels.route, d.samples[0]!.value, d.metadata?.help]),
      series.map((_, i) => [`m${i % 7}`, `/r/${i}`, i, `help ${i % 3}`]),
    );
    for (const r of first) {
      // Every symbol but the leading "" is used by some series of its request.
      const symbols = symbolsOf(r);
      const used = new Set(
        decodeV2(r).series.flatMap((d) => [
          ...Object.entries(d.labels).flat(),
          d.metadata!.help,
          d.metadata!.unit,
        ]),
      );
      assert.equal(symbols[0], "");
      for (const sym of symbols.slice(1)) assert.ok(used.has(sym), `symbol "${sym}" is used`);
      assert.equal(new Set(symbols).size, symbols.length, "each symbol once");
    }
  }
});

/** The symbols (field 4) of a 2.0 request, in order. */
function symbolsOf(request: Uint8Array): string[] {
  const out: string[] = [];
  let at = 0;
  const varint = () => {
    let v = 0;
    let shift = 0;
    for (;;) {
      const b = request[at++]!;
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
      shift += 7;
    }
  };
  while (at < request.length) {
    const tag = varint();
    const len = varint();
    if (tag === (4 << 3 | 2)) out.push(new TextDecoder().decode(request.subarray(at, at + len)));
    at += len;
  }
  return out;
}
