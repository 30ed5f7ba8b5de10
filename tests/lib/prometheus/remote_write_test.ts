/**
 * The remote write 1.0 encoder writes a series whose encoded labels it remembers (the fast path,
 * lengths summed up front) exactly as it writes it the first time (nested messages forked and
 * joined), for every sample value and timestamp shape and for label sets of every length class.
 */
import assert from "node:assert/strict";
import {
  encodeWriteRequestsV1,
  type RwSample,
  type RwSeries,
  STALE_NAN,
} from "../../../lib/prometheus/remote_write.ts";
import { decodeV1 } from "../../components/exporter/prometheusremotewrite/_rw.ts";

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
