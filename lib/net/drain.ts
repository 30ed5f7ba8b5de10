/**
 * Draining an isolate's shared ports: what a worker of `service.workers` does when it fails
 * (an uncaught error, an unhandled rejection), so that its clients get a retryable answer instead
 * of a reset when it goes.
 *
 * Every server listening on a shared port (`SO_REUSEPORT`: tfo's HTTP/1.1 and gRPC servers with
 * `reusePort`) registers here for its life. {@linkcode refuseNewRequests} closes their listeners
 * (the kernel then gives new connections to the other workers' listeners on the port) and makes
 * them answer every request that arrives on a connection already open with a retryable refusal:
 * HTTP 503 with `Retry-After` and `Connection: close`, gRPC `UNAVAILABLE` with `RetryInfo` and a
 * GOAWAY so the client opens its next connection elsewhere. {@linkcode refuseRequestsInFlight}
 * then answers the same way every request still waiting for its pipeline (what the pipeline
 * answers later is dropped; the client's retry may make a duplicate, which at-least-once allows).
 *
 * The state is the isolate's, like the process's in-flight byte bound: a server belongs to the
 * isolate that opened its socket, and a draining isolate drains all of them.
 *
 * @module
 */

/** A server on a shared port, as the drain sees it. */
export interface DrainableServer {
  /** Closes the listener; answers requests that arrive from now on retryably. */
  refuseNew(retryAfterMs: number): void;
  /** Answers requests still waiting for their handler retryably, now. */
  refuseInFlight(retryAfterMs: number): void;
}

/**
 * How long a draining server keeps accepting before it closes its listener, in ms: connections
 * the kernel queued on it before it stopped choosing this listener are accepted (and refused
 * retryably) rather than reset by the close. Connections that reach the queue in the instant of
 * the close itself are still reset, unless `net.ipv4.tcp_migrate_req` is 1 (Linux 5.14+), which
 * moves them to another listener of the port.
 */
export const QUEUE_DRAIN_MS = 20;

const servers = new Set<DrainableServer>();
/** Set once the isolate drains: the retry delay its refusals carry. */
let drainingRetryMs: number | undefined;

/**
 * Registers a server on a shared port; returns the function that unregisters it (call it from
 * its shutdown). A server registered while the isolate drains refuses at once.
 */
export function registerSharedPortServer(server: DrainableServer): () => void {
  servers.add(server);
  if (drainingRetryMs !== undefined) server.refuseNew(drainingRetryMs);
  return () => servers.delete(server);
}

/** Whether {@linkcode refuseNewRequests} was called in this isolate. */
export function isDraining(): boolean {
  return drainingRetryMs !== undefined;
}

/**
 * Closes every shared-port listener of this isolate and makes its servers refuse every new
 * request retryably with `retryAfterMs` as the delay. Returns how many servers it told.
 */
export function refuseNewRequests(retryAfterMs: number): number {
  drainingRetryMs = retryAfterMs;
  for (const server of servers) server.refuseNew(retryAfterMs);
  return servers.size;
}

/** Answers retryably every request of this isolate's shared-port servers still in flight. */
export function refuseRequestsInFlight(): void {
  const retryAfterMs = drainingRetryMs ?? 1000;
  for (const server of servers) server.refuseInFlight(retryAfterMs);
}
