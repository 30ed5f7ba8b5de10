/**
 * Cloud provider detection from local facts only: the SMBIOS identity ({@linkcode readDmi}),
 * `/sys/hypervisor/uuid` (older Xen-based EC2) and a few provider environment variables. No
 * instance metadata service is queried — a read here must never wait on a link-local address that
 * does not answer off-cloud — so the instance type, and the region and zone unless the environment
 * names them, stay `""`. (The resourcedetection processor's `ec2`, `gcp` and `azure` detectors query
 * the metadata services for telemetry resources.)
 *
 * @module
 */
import { hostPath, readOptional, type RootPath } from "./_read.ts";
import { type DmiInfo, readDmi } from "./dmi.ts";

/** The cloud this machine runs in; every field `""` when none is recognised. */
export interface CloudInfo {
  /** `aws`, `gcp`, `azure`, `alibaba`, `digitalocean`, `oracle`, `hetzner`, or `""`. */
  provider: string;
  /** The instance ID where the SMBIOS carries it (EC2's board asset tag), else `""`. */
  instanceId: string;
  /** Always `""` (needs the metadata service). */
  instanceType: string;
  /** From `AWS_REGION`/`AWS_DEFAULT_REGION` or `ALIBABA_CLOUD_REGION_ID`, else `""`. */
  region: string;
  /** Always `""` (needs the metadata service). */
  zone: string;
}

/** The Azure chassis asset tag every Azure VM carries. */
const AZURE_ASSET_TAG = "7783-7084-3265-9085-8269-3286-77";

/** Infers the cloud from DMI, the Xen hypervisor UUID and an environment lookup. */
export function cloudFrom(
  dmi: DmiInfo,
  hypervisorUuid: string,
  env: (name: string) => string | undefined,
): CloudInfo {
  const info: CloudInfo = { provider: "", instanceId: "", instanceType: "", region: "", zone: "" };
  const vendor = `${dmi.sysVendor} ${dmi.productName} ${dmi.biosVendor}`.toLowerCase();
  if (
    vendor.includes("amazon ec2") || hypervisorUuid.toLowerCase().startsWith("ec2") ||
    dmi.boardAssetTag.startsWith("i-")
  ) {
    info.provider = "aws";
    if (/^i-[0-9a-f]+$/.test(dmi.boardAssetTag)) info.instanceId = dmi.boardAssetTag;
    info.region = env("AWS_REGION") ?? env("AWS_DEFAULT_REGION") ?? "";
  } else if (vendor.includes("google")) {
    info.provider = "gcp";
  } else if (dmi.chassisAssetTag === AZURE_ASSET_TAG) {
    info.provider = "azure";
  } else if (vendor.includes("alibaba")) {
    info.provider = "alibaba";
    info.region = env("ALIBABA_CLOUD_REGION_ID") ?? "";
  } else if (vendor.includes("digitalocean")) {
    info.provider = "digitalocean";
  } else if (dmi.chassisAssetTag === "OracleCloud.com") {
    info.provider = "oracle";
  } else if (vendor.includes("hetzner")) {
    info.provider = "hetzner";
  }
  return info;
}

function readEnv(name: string): string | undefined {
  try {
    const value = Deno.env.get(name);
    return value === "" ? undefined : value;
  } catch {
    return undefined; // no env permission
  }
}

/** Detects the cloud of the machine under `root`. */
export async function readCloud(root: RootPath = ""): Promise<CloudInfo> {
  const [dmi, uuid] = await Promise.all([
    readDmi(root),
    readOptional(hostPath(root, "/sys/hypervisor/uuid")).catch(() => undefined),
  ]);
  return cloudFrom(dmi, uuid?.trim() ?? "", readEnv);
}
