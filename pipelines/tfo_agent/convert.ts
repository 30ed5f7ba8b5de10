/**
 * Prints a translated TFO-Agent config as an OpenTelemetry-shaped YAML file that `tfo run` can
 * use as it is. Environment references stay references. A secret written literally in the
 * TFO-Agent file is never printed: it becomes an environment reference (`api_key_secret` →
 * `${env:TELEMETRYFLOW_API_KEY_SECRET}`, a header → `${env:TFO_HEADER_<NAME>}`) with a comment
 * saying which variable to set. `api_key_id` is an identifier, not a secret, and is printed as
 * written.
 *
 * @module
 */
import type { Document, YAMLMap } from "yaml";
import { yamlLib } from "../../lib/config/yaml.ts";
import type { RawMap, RawNode } from "../_raw.ts";
import { isSecretPath } from "../_secrets.ts";

/** A literal secret replaced by an environment reference. */
export interface ReplacedSecret {
  /** The dotted path in the printed config. */
  path: string;
  /** The variable now referenced. */
  variable: string;
}

/** What {@linkcode formatConverted} returns. */
export interface Converted {
  /** The YAML text. */
  text: string;
  /** The literal secrets replaced, in order. */
  replaced: ReplacedSecret[];
}

const ENV_REF = /\$\{/;

/**
 * True for a value that must not be printed: the project's secret paths, except `api_key_id` (an
 * identifier) and the `key` of an attribute action (an attribute's name).
 */
function isSecret(path: readonly string[]): boolean {
  if (path[path.length - 1] === "api_key_id") return false;
  return isSecretPath(path.filter((seg) => seg !== "key"));
}

/** The variable a literal secret at `path` is replaced with. */
export function secretVariable(path: readonly string[]): string {
  const last = path[path.length - 1] ?? "";
  if (last === "api_key_secret") return "TELEMETRYFLOW_API_KEY_SECRET";
  if (last === "api_key_id") return "TELEMETRYFLOW_API_KEY_ID";
  return `TFO_${last.toUpperCase().replace(/[^A-Z0-9]+/g, "_")}`;
}

/**
 * Formats the translated tree (before environment expansion) as YAML.
 * @param sources the TFO-Agent files it came from, named in the header comment
 */
export function formatConverted(root: RawMap, sources: readonly string[]): Converted {
  const replaced: ReplacedSecret[] = [];
  const { Document } = yamlLib();
  const doc = new Document();
  doc.contents = toYaml(doc, root, [], replaced) as YAMLMap;
  const header = [
    ` Translated by tfo from the TFO-Agent config ${sources.join(", ")}.`,
    " Run it with: tfo run --config <this file>",
  ];
  if (replaced.length > 0) {
    header.push(
      " Literal secrets were not copied; set these environment variables instead:",
      ...replaced.map((r) => `   ${r.variable} (${r.path})`),
    );
  }
  doc.commentBefore = header.join("\n");
  return { text: doc.toString({ lineWidth: 0 }), replaced };
}

function toYaml(
  doc: Document,
  node: RawNode,
  path: string[],
  replaced: ReplacedSecret[],
): unknown {
  const { Scalar, YAMLMap, YAMLSeq } = yamlLib();
  switch (node.kind) {
    case "map": {
      const out = new YAMLMap();
      for (const [key, entry] of node.entries) {
        out.add(doc.createPair(key, toYaml(doc, entry.value, [...path, key], replaced)));
      }
      return out;
    }
    case "seq": {
      const out = new YAMLSeq();
      node.items.forEach((item, i) => out.add(toYaml(doc, item, [...path, String(i)], replaced)));
      return out;
    }
    case "scalar": {
      const value = node.value;
      if (
        typeof value === "string" && value !== "" && !ENV_REF.test(value) && isSecret(path)
      ) {
        const variable = secretVariable(path);
        replaced.push({ path: path.join("."), variable });
        const s = new Scalar(`\${env:${variable}}`);
        s.comment = ` literal secret replaced: set ${variable}`;
        return s;
      }
      // The printer quotes a string that would read back as another type ("8080", "true"); a
      // quoted reference stays quoted so that it still expands to text.
      const s = new Scalar(value);
      if (node.quoted && typeof value === "string" && ENV_REF.test(value)) {
        s.type = Scalar.QUOTE_DOUBLE;
      }
      return s;
    }
  }
}
