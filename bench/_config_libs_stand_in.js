/**
 * A stand-in for the `zod` and `yaml` packages, for measuring the agent without them
 * (`footprint_noconfig.ts`, `noconfig_prototype.sh`): it answers every read and call with
 * itself, so top-level `z.object({...}).default({})` chains still run, over no library code. It
 * validates and parses nothing.
 */
const handler = {
  get: (_t, key) => key === Symbol.toPrimitive ? () => "" : key === "then" ? undefined : standIn,
  apply: () => standIn,
  construct: () => standIn,
};
const standIn = new Proxy(function () {}, handler);
export const z = standIn;
export const Document = standIn, Scalar = standIn, YAMLMap = standIn, YAMLSeq = standIn;
export const LineCounter = standIn, isAlias = standIn, isMap = standIn, isScalar = standIn;
export const isSeq = standIn, parseDocument = standIn, parse = standIn;
