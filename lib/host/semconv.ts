/**
 * The OpenTelemetry semantic-convention names of the running OS and architecture (`os.type`,
 * `host.arch`), shared by resource detection and the TelemetryFlow agent's system info.
 *
 * @module
 */

const OS_TYPE: Readonly<Record<string, string>> = {
  android: "linux",
  illumos: "solaris",
};

const ARCH: Readonly<Record<string, string>> = {
  x86_64: "amd64",
  aarch64: "arm64",
  arm: "arm32",
  x86: "x86",
  i686: "x86",
  powerpc64: "ppc64",
  s390x: "s390x",
};

/** The semantic-convention `os.type` of the running OS. */
export function osType(os: string = Deno.build.os): string {
  return OS_TYPE[os] ?? os;
}

/** The semantic-convention `host.arch` of a `uname -m` style architecture name. */
export function hostArch(arch: string = Deno.build.arch): string {
  return ARCH[arch] ?? arch;
}
