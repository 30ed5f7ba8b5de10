/**
 * The Forward protocol's shared-key handshake: the server opens with `HELO` (a nonce), the client
 * answers `PING` with `sha512_hex(salt + client_hostname + nonce + shared_key)`, the server checks
 * it and answers `PONG` with its own digest `sha512_hex(salt + server_hostname + nonce +
 * shared_key)`, so each side proves it knows the key without sending it.
 *
 * @module
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { encode } from "../../../lib/msgpack/encode.ts";
import type { MsgpackValue } from "../../../lib/msgpack/decode.ts";

const utf8 = new TextDecoder();

function text(value: MsgpackValue | undefined): string | undefined {
  if (typeof value === "string") return value;
  if (value instanceof Uint8Array) return utf8.decode(value);
  return undefined;
}

function sha512Hex(...parts: string[]): string {
  const hash = createHash("sha512");
  for (const p of parts) hash.update(p);
  return hash.digest("hex");
}

/** One connection's handshake state. */
export interface Handshake {
  /** The HELO message to send first. */
  readonly helo: Uint8Array;
  /** Checks a PING; returns the PONG to send and whether the client may go on. */
  answer(ping: MsgpackValue): { pong: Uint8Array; ok: boolean; reason: string };
}

/** Starts a handshake for one connection. */
export function startHandshake(sharedKey: string, selfHostname: string): Handshake {
  const nonce = randomBytes(16).toString("hex");
  const helo = encode(["HELO", { nonce, auth: "", keepalive: true }]);
  return {
    helo,
    answer(ping) {
      const refuse = (reason: string) => ({
        pong: encode(["PONG", false, reason, "", ""]),
        ok: false,
        reason,
      });
      if (!Array.isArray(ping) || text(ping[0]) !== "PING" || ping.length < 4) {
        return refuse("the first message after HELO must be PING");
      }
      const hostname = text(ping[1]) ?? "";
      const salt = text(ping[2]) ?? "";
      const digest = text(ping[3]) ?? "";
      const expected = sha512Hex(salt, hostname, nonce, sharedKey);
      const given = new TextEncoder().encode(digest);
      const wanted = new TextEncoder().encode(expected);
      if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
        return refuse("shared_key mismatch");
      }
      const proof = sha512Hex(salt, selfHostname, nonce, sharedKey);
      return { pong: encode(["PONG", true, "", selfHostname, proof]), ok: true, reason: "" };
    },
  };
}
