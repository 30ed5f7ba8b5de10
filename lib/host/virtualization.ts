/**
 * Hardware virtualization detection: whether this machine is a virtual machine and which
 * hypervisor runs it, from the CPU's `hypervisor` flag (`/proc/cpuinfo`), the Xen interfaces
 * (`/sys/hypervisor/type`, `/proc/xen`) and the SMBIOS vendor and product ({@linkcode readDmi}).
 * Containers are not virtual machines here; see `container.ts` for them.
 *
 * @module
 */
import { hostPath, readOptional, type RootPath, splitFields, splitLines } from "./_read.ts";
import { type DmiInfo, readDmi } from "./dmi.ts";

/** What {@linkcode readVirtualization} found. */
export interface Virtualization {
  /** True when a hypervisor runs this machine. */
  isVirtualized: boolean;
  /**
   * The hypervisor, in systemd-detect-virt's spirit: `kvm`, `qemu`, `vmware`, `virtualbox`, `xen`,
   * `hyperv`, `amazon` (EC2 Nitro), `google` (Compute Engine), `parallels`, `bochs`; `""` when not
   * virtualized or when the CPU says "hypervisor" but nothing names it.
   */
  type: string;
}

/** The facts virtualization is inferred from. */
export interface VirtualizationFacts {
  dmi: DmiInfo;
  /** The CPU reports the `hypervisor` flag. */
  cpuHypervisorFlag: boolean;
  /** `/sys/hypervisor/type` (`xen`, …), `""` when absent. */
  hypervisorType: string;
  /** `/proc/xen` exists. */
  procXen: boolean;
}

/** Vendor and product markers, checked in order against `sys_vendor product_name bios_vendor`. */
const DMI_MARKERS: readonly (readonly [RegExp, string])[] = [
  [/amazon ec2/i, "amazon"],
  [/google compute engine|^google/i, "google"],
  [/\bkvm\b/i, "kvm"],
  [/\bqemu\b/i, "qemu"],
  [/vmware/i, "vmware"],
  [/virtualbox|innotek/i, "virtualbox"],
  [/\bxen\b/i, "xen"],
  [/microsoft corporation.*virtual machine|hyper-v/i, "hyperv"],
  [/parallels/i, "parallels"],
  [/\bbochs\b/i, "bochs"],
];

/** Infers the virtualization from its facts. */
export function virtualizationFrom(facts: VirtualizationFacts): Virtualization {
  const { dmi } = facts;
  const text = [dmi.sysVendor, dmi.productName, dmi.biosVendor, dmi.boardVendor].join(" ");
  for (const [marker, type] of DMI_MARKERS) {
    if (marker.test(text)) return { isVirtualized: true, type };
  }
  if (facts.hypervisorType !== "") return { isVirtualized: true, type: facts.hypervisorType };
  if (facts.procXen) return { isVirtualized: true, type: "xen" };
  return { isVirtualized: facts.cpuHypervisorFlag, type: "" };
}

/** True when the first `flags` (x86) or `Features` (ARM) line of a cpuinfo text has `flag`. */
export function cpuInfoHasFlag(text: string, flag: string): boolean {
  for (const line of splitLines(text)) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const key = line.slice(0, colon).trim();
    if (key !== "flags" && key !== "Features") continue;
    return splitFields(line.slice(colon + 1)).includes(flag);
  }
  return false;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Detects the virtualization of the machine under `root`. */
export async function readVirtualization(root: RootPath = ""): Promise<Virtualization> {
  const [dmi, cpuinfo, hypervisorType, procXen] = await Promise.all([
    readDmi(root),
    readOptional(hostPath(root, "/proc/cpuinfo")).catch(() => undefined),
    readOptional(hostPath(root, "/sys/hypervisor/type")).catch(() => undefined),
    exists(hostPath(root, "/proc/xen")),
  ]);
  return virtualizationFrom({
    dmi,
    cpuHypervisorFlag: cpuinfo !== undefined && cpuInfoHasFlag(cpuinfo, "hypervisor"),
    hypervisorType: hypervisorType?.trim() ?? "",
    procXen,
  });
}
