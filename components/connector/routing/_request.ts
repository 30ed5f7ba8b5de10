/**
 * The routing connector's `request` context: conditions of the form `request["name"] == "value"`
 * or `!=`, as the Collector's limited grammar, over the client's metadata (request headers or gRPC
 * metadata, names case-insensitive; the receiver must keep them, `include_metadata`). As a tfo
 * addition, `request["auth.<name>"]` reads what the server authenticator established instead
 * (`auth.tenant.id`, `auth.workspace.id` from `apikeyauth`), which a client cannot claim.
 *
 * @module
 */
import type { ClientInfo } from "../../../lib/pdata/payload.ts";

/** A parsed request condition. */
export interface RequestCondition {
  /** The metadata name, or the auth attribute after `auth.`. */
  readonly name: string;
  readonly auth: boolean;
  readonly equal: boolean;
  readonly value: string;
}

/** Parses a request condition, or returns the error message. */
export function parseRequestCondition(condition: string): RequestCondition | string {
  const comparators = condition.match(/==|!=/g) ?? [];
  if (comparators.length === 0) return "condition does not contain a valid comparator";
  if (comparators.length > 1) return "condition contains multiple comparators";
  const op = comparators[0]!;
  const at = condition.indexOf(op);
  const left = condition.slice(0, at).trim();
  const right = condition.slice(at + 2).trim();
  const field = /^request\["(.*)"\]$/.exec(left);
  if (field === null) return `condition must have format 'request["<name>"] <comparator> <value>'`;
  const value = /^"(.*)"$/.exec(right);
  if (value === null) {
    return `condition must have format 'request["<name>"] <comparator> "<value>"'`;
  }
  const name = field[1]!;
  const auth = name.startsWith("auth.");
  return {
    name: auth ? name.slice(5) : name.toLowerCase(),
    auth,
    equal: op === "==",
    value: value[1]!,
  };
}

/** True when the request the data came in matches (any of the values of a repeated name). */
export function matchRequest(c: RequestCondition, client: ClientInfo): boolean {
  if (c.auth) {
    const v = client.auth.get(c.name);
    return v !== undefined && (v === c.value) === c.equal;
  }
  const values = client.metadata.get(c.name) ?? [];
  return values.some((v) => (v === c.value) === c.equal);
}
