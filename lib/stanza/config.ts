/**
 * Operator configs, with the Collector's stanza keys: every operator has `type`, `id` (default: its
 * type), `output` (default: the next operator) and, where it applies, `on_error` and `if`. Parsers
 * take `parse_from` (default `body`), `parse_to` (default `attributes`) and nested `timestamp` and
 * `severity` blocks.
 *
 * @module
 */
import { z } from "../config/z.js";
import { byteSize } from "../config/schema.ts";
import { isField } from "./field.ts";

function field(defaultValue?: string) {
  const s = z.string().refine(isField, {
    message: 'must be a field such as body, body.key, attributes.key or resource["k.8"]',
  });
  return defaultValue === undefined ? s : s.default(defaultValue);
}

const output = z.union([z.string().min(1), z.array(z.string().min(1))]).optional();

const base = {
  id: z.string().min(1).optional(),
  output,
};

const onError = z.enum(["send", "send_quiet", "drop", "drop_quiet"]).default("send");

const conditional = {
  ...base,
  if: z.string().min(1).optional(),
  on_error: onError,
};

/** A `timestamp` block (also the body of `time_parser`). */
export const timestampBlockSchema = z.strictObject({
  parse_from: field(),
  layout_type: z.enum(["strptime", "gotime", "epoch"]).default("strptime"),
  layout: z.string().min(1),
  location: z.string().min(1).default("Local"),
});

const rangeSchema = z.strictObject({ min: z.number(), max: z.number() });
const mappingValue = z.union([
  z.string(),
  z.number(),
  rangeSchema,
  z.array(z.union([z.string(), z.number(), rangeSchema])),
]);

const severityFields = {
  parse_from: field(),
  preset: z.enum(["default", "none"]).default("default"),
  mapping: z.record(z.string(), mappingValue).optional(),
  overwrite_text: z.boolean().default(false),
};

/** A `severity` block (also the body of `severity_parser`). */
export const severityBlockSchema = z.strictObject(severityFields);

const parser = {
  ...conditional,
  parse_from: field("body"),
  parse_to: field("attributes"),
  timestamp: timestampBlockSchema.optional(),
  severity: severityBlockSchema.optional(),
};

/** Every operator config, by `type`. */
export const operatorConfigSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("json_parser"), ...parser }),
  z.strictObject({
    type: z.literal("regex_parser"),
    ...parser,
    regex: z.string().min(1),
    cache: z.strictObject({ size: z.number().int().nonnegative() }).optional(),
  }),
  z.strictObject({
    type: z.literal("time_parser"),
    ...conditional,
    parse_from: field("body"),
    layout_type: z.enum(["strptime", "gotime", "epoch"]).default("strptime"),
    layout: z.string().min(1),
    location: z.string().min(1).default("Local"),
  }),
  z.strictObject({
    type: z.literal("severity_parser"),
    ...conditional,
    ...severityFields,
    parse_from: field("body"),
  }),
  z.strictObject({
    type: z.literal("container"),
    ...conditional,
    format: z.enum(["docker", "crio", "containerd"]).optional(),
    add_metadata_from_filepath: z.boolean().default(true),
    max_log_size: byteSize().default(1024 * 1024),
    parse_from: field("body"),
    parse_to: field("attributes"),
    severity: severityBlockSchema.optional(),
  }),
  z.strictObject({ type: z.literal("move"), ...conditional, from: field(), to: field() }),
  z.strictObject({ type: z.literal("copy"), ...conditional, from: field(), to: field() }),
  z.strictObject({ type: z.literal("add"), ...conditional, field: field(), value: z.unknown() }),
  z.strictObject({ type: z.literal("remove"), ...conditional, field: field() }),
  z.strictObject({
    type: z.literal("router"),
    ...base,
    routes: z.array(z.strictObject({
      expr: z.string().min(1),
      output: z.union([z.string().min(1), z.array(z.string().min(1))]),
      attributes: z.record(z.string(), z.unknown()).optional(),
    })).min(1),
    default: output,
  }),
  z.strictObject({ type: z.literal("noop"), ...base }),
]);

/** One validated operator config. */
export type OperatorConfig = z.output<typeof operatorConfigSchema>;

/** The operator types this build knows. */
export const OPERATOR_TYPES: readonly string[] = [
  "json_parser",
  "regex_parser",
  "time_parser",
  "severity_parser",
  "container",
  "move",
  "copy",
  "add",
  "remove",
  "router",
  "noop",
];
