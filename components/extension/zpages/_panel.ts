/**
 * A component panel's answer (`/api/component?node=KEY`): the component's redacted config, its
 * self-metric lines, its recent log lines and whether it can be tapped. Shared by the page's
 * worker (from what was pushed with the last frame) and the service side (asked when no page
 * listens, so nothing was pushed).
 *
 * @module
 */
import type { ViewComponent, ViewLogLine, ViewNode } from "../../../lib/component/view.ts";

/** The metric lines of one component, from the Prometheus text. */
export function metricLines(metrics: string, kind: string, id: string): string[] {
  const needle = `${kind}="${id}"`;
  return metrics.split("\n").filter((line) => !line.startsWith("#") && line.includes(needle));
}

/** The status and body of a component panel's answer for the node or component `key`. */
export function componentAnswer(
  nodes: readonly ViewNode[],
  component: (key: string) => ViewComponent | undefined,
  live: { readonly metrics: string; logs(key: string): readonly ViewLogLine[] },
  key: string,
  tapEnabled: boolean,
): [number, string] {
  const node = nodes.find((n) => n.key === key);
  const componentKey = node === undefined ? key : `${node.kind}:${node.id}`;
  const found = component(componentKey);
  if (found === undefined) return [404, `no component "${key}"\n`];
  return [
    200,
    JSON.stringify({
      ...found,
      node: key,
      metrics: metricLines(live.metrics, found.kind, found.id),
      logs: live.logs(componentKey),
      tap: tapEnabled && node !== undefined,
    }),
  ];
}
