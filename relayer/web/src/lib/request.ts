// The contract's `request_inference` message (contracts/inference-requester
// msg.rs) the Ask page signs: the prompt as text, or a tensor input with
// the dtype and shape the chain's registry records; either sealed in the
// page to the executor keys (docs/protocol.md §6) when asked, in which case
// `input` is the ciphertext and `sealed` the envelope; the plaintext leaves
// nothing behind.
import { bytesToBase64, utf8 } from "./encoding";
import type { InputEncoding } from "./ica";
import { parseRecipients, type RandomBytes, seal, type SealedEnvelope } from "./sealed";

export interface RequestInference {
  request_inference: {
    channel: string;
    model: string;
    /** base64: the prompt's UTF-8 bytes or the tensor's elements, or the
     *  ciphertext when sealed. */
    input: string;
    /** `"text"`, or `{"tensor":{"dtype","shape"}}` (the contract's enum). */
    encoding: InputEncoding;
    params: { seed: string };
    sealed?: SealedEnvelope;
    /** With `sealed` only: the requester's X25519 key (hex) the output is sealed to. */
    output_key?: string;
  };
}

export function requestInferenceMsg(opts: {
  channel: string;
  model: string;
  prompt: string;
  /** A tensor's bytes instead of the prompt, with its `encoding`. */
  input?: Uint8Array;
  encoding?: InputEncoding;
  seed: string;
  /** Executor X25519 keys (hex) to seal the prompt to; absent: plain text. */
  sealTo?: string[] | null;
  /** With `sealTo`: the requester's key (hex) to seal the output to. */
  outputKey?: string | null;
  random?: RandomBytes;
}): RequestInference {
  const base = { channel: opts.channel, model: opts.model, encoding: opts.encoding ?? ("text" as const), params: { seed: opts.seed } };
  const plain = opts.input ?? utf8(opts.prompt);
  if (!opts.sealTo) return { request_inference: { ...base, input: bytesToBase64(plain) } };
  const s = seal(plain, opts.model, parseRecipients(opts.sealTo), opts.random);
  const output = opts.outputKey ? { output_key: opts.outputKey } : {};
  return { request_inference: { ...base, input: bytesToBase64(s.ciphertext), sealed: s.envelope, ...output } };
}
