/**
 * Server-side TLS over a plain `Deno.TcpConn` that a deadline can really close. The servers accept
 * TCP with `Deno.listen` and run the TLS handshake here (`node:tls` over the connection), so
 * closing a connection closes its socket whatever state the handshake is in.
 *
 * Why not `Deno.listenTls`: measured on Deno 2.9.6, a `TlsConn` whose handshake has not finished
 * keeps its TCP socket open after `close()` (also with no handshake or read started, and after
 * `closeWrite()`): a client that opens a connection and sends nothing, or half a ClientHello, holds
 * a file descriptor for as long as it likes, and a few thousand of them exhaust the process's.
 * The price: bulk TLS reads cost about twice the CPU of Deno's own TLS (see `bench/RESULTS.md`).
 *
 * A {@linkcode TlsServerConn} has the byte methods of a `Deno.Conn` with the same error classes
 * (`BadResource` after close, `ConnectionReset` when the peer or TLS fails), so the HTTP/1.1,
 * HTTP/2 and stream servers use it as they use a plain connection.
 *
 * @module
 */
import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { Duplex } from "node:stream";
import tls from "node:tls";

/**
 * A server's accepted connection as tfo's servers use it: a plain `Deno.Conn` and a
 * {@linkcode TlsServerConn} are ones.
 */
export interface ServerConn {
  readonly remoteAddr: Deno.Addr;
  readonly localAddr: Deno.Addr;
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  closeWrite(): Promise<void>;
  close(): void;
}

/** Certificate, key and ALPN protocols of a TLS server, PEM text. */
export interface ServerTlsOptions {
  /** The certificate chain, PEM. */
  readonly cert: string;
  /** The private key, PEM. */
  readonly key: string;
  /** ALPN protocols offered, in order of preference. @default none */
  readonly alpnProtocols?: readonly string[] | undefined;
}

/** A server's TLS configuration, parsed once. */
export interface ServerTlsContext {
  readonly secureContext: tls.SecureContext;
  readonly alpnProtocols: string[] | undefined;
}

/** What a finished handshake agreed on. */
export interface ServerHandshakeInfo {
  /** The ALPN protocol chosen, or null when none was. */
  readonly alpnProtocol: string | null;
}

/** Decrypted bytes held for the reader before reads from the TCP socket wait. */
const HIGH_WATER = 1 << 20;
/** The largest read from the TCP connection at once. */
const TCP_READ = 64 * 1024;

/**
 * Parses the certificate and key, and checks that they belong together: Deno's
 * `tls.createSecureContext` takes any text and would fail every handshake later instead.
 * @throws {Error} `The TLS certificate cannot be read: …`, `The TLS key cannot be read: …` or
 * `The TLS key does not match the certificate`.
 */
export function serverTlsContext(options: ServerTlsOptions): ServerTlsContext {
  if (!options.cert.includes("-----BEGIN")) {
    throw new Error("The TLS certificate cannot be read: it is not PEM text");
  }
  if (!options.key.includes("-----BEGIN")) {
    throw new Error("The TLS key cannot be read: it is not PEM text");
  }
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(options.cert);
  } catch (error) {
    throw new Error(`The TLS certificate cannot be read: ${messageOf(error)}`, { cause: error });
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(options.key);
  } catch (error) {
    throw new Error(`The TLS key cannot be read: ${messageOf(error)}`, { cause: error });
  }
  if (!certificate.checkPrivateKey(key)) {
    throw new Error("The TLS key does not match the certificate");
  }
  return {
    secureContext: tls.createSecureContext({ cert: options.cert, key: options.key }),
    alpnProtocols: options.alpnProtocols === undefined ? undefined : [...options.alpnProtocols],
  };
}

/** A duplex stream over a Deno connection, and the gate on its reads. */
interface GatedDuplex {
  readonly duplex: Duplex;
  /** Does the TCP read that waited for the gate, if one did and the gate is open now. */
  readonly kick: () => void;
}

/**
 * A duplex stream over a Deno connection: what `node:tls` reads ciphertext from and writes it to.
 * Reads from the socket wait while `full()` says so: backpressure does not reach through a
 * paused `TLSSocket` to the stream under it in Deno's `node:tls` (measured: an unread connection
 * took in 128 MiB), so the gate sits here.
 */
function tcpDuplex(tcp: Deno.Conn, full: () => boolean): GatedDuplex {
  let reading = false;
  let wanted = false;
  const duplex: Duplex = new Duplex({
    read() {
      wanted = true;
      readSome();
    },
    write(chunk: Uint8Array, _encoding, callback) {
      (async () => {
        let off = 0;
        while (off < chunk.length) off += await tcp.write(chunk.subarray(off));
      })().then(() => callback(), callback);
    },
    final(callback) {
      tcp.closeWrite().then(() => callback(), () => callback());
    },
    destroy(error, callback) {
      try {
        tcp.close();
      } catch {
        // Already closed.
      }
      callback(error);
    },
  });
  function readSome(): void {
    if (reading || !wanted || full() || duplex.destroyed) return;
    reading = true;
    wanted = false;
    const buf = new Uint8Array(TCP_READ);
    tcp.read(buf).then(
      (n) => {
        reading = false;
        duplex.push(n === null ? null : buf.subarray(0, n));
      },
      (error) => {
        reading = false;
        duplex.destroy(error);
      },
    );
  }
  return { duplex, kick: readSome };
}

/**
 * One server-side TLS connection over a TCP connection. The handshake starts at construction;
 * reads and writes wait for it. {@linkcode TlsServerConn.close} closes the TCP socket at once.
 */
export class TlsServerConn implements ServerConn {
  /** The client's address. */
  readonly remoteAddr: Deno.NetAddr;
  /** The server's address of this connection. */
  readonly localAddr: Deno.NetAddr;
  readonly #tcp: Deno.Conn;
  readonly #socket: tls.TLSSocket;
  readonly #handshake: Promise<ServerHandshakeInfo>;
  readonly #chunks: Uint8Array[] = [];
  #buffered = 0;
  readonly #kick: () => void;
  #ended = false;
  #closed = false;
  #failure: Error | undefined;
  #waiter: (() => void) | undefined;

  /** Starts the handshake on `tcp`, which this object owns from now on. */
  constructor(tcp: Deno.Conn, context: ServerTlsContext) {
    this.#tcp = tcp;
    this.remoteAddr = tcp.remoteAddr as Deno.NetAddr;
    this.localAddr = tcp.localAddr as Deno.NetAddr;
    const { duplex, kick } = tcpDuplex(tcp, () => this.#buffered >= HIGH_WATER);
    this.#kick = kick;
    // A failing TCP read is reported by the TLS socket too; this listener only keeps the
    // duplex's own error event from being unhandled.
    duplex.on("error", () => {});
    const socket = new tls.TLSSocket(duplex, {
      isServer: true,
      secureContext: context.secureContext,
      ...(context.alpnProtocols === undefined ? {} : { ALPNProtocols: context.alpnProtocols }),
    });
    this.#socket = socket;
    this.#handshake = new Promise<ServerHandshakeInfo>((resolve, reject) => {
      socket.once("secure", () => {
        const alpn = socket.alpnProtocol;
        resolve({ alpnProtocol: typeof alpn === "string" ? alpn : null });
      });
      socket.once("close", () => reject(this.#failure ?? socketError("TLS connection closed")));
    });
    // Whoever awaits the handshake sees its failure; nobody awaiting must not be unhandled.
    this.#handshake.catch(() => {});
    socket.on("data", (chunk: Uint8Array) => {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
      this.#wake();
    });
    socket.on("end", () => {
      this.#ended = true;
      this.#wake();
    });
    socket.on("close", () => {
      this.#ended = true;
      this.#wake();
    });
    socket.on("error", (error: Error) => {
      this.#failure ??= socketError(`TLS connection failed: ${error.message}`, error);
      this.#wake();
    });
  }

  /** Resolves when the handshake is done; rejects when it fails or the connection closes first. */
  handshake(): Promise<ServerHandshakeInfo> {
    return this.#handshake;
  }

  /** Reads decrypted bytes into `p`; null at the end of the stream. */
  async read(p: Uint8Array): Promise<number | null> {
    if (this.#closed) throw new Deno.errors.BadResource("The connection is closed");
    await this.#handshake;
    while (this.#chunks.length === 0) {
      if (this.#closed) throw new Deno.errors.BadResource("The connection is closed");
      if (this.#failure !== undefined) throw this.#failure;
      if (this.#ended) return null;
      await new Promise<void>((resolve) => this.#waiter = resolve);
    }
    let n = 0;
    while (n < p.length && this.#chunks.length > 0) {
      const head = this.#chunks[0]!;
      const k = Math.min(p.length - n, head.length);
      p.set(head.subarray(0, k), n);
      n += k;
      if (k === head.length) this.#chunks.shift();
      else this.#chunks[0] = head.subarray(k);
    }
    this.#buffered -= n;
    this.#kick();
    return n;
  }

  /** Writes all of `p` (encrypted); resolves with its length once the socket took it. */
  async write(p: Uint8Array): Promise<number> {
    if (this.#closed) throw new Deno.errors.BadResource("The connection is closed");
    await this.#handshake;
    if (this.#failure !== undefined) throw this.#failure;
    const copy = p.slice();
    await new Promise<void>((resolve, reject) => {
      this.#socket.write(copy, (error?: Error | null) => {
        if (error === undefined || error === null) resolve();
        else reject(this.#closed ? new Deno.errors.BadResource("The connection is closed") : error);
      });
    });
    return copy.length;
  }

  /**
   * Sends TLS close_notify and half-closes the TCP connection once the bytes written before are
   * out. Resolves at once, without waiting for a peer that does not read: as with a TCP
   * half-close, the caller's deadlines decide how long to wait for the peer.
   */
  closeWrite(): Promise<void> {
    if (this.#closed) {
      return Promise.reject(new Deno.errors.BadResource("The connection is closed"));
    }
    this.#socket.end();
    return Promise.resolve();
  }

  /** Closes the TCP socket at once, in any state of the handshake. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#ended = true;
    try {
      this.#tcp.close();
    } catch {
      // Already closed.
    }
    this.#socket.destroy();
    this.#wake();
  }

  #wake(): void {
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.();
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function socketError(message: string, cause?: unknown): Error {
  return new Deno.errors.ConnectionReset(message, cause === undefined ? undefined : { cause });
}
