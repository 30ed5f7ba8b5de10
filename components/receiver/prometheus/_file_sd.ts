/**
 * Prometheus file-based service discovery: reads the target groups of `file_sd_configs` files
 * (JSON or YAML lists of `{targets: [...], labels: {...}}`), each group labelled
 * `__meta_filepath` with its file, as Prometheus does. A file that cannot be read or parsed keeps
 * the groups it gave last time (Prometheus keeps the last good state too) and is reported; `*` in
 * a file name matches any run of characters within that directory.
 *
 * @module
 */
import { loadYaml } from "../../../lib/config/yaml.ts";
import type { TargetGroup } from "./_targets.ts";

/** One file's problem, for the log. */
export interface FileSdProblem {
  readonly path: string;
  readonly reason: string;
}

function globRegex(name: string): RegExp {
  const escaped = name.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replaceAll("*", "[^/]*");
  return new RegExp(`^${escaped}$`);
}

function splitPath(pattern: string): { dir: string; name: string } {
  const slash = pattern.lastIndexOf("/");
  return slash < 0
    ? { dir: ".", name: pattern }
    : { dir: pattern.slice(0, slash) || "/", name: pattern.slice(slash + 1) };
}

/** The files a pattern names now, sorted. */
export async function expandPattern(pattern: string): Promise<string[]> {
  const { dir, name } = splitPath(pattern);
  if (!name.includes("*")) return [pattern];
  const matcher = globRegex(name);
  const out: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && matcher.test(entry.name)) {
        out.push(dir === "." ? entry.name : `${dir}/${entry.name}`);
      }
    }
  } catch {
    // a missing directory matches nothing, as in Prometheus
  }
  return out.sort();
}

/** The directories to watch for a set of patterns. */
export function watchedDirectories(patterns: readonly string[]): string[] {
  return [...new Set(patterns.map((p) => splitPath(p).dir))];
}

function groupsOf(path: string, parsed: unknown): TargetGroup[] {
  if (parsed === null || parsed === undefined) return [];
  if (!Array.isArray(parsed)) throw new Error("the file must hold a list of target groups");
  return parsed.map((group, i) => {
    if (typeof group !== "object" || group === null) throw new Error(`group ${i} is not a map`);
    const { targets, labels } = group as { targets?: unknown; labels?: unknown };
    if (!Array.isArray(targets) || !targets.every((t) => typeof t === "string")) {
      throw new Error(`group ${i}: targets must be a list of host:port strings`);
    }
    const out: Record<string, string> = { __meta_filepath: path };
    if (labels !== undefined && labels !== null) {
      if (typeof labels !== "object" || Array.isArray(labels)) {
        throw new Error(`group ${i}: labels must be a map`);
      }
      for (const [name, value] of Object.entries(labels)) {
        if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name)) {
          throw new Error(`group ${i}: "${name}" is not a label name`);
        }
        if (typeof value !== "string") {
          throw new Error(`group ${i}: label "${name}" must be a string`);
        }
        out[name] = value;
      }
    }
    return { targets: targets as string[], labels: out };
  });
}

/** Reads files of target groups, remembering each file's last good groups. */
export class FileSd {
  readonly #patterns: readonly string[];
  readonly #last = new Map<string, TargetGroup[]>();

  constructor(patterns: readonly string[]) {
    this.#patterns = patterns;
  }

  /** Every file's groups now, and what could not be read. */
  async read(): Promise<{ groups: TargetGroup[]; problems: FileSdProblem[] }> {
    const problems: FileSdProblem[] = [];
    const seen = new Set<string>();
    for (const pattern of this.#patterns) {
      for (const path of await expandPattern(pattern)) {
        seen.add(path);
        try {
          const text = await Deno.readTextFile(path);
          const parsed = path.endsWith(".json") ? JSON.parse(text) : (await loadYaml()).parse(text);
          this.#last.set(path, groupsOf(path, parsed));
        } catch (error) {
          if (error instanceof Deno.errors.NotFound) {
            this.#last.delete(path);
            continue;
          }
          problems.push({ path, reason: error instanceof Error ? error.message : String(error) });
        }
      }
    }
    for (const path of [...this.#last.keys()]) if (!seen.has(path)) this.#last.delete(path);
    return { groups: [...this.#last.values()].flat(), problems };
  }
}
