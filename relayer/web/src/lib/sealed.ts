// The sealed envelope of docs/protocol.md §6, in the browser: the same
// construction and bytes as chimera-packets' `seal` (packets/src/sealed.rs),
// built on audited primitives (@noble/curves x25519, @noble/hashes
// HKDF-SHA256, @noble/ciphers ChaCha20-Poly1305); nothing home-made but the
// glue. The prompt is encrypted once under a random content key, bound to
// the model (AAD "chimera-sealed-v1" || 0x00 || model); the content key is
// wrapped for each executor key with ephemeral-static X25519 and
// HKDF-SHA256(salt = E || R, info = "chimera-sealed-v1 key wrap").
//
// Randomness is drawn in seal's documented order (content key, nonce, one
// ephemeral secret per recipient) from `random`, so the same random bytes
// give the same ciphertext and envelope as Rust: tests/unit/sealed.test.ts
// checks that against packets/testdata/browser/sealed.json.
import { chacha20poly1305 } from "@noble/ciphers/chacha";
import { x25519 } from "@noble/curves/ed25519";
import { hkdf } from "@noble/hashes/hkdf";
import { sha256 } from "@noble/hashes/sha2";
import { base64ToBytes, bytesToBase64, bytesToHex, hexToBytes, utf8 } from "./encoding";

export const SCHEME = "x25519-hkdf-sha256-chacha20poly1305-v1";
export const MAX_RECIPIENTS = 32;
const AAD_PREFIX = utf8("chimera-sealed-v1");
const WRAP_INFO = utf8("chimera-sealed-v1 key wrap");
const ZERO_NONCE = new Uint8Array(12);

/** One executor's wrapped copy of the content key (keys in canonical order). */
export interface WrappedKey {
  ephemeral: string;
  executor: string;
  wrapped_key: string;
}

/** The envelope as the contract and the packet carry it (`sealed`). */
export interface SealedEnvelope {
  nonce: string;
  recipients: WrappedKey[];
  scheme: string;
}

export interface Sealed {
  /** ChaCha20-Poly1305 ciphertext with its 16-byte tag: the request's `input`. */
  ciphertext: Uint8Array;
  envelope: SealedEnvelope;
}

/** n random bytes; the browser's CSPRNG unless a test passes its own. */
export type RandomBytes = (n: number) => Uint8Array;

const osRandom: RandomBytes = (n) => crypto.getRandomValues(new Uint8Array(n));

/** `b"chimera-sealed-v1" || 0x00 || model`. */
export function aad(model: string): Uint8Array {
  const m = utf8(model);
  const out = new Uint8Array(AAD_PREFIX.length + 1 + m.length);
  out.set(AAD_PREFIX, 0);
  out.set(m, AAD_PREFIX.length + 1);
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** X25519(own, peer), refusing the all-zero result, then HKDF-SHA256 to the wrap key. */
function wrapKey(own: Uint8Array, peer: Uint8Array, ephPub: Uint8Array, recipientPub: Uint8Array): Uint8Array {
  let shared: Uint8Array;
  try {
    shared = x25519.getSharedSecret(own, peer);
  } catch {
    throw new Error("low-order X25519 public key");
  }
  if (shared.every((b) => b === 0)) throw new Error("low-order X25519 public key");
  return hkdf(sha256, shared, concat(ephPub, recipientPub), WRAP_INFO, 32);
}

/** Executor keys as 64 lowercase hex digits each, 1..=32 of them, no duplicates. */
export function parseRecipients(keys: string[]): Uint8Array[] {
  if (keys.length === 0) throw new Error("no executor has published a sealing key: the prompt cannot be sealed");
  if (keys.length > MAX_RECIPIENTS) throw new Error(`${keys.length} executor keys, at most ${MAX_RECIPIENTS} allowed`);
  const seen = new Set<string>();
  return keys.map((k) => {
    if (!/^[0-9a-f]{64}$/.test(k)) throw new Error(`executor key ${JSON.stringify(k)} is not 64 lowercase hex digits`);
    if (seen.has(k)) throw new Error(`duplicate sealed envelope recipient ${k}`);
    seen.add(k);
    return hexToBytes(k);
  });
}

/** Encrypts `plaintext` for `recipients` (X25519 public keys), bound to `model`. */
export function seal(plaintext: Uint8Array, model: string, recipients: Uint8Array[], random: RandomBytes = osRandom): Sealed {
  parseRecipients(recipients.map(bytesToHex));
  const contentKey = random(32);
  const nonce = random(12);
  const wrapped: WrappedKey[] = recipients.map((r) => {
    const eph = random(32);
    const ephPub = x25519.getPublicKey(eph);
    const w = wrapKey(eph, r, ephPub, r);
    return {
      ephemeral: bytesToBase64(ephPub),
      executor: bytesToHex(r),
      wrapped_key: bytesToBase64(chacha20poly1305(w, ZERO_NONCE).encrypt(contentKey)),
    };
  });
  const ciphertext = chacha20poly1305(contentKey, nonce, aad(model)).encrypt(plaintext);
  return { ciphertext, envelope: { nonce: bytesToBase64(nonce), recipients: wrapped, scheme: SCHEME } };
}

/** The envelope's canonical JSON (sorted keys, compact): Rust's to_canonical_vec. */
export function envelopeJson(e: SealedEnvelope): string {
  return JSON.stringify({
    nonce: e.nonce,
    recipients: e.recipients.map((r) => ({ ephemeral: r.ephemeral, executor: r.executor, wrapped_key: r.wrapped_key })),
    scheme: e.scheme,
  });
}

/** Opens `ciphertext` with an executor's X25519 secret (what the executor
 *  does; here for tests). Throws with the Rust error's words. */
export function openSealed(e: SealedEnvelope, ciphertext: Uint8Array, model: string, secret: Uint8Array): Uint8Array {
  if (e.scheme !== SCHEME) throw new Error(`unknown sealed envelope scheme ${JSON.stringify(e.scheme)}`);
  parseRecipients(e.recipients.map((r) => r.executor));
  if (ciphertext.length < 16) throw new Error(`sealed ciphertext is ${ciphertext.length} bytes, shorter than the 16-byte tag`);
  const own = bytesToHex(x25519.getPublicKey(secret));
  const entry = e.recipients.find((r) => r.executor === own);
  if (!entry) throw new Error("this key is not a recipient of the sealed envelope");
  const wrappedKey = base64ToBytes(entry.wrapped_key);
  if (wrappedKey.length !== 48) throw new Error(`wrapped key is ${wrappedKey.length} bytes, expected 48`);
  const ephPub = base64ToBytes(entry.ephemeral);
  const w = wrapKey(secret, ephPub, ephPub, hexToBytes(entry.executor));
  let contentKey: Uint8Array;
  try {
    contentKey = chacha20poly1305(w, ZERO_NONCE).decrypt(wrappedKey);
  } catch {
    throw new Error("could not unwrap the content key (wrong key or tampered wrapped key)");
  }
  try {
    return chacha20poly1305(contentKey, base64ToBytes(e.nonce), aad(model)).decrypt(ciphertext);
  } catch {
    throw new Error("sealed ciphertext failed to decrypt (tampered, wrong model or wrong key)");
  }
}
