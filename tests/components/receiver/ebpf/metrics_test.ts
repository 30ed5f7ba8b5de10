/**
 * The ebpf receiver's entries → metrics step: attribute lists shared by an entry's points and
 * kept between collections when the pipeline does not change data in place, fresh per point when
 * it may.
 */
import assert from "node:assert/strict";
import { SYSCALLS } from "../../../../components/receiver/ebpf/_layout.ts";
import {
  attributeCache,
  MAP_METRICS,
  toMetrics,
} from "../../../../components/receiver/ebpf/_metrics.ts";
import type { Entry } from "../../../../components/receiver/ebpf/_reader.ts";
import type { NumberDataPoint } from "../../../../lib/pdata/types.ts";

const def = MAP_METRICS.find((d) => d.layout === SYSCALLS)!;
const entry = (pid: number, nr: number, comm = "app"): Entry => ({
  key: [pid, nr],
  comm,
  values: [1, 2, 0, 0, 1],
});
const stamp = { start: 1n, now: 2n, labels: [{ key: "team", value: "k" }] };
const pointsOf = (m: ReturnType<typeof toMetrics>) =>
  m.map((x) => (x.data as { dataPoints: NumberDataPoint[] }).dataPoints);

Deno.test("ebpf metrics: shared attribute lists are kept between collections and let go", () => {
  const cache = attributeCache();
  const first = pointsOf(toMetrics(def, [entry(1, 0), entry(2, 0)], stamp, cache));
  assert.equal(first.length, 3); // count, latency_ns, errors
  // One list per entry, shared by its points, with the labels.
  assert.equal(first[0]![0]!.attributes, first[1]![0]!.attributes);
  assert.notEqual(first[0]![0]!.attributes, first[0]![1]!.attributes);
  assert.deepEqual(first[0]![0]!.attributes.map((kv) => `${kv.key}=${kv.value}`), [
    "pid=1",
    "comm=app",
    `syscall=${Deno.build.arch === "x86_64" ? "read" : "syscall_0"}`,
    "team=k",
  ]);
  cache.sweep();
  const second = pointsOf(toMetrics(def, [entry(1, 0), entry(2, 0, "renamed")], stamp, cache));
  assert.equal(second[0]![0]!.attributes, first[0]![0]!.attributes, "kept");
  assert.notEqual(second[0]![1]!.attributes, first[0]![1]!.attributes, "a new name, a new list");
  assert.equal(second[0]![1]!.attributes[1]!.value, "renamed");
  cache.sweep();
  cache.sweep();
  assert.equal(cache.size, 0, "entries not seen for two collections are let go");
});

Deno.test("ebpf metrics: without a cache every point has attribute objects of its own", () => {
  const points = pointsOf(toMetrics(def, [entry(1, 0)], stamp));
  const [a, b] = [points[0]![0]!.attributes, points[1]![0]!.attributes];
  assert.notEqual(a, b);
  assert.notEqual(a[0], b[0]);
  assert.deepEqual(a, b);
});
