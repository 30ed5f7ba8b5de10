import assert from "node:assert/strict";
import {
  decodeLogsRequest,
  decodeMetricsRequest,
  decodeTracesRequest,
  encodeLogsRequest,
  encodeMetricsRequest,
  encodeTracesRequest,
  OtlpDecodeError,
} from "../../lib/otlp/mod.ts";
import { LOGS_PROTO } from "../../lib/otlp/logs_proto.ts";
import { METRICS_PROTO } from "../../lib/otlp/metrics_proto.ts";
import { TRACES_PROTO } from "../../lib/otlp/traces_proto.ts";
import {
  ALL_FIELDS,
  DATA_POINT,
  type FieldSet,
  type ItemIndex,
  keyBytes,
  LOG_RECORD,
  newItemIndex,
  NO_FIELDS,
  SPAN,
} from "../../lib/pdata/fields.ts";
import type { PartialCodec } from "../../lib/pdata/payload.ts";
import { setAttribute } from "../../lib/pdata/attributes.ts";
import type {
  KeyValue,
  LogsData,
  MetricsData,
  Signal,
  SignalData,
  TracesData,
} from "../../lib/pdata/types.ts";
import { Gen } from "./_gen.ts";

interface Case<S extends Signal> {
  signal: S;
  decode(bytes: Uint8Array): SignalData[S];
  encode(data: SignalData[S]): Uint8Array;
  partial: PartialCodec<S>;
  make(g: Gen): SignalData[S];
  /** Field sets to try. */
  sets: FieldSet[];
  /** Changes the fields of `owned` in every item, as an editor would. */
  change(data: SignalData[S], g: Gen): void;
  owned: FieldSet;
  /** Checks data decoded with `sets[1]` against the full decode of the same bytes. */
  checkOnly(partial: SignalData[S], full: SignalData[S]): void;
}

const TRACES: Case<"traces"> = {
  signal: "traces",
  decode: decodeTracesRequest,
  encode: encodeTracesRequest,
  partial: TRACES_PROTO.partial!,
  make: (g) => g.traces(),
  sets: [NO_FIELDS, SPAN.name, SPAN.name | SPAN.attributes, SPAN.events | SPAN.status, ALL_FIELDS],
  owned: SPAN.name | SPAN.attributes | SPAN.status,
  checkOnly(partial: TracesData, full: TracesData) {
    const spans = (d: TracesData) =>
      d.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));
    const a = spans(partial);
    const b = spans(full);
    assert.equal(a.length, b.length);
    assert.ok(b.some((s) => s.attributes.length > 0 && s.traceId.length > 0));
    a.forEach((s, i) => {
      assert.equal(s.name, b[i]!.name);
      assert.equal(s.attributes.length, 0);
      assert.ok(Object.isFrozen(s.attributes), "a placeholder cannot be written");
      assert.equal(s.traceId.length, 0);
      assert.equal(s.startTimeUnixNano, 0n);
    });
    assert.deepEqual(
      partial.resourceSpans.map((r) => r.resource),
      full.resourceSpans.map((r) => r.resource),
    );
  },
  change(data: TracesData, g: Gen) {
    for (const rs of data.resourceSpans) {
      rs.resource.attributes.push({ key: "added", value: "r" });
      for (const ss of rs.scopeSpans) {
        for (const s of ss.spans) {
          s.name = g.chance(0.5) ? "" : s.name + "/x";
          if (g.chance(0.5)) s.attributes.push({ key: "deployment.environment", value: "prod" });
          else s.attributes.splice(0, 1);
          if (g.chance(0.5)) s.status.code = 2;
        }
        if (ss.spans.length > 1) ss.spans.splice(1, 1);
      }
    }
  },
};

const LOGS: Case<"logs"> = {
  signal: "logs",
  decode: decodeLogsRequest,
  encode: encodeLogsRequest,
  partial: LOGS_PROTO.partial!,
  make: (g) => g.logs(),
  sets: [NO_FIELDS, LOG_RECORD.body, LOG_RECORD.attributes | LOG_RECORD.severityText, ALL_FIELDS],
  owned: LOG_RECORD.attributes | LOG_RECORD.severityText | LOG_RECORD.body,
  checkOnly(partial: LogsData, full: LogsData) {
    const records = (d: LogsData) =>
      d.resourceLogs.flatMap((rl) => rl.scopeLogs.flatMap((sl) => sl.logRecords));
    const a = records(partial);
    const b = records(full);
    assert.equal(a.length, b.length);
    assert.ok(b.some((l) => l.attributes.length > 0 && l.timeUnixNano !== 0n));
    a.forEach((l, i) => {
      assert.deepEqual(l.body, b[i]!.body);
      assert.equal(l.attributes.length, 0);
      assert.ok(Object.isFrozen(l.attributes), "a placeholder cannot be written");
      assert.equal(l.timeUnixNano, 0n);
      assert.equal(l.severityText, "");
    });
  },
  change(data: LogsData, g: Gen) {
    for (const rl of data.resourceLogs) {
      for (const sl of rl.scopeLogs) {
        for (const l of sl.logRecords) {
          l.severityText = g.chance(0.5) ? "" : "INFO";
          if (g.chance(0.5)) l.attributes.push({ key: "deployment.environment", value: "prod" });
          else l.attributes.splice(0, 1);
          if (g.chance(0.3)) l.body = undefined;
        }
        if (sl.logRecords.length > 1) sl.logRecords.splice(0, 1);
      }
    }
  },
};

/** Every data point of every metric. */
function points(d: MetricsData): { attributes: KeyValue[] }[] {
  return d.resourceMetrics.flatMap((rm) =>
    rm.scopeMetrics.flatMap((sm) =>
      sm.metrics.flatMap((m) => (m.data?.dataPoints ?? []) as { attributes: KeyValue[] }[])
    )
  );
}

const METRICS: Case<"metrics"> = {
  signal: "metrics",
  decode: decodeMetricsRequest,
  encode: encodeMetricsRequest,
  partial: METRICS_PROTO.partial!,
  make: (g) => g.metrics(),
  sets: [NO_FIELDS, DATA_POINT.attributes, DATA_POINT.attributes, ALL_FIELDS],
  owned: DATA_POINT.attributes,
  change(data: MetricsData, g: Gen) {
    for (const rm of data.resourceMetrics) {
      for (const sm of rm.scopeMetrics) {
        for (const m of sm.metrics) m.description = "changed";
        if (sm.metrics.length > 1) sm.metrics.splice(0, 1);
      }
    }
    for (const p of points(data)) {
      if (g.chance(0.5)) p.attributes.push({ key: "deployment.environment", value: "prod" });
      else p.attributes.splice(0, 1);
    }
  },
  checkOnly(partial: MetricsData, full: MetricsData) {
    const a = points(partial);
    const b = points(full);
    assert.equal(a.length, b.length);
    assert.ok(b.some((p) => (p as { timeUnixNano?: bigint }).timeUnixNano !== 0n));
    a.forEach((p, i) => {
      assert.deepEqual(p.attributes, b[i]!.attributes);
      assert.equal((p as { timeUnixNano?: bigint }).timeUnixNano, 0n);
    });
    const names = (d: MetricsData) =>
      d.resourceMetrics.flatMap((rm) =>
        rm.scopeMetrics.flatMap((sm) => sm.metrics.map((m) => m.name))
      );
    assert.deepEqual(names(partial), names(full));
  },
};

const CASES = [TRACES, LOGS, METRICS] as Case<Signal>[];

for (const c of CASES) {
  Deno.test(`${c.signal}: a partial decode filled with every field equals the full decode`, () => {
    for (let seed = 1; seed <= 30; seed++) {
      const bytes = c.encode(c.make(new Gen(seed)));
      const full = c.decode(bytes);
      for (const want of c.sets) {
        const index: ItemIndex = newItemIndex();
        const data = c.partial.decode(bytes, want, index);
        c.partial.fill(bytes, index, ALL_FIELDS & ~want);
        assert.deepEqual(data, full, `seed ${seed}, fields ${want}`);
      }
      // In two steps: nothing, then some fields, then the rest.
      const index: ItemIndex = newItemIndex();
      const data = c.partial.decode(bytes, NO_FIELDS, index);
      c.partial.fill(bytes, index, c.sets[1]!);
      c.partial.fill(bytes, index, ALL_FIELDS & ~c.sets[1]!);
      assert.deepEqual(data, full, `seed ${seed}, in steps`);
    }
  });

  Deno.test(`${c.signal}: a partial decode gives the decoded fields their values and the others their defaults`, () => {
    const bytes = c.encode(c.make(new Gen(3)));
    const full = c.decode(bytes);
    const index: ItemIndex = newItemIndex();
    const data = c.partial.decode(bytes, c.sets[1]!, index);
    c.partial.fill(bytes, index, NO_FIELDS);
    c.checkOnly(data, full);
    assert.ok(index.items.length > 0);
    c.partial.fill(bytes, index, ALL_FIELDS & ~c.sets[1]!);
    assert.deepEqual(data, full);
  });

  Deno.test(`${c.signal}: encoding partially decoded, edited data gives what the full encoder gives for the same edits`, () => {
    for (let seed = 1; seed <= 30; seed++) {
      const bytes = c.encode(c.make(new Gen(seed)));
      const expected = c.decode(bytes);
      c.change(expected, new Gen(seed * 31));
      const index: ItemIndex = newItemIndex();
      const data = c.partial.decode(bytes, c.owned, index);
      c.change(data, new Gen(seed * 31));
      const encoded = c.partial.encode(data, bytes, index, c.owned);
      assert.deepEqual(c.decode(encoded), expected, `seed ${seed}`);
      // Fields nobody owns are copied: with the data unchanged, the bytes are the same.
      const index2: ItemIndex = newItemIndex();
      const same = c.partial.decode(bytes, c.owned, index2);
      assert.deepEqual(c.partial.encode(same, bytes, index2, NO_FIELDS), bytes, `seed ${seed}`);
      assert.deepEqual(c.partial.encode(same, bytes, index2, c.owned), bytes, `seed ${seed}`);
    }
  });

  Deno.test(`${c.signal}: items edited in fields decoded after them, or with many decoded fields, encode as the full encoder does`, () => {
    for (let seed = 1; seed <= 20; seed++) {
      const made = c.make(new Gen(seed));
      // Twenty more attributes per item: more decoded fields than an item records cuts for.
      const many = c.decode(c.encode(made));
      for (const item of itemsOf(c.signal, many)) {
        for (let i = 0; i < 20; i++) item.attributes.push({ key: `extra.${i}`, value: i });
      }
      for (const bytes of [c.encode(made), c.encode(many)]) {
        const expected = c.decode(bytes);
        c.change(expected, new Gen(seed * 17));
        // Decoded with nothing, the owned fields filled later: no cut is recorded for them.
        const index = newItemIndex();
        const late = c.partial.decode(bytes, NO_FIELDS, index);
        c.partial.fill(bytes, index, c.owned);
        c.change(late, new Gen(seed * 17));
        assert.deepEqual(c.decode(c.partial.encode(late, bytes, index, c.owned)), expected);
        // Decoded with the owned fields at once.
        const index2 = newItemIndex();
        const early = c.partial.decode(bytes, c.owned, index2);
        c.change(early, new Gen(seed * 17));
        assert.deepEqual(c.decode(c.partial.encode(early, bytes, index2, c.owned)), expected);
      }
    }
  });

  Deno.test(`${c.signal}: a partial decode refuses exactly what the full decode refuses`, () => {
    const g = new Gen(11);
    let refused = 0;
    let accepted = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const data = c.make(new Gen(seed));
      const valid = c.encode(data);
      // Attributes decoded by key are checked by their own walk (with a fast path for the
      // common shape): a key that occurs and one that does not.
      const key = itemsOf(c.signal, data).find((x) => x.attributes.length > 0)?.attributes[0]?.key;
      const keys = keyBytes([key ?? "k", "deployment.environment"]);
      for (let i = 0; i < 300; i++) {
        const bytes = mutate(g, valid);
        const want = verdict(() => c.decode(bytes));
        for (const fields of [NO_FIELDS, c.sets[2]!]) {
          const got = verdict(() => c.partial.decode(bytes, fields, newItemIndex()));
          assert.equal(got, want, `seed ${seed} mutation ${i} fields ${fields}`);
          const byKey = verdict(() => c.partial.decode(bytes, fields, newItemIndex(), keys));
          assert.equal(byKey, want, `seed ${seed} mutation ${i} fields ${fields} by key`);
        }
        if (want) accepted++;
        else refused++;
      }
    }
    assert.ok(refused > 1000 && accepted > 500, `${refused} refused, ${accepted} accepted`);
  });
}

/** True when `f` decodes, false when it throws OtlpDecodeError. */
function verdict(f: () => unknown): boolean {
  try {
    f();
    return true;
  } catch (error) {
    if (error instanceof OtlpDecodeError) return false;
    throw error;
  }
}

/** One random mutation of `b`: a flipped, replaced, deleted, inserted or bumped byte. */
function mutate(g: Gen, b: Uint8Array): Uint8Array {
  const out = b.slice();
  const i = g.int(out.length);
  switch (g.int(5)) {
    case 0:
      out[i]! ^= 1 + g.int(7);
      return out;
    case 1:
      out[i] = g.int(256);
      return out;
    case 2:
      return new Uint8Array([...out.subarray(0, i), ...out.subarray(i + 1)]);
    case 3:
      return new Uint8Array([...out.subarray(0, i), g.int(256), ...out.subarray(i)]);
    default:
      out[i]! += g.chance(0.5) ? 1 : -1;
      return out;
  }
}

/** Every item (span, log record, data point) of `data`. */
function itemsOf(signal: Signal, data: SignalData[Signal]): { attributes: KeyValue[] }[] {
  if (signal === "traces") {
    return (data as TracesData).resourceSpans.flatMap((rs) =>
      rs.scopeSpans.flatMap((ss) => ss.spans)
    );
  }
  if (signal === "logs") {
    return (data as LogsData).resourceLogs.flatMap((rl) =>
      rl.scopeLogs.flatMap((sl) => sl.logRecords)
    );
  }
  return points(data as MetricsData);
}

for (const c of CASES) {
  Deno.test(`${c.signal}: attributes decoded by key hold those keys, encode with the rest copied, and merge back`, () => {
    let keyed = 0;
    for (let seed = 1; seed <= 30; seed++) {
      const bytes = c.encode(c.make(new Gen(seed)));
      const expected = c.decode(bytes);
      const some = itemsOf(c.signal, expected).find((i) => i.attributes.length > 1);
      if (some === undefined) continue;
      const existing = some.attributes[1]!.key;
      const keys = [existing, "deployment.environment"];
      const edit = (data: SignalData[Signal]) => {
        for (const item of itemsOf(c.signal, data)) {
          setAttribute(item.attributes, existing, "changed");
          setAttribute(item.attributes, "deployment.environment", "prod");
        }
      };
      edit(expected);
      const attributes = c.partial.attributes;
      for (const fields of [NO_FIELDS, c.sets[1]! & ~attributes]) {
        const index: ItemIndex = newItemIndex();
        const data = c.partial.decode(bytes, fields, index, keyBytes(keys));
        for (const item of itemsOf(c.signal, data)) {
          assert.ok(item.attributes.every((kv) => keys.includes(kv.key)), `seed ${seed}`);
          keyed += item.attributes.length;
        }
        edit(data);
        const encoded = c.partial.encode(data, bytes, index, fields, keyBytes(keys));
        assert.deepEqual(c.decode(encoded), expected, `seed ${seed}: encoded`);
        c.partial.fill(bytes, index, ALL_FIELDS & ~fields, keyBytes(keys));
        assert.deepEqual(data, expected, `seed ${seed}: merged`);
      }
    }
    assert.ok(keyed > 50, `${keyed} attributes decoded by key`);
  });
}

Deno.test("logs: a field that arrives twice is written once from the model, where it first was", () => {
  // One record: severity_text "A", body "x", severity_text "B" (the last one is the value).
  const record = [0x1a, 1, 0x41, 0x2a, 3, 0x0a, 1, 0x78, 0x1a, 1, 0x42];
  const scope = [0x12, record.length, ...record];
  const resource = [0x12, scope.length, ...scope];
  const bytes = new Uint8Array([0x0a, resource.length, ...resource]);
  const want = LOG_RECORD.severityText | LOG_RECORD.body;
  const index = newItemIndex();
  const data = LOGS_PROTO.partial!.decode(bytes, want, index);
  const l = data.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!;
  assert.equal(l.severityText, "B");
  assert.equal(l.body, "x");
  l.severityText = "C";
  const encoded = LOGS_PROTO.partial!.encode(data, bytes, index, LOG_RECORD.severityText);
  // The record is last: its length, then "C" where "A" was, the body, and no second copy.
  assert.deepEqual([...encoded.subarray(-9)], [8, 0x1a, 1, 0x43, 0x2a, 3, 0x0a, 1, 0x78]);
  const back = decodeLogsRequest(encoded).resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!;
  assert.equal(back.severityText, "C");
  assert.equal(back.body, "x");
});
