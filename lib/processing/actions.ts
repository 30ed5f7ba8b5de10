/**
 * Attribute actions, shared by the `attributes` and `resource` processors: the OpenTelemetry
 * Collector's `insert`, `update`, `upsert`, `delete`, `hash`, `extract` and `convert`, with
 * `value`, `from_attribute`, `from_context`, `pattern` and `converted_type`. Actions run in order
 * on one attribute list; everything that can be prepared (values, regexes, group names) is prepared
 * once when the processor is created.
 *
 * @module
 */
import { z } from "../config/z.js";
import { cloneAnyValue } from "../pdata/clone.ts";
import { indexOfAttribute, setAttribute } from "../pdata/attributes.ts";
import type { ClientInfo } from "../pdata/payload.ts";
import type { AnyValue, KeyValue } from "../pdata/types.ts";
import { type ConvertedType, convertValue } from "./convert.ts";
import { hashValue } from "./hash.ts";
import { captureGroups, compileRegex, regexError } from "./regex.ts";
import { configValueToAnyValue } from "./value.ts";

/** The action names (lower case; the Collector also accepts upper case, and so does tfo). */
export const ACTION_NAMES = [
  "insert",
  "update",
  "upsert",
  "delete",
  "hash",
  "extract",
  "convert",
] as const;

/** One action name. */
export type ActionName = (typeof ACTION_NAMES)[number];

const optionalText = z.string().min(1).optional();

/** One action's config, checked on its own by {@linkcode checkAction}. */
export const actionSchema = z
  .strictObject({
    /** The attribute acted on. Required except for `delete`/`hash` with a `pattern`. */
    key: z.string().default(""),
    /** What to do. */
    action: z
      .string()
      .transform((s) => s.toLowerCase())
      .pipe(z.enum(ACTION_NAMES, { message: `must be one of ${ACTION_NAMES.join(", ")}` })),
    /** A literal value for insert/update/upsert (string, number, bool, list or map). */
    value: z.unknown().optional(),
    /** Take the value from this attribute of the same item. */
    from_attribute: optionalText,
    /**
     * Take the value from the request context: `metadata.<header>` (or a bare header name),
     * `auth.<attribute>`, or `client.address`.
     */
    from_context: optionalText,
    /** A regex: keys to delete/hash, or the named groups to extract. */
    pattern: optionalText,
    /** The type `convert` converts to. */
    converted_type: z.enum(["int", "double", "string"]).optional(),
  })
  .superRefine(checkAction);

/** One validated action. */
export type ActionConfig = z.output<typeof actionSchema>;

/** A list of actions. */
export const actionsSchema = z.array(actionSchema);

interface RawAction {
  key: string;
  action: ActionName;
  value?: unknown;
  from_attribute?: string | undefined;
  from_context?: string | undefined;
  pattern?: string | undefined;
  converted_type?: ConvertedType | undefined;
}

function hasValue(a: RawAction): boolean {
  return a.value !== undefined && a.value !== null;
}

/** Reports every inconsistency of one action, each on the key at fault. */
export function checkAction(a: RawAction, ctx: z.RefinementCtx): void {
  const issue = (path: string, message: string) =>
    ctx.addIssue({ code: "custom", path: [path], message });
  const sources = ["value", "from_attribute", "from_context"].filter((k) =>
    k === "value" ? hasValue(a) : a[k as "from_attribute" | "from_context"] !== undefined
  );
  const forbid = (keys: readonly string[]) => {
    for (const k of keys) {
      const set = k === "value" ? hasValue(a) : a[k as keyof RawAction] !== undefined;
      if (set) issue(k, `is not used by the "${a.action}" action`);
    }
  };
  switch (a.action) {
    case "insert":
    case "update":
    case "upsert":
      if (a.key === "") issue("key", "is required");
      if (sources.length === 0) {
        issue(
          "value",
          `one of value, from_attribute or from_context is required for "${a.action}"`,
        );
      } else if (sources.length > 1) {
        issue(sources[1]!, `only one of ${sources.join(", ")} may be set`);
      }
      forbid(["pattern", "converted_type"]);
      if (hasValue(a)) {
        const r = configValueToAnyValue(a.value);
        if ("error" in r) issue("value", r.error);
      }
      break;
    case "delete":
    case "hash":
      if (a.key === "" && a.pattern === undefined) issue("key", "key or pattern is required");
      forbid(["value", "from_attribute", "from_context", "converted_type"]);
      break;
    case "extract":
      if (a.key === "") issue("key", "is required");
      forbid(["value", "from_attribute", "from_context", "converted_type"]);
      if (a.pattern === undefined) issue("pattern", `is required for "extract"`);
      break;
    case "convert":
      if (a.key === "") issue("key", "is required");
      forbid(["value", "from_attribute", "from_context", "pattern"]);
      if (a.converted_type === undefined) issue("converted_type", `is required for "convert"`);
      break;
  }
  if (a.pattern === undefined) return;
  const error = regexError(a.pattern);
  if (error !== undefined) {
    issue("pattern", `is not a valid regular expression: ${error}`);
  } else if (a.action === "extract") {
    const groups = captureGroups(compileRegex(a.pattern));
    if (groups.names.length === 0) issue("pattern", "has no named capture groups");
    else if (groups.names.length !== groups.count) {
      issue("pattern", "has unnamed capture groups; every group must be named");
    }
  }
}

const INSERT = 0, UPDATE = 1, UPSERT = 2, DELETE = 3, HASH = 4, EXTRACT = 5, CONVERT = 6;
const KIND: Readonly<Record<ActionName, number>> = {
  insert: INSERT,
  update: UPDATE,
  upsert: UPSERT,
  delete: DELETE,
  hash: HASH,
  extract: EXTRACT,
  convert: CONVERT,
};

interface Compiled {
  kind: number;
  key: string;
  /** A literal value (insert/update/upsert), when the source is `value`. */
  literal: AnyValue;
  hasLiteral: boolean;
  fromAttribute: string | undefined;
  /** Index into the per-payload context values, or -1. */
  contextSlot: number;
  regex: RegExp | undefined;
  groupNames: readonly string[];
  convertTo: ConvertedType;
}

/** Values of `from_context` sources for one payload, by slot. */
export type ContextValues = readonly (string | undefined)[];

const NO_CONTEXT: ContextValues = [];

/** A compiled list of actions. */
export interface AttributeActions {
  /** True when some action reads the request context (`from_context`). */
  readonly usesContext: boolean;
  /** Resolves every `from_context` source once per payload. */
  contextValues(client: ClientInfo): ContextValues;
  /** Runs the actions, in order, on one attribute list. */
  apply(attributes: KeyValue[], context: ContextValues): void;
}

/**
 * The value of a `from_context` source: `client.address` (the peer host, without port),
 * `auth.<attr>` (what the authenticator established), `metadata.<key>` or a bare key (request
 * metadata, case-insensitive, several values joined with `;`). Undefined when absent.
 */
export function contextValue(client: ClientInfo, source: string): string | undefined {
  if (source === "client.address") {
    return client.address === undefined ? undefined : peerHost(client.address);
  }
  if (source.startsWith("auth.")) return client.auth.get(source.slice(5));
  const key = (source.startsWith("metadata.") ? source.slice(9) : source).toLowerCase();
  const values = client.metadata.get(key);
  return values === undefined || values.length === 0 ? undefined : values.join(";");
}

function peerHost(address: string): string {
  if (address.startsWith("[")) {
    const end = address.indexOf("]");
    return end < 0 ? address : address.slice(1, end);
  }
  const colon = address.lastIndexOf(":");
  return colon < 0 || address.indexOf(":") !== colon ? address : address.slice(0, colon);
}

/** Compiles validated actions. */
export function compileActions(configs: readonly ActionConfig[]): AttributeActions {
  const contextSources: string[] = [];
  const actions: Compiled[] = configs.map((a) => {
    const literal = configValueToAnyValue(a.value);
    const regex = a.pattern === undefined ? undefined : compileRegex(a.pattern);
    let contextSlot = -1;
    if (a.from_context !== undefined) {
      contextSlot = contextSources.length;
      contextSources.push(a.from_context);
    }
    return {
      kind: KIND[a.action],
      key: a.key,
      literal: "value" in literal ? literal.value : undefined,
      hasLiteral: a.value !== undefined && a.value !== null,
      fromAttribute: a.from_attribute,
      contextSlot,
      regex,
      groupNames: a.action === "extract" && regex !== undefined ? captureGroups(regex).names : [],
      convertTo: a.converted_type ?? "string",
    };
  });

  function apply(attrs: KeyValue[], context: ContextValues): void {
    for (let n = 0; n < actions.length; n++) {
      const a = actions[n]!;
      switch (a.kind) {
        case INSERT:
        case UPDATE:
        case UPSERT: {
          let value: AnyValue;
          if (a.hasLiteral) {
            value = a.literal;
          } else if (a.contextSlot >= 0) {
            value = context[a.contextSlot];
            if (value === undefined) break;
          } else {
            const from = indexOfAttribute(attrs, a.fromAttribute!);
            if (from < 0) break;
            value = attrs[from]!.value;
          }
          const i = indexOfAttribute(attrs, a.key);
          if (i < 0) {
            if (a.kind !== UPDATE) attrs.push({ key: a.key, value: cloneAnyValue(value) });
          } else if (a.kind !== INSERT) {
            attrs[i]!.value = cloneAnyValue(value);
          }
          break;
        }
        case DELETE: {
          let w = 0;
          for (let r = 0; r < attrs.length; r++) {
            const kv = attrs[r]!;
            if (kv.key === a.key || (a.regex !== undefined && a.regex.test(kv.key))) continue;
            attrs[w++] = kv;
          }
          attrs.length = w;
          break;
        }
        case HASH:
          for (const kv of attrs) {
            if (kv.key === a.key || (a.regex !== undefined && a.regex.test(kv.key))) {
              kv.value = hashValue(kv.value);
            }
          }
          break;
        case EXTRACT: {
          const i = indexOfAttribute(attrs, a.key);
          if (i < 0) break;
          const value = attrs[i]!.value;
          if (typeof value !== "string") break;
          const m = a.regex!.exec(value);
          if (m === null) break;
          for (const name of a.groupNames) setAttribute(attrs, name, m.groups?.[name] ?? "");
          break;
        }
        case CONVERT: {
          const i = indexOfAttribute(attrs, a.key);
          if (i >= 0) attrs[i]!.value = convertValue(attrs[i]!.value, a.convertTo);
          break;
        }
      }
    }
  }

  return {
    usesContext: contextSources.length > 0,
    contextValues(client) {
      if (contextSources.length === 0) return NO_CONTEXT;
      return contextSources.map((s) => contextValue(client, s));
    },
    apply,
  };
}
