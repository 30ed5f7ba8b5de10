/**
 * The key table of the `apikeyauth` extension: keys from config and from a keys file, held as
 * SHA-256 digests of their secrets, and the constant-time check of a presented key.
 *
 * @module
 */
import { loadYaml } from "../../../lib/config/yaml.ts";
import { loadZod } from "../../../lib/config/zod.ts";
import { type ApiKeyConfig, apiKeyListSchema } from "./config.ts";

/** A key as the check needs it: its secret only as a digest. */
export interface KeyRecord {
  readonly id: string;
  readonly digest: Uint8Array;
  readonly workspaceId: string;
  readonly tenantId: string;
  readonly name: string | undefined;
}

const encoder = new TextEncoder();

/** The SHA-256 digest of a string's UTF-8 bytes. */
export async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * Whether two byte sequences are equal, in time that depends only on their lengths: every byte is
 * looked at, with no early exit. Lengths are not secret (digests are always 32 bytes); unequal
 * lengths are unequal at once.
 */
export function constantTimeEqual(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Digests one configured key. */
export async function toRecord(key: ApiKeyConfig): Promise<KeyRecord> {
  const digest = key.secret_sha256 !== undefined
    ? fromHex(key.secret_sha256)
    : await sha256(key.secret!);
  return {
    id: key.id,
    digest,
    workspaceId: key.workspace_id,
    tenantId: key.tenant_id,
    name: key.name,
  };
}

/** A keys file that cannot be used. */
export class KeysFileError extends Error {
  constructor(path: string, detail: string, options?: ErrorOptions) {
    super(`Cannot load keys_file "${path}": ${detail}`, options);
    this.name = "KeysFileError";
  }
}

/**
 * Reads a keys file: a YAML (or JSON) list of key entries. Messages name the entry and field at
 * fault and never echo a value.
 *
 * @throws {KeysFileError} when the file cannot be read, parsed or validated.
 */
export async function readKeysFile(path: string): Promise<ApiKeyConfig[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new KeysFileError(path, reason, { cause: error });
  }
  // Only a configured keys file loads the parsers (issue 18: the idle agent holds neither).
  const [{ parse: parseYaml }] = await Promise.all([loadYaml(), loadZod()]);
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    // The parser's message quotes the offending line, which may hold a secret.
    throw new KeysFileError(path, "not valid YAML or JSON", { cause: error });
  }
  const parsed = apiKeyListSchema.safeParse(raw ?? []);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length === 0
      ? "the file"
      : `entry ${Number(issue.path[0]) + 1}${
        issue.path.length > 1 ? ` field ${issue.path.slice(1).join(".")}` : ""
      }`;
    throw new KeysFileError(path, `${where}: ${issue.message}`);
  }
  return parsed.data;
}

/** The keys by ID, plus a decoy digest that unknown IDs are compared against. */
export interface KeyTable {
  readonly byId: ReadonlyMap<string, KeyRecord>;
  readonly decoy: KeyRecord;
}

/**
 * Builds the table from inline keys and file keys.
 *
 * @throws {Error} when an ID is defined in both, or when there is no key at all.
 */
export async function buildKeyTable(
  inline: readonly ApiKeyConfig[],
  fromFile: readonly ApiKeyConfig[],
  keysFile: string | undefined,
): Promise<KeyTable> {
  const byId = new Map<string, KeyRecord>();
  for (const key of inline) byId.set(key.id, await toRecord(key));
  for (const key of fromFile) {
    if (byId.has(key.id)) {
      throw new KeysFileError(keysFile ?? "", `key ID "${key.id}" is also defined in keys`);
    }
    byId.set(key.id, await toRecord(key));
  }
  if (byId.size === 0) throw new Error("No API keys are defined: keys and keys_file are empty");
  const decoy: KeyRecord = {
    id: "",
    digest: crypto.getRandomValues(new Uint8Array(32)),
    workspaceId: "",
    tenantId: "",
    name: undefined,
  };
  return { byId, decoy };
}

/**
 * The key matching `id` and `secret`, or undefined. A wrong secret and an unknown ID cost the same:
 * the presented secret is digested and compared, against the decoy when the ID is unknown.
 */
export async function checkKey(
  table: KeyTable,
  id: string,
  secret: string,
): Promise<KeyRecord | undefined> {
  const found = table.byId.get(id);
  const record = found ?? table.decoy;
  const equal = constantTimeEqual(await sha256(secret), record.digest);
  return equal && found !== undefined ? found : undefined;
}
