/**
 * The otlp receiver's gRPC methods: the `Export` method of the OTLP trace, metrics and logs
 * services, for the signals with a consumer. Requests go into the pipeline still encoded, checked
 * to decode (`lib/otlp/validate.ts`) and held to the item budget (`_budget.ts`) first.
 *
 * With an authenticator, each call is authenticated from its metadata before the request is
 * looked at; a refused call ends `UNAUTHENTICATED` and nothing reaches the pipeline.
 *
 * @module
 */
import type { Consumer, SignalConsumers } from "../../../lib/consumer/consumer.ts";
import { AuthError, type ServerAuthenticator } from "../../../lib/net/auth.ts";
import { type GrpcCall, GrpcError, type GrpcUnaryHandler } from "../../../lib/net/grpc_server.ts";
import { GrpcCode } from "../../../lib/net/rpc_status.ts";
import { type ClientInfo, Payload } from "../../../lib/pdata/payload.ts";
import { type Signal, SIGNALS } from "../../../lib/pdata/types.ts";
import type { Logger } from "../../../lib/telemetry/logger.ts";
import type { Meter } from "../../../lib/telemetry/metrics.ts";
import { authenticatedClient } from "./_auth.ts";
import { admitProto } from "./_budget.ts";
import { itemCounters } from "./_observe.ts";
import { inputRefusal, pipelineRefusal } from "./_refusal.ts";
import { SIGNAL_CODECS } from "./_signals.ts";
import type { TenantGate } from "../../../lib/tenancy/gate.ts";
import type { ResourceMetadataSplitter } from "./_resource_metadata.ts";
import { deliver } from "./_deliver.ts";

/** What {@linkcode grpcMethods} needs. */
export interface GrpcMethodsOptions {
  readonly includeMetadata: boolean;
  readonly next: SignalConsumers;
  readonly logger: Logger;
  readonly meter: Meter;
  /** Checks every call's metadata before the call is handled, when set. */
  readonly authenticator?: ServerAuthenticator | undefined;
  /** The largest request message, which sets the item budget (`_budget.ts`). */
  readonly maxRecvMsgBytes: number;
  /** Per-tenant limits and counts, when configured. */
  readonly gate?: TenantGate | undefined;
  /** Request metadata from resource attributes (`metadata_from_resource`), when configured. */
  readonly split?: ResourceMetadataSplitter | undefined;
}

const NO_METADATA: ReadonlyMap<string, readonly string[]> = new Map();

/**
 * The methods whose requests may be cut from pooled slabs (`GrpcServerOptions.pooledRequests`):
 * those of pipelines that take the request still encoded. A pipeline that changes data decodes
 * every request at once, and decoding a pooled payload decodes a copy, so its requests keep
 * arrays of their own; with `metadata_from_resource` the split parts would point into the slab
 * without a lease.
 */
export function pooledGrpcMethods(
  next: SignalConsumers,
  split: ResourceMetadataSplitter | undefined,
): Set<string> {
  const methods = new Set<string>();
  if (split !== undefined) return methods;
  for (const signal of SIGNALS) {
    const consumer = next[signal];
    if (consumer !== undefined && !consumer.mutatesData) {
      methods.add(SIGNAL_CODECS[signal].grpcMethod);
    }
  }
  return methods;
}

/** The gRPC method handlers by full method path. */
export function grpcMethods(options: GrpcMethodsOptions): Map<string, GrpcUnaryHandler> {
  const { next, logger, authenticator } = options;
  const signals = SIGNALS.filter((s) => next[s] !== undefined);
  const counters = itemCounters(options.meter, "grpc", signals);
  const methods = new Map<string, GrpcUnaryHandler>();

  function handler<S extends Signal>(signal: S, consumer: Consumer<S>): GrpcUnaryHandler {
    const codec = SIGNAL_CODECS[signal];
    const count = counters.get(signal)!;
    return async (call) => {
      const client: ClientInfo = authenticator === undefined
        ? {
          metadata: options.includeMetadata ? call.metadata() : NO_METADATA,
          auth: new Map(),
          address: call.peer,
        }
        : await authenticate(authenticator, call);
      const early = options.split === undefined
        ? options.gate?.precheck(client, call.request.length, "grpc")
        : undefined;
      if (early !== undefined) {
        const refusal = pipelineRefusal(early);
        throw new GrpcError(refusal.code, refusal.message, { retryAfterMs: refusal.retryAfterMs });
      }
      // A request in a pooled slab is leased to the payload: whoever keeps it past `consume`
      // retains it, and the slab is cut again once the last holder released it.
      call.lease?.retain();
      const payload = call.lease === undefined
        ? Payload.fromProto(signal, call.request, codec.proto, client)
        : Payload.fromPooled(signal, call.request, call.lease, codec.proto, undefined, client);
      try {
        return await handle(payload, call.request.length);
      } finally {
        payload.release();
      }
    };

    async function handle(payload: Payload<S>, bytes: number): Promise<Uint8Array> {
      try {
        admitProto(
          payload,
          bytes,
          options.maxRecvMsgBytes,
          consumer.mutatesData,
          consumer.needs,
        );
      } catch (error) {
        const refusal = inputRefusal(error);
        if (refusal === undefined) throw error;
        throw new GrpcError(refusal.code, refusal.message, { cause: error });
      }
      const items = payload.itemCount;
      try {
        await deliver(consumer, payload, bytes, "grpc", options);
      } catch (error) {
        count.refused.add(items);
        logger.debug("The pipeline refused OTLP/gRPC data", { signal, error });
        const refusal = pipelineRefusal(error);
        throw new GrpcError(refusal.code, refusal.message, {
          cause: error,
          retryAfterMs: refusal.retryAfterMs,
        });
      }
      count.accepted.add(items);
      return codec.encodeResponse(undefined);
    }
  }

  async function authenticate(
    authenticator: ServerAuthenticator,
    call: GrpcCall,
  ): Promise<ClientInfo> {
    const metadata = call.metadata();
    let auth: ReadonlyMap<string, string>;
    try {
      auth = (await authenticator.authenticate(metadata)).auth;
    } catch (error) {
      if (!(error instanceof AuthError)) throw error;
      logger.debug("Refused an unauthenticated OTLP/gRPC call", { error: error.message });
      throw new GrpcError(GrpcCode.UNAUTHENTICATED, error.message, { cause: error });
    }
    return authenticatedClient(metadata, auth, options.includeMetadata, call.peer);
  }

  for (const signal of signals) {
    methods.set(SIGNAL_CODECS[signal].grpcMethod, handler(signal, next[signal] as Consumer));
  }
  return methods;
}
