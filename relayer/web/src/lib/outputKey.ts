// Private outputs (docs/protocol.md §6.1): a request with a sealed prompt
// may name `output_key`, an X25519 key of the requester's; the executors
// then store, and the validators commit to, the output sealed to it as a
// SealedMessage JSON (`{"ciphertext","sealed"}`, context "<model>#output").
// The Ask page makes the key pair in the browser and keeps the secret in
// this browser's localStorage under the request; the request page opens
// the verified ciphertext with it. Nothing else ever holds the secret.
import { x25519 } from "@noble/curves/ed25519";
import { base64ToBytes, bytesToHex, fromUtf8, hexToBytes } from "./encoding";
import { openSealed, type SealedEnvelope } from "./sealed";

export interface OutputKey {
  /** 64 lowercase hex digits: the request's `output_key`. */
  publicHex: string;
  secretHex: string;
}

/** A fresh key pair from the browser's CSPRNG (or `random` in tests). */
export function newOutputKey(random: (n: number) => Uint8Array = (n) => crypto.getRandomValues(new Uint8Array(n))): OutputKey {
  const secret = random(32);
  return { publicHex: bytesToHex(x25519.getPublicKey(secret)), secretHex: bytesToHex(secret) };
}

const slot = (contract: string, id: string) => `chimera.output-secret.${contract}.${id}`;

/** Keeps the secret of request `id` of `contract` in this browser. */
export function rememberOutputSecret(store: Pick<Storage, "setItem">, contract: string, id: string, key: OutputKey): void {
  store.setItem(slot(contract, id), key.secretHex);
}

/** The secret this browser kept for request `id`, if any. */
export function outputSecretFor(store: Pick<Storage, "getItem">, contract: string, id: string): Uint8Array | null {
  const hex = store.getItem(slot(contract, id));
  return hex && /^[0-9a-f]{64}$/.test(hex) ? hexToBytes(hex) : null;
}

/** The context a sealed output is bound to. */
export const outputContext = (model: string) => `${model}#output`;

/** Opens a verified sealed output (the SealedMessage JSON bytes) with
 *  `secret`; throws saying why when it is not one or does not open. */
export function openSealedOutput(bytes: Uint8Array, model: string, secret: Uint8Array): Uint8Array {
  let m: { ciphertext?: unknown; sealed?: SealedEnvelope };
  try {
    m = JSON.parse(fromUtf8(bytes));
  } catch {
    throw new Error("the output is not a sealed message (not JSON)");
  }
  if (typeof m.ciphertext !== "string" || !m.sealed) throw new Error("the output is not a sealed message (no ciphertext and envelope)");
  return openSealed(m.sealed, base64ToBytes(m.ciphertext), outputContext(model), secret);
}
