// Verification of an output against its commitment, in the browser: the
// SHA-256 of the bytes (WebCrypto) and their length must equal what the
// chain agreed. Nothing else (not the server, not the blob node) is trusted.

import type { Commitment } from "./ack";
import { bytesToHex } from "./encoding";

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new Error("WebCrypto is not available (open the page over http://127.0.0.1 or https)");
  // Copy into a fresh ArrayBuffer: a view's buffer may be larger or shared.
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return bytesToHex(new Uint8Array(await subtle.digest("SHA-256", copy.buffer)));
}

export interface Verification {
  ok: boolean;
  expectedSha256: string;
  actualSha256: string;
  expectedSize: bigint;
  actualSize: bigint;
  /** One sentence for the page. */
  reason: string;
}

export async function verifyOutput(bytes: Uint8Array, c: Commitment): Promise<Verification> {
  const actualSha256 = await sha256Hex(bytes);
  const actualSize = BigInt(bytes.byteLength);
  const hashOk = actualSha256 === c.sha256.toLowerCase();
  const sizeOk = actualSize === c.size;
  let reason: string;
  if (hashOk && sizeOk) reason = `sha256 ${actualSha256} of ${actualSize} bytes equals the commitment`;
  else if (!sizeOk)
    reason = `the blob node sent ${actualSize} bytes; the chain committed to ${c.size} bytes with sha256 ${c.sha256}`;
  else reason = `the bytes hash to ${actualSha256}; the chain committed to ${c.sha256}`;
  return {
    ok: hashOk && sizeOk,
    expectedSha256: c.sha256,
    actualSha256,
    expectedSize: c.size,
    actualSize,
    reason,
  };
}
