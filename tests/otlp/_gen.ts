/**
 * A seeded generator of random telemetry covering every field of the model, every AnyValue and
 * metric kind, and the edge values of every scalar type.
 *
 * @module
 */
import type {
  AnyValue,
  Exemplar,
  ExponentialHistogramDataPoint,
  HistogramDataPoint,
  InstrumentationScope,
  KeyValue,
  LogRecord,
  LogsData,
  Metric,
  MetricsData,
  NumberDataPoint,
  Resource,
  Span,
  SummaryDataPoint,
  TracesData,
} from "../../lib/pdata/types.ts";

/** A seeded random source with helpers for each OTLP scalar type. */
export class Gen {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }

  /** A float in [0, 1) (mulberry32). */
  next(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  u32(): number {
    return this.pick([0, 1, 127, 128, 16383, 16384, 2 ** 31, 4294967295, this.int(2 ** 32)]);
  }
  u64(): bigint {
    return this.pick([
      0n,
      1n,
      1700000000123456789n,
      18446744073709551615n,
      2n ** 53n + 1n,
      BigInt(this.int(2 ** 32)) << 32n | BigInt(this.int(2 ** 32)),
      BigInt(this.int(1000)),
    ]);
  }
  i64(): bigint {
    return this.pick([
      0n,
      1n,
      -1n,
      -5n,
      9007199254740993n,
      -9007199254740993n,
      -9223372036854775808n,
      9223372036854775807n,
      BigInt.asIntN(64, this.u64()),
    ]);
  }
  f64(): number {
    return this.pick([
      0,
      -0,
      1.5,
      -2.25,
      NaN,
      Infinity,
      -Infinity,
      1e300,
      5e-324,
      this.next() * 1e6,
    ]);
  }
  str(): string {
    return this.pick([
      "",
      "a",
      "http.request.method",
      "héllo wörld",
      "日本語のテキスト",
      "emoji 😀 and 𝄞",
      "x".repeat(200),
      "ü".repeat(150),
      'line\nbreak "quoted" \\ tab\t',
      "k" + this.int(1000),
    ]);
  }
  bytes(n?: number): Uint8Array {
    const len = n ?? this.int(24);
    const b = new Uint8Array(len);
    for (let i = 0; i < len; i++) b[i] = this.int(256);
    return b;
  }
  id(n: number): Uint8Array {
    return this.chance(0.2) ? new Uint8Array(0) : this.bytes(n);
  }
  enum(max: number): number {
    return this.chance(0.05) ? -1 : this.int(max + 1);
  }
  sint32(): number {
    return this.pick([0, 1, -1, 63, -64, 2147483647, -2147483648, this.int(40) - 20]);
  }

  anyValue(depth = 0): AnyValue {
    const k = this.int(depth >= 3 ? 6 : 8);
    switch (k) {
      case 0:
        return this.str();
      case 1:
        return this.chance(0.5);
      case 2:
        return this.i64();
      case 3:
        return this.f64();
      case 4:
        return this.bytes();
      case 5:
        return undefined;
      case 6: {
        const n = this.int(4);
        const a: AnyValue[] = [];
        for (let i = 0; i < n; i++) a.push(this.anyValue(depth + 1));
        return a;
      }
      default:
        return { kvlist: this.attrs(this.int(4), depth + 1) };
    }
  }
  attrs(n = this.int(5), depth = 0): KeyValue[] {
    const out: KeyValue[] = [];
    for (let i = 0; i < n; i++) out.push({ key: this.str(), value: this.anyValue(depth) });
    return out;
  }
  resource(): Resource {
    return { attributes: this.attrs(), droppedAttributesCount: this.u32() };
  }
  scope(): InstrumentationScope {
    return {
      name: this.str(),
      version: this.str(),
      attributes: this.attrs(),
      droppedAttributesCount: this.u32(),
    };
  }
  list<T>(max: number, f: () => T): T[] {
    const n = this.int(max + 1);
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(f());
    return out;
  }

  span(): Span {
    return {
      traceId: this.id(16),
      spanId: this.id(8),
      traceState: this.str(),
      parentSpanId: this.id(8),
      flags: this.u32(),
      name: this.str(),
      kind: this.enum(5),
      startTimeUnixNano: this.u64(),
      endTimeUnixNano: this.u64(),
      attributes: this.attrs(),
      droppedAttributesCount: this.u32(),
      events: this.list(2, () => ({
        timeUnixNano: this.u64(),
        name: this.str(),
        attributes: this.attrs(),
        droppedAttributesCount: this.u32(),
      })),
      droppedEventsCount: this.u32(),
      links: this.list(2, () => ({
        traceId: this.id(16),
        spanId: this.id(8),
        traceState: this.str(),
        attributes: this.attrs(),
        droppedAttributesCount: this.u32(),
        flags: this.u32(),
      })),
      droppedLinksCount: this.u32(),
      status: { message: this.str(), code: this.enum(2) },
    };
  }
  traces(): TracesData {
    return {
      resourceSpans: this.list(3, () => ({
        resource: this.resource(),
        scopeSpans: this.list(3, () => ({
          scope: this.scope(),
          spans: this.list(4, () => this.span()),
          schemaUrl: this.str(),
        })),
        schemaUrl: this.str(),
      })),
    };
  }

  numberValue(): number | bigint | undefined {
    const k = this.int(5);
    return k === 0 ? undefined : k < 3 ? this.f64() : this.i64();
  }
  exemplar(): Exemplar {
    return {
      filteredAttributes: this.attrs(),
      timeUnixNano: this.u64(),
      value: this.numberValue(),
      spanId: this.id(8),
      traceId: this.id(16),
    };
  }
  numberPoint(): NumberDataPoint {
    return {
      attributes: this.attrs(),
      startTimeUnixNano: this.u64(),
      timeUnixNano: this.u64(),
      value: this.numberValue(),
      exemplars: this.list(2, () => this.exemplar()),
      flags: this.u32(),
    };
  }
  optionals<T extends { sum?: number; min?: number; max?: number }>(p: T): T {
    if (this.chance(0.7)) p.sum = this.f64();
    if (this.chance(0.7)) p.min = this.f64();
    if (this.chance(0.7)) p.max = this.f64();
    return p;
  }
  histogramPoint(): HistogramDataPoint {
    return this.optionals<HistogramDataPoint>({
      attributes: this.attrs(),
      startTimeUnixNano: this.u64(),
      timeUnixNano: this.u64(),
      count: this.u64(),
      bucketCounts: this.list(6, () => this.u64()),
      explicitBounds: this.list(5, () => this.f64()),
      exemplars: this.list(2, () => this.exemplar()),
      flags: this.u32(),
    });
  }
  expPoint(): ExponentialHistogramDataPoint {
    return this.optionals<ExponentialHistogramDataPoint>({
      attributes: this.attrs(),
      startTimeUnixNano: this.u64(),
      timeUnixNano: this.u64(),
      count: this.u64(),
      scale: this.sint32(),
      zeroCount: this.u64(),
      positive: { offset: this.sint32(), bucketCounts: this.list(6, () => this.u64()) },
      negative: { offset: this.sint32(), bucketCounts: this.list(6, () => this.u64()) },
      flags: this.u32(),
      exemplars: this.list(2, () => this.exemplar()),
      zeroThreshold: this.f64(),
    });
  }
  summaryPoint(): SummaryDataPoint {
    return {
      attributes: this.attrs(),
      startTimeUnixNano: this.u64(),
      timeUnixNano: this.u64(),
      count: this.u64(),
      sum: this.f64(),
      quantileValues: this.list(3, () => ({ quantile: this.f64(), value: this.f64() })),
      flags: this.u32(),
    };
  }
  metric(): Metric {
    const base = {
      name: this.str(),
      description: this.str(),
      unit: this.str(),
      metadata: this.attrs(),
    };
    const n = 3;
    switch (this.int(6)) {
      case 0:
        return { ...base, data: undefined };
      case 1:
        return {
          ...base,
          data: { type: "gauge", dataPoints: this.list(n, () => this.numberPoint()) },
        };
      case 2:
        return {
          ...base,
          data: {
            type: "sum",
            dataPoints: this.list(n, () => this.numberPoint()),
            aggregationTemporality: this.enum(2),
            isMonotonic: this.chance(0.5),
          },
        };
      case 3:
        return {
          ...base,
          data: {
            type: "histogram",
            dataPoints: this.list(n, () => this.histogramPoint()),
            aggregationTemporality: this.enum(2),
          },
        };
      case 4:
        return {
          ...base,
          data: {
            type: "exponentialHistogram",
            dataPoints: this.list(n, () => this.expPoint()),
            aggregationTemporality: this.enum(2),
          },
        };
      default:
        return {
          ...base,
          data: { type: "summary", dataPoints: this.list(n, () => this.summaryPoint()) },
        };
    }
  }
  metrics(): MetricsData {
    return {
      resourceMetrics: this.list(3, () => ({
        resource: this.resource(),
        scopeMetrics: this.list(3, () => ({
          scope: this.scope(),
          metrics: this.list(4, () => this.metric()),
          schemaUrl: this.str(),
        })),
        schemaUrl: this.str(),
      })),
    };
  }

  logRecord(): LogRecord {
    return {
      timeUnixNano: this.u64(),
      observedTimeUnixNano: this.u64(),
      severityNumber: this.enum(24),
      severityText: this.str(),
      body: this.anyValue(),
      attributes: this.attrs(),
      droppedAttributesCount: this.u32(),
      flags: this.u32(),
      traceId: this.id(16),
      spanId: this.id(8),
      eventName: this.str(),
    };
  }
  logs(): LogsData {
    return {
      resourceLogs: this.list(3, () => ({
        resource: this.resource(),
        scopeLogs: this.list(3, () => ({
          scope: this.scope(),
          logRecords: this.list(4, () => this.logRecord()),
          schemaUrl: this.str(),
        })),
        schemaUrl: this.str(),
      })),
    };
  }
}
