/**
 * The `ec2` detector: the AWS EC2 instance metadata service (IMDSv2: a `PUT /latest/api/token`,
 * then the instance identity document and the hostname with that token; a service that refuses
 * tokens is asked without, as IMDSv1). The service is at `endpoint`, else the AWS SDKs'
 * `AWS_EC2_METADATA_SERVICE_ENDPOINT` variable, else `http://169.254.169.254`. The Collector's
 * `tags` (from the EC2 API) are not supported.
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
  metadataRequest,
  metadataText,
  MetadataUnavailableError,
  resourceAttributesSchema,
} from "./_detector.ts";

/** The `ec2` detector's config. */
export const ec2ConfigSchema = z.strictObject({
  /** The metadata service's base URL (tfo's addition, for tests and proxies). */
  endpoint: z.url().optional(),
  /** How long each metadata request may take (tfo's addition). */
  timeout: duration("1s"),
  resource_attributes: resourceAttributesSchema({
    "cloud.provider": true,
    "cloud.platform": true,
    "cloud.region": true,
    "cloud.availability_zone": true,
    "cloud.account.id": true,
    "host.id": true,
    "host.image.id": true,
    "host.name": true,
    "host.type": true,
  }),
});

/** The `ec2` detector's validated config. */
export type Ec2Config = z.output<typeof ec2ConfigSchema>;

interface IdentityDocument {
  accountId?: string;
  availabilityZone?: string;
  imageId?: string;
  instanceId?: string;
  instanceType?: string;
  region?: string;
}

/** Detects the EC2 instance; nothing (and a {@linkcode MetadataUnavailableError}) off EC2. */
export async function detectEc2(config: Ec2Config, ctx: DetectorContext): Promise<KeyValue[]> {
  const base = baseUrl(
    config.endpoint,
    ctx.env("AWS_EC2_METADATA_SERVICE_ENDPOINT"),
    "http://169.254.169.254",
  );
  const timeoutMs = config.timeout;
  const token = await metadataRequest(ctx, `${base}/latest/api/token`, {
    method: "PUT",
    headers: { "X-aws-ec2-metadata-token-ttl-seconds": "21600" },
    timeoutMs,
  });
  const headers: Record<string, string> = {};
  if (token.status === 200) headers["X-aws-ec2-metadata-token"] = token.body.trim();
  else if (![403, 404, 405].includes(token.status)) {
    throw new MetadataUnavailableError(`EC2 metadata token request answered ${token.status}`);
  }
  const text = await metadataText(ctx, `${base}/latest/dynamic/instance-identity/document`, {
    headers,
    timeoutMs,
  });
  const doc = JSON.parse(text) as IdentityDocument;
  const sink = new AttributeSink(config.resource_attributes);
  sink.put("cloud.provider", "aws");
  sink.put("cloud.platform", "aws_ec2");
  sink.put("cloud.region", doc.region);
  sink.put("cloud.availability_zone", doc.availabilityZone);
  sink.put("cloud.account.id", doc.accountId);
  sink.put("host.id", doc.instanceId);
  sink.put("host.image.id", doc.imageId);
  sink.put("host.type", doc.instanceType);
  if (sink.wants("host.name")) {
    try {
      const name = await metadataText(ctx, `${base}/latest/meta-data/hostname`, {
        headers,
        timeoutMs,
      });
      sink.put("host.name", name.trim());
    } catch (error) {
      ctx.logger.debug("Cannot get the EC2 hostname", { error: String(error) });
    }
  }
  return sink.attributes;
}
