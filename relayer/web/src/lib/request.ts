// The contract's `request_inference` message (contracts/inference-requester
// msg.rs) the Ask page signs: the prompt as text, or sealed in the page to
// the executor keys (docs/protocol.md §6), in which case `input` is the
// ciphertext and `sealed` the envelope; the plaintext leaves nothing behind.
import { bytesToBase64, utf8 } from "./encoding";
import { parseRecipients, type RandomBytes, seal, type SealedEnvelope } from "./sealed";

export interface RequestInference {
  request_inference: {
    channel: string;
    model: string;
    /** base64: the prompt's UTF-8 bytes, or the ciphertext when sealed. */
    input: string;
    encoding: "text";
    params: { seed: string };
    sealed?: SealedEnvelope;
  };
}

export function requestInferenceMsg(opts: {
  channel: string;
  model: string;
  prompt: string;
  seed: string;
  /** Executor X25519 keys (hex) to seal the prompt to; absent: plain text. */
  sealTo?: string[] | null;
  random?: RandomBytes;
}): RequestInference {
  const base = { channel: opts.channel, model: opts.model, encoding: "text" as const, params: { seed: opts.seed } };
  if (!opts.sealTo) return { request_inference: { ...base, input: bytesToBase64(utf8(opts.prompt)) } };
  const s = seal(utf8(opts.prompt), opts.model, parseRecipients(opts.sealTo), opts.random);
  return { request_inference: { ...base, input: bytesToBase64(s.ciphertext), sealed: s.envelope } };
}
