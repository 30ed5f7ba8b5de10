/**
 * Where in the config a failure after validation belongs: a component that could not be created
 * or started is named by its error ({@linkcode StartError}, {@linkcode GraphBuildError}), and its
 * ID's position in the config files makes the same `file:line:col  path: message` line
 * `tfo validate` prints, for the log and for the pipeline page.
 *
 * @module
 */
import type { ResolvedConfig } from "./config.ts";
import { formatDiagnostic } from "./diagnostics.ts";
import { type FailedComponent, GraphBuildError } from "./graph.ts";
import { StartError } from "./_lifecycle.ts";
import { SECTIONS } from "./factories.ts";

/** The component `error` names, if it is a create or start failure that names one. */
export function failedComponentOf(error: unknown): FailedComponent | undefined {
  return error instanceof StartError || error instanceof GraphBuildError
    ? error.component
    : undefined;
}

/**
 * `error` as diagnostic lines positioned at the failed component's ID in `config`; none when the
 * error names no component or the component has no known position.
 */
export function failureDiagnostics(error: Error, config: ResolvedConfig): string[] {
  const failed = failedComponentOf(error);
  if (failed === undefined) return [];
  const section = failed.kind === "receiver"
    ? config.receivers
    : failed.kind === "processor"
    ? config.processors
    : failed.kind === "exporter"
    ? config.exporters
    : failed.kind === "connector"
    ? config.connectors
    : config.extensions;
  const position = section.get(failed.id)?.position;
  if (position === undefined) return [];
  return [formatDiagnostic({
    severity: "error",
    file: position.file,
    line: position.line,
    col: position.col,
    path: `${SECTIONS[failed.kind]}.${failed.id}`,
    message: error.message,
  })];
}
