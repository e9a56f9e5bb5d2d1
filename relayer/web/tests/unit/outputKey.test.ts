// Private outputs: the key pair, where the secret is kept, and opening an
// output sealed to it exactly as the executors seal it (the §6 envelope,
// context "<model>#output", as SealedMessage JSON).
import { describe, expect, it } from "vitest";
import { bytesToBase64, utf8 } from "../../src/lib/encoding";
import { newOutputKey, openSealedOutput, outputContext, outputSecretFor, rememberOutputSecret } from "../../src/lib/outputKey";
import { seal } from "../../src/lib/sealed";
import { hexToBytes } from "../../src/lib/encoding";

function memory(): Storage {
  const m = new Map<string, string>();
  return { getItem: (k) => m.get(k) ?? null, setItem: (k, v) => void m.set(k, v) } as Storage;
}

describe("private outputs", () => {
  it("keep the secret per contract and request", () => {
    const k = newOutputKey();
    expect(k.publicHex).toMatch(/^[0-9a-f]{64}$/);
    const s = memory();
    rememberOutputSecret(s, "terra1c", "7", k);
    expect(outputSecretFor(s, "terra1c", "7")).toEqual(hexToBytes(k.secretHex));
    expect(outputSecretFor(s, "terra1c", "8")).toBeNull();
    expect(outputSecretFor(s, "terra1other", "7")).toBeNull();
  });

  it("open an output sealed to the key, bound to the model's output context", () => {
    const k = newOutputKey();
    const png = utf8("\x89PNG pretend image bytes");
    const sealed = seal(png, outputContext("digits-ddpm"), [hexToBytes(k.publicHex)]);
    const message = utf8(JSON.stringify({ ciphertext: bytesToBase64(sealed.ciphertext), sealed: sealed.envelope }));
    expect(openSealedOutput(message, "digits-ddpm", hexToBytes(k.secretHex))).toEqual(png);
    // Another model's context, another key, or not a sealed message: refused.
    expect(() => openSealedOutput(message, "tiny-lm", hexToBytes(k.secretHex))).toThrow();
    expect(() => openSealedOutput(message, "digits-ddpm", hexToBytes(newOutputKey().secretHex))).toThrow(/not a recipient/);
    expect(() => openSealedOutput(png, "digits-ddpm", hexToBytes(k.secretHex))).toThrow(/not JSON/);
    expect(() => openSealedOutput(utf8("{}"), "digits-ddpm", hexToBytes(k.secretHex))).toThrow(/no ciphertext/);
  });
});
