/**
 * Finds the TFO-Agent sections and collectors tfo cannot provide, reports each one (an error when
 * it is enabled, a warning when it is not) and returns the tree without them, so that the schema
 * of what tfo translates can stay strict.
 *
 * @module
 */
import type { Diagnostic } from "../diagnostics.ts";
import type { RawEntry, RawMap, RawNode } from "../_raw.ts";
import { tfoAgentSchema, UNKNOWN_COLLECTOR_REASON, UNSUPPORTED_COLLECTORS } from "./schema.ts";
import { UNSUPPORTED_SECTIONS } from "./schema.ts";

const TRANSLATED_COLLECTORS = new Set([
  "system",
  "node_exporter",
  "process",
  "logs",
  "ebpf",
  "kubernetes",
]);
let translatedSections: ReadonlySet<string> | undefined;

/** The sections the schema translates; read when first needed (zod loads lazily, issue 18). */
function translated(): ReadonlySet<string> {
  return translatedSections ??= new Set(Object.keys(tfoAgentSchema.shape));
}

/**
 * True when a section asks for something: its `enabled` is true, or it has no `enabled` and some
 * part of it is enabled or set. `enabled: false` and empty values ask for nothing.
 */
export function isActive(node: RawNode | undefined): boolean {
  if (node === undefined) return false;
  if (node.kind === "scalar") return node.value !== null && node.value !== false;
  if (node.kind === "seq") return node.items.length > 0;
  const enabled = node.entries.get("enabled")?.value;
  if (enabled !== undefined) return enabled.kind === "scalar" && enabled.value === true;
  const children = [...node.entries.values()].map((e) => e.value);
  const nested = children.filter((c) => c.kind === "map");
  if (nested.length > 0 && nested.length === children.length) return nested.some(isActive);
  return children.some(isActive);
}

/** The explicit `enabled` of a collector, or its Go-agent default (off for these collectors). */
function collectorEnabled(node: RawNode): boolean {
  if (node.kind !== "map") return false;
  const enabled = node.entries.get("enabled")?.value;
  return enabled?.kind === "scalar" && enabled.value === true;
}

/**
 * Removes and reports what tfo does not provide, from the expanded tree.
 * @returns the tree with only the sections and collectors tfo translates (and unknown keys, which
 * the schema reports)
 */
export function pruneUnsupported(root: RawMap, diagnostics: Diagnostic[]): RawMap {
  const entries = new Map<string, RawEntry>();
  for (const [key, entry] of root.entries) {
    const section = UNSUPPORTED_SECTIONS[key];
    if (section !== undefined && !translated().has(key)) {
      const active = isActive(entry.value);
      diagnostics.push({
        severity: active && section.errorWhenEnabled ? "error" : "warning",
        ...entry.keyPos,
        path: key,
        message: `the TFO-Agent section "${key}" is ${active ? "" : "disabled and "}not ` +
          `translated: ${section.reason}`,
      });
      continue;
    }
    if (key === "collectors" && entry.value.kind === "map") {
      entries.set(key, { keyPos: entry.keyPos, value: pruneCollectors(entry.value, diagnostics) });
      continue;
    }
    entries.set(key, entry);
  }
  return { ...root, entries };
}

function pruneCollectors(collectors: RawMap, diagnostics: Diagnostic[]): RawMap {
  const kept = new Map<string, RawEntry>();
  for (const [name, entry] of collectors.entries) {
    if (TRANSLATED_COLLECTORS.has(name)) {
      kept.set(name, entry);
      continue;
    }
    const enabled = collectorEnabled(entry.value);
    const reason = UNSUPPORTED_COLLECTORS[name] ?? UNKNOWN_COLLECTOR_REASON;
    diagnostics.push({
      severity: enabled ? "error" : "warning",
      ...entry.keyPos,
      path: `collectors.${name}`,
      message: enabled
        ? `the collector "${name}" is enabled but tfo cannot provide it: ${reason}`
        : `the collector "${name}" is disabled and left out; tfo could not provide it: ${reason}`,
    });
  }
  return { ...collectors, entries: kept };
}
