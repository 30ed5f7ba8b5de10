/**
 * The `postgresql` exporter's connection pool: node-postgres (`pg`, pure JavaScript, chosen over
 * `postgres` by measurement: see `bench/RESULTS.md`) with `pg-copy-streams` for `COPY … FROM
 * STDIN`, behind a small typed surface. Also the classification of PostgreSQL errors into
 * retryable and permanent ones by SQLSTATE class.
 *
 * @module
 */
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { Buffer } from "node:buffer";
import {
  type ConsumerError,
  errorMessage,
  permanentError,
  retryableError,
} from "../../../lib/consumer/consumer.ts";
import type { PostgresqlConfig } from "./config.ts";

/** What node-postgres gives of one pooled connection. */
interface PgClient {
  query(sql: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
  query<T>(stream: T): T;
  release(error?: Error | boolean): void;
}

/** What node-postgres gives of a pool. */
interface PgPool {
  connect(): Promise<PgClient>;
  query(sql: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
  on(event: "error", listener: (error: Error) => void): void;
  end(): Promise<void>;
}

/** A writable COPY stream. */
interface CopyStream {
  write(chunk: Uint8Array): boolean;
  end(): void;
  on(event: "finish" | "error", listener: (error?: Error) => void): void;
  once(event: "drain", listener: () => void): void;
}

/** One COPY: its statement and its body (COPY text in UTF-8). */
export interface CopyJob {
  readonly statement: string;
  readonly body: Uint8Array;
}

/** The pool the exporter uses. */
export interface SqlPool {
  /** Runs statements one by one outside a transaction (DDL). */
  execute(statements: readonly string[]): Promise<void>;
  /** Runs a query with parameters, returning its rows. */
  query(sql: string, values: unknown[]): Promise<Record<string, unknown>[]>;
  /** Runs the COPYs in one transaction: all rows land or none. */
  copyAll(jobs: readonly CopyJob[], abort: AbortSignal): Promise<void>;
  /** Closes every connection. */
  close(): Promise<void>;
}

/** The TLS options node-postgres takes (`ssl`), from the PEM texts read at start. */
export interface PgTls {
  ca?: string;
  cert?: string;
  key?: string;
  rejectUnauthorized: boolean;
  servername?: string;
}

/** Where the endpoint points: host and port, or a Unix socket directory. */
export function parseEndpoint(endpoint: string): { host: string; port: number } {
  if (endpoint.startsWith("/")) return { host: endpoint, port: 5432 };
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(endpoint);
  if (bracket !== null) return { host: bracket[1]!, port: Number(bracket[2] ?? 5432) };
  const colon = endpoint.lastIndexOf(":");
  if (colon < 0) return { host: endpoint, port: 5432 };
  return { host: endpoint.slice(0, colon), port: Number(endpoint.slice(colon + 1)) };
}

const CHUNK = 256 * 1024;

async function copyOne(client: PgClient, job: CopyJob): Promise<void> {
  const stream = client.query(copyFrom(job.statement)) as unknown as CopyStream;
  await new Promise<void>((resolve, reject) => {
    stream.on("error", (error) => reject(error));
    stream.on("finish", () => resolve());
    const bytes = job.body;
    let at = 0;
    const pump = () => {
      while (at < bytes.length) {
        const chunk = Buffer.from(
          bytes.buffer,
          bytes.byteOffset + at,
          Math.min(CHUNK, bytes.length - at),
        );
        at += chunk.length;
        if (!stream.write(chunk)) {
          stream.once("drain", pump);
          return;
        }
      }
      stream.end();
    };
    pump();
  });
}

/** Opens a pool (lazily: no connection until the first query). */
export function openPool(
  config: PostgresqlConfig,
  tls: PgTls | undefined,
  onIdleError: (error: Error) => void,
): SqlPool {
  const { host, port } = parseEndpoint(config.endpoint);
  const pool = new pg.Pool({
    host,
    port,
    database: config.database,
    user: config.username,
    password: config.password,
    max: config.max_connections,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: config.timeout === 0 ? 10_000 : config.timeout,
    application_name: "tfo",
    ...(tls === undefined ? {} : { ssl: tls }),
  }) as PgPool;
  // A connection that dies while idle (server restart) must not be an uncaught error.
  pool.on("error", onIdleError);
  return {
    async execute(statements) {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        for (const sql of statements) await client.query(sql);
      } catch (error) {
        broken = error instanceof Error ? error : new Error(String(error));
        throw error;
      } finally {
        client.release(broken !== undefined && sqlState(broken) === undefined ? broken : undefined);
      }
    },
    async query(sql, values) {
      return (await pool.query(sql, values)).rows;
    },
    async copyAll(jobs, abort) {
      const client = await pool.connect();
      if (abort.aborted) {
        // The attempt's deadline passed while waiting for a connection: a late COPY could land
        // after the retry did, twice.
        client.release();
        throw new Error("The export attempt timed out waiting for a connection");
      }
      let destroy: Error | undefined;
      const onAbort = () => {
        destroy = new Error("The export attempt timed out");
        client.release(destroy); // closes the socket: the COPY fails and the server rolls back
      };
      abort.addEventListener("abort", onAbort, { once: true });
      try {
        await client.query("BEGIN");
        for (const job of jobs) await copyOne(client, job);
        await client.query("COMMIT");
      } catch (error) {
        if (destroy === undefined) {
          if (sqlState(error) !== undefined) {
            await client.query("ROLLBACK").catch(() => {});
          } else {
            destroy = error instanceof Error ? error : new Error(String(error));
            client.release(destroy);
          }
        }
        throw destroy !== undefined && abort.aborted ? destroy : error;
      } finally {
        abort.removeEventListener("abort", onAbort);
        if (destroy === undefined) client.release();
      }
    },
    close: () => pool.end(),
  };
}

/** The SQLSTATE of a server error, or undefined for anything else (network, timeout). */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * SQLSTATE classes that can pass: connection exceptions (08), transaction rollbacks such as
 * deadlocks and serialization failures (40), insufficient resources (53), operator intervention
 * such as a shutdown (57), system errors (58). Lock timeouts (55P03) and objects in use (55006)
 * too.
 */
const RETRYABLE_CLASSES = new Set(["08", "40", "53", "57", "58"]);
const RETRYABLE_STATES = new Set(["55P03", "55006"]);

/** Whether a failure may pass on retry: no SQLSTATE (no answer) or a retryable one. */
export function isRetryableSqlState(state: string | undefined): boolean {
  return state === undefined || RETRYABLE_CLASSES.has(state.slice(0, 2)) ||
    RETRYABLE_STATES.has(state);
}

/** A failed export as a consumer error, with the server's message and SQLSTATE. */
export function classifySqlFailure(context: string, error: unknown): ConsumerError {
  const state = sqlState(error);
  const detail = (error as { detail?: unknown } | null)?.detail;
  const text = errorMessage(error) +
    (typeof detail === "string" && detail !== "" ? ` (${detail})` : "") +
    (state === undefined ? "" : ` (SQLSTATE ${state})`);
  const message = `${context}: ${text}`;
  return isRetryableSqlState(state)
    ? retryableError(message, { cause: error })
    : permanentError(message, { cause: error });
}
