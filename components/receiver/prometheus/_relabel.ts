/**
 * Prometheus relabeling: `relabel_configs` (targets) and `metric_relabel_configs` (samples) with
 * Prometheus's actions, defaults and semantics. Regexes are anchored at both ends, as Prometheus
 * anchors them; replacements expand `$1`, `${1}`, `$name` and `${name}` the way Go's
 * `Regexp.Expand` does (so `$1x` names a group "1x", which is empty — write `${1}x`).
 *
 * @module
 */
import { createHash } from "node:crypto";

/** The relabel actions. */
export const RELABEL_ACTIONS = [
  "replace",
  "keep",
  "drop",
  "keepequal",
  "dropequal",
  "hashmod",
  "labelmap",
  "labeldrop",
  "labelkeep",
  "lowercase",
  "uppercase",
] as const;

/** One relabel action. */
export type RelabelAction = typeof RELABEL_ACTIONS[number];

/** A relabel rule as configured (Prometheus's keys; defaults already applied). */
export interface RelabelConfig {
  source_labels: readonly string[];
  separator: string;
  regex: string;
  modulus?: number | undefined;
  target_label?: string | undefined;
  replacement: string;
  action: RelabelAction;
}

/** A rule ready to apply. */
export interface RelabelRule {
  readonly config: RelabelConfig;
  readonly regex: RegExp;
}

const LEGACY_LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Compiles a Go (RE2) regular expression into an anchored JavaScript one: a leading flag group
 * such as `(?i)` becomes a flag and `(?P<name>` a named group.
 * @throws {SyntaxError} when the expression is not valid
 */
export function compileGoRegex(source: string): RegExp {
  let body = source;
  let flags = "";
  const lead = /^\(\?([imsU]+)\)/.exec(body);
  if (lead !== null) {
    for (const f of lead[1]!) {
      if (f === "U") throw new SyntaxError("The (?U) flag is not supported");
      if (!flags.includes(f)) flags += f;
    }
    body = body.slice(lead[0].length);
  }
  body = body.replaceAll("(?P<", "(?<");
  return new RegExp(`^(?:${body})$`, flags);
}

/** Compiles a rule; throws a `SyntaxError` for an invalid regex. */
export function compileRelabel(config: RelabelConfig): RelabelRule {
  return { config, regex: compileGoRegex(config.regex) };
}

function isWordChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) ||
    c === 0x5f;
}

function groupValue(match: RegExpExecArray, name: string): string {
  let numeric = name.length > 0;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 0x30 || c > 0x39) numeric = false;
  }
  if (numeric) return match[Number(name)] ?? "";
  return match.groups?.[name] ?? "";
}

/** Expands `$1`, `${1}`, `$name`, `${name}` and `$$` in `template` with Go's rules. */
export function expandTemplate(template: string, match: RegExpExecArray): string {
  let i = template.indexOf("$");
  if (i < 0) return template;
  let out = template.slice(0, i);
  while (i < template.length) {
    const c = template.charCodeAt(i);
    if (c !== 0x24) {
      out += template[i];
      i++;
      continue;
    }
    const next = template.charCodeAt(i + 1);
    if (next === 0x24) {
      out += "$";
      i += 2;
      continue;
    }
    if (next === 0x7b) {
      const close = template.indexOf("}", i + 2);
      const name = close < 0 ? "" : template.slice(i + 2, close);
      let valid = name.length > 0;
      for (let k = 0; k < name.length; k++) if (!isWordChar(name.charCodeAt(k))) valid = false;
      if (!valid) {
        out += "$";
        i++;
        continue;
      }
      out += groupValue(match, name);
      i = close + 1;
      continue;
    }
    let end = i + 1;
    while (end < template.length && isWordChar(template.charCodeAt(end))) end++;
    if (end === i + 1) {
      out += "$";
      i++;
      continue;
    }
    out += groupValue(match, template.slice(i + 1, end));
    i = end;
  }
  return out;
}

function hashMod(value: string, modulus: number): number {
  const digest = createHash("md5").update(value).digest();
  let n = 0n;
  for (let i = 8; i < 16; i++) n = (n << 8n) | BigInt(digest[i]!);
  return Number(n % BigInt(modulus));
}

/**
 * Applies `rules` to `labels` in place, in order. Returns false when a rule dropped the target or
 * sample (the labels are then unspecified); labels set to an empty value are removed.
 */
export function relabel(labels: Map<string, string>, rules: readonly RelabelRule[]): boolean {
  for (const rule of rules) {
    const { config, regex } = rule;
    let value = "";
    const sources = config.source_labels;
    for (let i = 0; i < sources.length; i++) {
      if (i > 0) value += config.separator;
      value += labels.get(sources[i]!) ?? "";
    }
    const target = config.target_label ?? "";
    switch (config.action) {
      case "keep":
        if (!regex.test(value)) return false;
        break;
      case "drop":
        if (regex.test(value)) return false;
        break;
      case "keepequal":
        if (value !== (labels.get(target) ?? "")) return false;
        break;
      case "dropequal":
        if (value === (labels.get(target) ?? "")) return false;
        break;
      case "replace": {
        const match = regex.exec(value);
        if (match === null) break;
        const name = expandTemplate(target, match);
        if (!LEGACY_LABEL_NAME.test(name)) break;
        const result = expandTemplate(config.replacement, match);
        if (result === "") labels.delete(name);
        else labels.set(name, result);
        break;
      }
      case "lowercase":
      case "uppercase": {
        const result = config.action === "lowercase" ? value.toLowerCase() : value.toUpperCase();
        if (result === "") labels.delete(target);
        else labels.set(target, result);
        break;
      }
      case "hashmod":
        labels.set(target, String(hashMod(value, config.modulus ?? 1)));
        break;
      case "labelmap": {
        const renamed: [string, string][] = [];
        for (const [name, v] of labels) {
          const match = regex.exec(name);
          if (match !== null) renamed.push([expandTemplate(config.replacement, match), v]);
        }
        for (const [name, v] of renamed) labels.set(name, v);
        break;
      }
      case "labeldrop":
      case "labelkeep": {
        const keep = config.action === "labelkeep";
        for (const name of [...labels.keys()]) {
          if (regex.test(name) !== keep) labels.delete(name);
        }
        break;
      }
    }
  }
  for (const [name, v] of labels) if (v === "") labels.delete(name);
  return true;
}
