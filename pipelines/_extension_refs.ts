/**
 * Checks the extensions that components name in their config — `auth.authenticator` (a client or
 * server authenticator) and `storage` (a `file_storage` for a persistent queue, file offsets or
 * an agent identity) — so a reference that `tfo run` would refuse at start is an error at
 * validation, with its position: the extension must be defined and listed in
 * `service.extensions`. Only components the service runs (used in a pipeline, or an enabled
 * extension) are checked, since only those start.
 *
 * @module
 */
import type { Kind } from "../components/component.ts";
import type { Diagnostic } from "./diagnostics.ts";
import { formatPath } from "./_raw.ts";
import type { ConfigPath, RawMap, RawNode } from "./_raw.ts";

/** The sections searched, by kind. */
const SECTIONS: ReadonlyArray<[Kind, string]> = [
  ["receiver", "receivers"],
  ["processor", "processors"],
  ["exporter", "exporters"],
  ["connector", "connectors"],
  ["extension", "extensions"],
];

interface Reference {
  name: string;
  node: RawNode;
  path: ConfigPath;
}

function findReferences(node: RawNode, path: ConfigPath, out: Reference[]): void {
  if (node.kind === "seq") {
    node.items.forEach((item, i) => findReferences(item, [...path, i], out));
    return;
  }
  if (node.kind !== "map") return;
  for (const [key, entry] of node.entries) {
    const here = [...path, key];
    const value = entry.value;
    const isRef = (key === "storage") ||
      (key === "authenticator" && path[path.length - 1] === "auth");
    if (isRef && value.kind === "scalar" && typeof value.value === "string") {
      out.push({ name: value.value, node: value, path: here });
    } else {
      findReferences(value, here, out);
    }
  }
}

/**
 * The errors for extension references of the components that run.
 * @param root the loaded config
 * @param enabled `service.extensions`
 * @param runs whether the component of this kind and ID is started
 */
export function checkExtensionReferences(
  root: RawMap,
  enabled: readonly string[],
  runs: (kind: Kind, id: string) => boolean,
): Diagnostic[] {
  const extensionsNode = root.entries.get("extensions")?.value;
  const defined = extensionsNode?.kind === "map" ? [...extensionsNode.entries.keys()] : [];
  const diagnostics: Diagnostic[] = [];
  for (const [kind, section] of SECTIONS) {
    const node = root.entries.get(section)?.value;
    if (node?.kind !== "map") continue;
    for (const [id, entry] of node.entries) {
      if (!runs(kind, id)) continue;
      const refs: Reference[] = [];
      findReferences(entry.value, [section, id], refs);
      for (const ref of refs) {
        let message: string | undefined;
        if (!defined.includes(ref.name)) {
          message = `names extension "${ref.name}", which is not defined (defined: ${
            defined.length === 0 ? "none" : defined.join(", ")
          })`;
        } else if (!enabled.includes(ref.name)) {
          message = `names extension "${ref.name}", which is not listed in service.extensions`;
        }
        if (message === undefined) continue;
        diagnostics.push({
          severity: "error",
          file: ref.node.pos.file,
          line: ref.node.pos.line,
          col: ref.node.pos.col,
          path: formatPath(ref.path),
          message,
        });
      }
    }
  }
  return diagnostics;
}
