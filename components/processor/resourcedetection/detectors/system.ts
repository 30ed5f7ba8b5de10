/**
 * The `system` detector: the host tfo runs on. `host.name` comes from the first of
 * `hostname_sources` that answers (`dns`: the canonical name of the hostname in /etc/hosts, else
 * a forward then reverse DNS lookup; `os`: the kernel hostname; `cname`: the hostname's CNAME;
 * `lookup`: forward then reverse lookup), as the Collector. `host.id` is the machine ID
 * (/etc/machine-id, else /var/lib/dbus/machine-id); `os.description` is the os-release
 * `PRETTY_NAME` followed by the uname line in parentheses, as the OpenTelemetry Go SDK; `host.arch`
 * uses the semantic-convention values (`amd64`, `arm64`, …). Defaults follow the Collector: only
 * `host.name` and `os.type` are enabled.
 *
 * @module
 */
import { z } from "../../../../lib/config/z.js";
import { hostArch, osType } from "../../../../lib/host/semconv.ts";
import type { KeyValue } from "../../../../lib/pdata/types.ts";
import { AttributeSink, type DetectorContext, resourceAttributesSchema } from "./_detector.ts";

const HOSTNAME_SOURCES = ["dns", "os", "cname", "lookup"] as const;

/** The `system` detector's config. */
export const systemConfigSchema = z.strictObject({
  /** Where `host.name` comes from, tried in order. */
  hostname_sources: z.array(z.enum(HOSTNAME_SOURCES)).min(1).default(["dns", "os"]),
  resource_attributes: resourceAttributesSchema({
    "host.name": true,
    "os.type": true,
    "host.id": false,
    "host.arch": false,
    "host.ip": false,
    "host.mac": false,
    "os.description": false,
    "host.cpu.vendor.id": false,
    "host.cpu.family": false,
    "host.cpu.model.id": false,
    "host.cpu.model.name": false,
    "host.cpu.stepping": false,
    "host.cpu.cache.l2.size": false,
  }),
});

/** The `system` detector's validated config. */
export type SystemConfig = z.output<typeof systemConfigSchema>;

/** The canonical name of `hostname` in an /etc/hosts text, if listed. */
export function canonicalFromHosts(hosts: string, hostname: string): string | undefined {
  for (const raw of hosts.split("\n")) {
    const names = raw.replace(/#.*/, "").trim().split(/\s+/).slice(1);
    if (names.includes(hostname)) return names[0];
  }
  return undefined;
}

function trimDot(name: string): string {
  return name.endsWith(".") ? name.slice(0, -1) : name;
}

function reverseName(ip: string): string {
  return ip.split(".").reverse().join(".") + ".in-addr.arpa";
}

async function lookupName(ctx: DetectorContext, hostname: string): Promise<string> {
  const ips = await ctx.resolveDns(hostname, "A", ctx.signal);
  for (const ip of ips) {
    const names = await ctx.resolveDns(reverseName(ip), "PTR", ctx.signal).catch(() => []);
    if (names[0] !== undefined) return trimDot(names[0]);
  }
  throw new Error(`No reverse DNS name for ${hostname}`);
}

async function hostnameFrom(source: (typeof HOSTNAME_SOURCES)[number], ctx: DetectorContext) {
  const hostname = ctx.hostname();
  switch (source) {
    case "os":
      return hostname;
    case "cname": {
      const names = await ctx.resolveDns(hostname, "CNAME", ctx.signal);
      if (names[0] === undefined) throw new Error(`No CNAME for ${hostname}`);
      return trimDot(names[0]);
    }
    case "lookup":
      return await lookupName(ctx, hostname);
    case "dns": {
      const hosts = await ctx.readTextFile("/etc/hosts").catch(() => "");
      return canonicalFromHosts(hosts, hostname) ?? await lookupName(ctx, hostname);
    }
  }
}

async function firstFile(
  ctx: DetectorContext,
  paths: readonly string[],
): Promise<string | undefined> {
  for (const path of paths) {
    try {
      const text = (await ctx.readTextFile(path)).trim();
      if (text !== "") return text;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

/** `PRETTY_NAME` (or `NAME VERSION`) of an os-release text. */
export function osReleaseName(text: string): string | undefined {
  const fields = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m !== null) fields.set(m[1]!, m[2]!.replace(/^(["'])(.*)\1$/, "$2"));
  }
  const pretty = fields.get("PRETTY_NAME");
  if (pretty !== undefined && pretty !== "") return pretty;
  const name = fields.get("NAME");
  return name === undefined ? undefined : [name, fields.get("VERSION")].filter(Boolean).join(" ");
}

async function osDescription(ctx: DetectorContext): Promise<string | undefined> {
  const release = osReleaseName(
    (await firstFile(ctx, ["/etc/os-release", "/usr/lib/os-release"])) ?? "",
  );
  const kernel = ["ostype", "hostname", "osrelease", "version"].map((f) =>
    firstFile(ctx, [`/proc/sys/kernel/${f}`])
  );
  const parts = await Promise.all(kernel);
  const uname = parts.every((p) => p !== undefined)
    ? `${parts.join(" ")} ${Deno.build.arch}`
    : undefined;
  if (release !== undefined && uname !== undefined) return `${release} (${uname})`;
  return release ?? uname;
}

/** Fields of the first processor in a /proc/cpuinfo text. */
export function firstCpu(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line.trim() === "") {
      if (fields.size > 0) break;
      continue;
    }
    const colon = line.indexOf(":");
    if (colon > 0) fields.set(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return fields;
}

function isLoopback(address: string): boolean {
  return address.startsWith("127.") || address === "::1";
}

/** Detects the host. Throws when no hostname source answers. */
export async function detectSystem(
  config: SystemConfig,
  ctx: DetectorContext,
): Promise<KeyValue[]> {
  let hostname: string | undefined;
  for (const source of config.hostname_sources) {
    try {
      hostname = await hostnameFrom(source, ctx);
      break;
    } catch (error) {
      ctx.logger.debug("Hostname source failed", { source, error: String(error) });
    }
  }
  if (hostname === undefined) throw new Error("All hostname sources failed to get a hostname");

  const sink = new AttributeSink(config.resource_attributes);
  sink.put("host.name", hostname);
  sink.put("os.type", osType());
  if (sink.wants("host.id")) {
    const id = await firstFile(ctx, ["/etc/machine-id", "/var/lib/dbus/machine-id"]);
    if (id === undefined) ctx.logger.warn("Cannot read the machine ID for host.id");
    sink.put("host.id", id);
  }
  sink.put("host.arch", hostArch());
  if (sink.wants("host.ip") || sink.wants("host.mac")) {
    const ips = new Set<string>();
    const macs = new Set<string>();
    for (const nic of ctx.networkInterfaces()) {
      if (isLoopback(nic.address)) continue;
      ips.add(nic.address);
      if (nic.mac !== "00:00:00:00:00:00") macs.add(nic.mac.toUpperCase().replaceAll(":", "-"));
    }
    sink.put("host.ip", [...ips]);
    sink.put("host.mac", [...macs]);
  }
  if (sink.wants("os.description")) sink.put("os.description", await osDescription(ctx));
  if (
    Object.keys(config.resource_attributes).some((k) => k.startsWith("host.cpu.") && sink.wants(k))
  ) {
    const cpu = firstCpu((await firstFile(ctx, ["/proc/cpuinfo"])) ?? "");
    sink.put("host.cpu.vendor.id", cpu.get("vendor_id"));
    sink.put("host.cpu.family", cpu.get("cpu family"));
    sink.put("host.cpu.model.id", cpu.get("model"));
    sink.put("host.cpu.model.name", cpu.get("model name"));
    sink.put("host.cpu.stepping", cpu.get("stepping"));
    const cache = /^(\d+)\s*KB$/i.exec(cpu.get("cache size") ?? "");
    if (cache !== null) sink.put("host.cpu.cache.l2.size", BigInt(cache[1]!) * 1024n);
  }
  return sink.attributes;
}
