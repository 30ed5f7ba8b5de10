/**
 * The otlp receiver's gRPC methods: the `Export` method of the OTLP trace, metrics and logs
 * services, for the signals with a consumer. Requests go into the pipeline still encoded; only
 * their framing is checked.
 *
 * @module
 */
import type { Consumer, SignalConsumers } from "../../../lib/consumer/consumer.ts";
import { GrpcError, type GrpcUnaryHandler } from "../../../lib/net/grpc_server.ts";
import { type ClientInfo, Payload } from "../../../lib/pdata/payload.ts";
import { type Signal, SIGNALS } from "../../../lib/pdata/types.ts";
import type { Logger } from "../../../lib/telemetry/logger.ts";
import type { Meter } from "../../../lib/telemetry/metrics.ts";
import { itemCounters } from "./_observe.ts";
import { inputRefusal, pipelineRefusal } from "./_refusal.ts";
import { SIGNAL_CODECS } from "./_signals.ts";

/** What {@linkcode grpcMethods} needs. */
export interface GrpcMethodsOptions {
  readonly includeMetadata: boolean;
  readonly next: SignalConsumers;
  readonly logger: Logger;
  readonly meter: Meter;
}

const NO_METADATA: ReadonlyMap<string, readonly string[]> = new Map();

/** The gRPC method handlers by full method path. */
export function grpcMethods(options: GrpcMethodsOptions): Map<string, GrpcUnaryHandler> {
  const { next, logger } = options;
  const signals = SIGNALS.filter((s) => next[s] !== undefined);
  const counters = itemCounters(options.meter, "grpc", signals);
  const methods = new Map<string, GrpcUnaryHandler>();

  function handler<S extends Signal>(signal: S, consumer: Consumer<S>): GrpcUnaryHandler {
    const codec = SIGNAL_CODECS[signal];
    const count = counters.get(signal)!;
    return async (call) => {
      const client: ClientInfo = {
        metadata: options.includeMetadata ? call.metadata() : NO_METADATA,
        auth: new Map(),
        address: call.peer,
      };
      const payload = Payload.fromProto(signal, call.request, codec.proto, client);
      try {
        void payload.itemCount;
      } catch (error) {
        const refusal = inputRefusal(error);
        if (refusal === undefined) throw error;
        throw new GrpcError(refusal.code, refusal.message, { cause: error });
      }
      try {
        await consumer.consume(payload);
      } catch (error) {
        count.refused.add(payload.itemCount);
        logger.debug("The pipeline refused OTLP/gRPC data", { signal, error });
        const refusal = pipelineRefusal(error);
        throw new GrpcError(refusal.code, refusal.message, {
          cause: error,
          retryAfterMs: refusal.retryAfterMs,
        });
      }
      count.accepted.add(payload.itemCount);
      return codec.encodeResponse(undefined);
    };
  }

  for (const signal of signals) {
    methods.set(SIGNAL_CODECS[signal].grpcMethod, handler(signal, next[signal] as Consumer));
  }
  return methods;
}
