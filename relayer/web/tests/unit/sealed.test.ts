// The page's sealer against chimera-packets' own bytes: the same inputs and
// random bytes as packets/tests/sealed_browser.rs give the same ciphertext
// and envelope (so Rust's SealedEnvelope::open opens what the page makes),
// and the page opens packet_sealed.json, sealed by Rust with the OS RNG.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { x25519 } from "@noble/curves/ed25519";
import { base64ToBytes, bytesToBase64, bytesToHex, fromUtf8, hexToBytes, utf8 } from "../../src/lib/encoding";
import { requestInferenceMsg } from "../../src/lib/request";
import { aad, envelopeJson, openSealed, parseRecipients, seal, SCHEME, type SealedEnvelope } from "../../src/lib/sealed";

interface Case {
  name: string;
  model: string;
  plaintext: string;
  executor_seeds: string[];
  executor_keys: string[];
  random: string;
  ciphertext: string;
  sealed_json: string;
}

const testdata = new URL("../../../../packets/testdata/", import.meta.url);
const read = (name: string) => JSON.parse(readFileSync(new URL(`${name}.json`, testdata), "utf8"));
const cases: Case[] = read("browser/sealed").cases;

/** Hands out the scripted bytes in order; fails the test if they run out or are left over. */
function scripted(hex: string) {
  const bytes = hexToBytes(hex);
  let pos = 0;
  const random = (n: number) => {
    if (pos + n > bytes.length) throw new Error("the sealer drew more random bytes than Rust's seal");
    const out = bytes.slice(pos, pos + n);
    pos += n;
    return out;
  };
  return { random, left: () => bytes.length - pos };
}

/** The public keys of the executor secrets 01..01 and 02..02. */
const keys = [1, 2].map((b) => bytesToHex(x25519.getPublicKey(new Uint8Array(32).fill(b))));

describe("browser/sealed.json (made by Rust's seal)", () => {
  it("has cases", () => expect(cases.length).toBeGreaterThanOrEqual(2));

  for (const c of cases) {
    it(`${c.name}: the same random bytes give Rust's exact bytes`, () => {
      const keys = c.executor_seeds.map((s) => bytesToHex(x25519.getPublicKey(hexToBytes(s))));
      expect(keys).toEqual(c.executor_keys);
      const r = scripted(c.random);
      const s = seal(utf8(c.plaintext), c.model, parseRecipients(c.executor_keys), r.random);
      expect(r.left()).toBe(0);
      expect(bytesToBase64(s.ciphertext)).toBe(c.ciphertext);
      expect(envelopeJson(s.envelope)).toBe(c.sealed_json);
      // The object the page puts in the contract message serializes the same.
      expect(JSON.stringify(s.envelope)).toBe(c.sealed_json);
    });

    it(`${c.name}: every executor opens it; other models and tampering fail`, () => {
      const env: SealedEnvelope = JSON.parse(c.sealed_json);
      const ct = base64ToBytes(c.ciphertext);
      for (const seed of c.executor_seeds) expect(fromUtf8(openSealed(env, ct, c.model, hexToBytes(seed)))).toBe(c.plaintext);
      const secret = hexToBytes(c.executor_seeds[0]);
      expect(() => openSealed(env, ct, `${c.model}x`, secret)).toThrow(/failed to decrypt/);
      const bad = ct.slice();
      bad[0] ^= 1;
      expect(() => openSealed(env, bad, c.model, secret)).toThrow(/failed to decrypt/);
      expect(() => openSealed(env, ct, c.model, new Uint8Array(32).fill(9))).toThrow(/not a recipient/);
      const wrapped = structuredClone(env);
      const wk = base64ToBytes(wrapped.recipients[0].wrapped_key);
      wk[3] ^= 1;
      wrapped.recipients[0].wrapped_key = bytesToBase64(wk);
      expect(() => openSealed(wrapped, ct, c.model, secret)).toThrow(/unwrap/);
    });
  }
});

describe("packet_sealed.json (Rust, OS randomness)", () => {
  it("opens with the executor seeds 01..01 and 02..02", () => {
    const v = read("packet_sealed");
    const env: SealedEnvelope = v.value.sealed;
    const ct = base64ToBytes(v.value.input.inline);
    for (const b of [1, 2]) {
      const plain = openSealed(env, ct, v.value.model, new Uint8Array(32).fill(b));
      expect(fromUtf8(plain)).toBe("a secret prompt");
    }
  });
});

describe("seal", () => {
  it("binds the model in the AAD", () => {
    expect(bytesToHex(aad("m"))).toBe(bytesToHex(utf8("chimera-sealed-v1\0m")));
  });

  it("draws fresh randomness each time (the browser's CSPRNG)", () => {
    const a = seal(utf8("same"), "digits-ddpm", parseRecipients(keys));
    const b = seal(utf8("same"), "digits-ddpm", parseRecipients(keys));
    expect(a.envelope.nonce).not.toBe(b.envelope.nonce);
    expect(bytesToHex(a.ciphertext)).not.toBe(bytesToHex(b.ciphertext));
    expect(a.envelope.scheme).toBe(SCHEME);
    expect(a.ciphertext.length).toBe(4 + 16);
    expect(fromUtf8(openSealed(b.envelope, b.ciphertext, "digits-ddpm", new Uint8Array(32).fill(2)))).toBe("same");
  });

  it("refuses no keys, too many, duplicates, malformed and low-order keys", () => {
    expect(() => parseRecipients([])).toThrow(/no executor/);
    expect(() => parseRecipients(Array.from({ length: 33 }, (_, i) => i.toString(16).padStart(64, "0")))).toThrow(/at most 32/);
    expect(() => parseRecipients([keys[0], keys[0]])).toThrow(/duplicate/);
    expect(() => parseRecipients([keys[0].toUpperCase()])).toThrow(/lowercase hex/);
    expect(() => seal(utf8("x"), "m", [hexToBytes(keys[0]), new Uint8Array(32)])).toThrow(/low-order/);
  });
});

describe("requestInferenceMsg", () => {
  it("plain: the prompt as base64 text", () => {
    const m = requestInferenceMsg({ channel: "channel-0", model: "digits-ddpm", prompt: "7", seed: "42" });
    expect(m).toEqual({
      request_inference: { channel: "channel-0", model: "digits-ddpm", input: "Nw==", encoding: "text", params: { seed: "42" } },
    });
  });

  it("sealed: the ciphertext as input, the envelope beside it, no plaintext", () => {
    const prompt = "a rather secret prompt";
    const m = requestInferenceMsg({ channel: "channel-0", model: "digits-ddpm", prompt, seed: "42", sealTo: keys });
    const r = m.request_inference;
    expect(r.sealed?.recipients.map((x) => x.executor)).toEqual(keys);
    const ct = base64ToBytes(r.input);
    expect(fromUtf8(openSealed(r.sealed!, ct, "digits-ddpm", new Uint8Array(32).fill(1)))).toBe(prompt);
    const json = JSON.stringify(m);
    expect(json).not.toContain(prompt);
    expect(json).not.toContain(bytesToBase64(utf8(prompt)));
  });

  it("tensor: the elements as input, the contract's tensor encoding, sealable too", () => {
    const elements = new Uint8Array(256).map((_, i) => i);
    const encoding = { tensor: { dtype: "f32", shape: [1, 8, 8] } };
    const m = requestInferenceMsg({ channel: "channel-0", model: "digits-cnn", prompt: "", input: elements, encoding, seed: "0" });
    // The contract's serde form: {"tensor":{"dtype":"f32","shape":[1,8,8]}}.
    expect(JSON.stringify(m.request_inference.encoding)).toBe('{"tensor":{"dtype":"f32","shape":[1,8,8]}}');
    expect(base64ToBytes(m.request_inference.input)).toEqual(elements);
    const sealed = requestInferenceMsg({ channel: "channel-0", model: "digits-cnn", prompt: "", input: elements, encoding, seed: "0", sealTo: keys });
    const r = sealed.request_inference;
    expect(openSealed(r.sealed!, base64ToBytes(r.input), "digits-cnn", new Uint8Array(32).fill(1))).toEqual(elements);
  });
});
