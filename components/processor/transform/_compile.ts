/**
 * Compiles a transform config's statements into groups: a context, conditions, statements and
 * an error mode each. A list of plain strings is one group whose context is inferred; each
 * object is a group of its own.
 *
 * @module
 */
import type { Signal } from "../../../lib/pdata/types.ts";
import {
  compileConditions,
  type CompiledCondition,
  type CompiledStatement,
  compileStatements,
  type ContextName,
  type OttlIssue,
} from "../../../lib/ottl/mod.ts";
import type { ErrorMode } from "../../../lib/ottl/error_mode.ts";

/** A compiled group. */
export interface TransformGroup {
  context: ContextName;
  conditions: CompiledCondition[];
  statements: CompiledStatement[];
  errorMode: ErrorMode;
}

/** An issue with its config path (relative to the processor's config). */
export interface TransformIssue {
  path: (string | number)[];
  offset: number;
  message: string;
}

interface GroupInput {
  context?: string | undefined;
  conditions?: string[];
  statements: string[];
  error_mode?: ErrorMode | undefined;
}

/** The part of the config this needs. */
export interface TransformStatementsConfig {
  error_mode: ErrorMode;
  trace_statements: (string | GroupInput)[];
  metric_statements: (string | GroupInput)[];
  log_statements: (string | GroupInput)[];
}

const KEYS: readonly [keyof TransformStatementsConfig & `${string}_statements`, Signal][] = [
  ["trace_statements", "traces"],
  ["metric_statements", "metrics"],
  ["log_statements", "logs"],
];

const DEPTH: Readonly<Record<string, number>> = {
  resource: 0,
  scope: 1,
  span: 2,
  metric: 2,
  log: 2,
  spanevent: 3,
  datapoint: 3,
};

/** Compiles every group of every signal; returns all issues at once. */
export function compileTransform(
  config: TransformStatementsConfig,
):
  | { ok: true; groups: Record<Signal, TransformGroup[]> }
  | { ok: false; issues: TransformIssue[] } {
  const issues: TransformIssue[] = [];
  const groups: Record<Signal, TransformGroup[]> = { traces: [], metrics: [], logs: [] };
  for (const [key, signal] of KEYS) {
    const list = config[key];
    const flat: { text: string; index: number }[] = [];
    list.forEach((entry, i) => {
      if (typeof entry === "string") flat.push({ text: entry, index: i });
    });
    const compileOne = (
      group: GroupInput,
      statementPath: (j: number) => (string | number)[],
      conditionPath: (j: number) => (string | number)[],
    ) => {
      const explicit = group.context as ContextName | undefined;
      const s = compileStatements(group.statements, {
        signal,
        ...(explicit === undefined ? {} : { context: explicit }),
      });
      const addIssues = (list: OttlIssue[], path: (j: number) => (string | number)[]) => {
        for (const is of list) {
          issues.push({ path: path(is.index), offset: is.offset, message: is.message });
        }
      };
      if (!s.ok) addIssues(s.issues, statementPath);
      const conditions = group.conditions ?? [];
      let context: ContextName | undefined = s.ok ? s.context : explicit;
      let c = compileConditions(conditions, {
        signal,
        ...(context === undefined ? {} : { context }),
      });
      if (explicit === undefined && context !== undefined && conditions.length > 0) {
        // Conditions may name a deeper context than the statements: infer from both.
        const alone = compileConditions(conditions, { signal });
        if (alone.ok && DEPTH[alone.context]! > DEPTH[context]!) {
          context = alone.context;
          c = alone;
          const again = compileStatements(group.statements, { signal, context });
          if (!again.ok) addIssues(again.issues, statementPath);
          else if (s.ok) s.items = again.items;
        }
      }
      if (!c.ok) addIssues(c.issues, conditionPath);
      if (s.ok && c.ok && context !== undefined) {
        groups[signal].push({
          context,
          conditions: c.items,
          statements: s.items,
          errorMode: group.error_mode ?? config.error_mode,
        });
      }
    };
    if (flat.length > 0) {
      compileOne(
        { statements: flat.map((f) => f.text) },
        (j) => [key, flat[j]!.index],
        (j) => [key, j],
      );
    }
    list.forEach((entry, i) => {
      if (typeof entry === "string") return;
      compileOne(entry, (j) => [key, i, "statements", j], (j) => [key, i, "conditions", j]);
    });
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, groups };
}
