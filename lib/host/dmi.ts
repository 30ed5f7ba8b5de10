/**
 * SMBIOS (DMI) identity reader: `/sys/class/dmi/id/*`, which names the hardware vendor and product
 * (on a virtual machine, the hypervisor or the cloud). Files that are absent or root-only are `""`.
 *
 * @module
 */
import { hostPath, readOptional, type RootPath } from "./_read.ts";

/** The DMI fields tfo uses, trimmed; `""` when not offered. */
export interface DmiInfo {
  sysVendor: string;
  productName: string;
  productVersion: string;
  /** Root-only on most kernels. */
  productUuid: string;
  /** Root-only on most kernels. */
  productSerial: string;
  boardVendor: string;
  boardAssetTag: string;
  chassisAssetTag: string;
  biosVendor: string;
}

const FILES: Readonly<Record<keyof DmiInfo, string>> = {
  sysVendor: "sys_vendor",
  productName: "product_name",
  productVersion: "product_version",
  productUuid: "product_uuid",
  productSerial: "product_serial",
  boardVendor: "board_vendor",
  boardAssetTag: "board_asset_tag",
  chassisAssetTag: "chassis_asset_tag",
  biosVendor: "bios_vendor",
};

/** Reads the DMI identity (every field `""` on machines without DMI, such as most ARM boards). */
export async function readDmi(root: RootPath = ""): Promise<DmiInfo> {
  const entries = await Promise.all(
    Object.entries(FILES).map(async ([key, file]) => {
      const text = await readOptional(hostPath(root, `/sys/class/dmi/id/${file}`)).catch(
        () => undefined,
      );
      return [key, text?.trim() ?? ""] as const;
    }),
  );
  return Object.fromEntries(entries) as unknown as DmiInfo;
}
