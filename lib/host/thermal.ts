/**
 * Thermal zone reader: `/sys/class/thermal/thermal_zone*` (`type` and `temp` in millidegrees).
 * Virtual machines and containers usually have none.
 *
 * @module
 */
import { hostPath, isAbsent, readOptional, type RootPath } from "./_read.ts";

/** One thermal zone's reading. */
export interface ThermalZone {
  /** Directory name, such as `thermal_zone0`. */
  zone: string;
  /** What it measures, such as `x86_pkg_temp` or `acpitz`. */
  type: string;
  /** Degrees Celsius. */
  celsius: number;
}

/**
 * Reads every thermal zone, or undefined when the host has no thermal class at all. A zone whose
 * sensor cannot be read right now (some return EIO or ENODATA) is left out.
 */
export async function readThermalZones(root: RootPath = ""): Promise<ThermalZone[] | undefined> {
  const dir = hostPath(root, "/sys/class/thermal");
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.name.startsWith("thermal_zone")) names.push(entry.name);
    }
  } catch (error) {
    if (isAbsent(error)) return undefined;
    throw error;
  }
  names.sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
  const out: ThermalZone[] = [];
  for (const zone of names) {
    let temp: string | undefined;
    try {
      temp = await readOptional(`${dir}/${zone}/temp`);
    } catch {
      continue;
    }
    if (temp === undefined || temp.trim() === "") continue;
    const type = (await readOptional(`${dir}/${zone}/type`))?.trim() ?? "";
    out.push({ zone, type, celsius: Number(temp.trim()) / 1000 });
  }
  return out;
}
