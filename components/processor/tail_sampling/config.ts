/**
 * The tail sampling processor's config: the contrib Collector's keys and defaults (v0.161) —
 * `decision_wait` 30s, `decision_wait_after_root_received`, `num_traces` 50000,
 * `block_on_overflow`, `expected_new_traces_per_sec`, `decision_cache`, `sample_on_first_match`,
 * `sampling_strategy`, `drop_pending_traces_on_shutdown`, `maximum_trace_size_bytes`,
 * `num_shards` and `policies` — plus tfo's `max_memory_mib` (a byte budget for held spans),
 * `early_decision` and `storage` (pending traces in a `file_storage` extension).
 *
 * A policy block for another type than the policy's (`latency:` on a `status_code` policy) is an
 * error here, where the Collector ignores it; `tail_storage`, `sampling_strategy: span-ingest` and
 * `num_shards` above 1 are refused by name (see the README).
 *
 * @module
 */
import { z } from "../../../lib/config/z.js";
import { duration } from "../../../lib/config/schema.ts";
import { errorModeSchema } from "../../../lib/ottl/error_mode.ts";
import { compileConditions } from "../../../lib/ottl/mod.ts";
import { unsafeRegexReason } from "../../../lib/ottl/regex.ts";

const int = () => z.number().int();

const latency = z.strictObject({
  /** A trace whose spans span more than this many milliseconds is sampled. */
  threshold_ms: int().default(0),
  /** With a value above 0, only durations up to it (inclusive) are sampled. */
  upper_threshold_ms: int().default(0),
});
const numericAttribute = z.strictObject({
  key: z.string(),
  min_value: int().default(0),
  max_value: int().default(0),
  invert_match: z.boolean().default(false),
});
const probabilistic = z.strictObject({
  hash_salt: z.string().default(""),
  sampling_percentage: z.number().default(0),
});
const statusCode = z.strictObject({
  status_codes: z.array(z.enum(["OK", "ERROR", "UNSET"], {
    message: "unknown status code: supported are OK, ERROR, UNSET",
  })).min(1, { message: "expected at least one status code to filter on" }),
});
const stringAttribute = z.strictObject({
  key: z.string(),
  values: z.array(z.string()).default([]),
  enabled_regex_matching: z.boolean().default(false),
  /** Size of the LRU cache of regex results (128 when 0). */
  cache_max_size: int().default(0),
  invert_match: z.boolean().default(false),
});
const rateLimiting = z.strictObject({
  spans_per_second: int().default(0),
  /** Token bucket size; 2 × `spans_per_second` when 0. */
  burst_capacity: int().default(0),
});
const bytesLimiting = z.strictObject({
  bytes_per_second: int().default(0),
  /** Token bucket size; 2 × `bytes_per_second` when 0. */
  burst_capacity: int().default(0),
});
const spanCount = z.strictObject({
  min_spans: int().default(0),
  /** 0 means no upper bound. */
  max_spans: int().default(0),
});
const traceState = z.strictObject({
  key: z.string(),
  values: z.array(z.string()).default([]),
});
const booleanAttribute = z.strictObject({
  key: z.string(),
  value: z.boolean().default(false),
  invert_match: z.boolean().default(false),
});
const ottlCondition = z.strictObject({
  /** The Collector's zero value behaves as `silent`. */
  error_mode: errorModeSchema.default("silent"),
  span: z.array(z.string()).default([]),
  spanevent: z.array(z.string()).default([]),
});

/** The policy types every level accepts (a "shared" policy in the Collector's terms). */
const SHARED_TYPES = [
  "always_sample",
  "latency",
  "numeric_attribute",
  "probabilistic",
  "status_code",
  "string_attribute",
  "rate_limiting",
  "bytes_limiting",
  "span_count",
  "trace_state",
  "boolean_attribute",
  "ottl_condition",
  "trace_flags",
] as const;

const sharedFields = {
  name: z.string().default(""),
  latency: latency.optional(),
  numeric_attribute: numericAttribute.optional(),
  probabilistic: probabilistic.optional(),
  status_code: statusCode.optional(),
  string_attribute: stringAttribute.optional(),
  rate_limiting: rateLimiting.optional(),
  bytes_limiting: bytesLimiting.optional(),
  span_count: spanCount.optional(),
  trace_state: traceState.optional(),
  boolean_attribute: booleanAttribute.optional(),
  ottl_condition: ottlCondition.optional(),
};

const typeEnum = <T extends readonly [string, ...string[]]>(types: T) =>
  z.enum(types, { message: `unknown sampling policy type: must be one of ${types.join(", ")}` });

const notSubPolicy = z.strictObject({ ...sharedFields, type: typeEnum(SHARED_TYPES) });
const andSubPolicy = z.strictObject({
  ...sharedFields,
  type: typeEnum([...SHARED_TYPES, "not"] as const),
  not: z.strictObject({ not_sub_policy: notSubPolicy }).optional(),
});
const compositeSubPolicy = z.strictObject({
  ...sharedFields,
  type: typeEnum([...SHARED_TYPES, "and"] as const),
  and: z.strictObject({ and_sub_policy: z.array(andSubPolicy).default([]) }).optional(),
});
const policy = z.strictObject({
  ...sharedFields,
  type: typeEnum([...SHARED_TYPES, "composite", "and", "not", "drop"] as const),
  composite: z.strictObject({
    max_total_spans_per_second: int().default(0),
    /** Accepted as in the Collector, where it has no effect: sub-policies run in list order. */
    policy_order: z.array(z.string()).default([]),
    composite_sub_policy: z.array(compositeSubPolicy).default([]),
    rate_allocation: z.array(z.strictObject({ policy: z.string(), percent: int().default(0) }))
      .default([]),
  }).optional(),
  and: z.strictObject({ and_sub_policy: z.array(andSubPolicy).default([]) }).optional(),
  not: z.strictObject({ not_sub_policy: notSubPolicy }).optional(),
  drop: z.strictObject({ drop_sub_policy: z.array(andSubPolicy).default([]) }).optional(),
});

/** A policy as configured, at any level. */
export type PolicyConfig =
  & Omit<z.output<typeof notSubPolicy>, "type">
  & {
    type: string;
    and?: { and_sub_policy: PolicyConfig[] };
    not?: { not_sub_policy: PolicyConfig };
    drop?: { drop_sub_policy: PolicyConfig[] };
    composite?: {
      max_total_spans_per_second: number;
      policy_order: string[];
      composite_sub_policy: PolicyConfig[];
      rate_allocation: { policy: string; percent: number }[];
    };
  };

/** The config blocks a type may carry. */
const BLOCKS = [
  "latency",
  "numeric_attribute",
  "probabilistic",
  "status_code",
  "string_attribute",
  "rate_limiting",
  "bytes_limiting",
  "span_count",
  "trace_state",
  "boolean_attribute",
  "ottl_condition",
  "and",
  "not",
  "drop",
  "composite",
] as const;

/** Types whose block must be present (their evaluator cannot be built from nothing). */
const REQUIRED_BLOCK = new Set([
  "numeric_attribute",
  "status_code",
  "ottl_condition",
  "not",
  "string_attribute",
  "trace_state",
  "boolean_attribute",
]);

function checkPolicy(p: PolicyConfig, path: (string | number)[], ctx: z.RefinementCtx): void {
  const issue = (message: string, at: (string | number)[] = []) =>
    ctx.addIssue({ code: "custom", path: [...path, ...at], message });
  for (const block of BLOCKS) {
    if (block !== p.type && (p as Record<string, unknown>)[block] !== undefined) {
      issue(`a "${block}" block has no effect on a policy of type "${p.type}"`, [block]);
    }
  }
  if (REQUIRED_BLOCK.has(p.type) && (p as Record<string, unknown>)[p.type] === undefined) {
    issue(`a "${p.type}" policy needs its "${p.type}" block`, [p.type]);
  }
  if (p.type === "numeric_attribute" && p.numeric_attribute !== undefined) {
    const n = p.numeric_attribute;
    if (n.min_value === 0 && n.max_value === 0) {
      issue("at least one of min_value or max_value must be set", ["numeric_attribute"]);
    }
  }
  if (p.type === "string_attribute" && p.string_attribute?.enabled_regex_matching) {
    p.string_attribute.values.forEach((v, i) => {
      try {
        new RegExp(v);
      } catch (error) {
        issue(`invalid regex: ${(error as Error).message}`, ["string_attribute", "values", i]);
        return;
      }
      const unsafe = unsafeRegexReason(v);
      if (unsafe !== undefined) issue(unsafe, ["string_attribute", "values", i]);
    });
  }
  if (p.type === "ottl_condition" && p.ottl_condition !== undefined) {
    const o = p.ottl_condition;
    if (o.span.length === 0 && o.spanevent.length === 0) {
      issue("expected at least one OTTL condition to filter on", ["ottl_condition"]);
    }
    for (const [key, context] of [["span", "span"], ["spanevent", "spanevent"]] as const) {
      if (o[key].length === 0) continue;
      const r = compileConditions(o[key], { signal: "traces", context });
      if (!r.ok) {
        // The offset lets `tfo validate` point at the character inside the YAML string.
        for (const i of r.issues) {
          ctx.addIssue({
            code: "custom",
            path: [...path, "ottl_condition", key, i.index],
            message: i.message,
            params: { offset: i.offset },
          });
        }
      }
    }
  }
  const subs: [PolicyConfig[], string][] = [];
  if (p.type === "and") subs.push([p.and?.and_sub_policy ?? [], "and.and_sub_policy"]);
  if (p.type === "drop") subs.push([p.drop?.drop_sub_policy ?? [], "drop.drop_sub_policy"]);
  if (p.type === "composite") {
    subs.push([p.composite?.composite_sub_policy ?? [], "composite.composite_sub_policy"]);
  }
  if (p.type === "not" && p.not !== undefined) {
    checkPolicy(p.not.not_sub_policy, [...path, "not", "not_sub_policy"], ctx);
  }
  for (const [list, at] of subs) {
    list.forEach((sub, i) => checkPolicy(sub, [...path, ...at.split("."), i], ctx));
  }
}

/** The tail sampling processor's config schema. */
export const tailSamplingConfigSchema = z
  .strictObject({
    /** How long after a trace's first span its decision is made. */
    decision_wait: duration("30s"),
    /** Once the root span arrived, decide within this long instead (0: off). */
    decision_wait_after_root_received: duration("0s"),
    /** Traces held (pending and decided) before the oldest is evicted. */
    num_traces: int().min(1, { message: "must be at least 1" }).default(50_000),
    /** When full, make senders wait for room instead of evicting the oldest trace. */
    block_on_overflow: z.boolean().default(false),
    /** A sizing hint, as in the Collector. */
    expected_new_traces_per_sec: int().min(0).default(0),
    policies: z.array(policy).default([]),
    decision_cache: z.strictObject({
      /** Trace IDs of sampled traces remembered after the decision (0: none). */
      sampled_cache_size: int().min(0).default(0),
      /** Trace IDs of not-sampled traces remembered after the decision (0: none). */
      non_sampled_cache_size: int().min(0).default(0),
    }).default({ sampled_cache_size: 0, non_sampled_cache_size: 0 }),
    /** Stop at the first policy that samples. */
    sample_on_first_match: z.boolean().default(false),
    sampling_strategy: z.literal("trace-complete", {
      message: 'tfo supports sampling_strategy "trace-complete" only',
    }).default("trace-complete"),
    /** On shutdown, drop pending traces instead of deciding them. */
    drop_pending_traces_on_shutdown: z.boolean().default(false),
    /** A trace larger than this (protobuf bytes) is not sampled (0: no limit). */
    maximum_trace_size_bytes: int().min(0).default(0),
    num_shards: int().min(1).max(1, { message: "tfo runs tail sampling as one shard: must be 1" })
      .default(1),
    /** tfo: the most memory (MiB, estimated) held spans may take; the oldest traces are decided early past it (0: no bound). */
    max_memory_mib: z.number().min(0).default(0),
    /** tfo: decide a trace as soon as a policy samples it, when no later span can change that. */
    early_decision: z.boolean().default(true),
    /** tfo: a `file_storage` extension that keeps pending traces across restarts. */
    storage: z.string().min(1).optional(),
  })
  .superRefine((c, ctx) => {
    const names = new Set<string>();
    c.policies.forEach((p, i) => {
      if (p.name === "") {
        ctx.addIssue({
          code: "custom",
          path: ["policies", i, "name"],
          message: "policy name cannot be empty",
        });
      } else if (names.has(p.name)) {
        ctx.addIssue({
          code: "custom",
          path: ["policies", i, "name"],
          message: `duplicate policy name "${p.name}"`,
        });
      }
      names.add(p.name);
      checkPolicy(p as PolicyConfig, ["policies", i], ctx);
    });
  });

/** The validated config. */
export type TailSamplingConfig = z.output<typeof tailSamplingConfigSchema>;
