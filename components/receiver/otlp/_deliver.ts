/**
 * How the otlp receiver hands a request's payload to the pipeline, over either protocol: split by
 * `metadata_from_resource` when configured (each part consumed, the request answered once all
 * were, with the first failure), each part through the tenant gate (`rate_limit`,
 * `tenant_metrics`) when there is one.
 *
 * @module
 */
import type { Consumer } from "../../../lib/consumer/consumer.ts";
import type { Payload } from "../../../lib/pdata/payload.ts";
import type { Signal } from "../../../lib/pdata/types.ts";
import type { TenantGate } from "../../../lib/tenancy/gate.ts";
import type { ResourceMetadataSplitter } from "./_resource_metadata.ts";

/** What {@linkcode deliver} may go through. */
export interface DeliverOptions {
  readonly gate?: TenantGate | undefined;
  readonly split?: ResourceMetadataSplitter | undefined;
}

/**
 * Consumes `payload` (of `bytes` request bytes) with `consumer`. A split part is charged its
 * share of the bytes, by items.
 */
export async function deliver<S extends Signal>(
  consumer: Consumer<S>,
  payload: Payload<S>,
  bytes: number,
  transport: string,
  options: DeliverOptions,
): Promise<void> {
  const { gate, split } = options;
  const one = (part: Payload<S>, partBytes: number) =>
    gate === undefined
      ? consumer.consume(part)
      : gate.consume(consumer, part, partBytes, transport);
  if (split === undefined) return one(payload, bytes);
  const total = payload.itemCount;
  const parts = split(payload);
  if (parts.length === 1) return one(parts[0]!, bytes);
  const results = await Promise.allSettled(
    parts.map((part) => one(part, total === 0 ? 0 : Math.round((bytes * part.itemCount) / total))),
  );
  const failed = results.find((r) => r.status === "rejected");
  if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
}
