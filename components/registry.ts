/**
 * The built-in factories. Nothing else knows the full list.
 *
 * @module
 */
import { asFactory, type Factory } from "./component.ts";
import { forwardFactory } from "./connector/forward/factory.ts";
import { debugFactory, loggingFactory } from "./exporter/debug/factory.ts";
import { healthCheckFactory } from "./extension/health_check/factory.ts";
import { batchFactory } from "./processor/batch/factory.ts";

/** Every built-in component factory. */
export const BUILTIN_FACTORIES: readonly Factory[] = [
  asFactory(batchFactory),
  asFactory(debugFactory),
  asFactory(loggingFactory),
  asFactory(healthCheckFactory),
  asFactory(forwardFactory),
];
