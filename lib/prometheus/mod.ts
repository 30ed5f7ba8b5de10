/**
 * Prometheus exposition formats: the text format 0.0.4 and OpenMetrics 1.0.
 *
 * @module
 */
export { formatOfContentType, parseExposition } from "./parse.ts";
export {
  type Exemplar,
  type Exposition,
  ExpositionError,
  type ExpositionFormat,
  type FamilyMetadata,
  type Label,
  type MetricType,
  type Sample,
} from "./types.ts";
