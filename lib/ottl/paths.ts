/**
 * Paths: how `span.attributes["a"][0]`, `log.body`, `datapoint.value_double`, `cache["x"]` and
 * the other context fields read and write the pdata model. Every path compiles once into a getter
 * and, where the field is writable, a setter.
 *
 * @module
 */
import type {
  AnyValue,
  ExponentialHistogramDataPoint,
  KeyValue,
  Metric,
  NumberDataPoint,
} from "../pdata/types.ts";
import type { PathNode } from "./ast.ts";
import {
  type ContextName,
  type DataPoint,
  prefixContext,
  REACHABLE,
  type TransformContext,
} from "./context.ts";
import { OttlError, OttlRuntimeError } from "./errors.ts";
import { formatDouble } from "../processing/value.ts";
import { copyValue, hex, isMap, OttlId, OttlTime, toJson, type Value } from "./values.ts";

/** Reads a value for one item. */
export type Getter = (ctx: TransformContext) => Value;
/** Writes a value for one item; a value of the wrong type is ignored, as in the Collector. */
export type Setter = (ctx: TransformContext, value: Value) => void;

/** A compiled path. */
export interface Accessor {
  get: Getter;
  set: Setter | undefined;
  /** The context the path reads (for inference and checks). */
  context: ContextName;
  /** The path as written, for messages. */
  text: string;
  /** The field of `context` it names (`attributes`, `status.code`, `cache`), without keys. */
  field: string;
}

/** A key evaluated per item: a string (map key) or bigint (slice index). */
export type KeyGetter = (ctx: TransformContext) => string | bigint;

// ---------------------------------------------------------------------------------------------
// Indexing

/** Reads `v[k0][k1]…`; nil for a missing map key; an error for a bad index or type. */
export function getIndexed(v: Value, keys: readonly (string | bigint)[]): Value {
  let cur = v;
  for (const k of keys) {
    if (cur === undefined) return undefined;
    if (typeof k === "string") {
      if (!isMap(cur)) {
        throw new OttlRuntimeError(`cannot index a non-map value with the string key "${k}"`);
      }
      cur = findValue(cur.kvlist, k);
    } else {
      if (!Array.isArray(cur)) {
        throw new OttlRuntimeError(`cannot index a non-slice value with ${k}`);
      }
      if (k < 0n || k >= BigInt(cur.length)) {
        throw new OttlRuntimeError(`index ${k} out of bounds`);
      }
      cur = cur[Number(k)];
    }
  }
  return cur;
}

function findValue(list: readonly KeyValue[], key: string): AnyValue {
  for (let i = 0; i < list.length; i++) if (list[i]!.key === key) return list[i]!.value;
  return undefined;
}

function putValue(list: KeyValue[], key: string, value: AnyValue): void {
  for (let i = 0; i < list.length; i++) {
    if (list[i]!.key === key) {
      list[i]!.value = value;
      return;
    }
  }
  list.push({ key, value });
}

/**
 * Sets `list[k0][k1]…` to `value`, creating maps for missing string keys. `value` must already be
 * storable (copied).
 */
export function setInMap(
  list: KeyValue[],
  keys: readonly (string | bigint)[],
  value: AnyValue,
): void {
  // A time or duration has no telemetry form: the key gets an empty value, as in the Collector.
  if (typeof value === "object" && value !== null && "ns" in value) value = undefined;
  const first = keys[0]!;
  if (typeof first !== "string") throw new OttlRuntimeError("a map is indexed by string keys");
  if (keys.length === 1) {
    putValue(list, first, value);
    return;
  }
  let entry = list.find((kv) => kv.key === first);
  if (entry === undefined) {
    entry = { key: first, value: undefined };
    list.push(entry);
  }
  setInValue(entry as unknown as Slot, "value", keys, 1, value);
}

type Slot = { [k: string]: AnyValue } | AnyValue[];

function setInValue(
  holder: Slot,
  field: string | number,
  keys: readonly (string | bigint)[],
  i: number,
  value: AnyValue,
): void {
  let h: Slot = holder;
  let f: string | number = field;
  for (; i < keys.length; i++) {
    const k = keys[i]!;
    let cur = (h as Record<string | number, AnyValue>)[f];
    if (typeof k === "string") {
      if (cur === undefined) {
        cur = { kvlist: [] };
        (h as Record<string | number, AnyValue>)[f] = cur;
      }
      if (!isMap(cur)) throw new OttlRuntimeError(`cannot set the key "${k}" in a non-map value`);
      if (i === keys.length - 1) {
        putValue(cur.kvlist, k, value);
        return;
      }
      let entry = cur.kvlist.find((kv) => kv.key === k);
      if (entry === undefined) {
        entry = { key: k, value: undefined };
        cur.kvlist.push(entry);
      }
      h = entry as unknown as Slot;
      f = "value";
    } else {
      if (!Array.isArray(cur)) {
        throw new OttlRuntimeError(`cannot set index ${k} in a non-slice value`);
      }
      if (k < 0n || k >= BigInt(cur.length)) throw new OttlRuntimeError(`index ${k} out of bounds`);
      if (i === keys.length - 1) {
        cur[Number(k)] = value;
        return;
      }
      h = cur;
      f = Number(k);
    }
  }
}

function keysOf(ctx: TransformContext, keys: readonly KeyGetter[]): (string | bigint)[] {
  const out = new Array<string | bigint>(keys.length);
  for (let i = 0; i < keys.length; i++) out[i] = keys[i]!(ctx);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Field definitions

interface Field {
  get: Getter;
  set?: Setter;
  /** A map-valued field: keys index into it, `set` with keys writes inside it. */
  map?: (ctx: TransformContext) => KeyValue[];
  /** An AnyValue-valued field that keys may index into (log body). */
  value?: {
    get: (ctx: TransformContext) => AnyValue;
    set: (ctx: TransformContext, v: AnyValue) => void;
  };
}

const str = (v: Value): v is string => typeof v === "string";
const int = (v: Value): v is bigint => typeof v === "bigint";

function mapField(
  of: (ctx: TransformContext) => KeyValue[],
  replace: (ctx: TransformContext, l: KeyValue[]) => void,
): Field {
  return {
    map: of,
    get: (ctx) => ({ kvlist: of(ctx) }),
    set: (ctx, v) => {
      if (isMap(v)) replace(ctx, (copyValue(v) as { kvlist: KeyValue[] }).kvlist);
    },
  };
}

function parseHexId(s: string, size: number): Uint8Array | undefined {
  if (s.length !== size * 2 || !/^[0-9a-fA-F]*$/.test(s)) return undefined;
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function idFields(
  name: string,
  size: number,
  get: (ctx: TransformContext) => Uint8Array,
  put: (ctx: TransformContext, v: Uint8Array) => void,
): Record<string, Field> {
  return {
    [name]: {
      get: (ctx) => new OttlId(get(ctx)),
      set: (ctx, v) => {
        if (v instanceof Uint8Array && v.length === size) put(ctx, v.slice());
      },
    },
    [name + ".string"]: {
      get: (ctx) => {
        const id = get(ctx);
        return id.every((b) => b === 0) ? "" : hex(id);
      },
      set: (ctx, v) => {
        if (!str(v)) return;
        const id = parseHexId(v, size);
        if (id === undefined) throw new OttlRuntimeError(`"${v}" is not a ${size}-byte hex ID`);
        put(ctx, id);
      },
    },
  };
}

function timeFields(
  base: string,
  get: (ctx: TransformContext) => bigint,
  put: (ctx: TransformContext, v: bigint) => void,
): Record<string, Field> {
  return {
    [base + "_unix_nano"]: { get, set: (ctx, v) => int(v) && put(ctx, v) },
    [base]: {
      get: (ctx) => new OttlTime(get(ctx)),
      set: (ctx, v) => v instanceof OttlTime && put(ctx, v.ns),
    },
  };
}

const resourceFields: Record<string, Field> = {
  attributes: mapField((c) => c.resource.attributes, (c, l) => {
    c.resource.attributes = l;
  }),
  dropped_attributes_count: {
    get: (c) => BigInt(c.resource.droppedAttributesCount),
    set: (c, v) => int(v) && (c.resource.droppedAttributesCount = Number(v)),
  },
  schema_url: {
    get: (c) => c.resourceHolder.schemaUrl,
    set: (c, v) => str(v) && (c.resourceHolder.schemaUrl = v),
  },
};

const scopeFields: Record<string, Field> = {
  name: { get: (c) => c.scope.name, set: (c, v) => str(v) && (c.scope.name = v) },
  version: { get: (c) => c.scope.version, set: (c, v) => str(v) && (c.scope.version = v) },
  attributes: mapField((c) => c.scope.attributes, (c, l) => {
    c.scope.attributes = l;
  }),
  dropped_attributes_count: {
    get: (c) => BigInt(c.scope.droppedAttributesCount),
    set: (c, v) => int(v) && (c.scope.droppedAttributesCount = Number(v)),
  },
  schema_url: {
    get: (c) => c.scopeHolder.schemaUrl,
    set: (c, v) => str(v) && (c.scopeHolder.schemaUrl = v),
  },
};

const uint32 = (v: bigint) => Number(BigInt.asUintN(32, v));

const spanFields: Record<string, Field> = {
  ...idFields("trace_id", 16, (c) => c.span!.traceId, (c, v) => {
    c.span!.traceId = v;
  }),
  ...idFields("span_id", 8, (c) => c.span!.spanId, (c, v) => {
    c.span!.spanId = v;
  }),
  ...idFields("parent_span_id", 8, (c) => c.span!.parentSpanId, (c, v) => {
    c.span!.parentSpanId = v;
  }),
  trace_state: {
    get: (c) => c.span!.traceState,
    set: (c, v) => str(v) && (c.span!.traceState = v),
  },
  name: { get: (c) => c.span!.name, set: (c, v) => str(v) && (c.span!.name = v) },
  kind: { get: (c) => BigInt(c.span!.kind), set: (c, v) => int(v) && (c.span!.kind = Number(v)) },
  ...timeFields("start_time", (c) => c.span!.startTimeUnixNano, (c, v) => {
    c.span!.startTimeUnixNano = v;
  }),
  ...timeFields("end_time", (c) => c.span!.endTimeUnixNano, (c, v) => {
    c.span!.endTimeUnixNano = v;
  }),
  attributes: mapField((c) => c.span!.attributes, (c, l) => {
    c.span!.attributes = l;
  }),
  dropped_attributes_count: {
    get: (c) => BigInt(c.span!.droppedAttributesCount),
    set: (c, v) => int(v) && (c.span!.droppedAttributesCount = uint32(v)),
  },
  dropped_events_count: {
    get: (c) => BigInt(c.span!.droppedEventsCount),
    set: (c, v) => int(v) && (c.span!.droppedEventsCount = uint32(v)),
  },
  dropped_links_count: {
    get: (c) => BigInt(c.span!.droppedLinksCount),
    set: (c, v) => int(v) && (c.span!.droppedLinksCount = uint32(v)),
  },
  flags: {
    get: (c) => BigInt(c.span!.flags),
    set: (c, v) => int(v) && (c.span!.flags = uint32(v)),
  },
  "status.code": {
    get: (c) => BigInt(c.span!.status.code),
    set: (c, v) => int(v) && (c.span!.status.code = Number(v)),
  },
  "status.message": {
    get: (c) => c.span!.status.message,
    set: (c, v) => str(v) && (c.span!.status.message = v),
  },
};

const spanEventFields: Record<string, Field> = {
  ...timeFields("time", (c) => c.event!.timeUnixNano, (c, v) => {
    c.event!.timeUnixNano = v;
  }),
  name: { get: (c) => c.event!.name, set: (c, v) => str(v) && (c.event!.name = v) },
  attributes: mapField((c) => c.event!.attributes, (c, l) => {
    c.event!.attributes = l;
  }),
  dropped_attributes_count: {
    get: (c) => BigInt(c.event!.droppedAttributesCount),
    set: (c, v) => int(v) && (c.event!.droppedAttributesCount = uint32(v)),
  },
  event_index: { get: (c) => BigInt(c.eventIndex) },
};

/** `metric.type` values (`METRIC_DATA_TYPE_*`). */
export function metricType(m: Metric): bigint {
  switch (m.data?.type) {
    case "gauge":
      return 1n;
    case "sum":
      return 2n;
    case "histogram":
      return 3n;
    case "exponentialHistogram":
      return 4n;
    case "summary":
      return 5n;
    default:
      return 0n;
  }
}

function metricFieldsOf(of: (c: TransformContext) => Metric): Record<string, Field> {
  return {
    name: { get: (c) => of(c).name, set: (c, v) => str(v) && (of(c).name = v) },
    description: {
      get: (c) => of(c).description,
      set: (c, v) => str(v) && (of(c).description = v),
    },
    unit: { get: (c) => of(c).unit, set: (c, v) => str(v) && (of(c).unit = v) },
    type: { get: (c) => metricType(of(c)) },
    aggregation_temporality: {
      get: (c) => {
        const d = of(c).data;
        return d !== undefined && "aggregationTemporality" in d
          ? BigInt(d.aggregationTemporality)
          : 0n;
      },
      set: (c, v) => {
        const d = of(c).data;
        if (int(v) && d !== undefined && "aggregationTemporality" in d) {
          d.aggregationTemporality = Number(v);
        }
      },
    },
    is_monotonic: {
      get: (c) => {
        const d = of(c).data;
        return d?.type === "sum" ? d.isMonotonic : false;
      },
      set: (c, v) => {
        const d = of(c).data;
        if (typeof v === "boolean" && d?.type === "sum") d.isMonotonic = v;
      },
    },
    metadata: mapField((c) => of(c).metadata, (c, l) => {
      of(c).metadata = l;
    }),
  };
}

const num = (c: TransformContext): NumberDataPoint | undefined => {
  const t = c.metric?.data?.type;
  return t === "gauge" || t === "sum" ? c.datapoint as NumberDataPoint : undefined;
};
type Dp = DataPoint & Record<string, unknown>;
const dpOf = (c: TransformContext) => c.datapoint as Dp;
const kindOf = (c: TransformContext) => c.metric?.data?.type;

function dpCountField(types: readonly string[], field: "count" | "zeroCount"): Field {
  return {
    get: (c) => types.includes(kindOf(c) ?? "") ? dpOf(c)[field] as bigint : undefined,
    set: (c, v) => {
      if (int(v) && types.includes(kindOf(c) ?? "")) dpOf(c)[field] = BigInt.asUintN(64, v);
    },
  };
}

function bucketsField(side: "positive" | "negative"): Record<string, Field> {
  const buckets = (c: TransformContext) =>
    kindOf(c) === "exponentialHistogram"
      ? (c.datapoint as ExponentialHistogramDataPoint)[side]
      : undefined;
  return {
    [`${side}.offset`]: {
      get: (c) => {
        const b = buckets(c);
        return b === undefined ? undefined : BigInt(b.offset);
      },
      set: (c, v) => {
        const b = buckets(c);
        if (b !== undefined && int(v)) b.offset = Number(BigInt.asIntN(32, v));
      },
    },
    [`${side}.bucket_counts`]: {
      get: (c) => buckets(c)?.bucketCounts.slice(),
      set: (c, v) => {
        const b = buckets(c);
        if (b !== undefined && Array.isArray(v) && v.every(int)) b.bucketCounts = v as bigint[];
      },
    },
  };
}

const datapointFields: Record<string, Field> = {
  attributes: mapField((c) => c.datapoint!.attributes, (c, l) => {
    c.datapoint!.attributes = l;
  }),
  ...timeFields("start_time", (c) => c.datapoint!.startTimeUnixNano, (c, v) => {
    c.datapoint!.startTimeUnixNano = v;
  }),
  ...timeFields("time", (c) => c.datapoint!.timeUnixNano, (c, v) => {
    c.datapoint!.timeUnixNano = v;
  }),
  value_double: {
    get: (c) => {
      const p = num(c);
      return p === undefined ? undefined : typeof p.value === "number" ? p.value : 0;
    },
    set: (c, v) => {
      const p = num(c);
      if (p !== undefined && typeof v === "number") p.value = v;
    },
  },
  value_int: {
    get: (c) => {
      const p = num(c);
      return p === undefined ? undefined : typeof p.value === "bigint" ? p.value : 0n;
    },
    set: (c, v) => {
      const p = num(c);
      if (p !== undefined && int(v)) p.value = v;
    },
  },
  flags: {
    get: (c) => BigInt(c.datapoint!.flags),
    set: (c, v) => int(v) && (c.datapoint!.flags = uint32(v)),
  },
  count: dpCountField(["histogram", "exponentialHistogram", "summary"], "count"),
  sum: {
    get: (c) => {
      const t = kindOf(c);
      if (t === "histogram" || t === "exponentialHistogram" || t === "summary") {
        return (dpOf(c).sum as number | undefined) ?? 0;
      }
      return undefined;
    },
    set: (c, v) => {
      const t = kindOf(c);
      if (
        typeof v === "number" &&
        (t === "histogram" || t === "exponentialHistogram" || t === "summary")
      ) {
        dpOf(c).sum = v;
      }
    },
  },
  bucket_counts: {
    get: (c) => kindOf(c) === "histogram" ? (dpOf(c).bucketCounts as bigint[]).slice() : undefined,
    set: (c, v) => {
      if (kindOf(c) === "histogram" && Array.isArray(v) && v.every(int)) dpOf(c).bucketCounts = v;
    },
  },
  explicit_bounds: {
    get: (c) =>
      kindOf(c) === "histogram" ? (dpOf(c).explicitBounds as number[]).slice() : undefined,
    set: (c, v) => {
      if (kindOf(c) === "histogram" && Array.isArray(v) && v.every((x) => typeof x === "number")) {
        dpOf(c).explicitBounds = v;
      }
    },
  },
  scale: {
    get: (c) => kindOf(c) === "exponentialHistogram" ? BigInt(dpOf(c).scale as number) : undefined,
    set: (c, v) => {
      if (kindOf(c) === "exponentialHistogram" && int(v)) {
        dpOf(c).scale = Number(BigInt.asIntN(32, v));
      }
    },
  },
  zero_count: dpCountField(["exponentialHistogram"], "zeroCount"),
  ...bucketsField("positive"),
  ...bucketsField("negative"),
};

const logFields: Record<string, Field> = {
  ...timeFields("time", (c) => c.log!.timeUnixNano, (c, v) => {
    c.log!.timeUnixNano = v;
  }),
  ...timeFields("observed_time", (c) => c.log!.observedTimeUnixNano, (c, v) => {
    c.log!.observedTimeUnixNano = v;
  }),
  severity_number: {
    get: (c) => BigInt(c.log!.severityNumber),
    set: (c, v) => int(v) && (c.log!.severityNumber = Number(BigInt.asIntN(32, v))),
  },
  severity_text: {
    get: (c) => c.log!.severityText,
    set: (c, v) => str(v) && (c.log!.severityText = v),
  },
  body: {
    get: (c) => c.log!.body,
    set: (c, v) => {
      if (v instanceof OttlTime || (typeof v === "object" && v !== null && "ns" in v)) return;
      c.log!.body = copyValue(v as AnyValue);
    },
    value: {
      get: (c) => c.log!.body,
      set: (c, v) => {
        c.log!.body = v;
      },
    },
  },
  "body.string": {
    get: (c) => {
      const b = c.log!.body;
      return b === undefined ? "" : stringOfBody(b);
    },
    set: (c, v) => str(v) && (c.log!.body = v),
  },
  attributes: mapField((c) => c.log!.attributes, (c, l) => {
    c.log!.attributes = l;
  }),
  dropped_attributes_count: {
    get: (c) => BigInt(c.log!.droppedAttributesCount),
    set: (c, v) => int(v) && (c.log!.droppedAttributesCount = uint32(v)),
  },
  flags: { get: (c) => BigInt(c.log!.flags), set: (c, v) => int(v) && (c.log!.flags = uint32(v)) },
  ...idFields("trace_id", 16, (c) => c.log!.traceId, (c, v) => {
    c.log!.traceId = v;
  }),
  ...idFields("span_id", 8, (c) => c.log!.spanId, (c, v) => {
    c.log!.spanId = v;
  }),
  event_name: { get: (c) => c.log!.eventName, set: (c, v) => str(v) && (c.log!.eventName = v) },
};

function stringOfBody(b: AnyValue): string {
  if (typeof b === "string") return b;
  // Non-string bodies as the Collector's AsString: JSON (sorted keys) for maps and slices.
  if (typeof b === "number") return formatDouble(b);
  if (typeof b === "bigint" || typeof b === "boolean") return String(b);
  if (b instanceof Uint8Array) return btoa(String.fromCharCode(...b));
  return toJson(b);
}

const FIELDS: Readonly<Record<ContextName, Record<string, Field>>> = {
  resource: resourceFields,
  scope: scopeFields,
  span: spanFields,
  spanevent: spanEventFields,
  metric: metricFieldsOf((c) => c.metric!),
  datapoint: datapointFields,
  log: logFields,
};

const cacheField: Field = {
  map: (c) => c.cache ??= [],
  get: (c) => ({ kvlist: c.cache ??= [] }),
  set: (c, v) => {
    if (isMap(v)) c.cache = (copyValue(v) as { kvlist: KeyValue[] }).kvlist;
  },
};

/**
 * `metadata`: the request metadata, as the Collector's OTTL offers it in every context (read only):
 * `metadata["key"]` is the key's first value (keys match case-insensitively, as HTTP headers do)
 * or nil; `metadata` alone is a map of every key to its first value.
 */
const metadataField: Field = {
  get: (c) => {
    const kvlist: KeyValue[] = [];
    for (const [key, values] of c.metadata) {
      if (values.length > 0) kvlist.push({ key, value: values[0]! });
    }
    return { kvlist };
  },
};

function metadataValue(c: TransformContext, key: string): Value {
  return c.metadata.get(key.toLowerCase())?.[0];
}

/** The field names a context offers, for messages. */
export function fieldNames(context: ContextName): string[] {
  return ["cache", "metadata", ...Object.keys(FIELDS[context])];
}

/**
 * Compiles a path for a statement running in `context`. A first segment naming a context
 * (`span.`, `resource.`, `instrumentation_scope.`) selects it; without one the path is read in
 * `context` itself (the form of configs from before context prefixes).
 */
export function compilePath(
  node: PathNode,
  context: ContextName,
  compileKey: (key: PathNode["keys"][number]) => KeyGetter,
): Accessor {
  let target = context;
  let rest = node.names;
  let restAt = node.nameAt;
  const named = prefixContext(node.names[0]!);
  if (named !== undefined && (node.names.length > 1 || named !== context)) {
    if (!REACHABLE[context].includes(named)) {
      throw new OttlError(
        `path "${
          node.names.join(".")
        }" reads context "${named}", which a "${context}" statement cannot reach`,
        node.at,
      );
    }
    target = named;
    rest = node.names.slice(1);
    restAt = node.nameAt.slice(1);
  }
  const text = node.names.join(".");
  if (rest.length === 0) {
    throw new OttlError(
      `path "${text}" needs a field (one of ${fieldNames(target).join(", ")})`,
      node.at,
    );
  }
  const fieldName = rest.join(".");
  // Bare `metadata` is the request's; with a context prefix (`metric.metadata`), or in a context
  // that has a field of that name, it stays that field.
  if (fieldName === "metadata" && rest === node.names && FIELDS[target].metadata === undefined) {
    const keys = node.keys;
    if (keys.length === 0) {
      return { get: metadataField.get, set: undefined, context: target, text, field: fieldName };
    }
    const key = keys[0]!;
    if (keys.length > 1 || key.kind !== "string") {
      throw new OttlError(`path "${text}" takes one string key: metadata["name"]`, key.at);
    }
    const name = (key as { value: string }).value;
    return {
      get: (ctx) => metadataValue(ctx, name),
      set: undefined,
      context: target,
      text,
      field: fieldName,
    };
  }
  const field = fieldName === "cache" ? cacheField : FIELDS[target][fieldName];
  if (field === undefined) {
    throw new OttlError(
      `"${fieldName}" is not a path of context "${target}" (paths: ${
        fieldNames(target).join(", ")
      })`,
      restAt[0]!,
    );
  }
  const keys = node.keys.map(compileKey);
  if (keys.length === 0) {
    return { get: field.get, set: field.set, context: target, text, field: fieldName };
  }
  // Literal keys (`attributes["a"]["b"]`, the common case) are evaluated once, not per item.
  const literal = node.keys.every((k) => k.kind === "string" || k.kind === "int");
  const fixed = literal ? keys.map((k) => k(undefined as unknown as TransformContext)) : [];
  const keysFor = literal ? () => fixed : (ctx: TransformContext) => keysOf(ctx, keys);
  if (field.map !== undefined) {
    const of = field.map;
    const only = fixed.length === 1 && typeof fixed[0] === "string" ? fixed[0] : undefined;
    return {
      context: target,
      text,
      field: fieldName,
      // One literal string key: a lookup in the list, as getIndexed would do it.
      get: only !== undefined
        ? (ctx) => findValue(of(ctx), only)
        : (ctx) => getIndexed({ kvlist: of(ctx) }, keysFor(ctx)),
      set: (ctx, v) => {
        setInMap(of(ctx), keysFor(ctx), v as AnyValue);
      },
    };
  }
  if (field.value !== undefined) {
    const { get, set } = field.value;
    return {
      context: target,
      text,
      field: fieldName,
      get: (ctx) => getIndexed(get(ctx), keysFor(ctx)),
      set: (ctx, v) => {
        const holder = { value: get(ctx) };
        setInValue(holder as unknown as Slot, "value", keysFor(ctx), 0, v as AnyValue);
        set(ctx, holder.value);
      },
    };
  }
  if (fieldName.endsWith("bucket_counts") || fieldName === "explicit_bounds") {
    return {
      context: target,
      text,
      field: fieldName,
      get: (ctx) => getIndexed(field.get(ctx), keysFor(ctx)),
      set: undefined,
    };
  }
  throw new OttlError(`path "${text}" cannot be indexed`, node.keys[0]!.at);
}

/** The data point of a number metric, for metric functions. */
export type { DataPoint, NumberDataPoint };
