/**
 * Include/exclude name filters with the Collector's `filterset` semantics: `strict` compares whole
 * strings, `regexp` matches anywhere in the string (unanchored, as Go's `MatchString`).
 *
 * @module
 */
import { z } from "../../../lib/config/z.js";

/** How filter entries match. */
export type MatchType = "strict" | "regexp";

/** A compiled filter: true when a name matches one of its entries. */
export type NameFilter = (name: string) => boolean;

/** The `match_type` key of a filter block. */
export const matchTypeSchema = z.enum(["strict", "regexp"]).optional();

/**
 * Checks a filter block `{<key>: [...], match_type}`: `match_type` is required once the list is not
 * empty, and each regexp must compile. Use with `superRefine`.
 */
export function refineFilter(key: string) {
  return (value: { match_type?: MatchType | undefined }, ctx: z.RefinementCtx): void => {
    const items = (value as unknown as Record<string, string[] | undefined>)[key] ?? [];
    if (items.length === 0) return;
    if (value.match_type === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["match_type"],
        message: 'must be "strict" or "regexp" when names are listed',
      });
      return;
    }
    if (value.match_type !== "regexp") return;
    items.forEach((item, i) => {
      try {
        new RegExp(item);
      } catch (error) {
        ctx.addIssue({
          code: "custom",
          path: [key, i],
          message: `must be a valid regular expression: ${(error as Error).message}`,
        });
      }
    });
  };
}

/** Compiles entries into a filter, or undefined when there are none (no filtering). */
export function compileFilter(
  items: readonly string[] | undefined,
  matchType: MatchType | undefined,
): NameFilter | undefined {
  if (items === undefined || items.length === 0) return undefined;
  if (matchType === "regexp") {
    const patterns = items.map((p) => new RegExp(p));
    return (name) => patterns.some((p) => p.test(name));
  }
  const set = new Set(items);
  return (name) => set.has(name);
}

/** True when `name` passes an include filter (if any) and no exclude filter. */
export function passes(
  name: string,
  include: NameFilter | undefined,
  exclude: NameFilter | undefined,
): boolean {
  return (include === undefined || include(name)) && (exclude === undefined || !exclude(name));
}
