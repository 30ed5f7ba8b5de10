/**
 * Builds the operator graph of a stanza-based receiver from its `operators` list: each operator
 * sends to its `output` (one or several IDs) or, by default, to the next operator in the list; the
 * last sends out of the pipeline. A `router` sends to the first route whose `expr` is true, else to
 * its `default`, else drops the entry.
 *
 * `on_error`: `send` (default) passes the entry on as it is and logs at debug; `drop` drops it
 * (also logged at debug); the `_quiet` variants do not log.
 *
 * @module
 */
import type { Logger } from "../telemetry/logger.ts";
import type { OperatorConfig } from "./config.ts";
import { createContainerParser } from "./container.ts";
import { copyEntry, copyValue, type Entry, isMap } from "./entry.ts";
import { compileCondition, compileExpr, compileGoRegex } from "./expr.ts";
import { deleteField, getField, parseField, setField } from "./field.ts";
import { compileSeverity, type SeveritySettings } from "./severity.ts";
import { compileTimestamp, type TimestampSettings } from "./timestamp.ts";

/** Where entries leaving the pipeline go. */
export type Emit = (entry: Entry) => void;

/** A built operator pipeline. */
export interface StanzaPipeline {
  /** Runs one entry through the operators; what comes out goes to `emit`, synchronously. */
  process(entry: Entry, emit: Emit): void;
  /** Sends out entries operators hold (partial container lines), as they are. */
  flush(emit: Emit): void;
  /** True when no operators are configured (entries pass unchanged). */
  readonly empty: boolean;
}

/** Options of {@linkcode buildPipeline}. */
export interface PipelineOptions {
  /** Where operator errors are logged, at debug. */
  logger?: Logger;
}

type Node = (entry: Entry) => void;

interface Built {
  id: string;
  outputs: string[] | undefined;
  /** Filled once every operator exists. */
  targets: Node[];
  node: Node;
  flush?: () => Entry[];
  /** For routers: resolves route targets once every operator exists. */
  resolve?: (find: (id: string) => Node) => void;
}

function outputsOf(output: string | string[] | undefined): string[] | undefined {
  return output === undefined ? undefined : Array.isArray(output) ? output : [output];
}

function sendTo(targets: readonly Node[], entry: Entry): void {
  const n = targets.length;
  for (let i = 0; i < n - 1; i++) targets[i]!(copyEntry(entry));
  if (n > 0) targets[n - 1]!(entry);
}

function parseExtras(
  timestamp: TimestampSettings & { parse_from: string } | undefined,
  severity: SeveritySettings & { parse_from: string } | undefined,
): ((entry: Entry) => void) | undefined {
  const steps: ((entry: Entry) => void)[] = [];
  if (timestamp !== undefined) {
    const from = parseField(timestamp.parse_from);
    const parse = compileTimestamp(timestamp);
    steps.push((e) => {
      const v = getField(e, from);
      if (v === undefined) throw new Error(`The timestamp field ${from.text} is missing`);
      e.timestamp = parse(v);
    });
  }
  if (severity !== undefined) {
    const from = parseField(severity.parse_from);
    const parse = compileSeverity(severity);
    steps.push((e) => {
      const v = getField(e, from);
      if (v === undefined) throw new Error(`The severity field ${from.text} is missing`);
      const s = parse(v);
      e.severity = s.number;
      e.severityText = s.text;
    });
  }
  if (steps.length === 0) return undefined;
  return (e) => {
    for (const step of steps) step(e);
  };
}

function addValue(value: unknown): (entry: Entry) => unknown {
  if (typeof value === "string" && value.startsWith("EXPR(") && value.endsWith(")")) {
    const expr = compileExpr(value.slice(5, -1));
    return (e) => expr(e);
  }
  if (typeof value === "object" && value !== null) return () => copyValue(value);
  return () => value;
}

/** Builds the transform of one operator: it changes the entry in place or throws. */
function transformOf(
  c: Exclude<OperatorConfig, { type: "router" | "noop" | "container" }>,
): (entry: Entry) => void {
  switch (c.type) {
    case "json_parser": {
      const from = parseField(c.parse_from);
      const to = parseField(c.parse_to);
      const extras = parseExtras(c.timestamp, c.severity);
      const decoder = new TextDecoder();
      return (e) => {
        let v = getField(e, from);
        if (v instanceof Uint8Array) v = decoder.decode(v);
        if (typeof v !== "string") throw new Error(`Cannot parse a ${typeof v} as JSON`);
        const parsed: unknown = JSON.parse(v);
        if (!isMap(parsed)) throw new Error("The JSON value is not an object");
        setField(e, to, parsed);
        extras?.(e);
      };
    }
    case "regex_parser": {
      const from = parseField(c.parse_from);
      const to = parseField(c.parse_to);
      const re = compileGoRegex(c.regex);
      if (!/\(\?<[A-Za-z_]/.test(re.source)) {
        throw new Error(`The regex of "${c.id ?? c.type}" has no named groups`);
      }
      const extras = parseExtras(c.timestamp, c.severity);
      return (e) => {
        const v = getField(e, from);
        if (typeof v !== "string") throw new Error(`Cannot match a ${typeof v} against a regex`);
        const m = re.exec(v);
        if (m === null || m.groups === undefined) {
          throw new Error("The regex pattern does not match");
        }
        const out: Record<string, unknown> = {};
        for (const key in m.groups) {
          const g = m.groups[key];
          if (g !== undefined) out[key] = g;
        }
        setField(e, to, out);
        extras?.(e);
      };
    }
    case "time_parser":
      return parseExtras(c, undefined)!;
    case "severity_parser":
      return parseExtras(undefined, c)!;
    case "move": {
      const from = parseField(c.from);
      const to = parseField(c.to);
      return (e) => {
        const v = deleteField(e, from);
        if (v === undefined) throw new Error(`The field ${from.text} does not exist`);
        setField(e, to, v);
      };
    }
    case "copy": {
      const from = parseField(c.from);
      const to = parseField(c.to);
      return (e) => {
        const v = getField(e, from);
        if (v === undefined) throw new Error(`The field ${from.text} does not exist`);
        setField(e, to, copyValue(v));
      };
    }
    case "add": {
      const to = parseField(c.field);
      const value = addValue(c.value);
      return (e) => setField(e, to, value(e));
    }
    case "remove": {
      const field = parseField(c.field);
      return (e) => {
        if (deleteField(e, field) === undefined && field.keys.length > 0) {
          throw new Error(`The field ${field.text} does not exist`);
        }
      };
    }
  }
}

function checkAcyclic(
  ops: readonly Built[],
  byId: ReadonlyMap<string, Built>,
  next: (b: Built, i: number) => string[],
): void {
  const state = new Map<string, number>();
  const visit = (b: Built, i: number, path: string[]): void => {
    const s = state.get(b.id);
    if (s === 2) return;
    if (s === 1) throw new Error(`The operators form a loop: ${[...path, b.id].join(" → ")}`);
    state.set(b.id, 1);
    for (const id of next(b, i)) {
      const target = byId.get(id)!;
      visit(target, ops.indexOf(target), [...path, b.id]);
    }
    state.set(b.id, 2);
  };
  ops.forEach((b, i) => visit(b, i, []));
}

/** Builds an operator pipeline; throws an Error naming the first problem found. */
export function buildPipeline(
  configs: readonly OperatorConfig[],
  options: PipelineOptions = {},
): StanzaPipeline {
  const logger = options.logger;
  let emit: Emit = () => {};
  const sink: Node = (e) => emit(e);
  const ops: Built[] = [];
  const byId = new Map<string, Built>();
  const routeOutputs = new Map<Built, string[]>();

  for (const c of configs) {
    const id = c.id ?? c.type;
    if (byId.has(id)) {
      throw new Error(`Two operators have the ID "${id}": give each an "id" of its own`);
    }
    const b: Built = { id, outputs: outputsOf(c.output), targets: [], node: () => {} };
    const send: Node = (e) => sendTo(b.targets, e);
    try {
      if (c.type === "noop") b.node = send;
      else if (c.type === "router") {
        const routes = c.routes.map((r) => {
          const cond = compileCondition(r.expr);
          const attrs = r.attributes === undefined ? undefined : Object.entries(r.attributes)
            .map(([k, v]) => [k, addValue(v)] as const);
          return { cond, attrs, outputs: outputsOf(r.output)!, targets: [] as Node[] };
        });
        const fallback = { outputs: outputsOf(c.default) ?? [], targets: [] as Node[] };
        routeOutputs.set(b, [...routes.flatMap((r) => r.outputs), ...fallback.outputs]);
        b.outputs = [];
        b.node = (e) => {
          for (const r of routes) {
            if (r.cond(e)) {
              if (r.attrs !== undefined) { for (const [k, v] of r.attrs) e.attributes[k] = v(e); }
              sendTo(r.targets, e);
              return;
            }
          }
          sendTo(fallback.targets, e);
        };
        b.resolve = (find) => {
          for (const r of routes) r.targets = r.outputs.map(find);
          fallback.targets = fallback.outputs.map(find);
        };
      } else {
        const cond = c.if === undefined ? undefined : compileCondition(c.if);
        const quiet = c.on_error.endsWith("_quiet");
        const drop = c.on_error.startsWith("drop");
        const fail = (e: Entry, error: unknown): void => {
          if (!quiet) {
            logger?.debug("Operator failed", {
              operator_id: id,
              operator_type: c.type,
              error: error instanceof Error ? error.message : String(error),
            });
          }
          if (!drop) send(e);
        };
        if (c.type === "container") {
          const parser = createContainerParser({
            format: c.format,
            addMetadataFromFilepath: c.add_metadata_from_filepath,
            maxLogSize: c.max_log_size,
            parseTo: parseField(c.parse_to),
          });
          const from = parseField(c.parse_from);
          const extras = parseExtras(undefined, c.severity);
          b.node = (e) => {
            if (cond !== undefined && !cond(e)) return send(e);
            let out: Entry | undefined;
            try {
              out = parser.parse(e, getField(e, from));
              if (out !== undefined) extras?.(out);
            } catch (error) {
              return fail(e, error);
            }
            if (out !== undefined) send(out);
          };
          b.flush = () => parser.flush();
        } else {
          const transform = transformOf(c);
          b.node = (e) => {
            if (cond !== undefined && !cond(e)) return send(e);
            try {
              transform(e);
            } catch (error) {
              return fail(e, error);
            }
            send(e);
          };
        }
      }
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`Operator "${id}" (${c.type}): ${reason}`, { cause: error });
    }
    ops.push(b);
    byId.set(id, b);
  }

  const find = (from: string) => (id: string): Node => {
    const b = byId.get(id);
    if (b === undefined) {
      throw new Error(
        `Operator "${from}" sends to "${id}", which is not an operator ID (IDs: ${
          [...byId.keys()].join(", ")
        })`,
      );
    }
    return (e) => b.node(e);
  };
  const nextIds = (b: Built, i: number): string[] =>
    routeOutputs.get(b) ?? b.outputs ?? (i + 1 < ops.length ? [ops[i + 1]!.id] : []);
  ops.forEach((b, i) => {
    if (b.resolve !== undefined) b.resolve(find(b.id));
    else if (b.outputs !== undefined) b.targets = b.outputs.map(find(b.id));
    else b.targets = [i + 1 < ops.length ? ops[i + 1]!.node : sink];
  });
  checkAcyclic(ops, byId, nextIds);

  const first = ops[0];
  return {
    empty: first === undefined,
    process(entry, out) {
      emit = out;
      if (first === undefined) out(entry);
      else first.node(entry);
    },
    flush(out) {
      emit = out;
      for (const b of ops) {
        if (b.flush === undefined) continue;
        const i = ops.indexOf(b);
        for (const e of b.flush()) {
          sendTo(b.targets.length > 0 ? b.targets : [ops[i + 1]?.node ?? sink], e);
        }
      }
    },
  };
}
