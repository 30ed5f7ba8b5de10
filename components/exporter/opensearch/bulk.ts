/**
 * The OpenSearch bulk API as the `opensearch` exporter uses it: a request body of NDJSON action
 * and document lines (`{"create":{"_index":"…"}}` then the document), and the per-item outcome of
 * a response (`{"errors":true,"items":[{"create":{"status":400,"error":{…}}}, …]}`), with a
 * `filter_path` that keeps only what is read.
 *
 * @module
 */
import { jsonString } from "../../../lib/pdata/go_json.ts";

/** The query of bulk requests: the response carries only the fields read here. */
export const BULK_QUERY =
  "filter_path=errors,items.*.status,items.*.error.type,items.*.error.reason";

/** One document to index. */
export interface BulkItem {
  /** Its position among the payload's items (log records or spans, in order). */
  readonly position: number;
  readonly index: string;
  /** The document, as JSON. */
  readonly document: string;
}

const utf8 = new TextEncoder();

/** The NDJSON body of `items` with `action` (`create` or `index`). */
export function bulkBody(items: readonly BulkItem[], action: string): Uint8Array {
  const lines: string[] = new Array(items.length * 2);
  let cachedIndex: string | undefined;
  let cachedMeta = "";
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    if (item.index !== cachedIndex) {
      cachedIndex = item.index;
      cachedMeta = `{"${action}":{"_index":${jsonString(item.index)}}}`;
    }
    lines[2 * i] = cachedMeta;
    lines[2 * i + 1] = item.document;
  }
  return utf8.encode(lines.join("\n") + "\n");
}

/** How one item fared. */
export interface ItemOutcome {
  readonly status: number;
  /** `type: reason` of the item's error, when it has one. */
  readonly error?: string;
}

/** A parsed bulk response. */
export interface BulkResponse {
  /** Whether any item failed. */
  readonly errors: boolean;
  /** One outcome per item, in request order (empty when the response left them out). */
  readonly items: readonly ItemOutcome[];
}

/** Parses a bulk response; undefined when it is not one. */
export function parseBulkResponse(body: Uint8Array): BulkResponse | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(body));
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const { errors, items } = parsed as { errors?: unknown; items?: unknown };
  if (typeof errors !== "boolean") return undefined;
  const outcomes: ItemOutcome[] = [];
  if (Array.isArray(items)) {
    for (const entry of items) {
      const inner = typeof entry === "object" && entry !== null
        ? Object.values(entry as Record<string, unknown>)[0]
        : undefined;
      const { status, error } = (inner ?? {}) as { status?: unknown; error?: unknown };
      const outcome: { status: number; error?: string } = {
        status: typeof status === "number" ? status : 0,
      };
      if (typeof error === "object" && error !== null) {
        const { type, reason } = error as { type?: unknown; reason?: unknown };
        outcome.error = `${String(type ?? "error")}: ${String(reason ?? "")}`;
      } else if (typeof error === "string") {
        outcome.error = error;
      }
      outcomes.push(outcome);
    }
  }
  return { errors, items: outcomes };
}

/** Whether an item's status may succeed on retry: 429 and 5xx. */
export function isRetryableItemStatus(status: number): boolean {
  return status === 429 || status >= 500;
}
