/**
 * The Collector's zpages as static HTML tables: `/debug/servicez` (build, start time, state),
 * `/debug/pipelinez` (each pipeline's receivers, processors and exporters) and
 * `/debug/extensionz` (the started extensions).
 *
 * @module
 */
import type { GraphView, ServiceView } from "../../../lib/component/view.ts";

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${
    escape(title)
  }</title>` +
    `<style>body{font:14px system-ui,sans-serif;margin:16px}table{border-collapse:collapse}` +
    `td,th{border:1px solid #ccd;padding:4px 10px;text-align:left}th{background:#eef}</style>` +
    `</head><body><h1>${escape(title)}</h1>${body}<p><a href="/">pipeline page</a> · ` +
    `<a href="/debug/servicez">servicez</a> · <a href="/debug/pipelinez">pipelinez</a> · ` +
    `<a href="/debug/extensionz">extensionz</a></p></body></html>`;
}

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const th = head.map((h) => `<th>${escape(h)}</th>`).join("");
  const trs = rows.map((r) => `<tr>${r.map((c) => `<td>${escape(c)}</td>`).join("")}</tr>`).join(
    "",
  );
  return `<table><tr>${th}</tr>${trs}</table>`;
}

/** `/debug/servicez`. */
export function servicez(
  view: Pick<ServiceView, "status" | "readySince">,
  startedAt: Date,
): string {
  const ready = view.readySince();
  return page(
    "Service",
    table(["", ""], [
      ["Command", "tfo"],
      ["Runtime", `Deno ${Deno.version.deno}, V8 ${Deno.version.v8}`],
      ["OS/Arch", `${Deno.build.os}/${Deno.build.arch}`],
      ["State", view.status()],
      ["Extension started", startedAt.toISOString()],
      ["Ready since", ready === undefined ? "-" : new Date(ready).toISOString()],
    ]),
  );
}

/** `/debug/pipelinez`. */
export function pipelinez(graph: GraphView): string {
  return page(
    "Pipelines",
    table(
      ["Pipeline", "Signal", "Receivers", "Processors", "Exporters"],
      graph.pipelines.map((p) => [
        p.id,
        p.signal,
        p.receivers.join(", "),
        p.processors.join(" → ") || "-",
        p.exporters.join(", "),
      ]),
    ),
  );
}

/** `/debug/extensionz`. */
export function extensionz(graph: GraphView): string {
  return page(
    "Extensions",
    table(
      ["Extension", "Type"],
      graph.extensions.map((id) => [id, graph.components.get(`extension:${id}`)?.type ?? id]),
    ),
  );
}
