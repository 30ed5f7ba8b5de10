/**
 * Helpers of the HTTP/2 and gRPC crash and interop tests: a gRPC server in a child process (so a
 * runtime abort fails a test instead of killing the runner), client children with a time bound,
 * a raw HTTP/2 peer on a TCP socket, and a normal Export call to check the server still serves.
 */
import assert from "node:assert/strict";
import { GrpcClient } from "../../../../lib/net/grpc_client.ts";
import {
  CLIENT_PREFACE,
  encodeFrame,
  Flags,
  type Frame,
  FrameParser,
  FrameType,
  settingsFrame,
} from "../../../../lib/net/h2/frames.ts";
import { type HeaderField, HpackEncoder } from "../../../../lib/net/h2/hpack.ts";

const FIXTURES = new URL("../../../fixtures/grpc_stress/", import.meta.url).pathname;
/** The traces Export method. */
export const EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/** A server child. */
export interface ServerChild {
  readonly port: number;
  readonly pid: number;
  /** The child's resident memory in MiB (from /proc). */
  rssMiB(): Promise<number>;
  /** Whether it is still running. */
  alive(): boolean;
  /** The calls its handlers took so far. */
  requests(): Promise<number>;
  /** Its exit status once it died, for messages. */
  describe(): string;
  /** Stops it (SIGTERM) and returns how it ended. */
  stop(): Promise<Deno.CommandStatus>;
}

async function lines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void) {
  let rest = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    rest += text;
    let i;
    while ((i = rest.indexOf("\n")) >= 0) {
      onLine(rest.slice(0, i));
      rest = rest.slice(i + 1);
    }
  }
}

/** Starts `tests/fixtures/grpc_stress/server.ts` with `options` and waits until it listens. */
export async function startServer(options: Record<string, unknown> = {}): Promise<ServerChild> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${FIXTURES}server.ts`, JSON.stringify(options)],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr: string[] = [];
  const ready = Promise.withResolvers<number>();
  let status: Deno.CommandStatus | undefined;
  let statsWaiter: ((n: number) => void) | undefined;
  const out = lines(child.stdout, (l) => {
    if (l.startsWith("ready ")) ready.resolve(Number(l.slice(6)));
    if (l.startsWith("stats ")) statsWaiter?.(Number(l.split(" ")[1]));
  });
  const err = lines(child.stderr, (l) => {
    stderr.push(l);
    if (stderr.length > 30) stderr.shift();
  });
  const done = child.status.then((s) => {
    status = s;
    ready.reject(new Error(`The server child exited early: ${stderr.join("\n")}`));
    return s;
  });
  const port = await ready.promise;
  return {
    port,
    pid: child.pid,
    async rssMiB() {
      const text = await Deno.readTextFile(`/proc/${child.pid}/status`);
      const kb = Number(/VmRSS:\s+(\d+)/.exec(text)?.[1] ?? "0");
      return kb / 1024;
    },
    alive: () => status === undefined,
    requests() {
      const got = new Promise<number>((resolve) => statsWaiter = resolve);
      child.kill("SIGUSR1");
      return got;
    },
    describe: () =>
      status === undefined
        ? "running"
        : `exited with code ${status.code}, signal ${status.signal}: ${stderr.join("\n")}`,
    async stop() {
      if (status === undefined) {
        try {
          child.kill("SIGTERM");
        } catch {
          // Already gone.
        }
      }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch {
          // Already gone.
        }
      }, 10_000);
      const s = await done;
      clearTimeout(timer);
      await Promise.all([out, err]);
      return s;
    },
  };
}

/** What a client child printed and how it ended. */
export interface ChildResult {
  status: Deno.CommandStatus;
  stdout: string;
  stderr: string;
  /** The last stdout line as JSON, when it is JSON. */
  json: Record<string, unknown> | undefined;
}

/** Runs a child to its end, killing it after `timeoutMs`. */
export async function runChild(
  command: string,
  args: string[],
  timeoutMs = 60_000,
): Promise<ChildResult> {
  const child = new Deno.Command(command, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }, timeoutMs);
  const out = await child.output();
  clearTimeout(timer);
  const stdout = new TextDecoder().decode(out.stdout);
  const last = stdout.trim().split("\n").at(-1) ?? "";
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(last);
  } catch {
    json = undefined;
  }
  return {
    status: { code: out.code, signal: out.signal, success: out.success },
    stdout,
    stderr: new TextDecoder().decode(out.stderr),
    json,
  };
}

let nodeAvailable: boolean | undefined;

/** Runs `node_h2_client.mjs` under Node when installed, else under Deno's node:http2. */
export async function nodeH2Client(args: string[], timeoutMs = 60_000): Promise<ChildResult> {
  if (nodeAvailable === undefined) {
    try {
      nodeAvailable = (await new Deno.Command("node", { args: ["--version"], stdout: "null" })
        .output()).success;
    } catch {
      nodeAvailable = false;
    }
  }
  const script = `${FIXTURES}node_h2_client.mjs`;
  return nodeAvailable
    ? await runChild("node", [script, ...args], timeoutMs)
    : await runChild(Deno.execPath(), ["run", "-A", script, ...args], timeoutMs);
}

/** Runs the grpc-js client child. */
export function grpcJsClient(args: string[], timeoutMs = 60_000): Promise<ChildResult> {
  return runChild(
    Deno.execPath(),
    ["run", "-A", `${FIXTURES}grpcjs_client.ts`, ...args],
    timeoutMs,
  );
}

/** Checks that the server answers a normal Export call. */
export async function assertServes(server: ServerChild): Promise<void> {
  assert.ok(server.alive(), `The server died: ${server.describe()}`);
  const client = new GrpcClient({ target: `127.0.0.1:${server.port}`, tls: undefined });
  try {
    const response = await client.unary(EXPORT, new Uint8Array([10, 0]), { timeoutMs: 10_000 });
    assert.equal(response.length, 0);
  } finally {
    client.close();
  }
  assert.ok(server.alive(), `The server died: ${server.describe()}`);
}

/** A hand-driven HTTP/2 client on a raw socket. */
export class RawPeer {
  readonly conn: Deno.Conn;
  readonly frames: Frame[] = [];
  readonly encoder = new HpackEncoder();
  readonly closed: Promise<void>;
  #parser = new FrameParser(1 << 24);

  private constructor(conn: Deno.Conn) {
    this.conn = conn;
    this.closed = this.#read();
  }

  /** Connects; with `preface`, sends the client preface and an empty SETTINGS. */
  static async connect(port: number, preface = true): Promise<RawPeer> {
    const peer = new RawPeer(await Deno.connect({ hostname: "127.0.0.1", port }));
    if (preface) await peer.send(CLIENT_PREFACE, settingsFrame([]));
    return peer;
  }

  async #read(): Promise<void> {
    try {
      while (true) {
        const space = this.#parser.space();
        const n = await this.conn.read(space);
        if (n === null) return;
        this.#parser.commit(n);
        let f;
        while ((f = this.#parser.next()) !== undefined) {
          this.frames.push({ ...f, payload: f.payload.slice() });
        }
      }
    } catch {
      // Reset by the server, or closed by us.
    }
  }

  /** Writes the given byte strings; a write error (server closed) is ignored. */
  async send(...parts: Uint8Array[]): Promise<boolean> {
    try {
      for (const p of parts) {
        let offset = 0;
        while (offset < p.length) offset += await this.conn.write(p.subarray(offset));
      }
      return true;
    } catch {
      return false;
    }
  }

  /** A request's HEADERS frame. */
  headers(streamId: number, endStream: boolean, extra: HeaderField[] = []): Uint8Array {
    const block = this.encoder.encode([
      [":method", "POST"],
      [":scheme", "http"],
      [":path", EXPORT],
      [":authority", "127.0.0.1"],
      ["content-type", "application/grpc"],
      ["te", "trailers"],
      ...extra,
    ]);
    return encodeFrame(
      FrameType.HEADERS,
      Flags.END_HEADERS | (endStream ? Flags.END_STREAM : 0),
      streamId,
      block,
    );
  }

  /** A DATA frame holding one small gRPC message, ending the stream. */
  message(streamId: number): Uint8Array {
    return encodeFrame(
      FrameType.DATA,
      Flags.END_STREAM,
      streamId,
      new Uint8Array([0, 0, 0, 0, 2, 10, 0]),
    );
  }

  /** Waits until `predicate` holds for the frames so far, the socket closes, or the time is up. */
  async waitFor(predicate: (frames: Frame[]) => boolean, timeoutMs = 10_000): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    let closed = false;
    this.closed.then(() => closed = true);
    while (Date.now() < end) {
      if (predicate(this.frames)) return true;
      if (closed) return predicate(this.frames);
      await new Promise((r) => setTimeout(r, 20));
    }
    return predicate(this.frames);
  }

  /** The GOAWAY error code the server sent, if any. */
  goawayCode(): number | undefined {
    const g = this.frames.find((f) => f.type === FrameType.GOAWAY);
    if (g === undefined) return undefined;
    return new DataView(g.payload.buffer, g.payload.byteOffset).getUint32(4);
  }

  /** Closes the socket. */
  async close(): Promise<void> {
    try {
      this.conn.close();
    } catch {
      // Already closed.
    }
    await this.closed;
  }
}
