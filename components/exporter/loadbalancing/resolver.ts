/**
 * The `loadbalancing` exporter's resolvers: where the list of backends comes from. A resolver
 * reports every new list (sorted `host:port` strings, no duplicates) to its listener; the `static`
 * one once at start, the `dns` one at start and whenever a resolution every `interval` gives a
 * different list. A DNS failure or timeout keeps the last list (and is logged): an outage of the
 * name server never empties the ring.
 *
 * The DNS resolver uses the system resolver (`getaddrinfo` through `node:dns`), so `/etc/hosts`
 * counts, as Go's resolver does for the Collector.
 *
 * @module
 */
import { lookup } from "node:dns/promises";
import type { Logger } from "../../../lib/telemetry/logger.ts";
import type { LoadBalancingConfig } from "./config.ts";
import { withDefaultPort } from "./config.ts";

/** Called with each new list of backends. */
export type BackendsListener = (endpoints: readonly string[]) => void | Promise<void>;

/** A source of backends. */
export interface Resolver {
  /** Reports the first list (before resolving) and starts watching for changes. */
  start(listener: BackendsListener): Promise<void>;
  /** Stops watching. */
  shutdown(): Promise<void>;
}

/** Resolves a name to IP addresses. */
export type LookupFunc = (hostname: string) => Promise<string[]>;

/** The system resolver: every IPv4 and IPv6 address of `hostname`. */
export const systemLookup: LookupFunc = async (hostname) => {
  const answers = await lookup(hostname, { all: true });
  return answers.map((a) => a.address);
};

function normalize(endpoints: Iterable<string>): string[] {
  return [...new Set(endpoints)].sort();
}

/** The `static` resolver over `hostnames` (port 4317 added where none is given). */
export function staticResolver(hostnames: readonly string[]): Resolver {
  return {
    async start(listener) {
      await listener(normalize(hostnames.map(withDefaultPort)));
    },
    async shutdown() {},
  };
}

/** Settings of {@linkcode dnsResolver}. */
export interface DnsResolverSettings {
  readonly hostname: string;
  readonly port: number;
  /** Milliseconds between resolutions. */
  readonly intervalMs: number;
  /** Milliseconds one resolution may take. */
  readonly timeoutMs: number;
  readonly logger: Logger;
  /** Counts each resolution by outcome. */
  readonly onResolution?: (success: boolean) => void;
  /** @default systemLookup */
  readonly lookup?: LookupFunc;
}

/** The `dns` resolver: the addresses of a name, each with the same port. */
export function dnsResolver(settings: DnsResolverSettings): Resolver {
  const lookupFn = settings.lookup ?? systemLookup;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  let last: string | undefined;
  let running: Promise<void> | undefined;

  async function resolveOnce(listener: BackendsListener): Promise<void> {
    let deadline: ReturnType<typeof setTimeout> | undefined;
    try {
      const addresses = await Promise.race([
        lookupFn(settings.hostname),
        new Promise<never>((_, reject) => {
          deadline = setTimeout(
            () => reject(new Error(`timed out after ${settings.timeoutMs} ms`)),
            settings.timeoutMs,
          );
        }),
      ]);
      settings.onResolution?.(true);
      const endpoints = normalize(
        addresses.map((a) => a.includes(":") ? `[${a}]:${settings.port}` : `${a}:${settings.port}`),
      );
      const key = endpoints.join(",");
      if (key === last || stopped) return;
      last = key;
      await listener(endpoints);
    } catch (error) {
      settings.onResolution?.(false);
      settings.logger.warn("Cannot resolve the backends; keeping the last list", {
        hostname: settings.hostname,
        error,
      });
    } finally {
      clearTimeout(deadline);
    }
  }

  function schedule(listener: BackendsListener): void {
    if (stopped) return;
    timer = setTimeout(() => {
      running = resolveOnce(listener).finally(() => {
        running = undefined;
        schedule(listener);
      });
    }, settings.intervalMs);
  }

  return {
    async start(listener) {
      await resolveOnce(listener);
      schedule(listener);
    },
    async shutdown() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

/** The resolver a validated config asks for. */
export function resolverFor(
  config: LoadBalancingConfig["resolver"],
  logger: Logger,
  onResolution?: (success: boolean) => void,
): Resolver {
  if (config.static !== undefined) return staticResolver(config.static.hostnames);
  const dns = config.dns!;
  return dnsResolver({
    hostname: dns.hostname,
    port: dns.port,
    intervalMs: dns.interval,
    timeoutMs: dns.timeout,
    logger,
    ...(onResolution === undefined ? {} : { onResolution }),
  });
}
