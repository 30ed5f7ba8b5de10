/**
 * The `azure` detector: the Azure instance metadata service
 * (`GET /metadata/instance/compute?api-version=2020-09-01&format=json` with `Metadata: true`). The
 * service is at `endpoint`, else `http://169.254.169.254`. The Collector's `tags_to_include` is not
 * supported.
 *
 * @module
 */
import { z } from "../../../../lib/config/z.js";
import { duration } from "../../../../lib/config/schema.ts";
import type { KeyValue } from "../../../../lib/pdata/types.ts";
import {
  AttributeSink,
  baseUrl,
  type DetectorContext,
  metadataText,
  resourceAttributesSchema,
} from "./_detector.ts";

/** The `azure` detector's config. */
export const azureConfigSchema = z.strictObject({
  /** The metadata service's base URL (tfo's addition, for tests and proxies). */
  endpoint: z.url().optional(),
  /** How long the metadata request may take (tfo's addition). */
  timeout: duration("1s"),
  resource_attributes: resourceAttributesSchema({
    "cloud.provider": true,
    "cloud.platform": true,
    "cloud.region": true,
    "cloud.account.id": true,
    "host.name": true,
    "host.id": true,
    "azure.vm.name": true,
    "azure.vm.size": true,
    "azure.vm.scaleset.name": true,
    "azure.resourcegroup.name": true,
  }),
});

/** The `azure` detector's validated config. */
export type AzureConfig = z.output<typeof azureConfigSchema>;

interface Compute {
  location?: string;
  name?: string;
  vmId?: string;
  vmSize?: string;
  subscriptionId?: string;
  resourceGroupName?: string;
  vmScaleSetName?: string;
}

/** Detects the Azure VM; a {@linkcode MetadataUnavailableError} off Azure. */
export async function detectAzure(config: AzureConfig, ctx: DetectorContext): Promise<KeyValue[]> {
  const base = baseUrl(config.endpoint, undefined, "http://169.254.169.254");
  const text = await metadataText(
    ctx,
    `${base}/metadata/instance/compute?api-version=2020-09-01&format=json`,
    { headers: { Metadata: "true" }, timeoutMs: config.timeout },
  );
  const c = JSON.parse(text) as Compute;
  const sink = new AttributeSink(config.resource_attributes);
  sink.put("cloud.provider", "azure");
  sink.put("cloud.platform", "azure_vm");
  sink.put("host.name", c.name);
  sink.put("cloud.region", c.location);
  sink.put("host.id", c.vmId);
  sink.put("cloud.account.id", c.subscriptionId);
  sink.put("azure.vm.name", c.name);
  sink.put("azure.vm.size", c.vmSize);
  sink.put("azure.vm.scaleset.name", c.vmScaleSetName);
  sink.put("azure.resourcegroup.name", c.resourceGroupName);
  return sink.attributes;
}
