// ICS-04 acknowledgements of the `inference` application (docs/protocol.md
// §4): `{"result": base64(JSON InferenceResult)}` or `{"error": "..."}`,
// and the output commitment inside a result. Mirrors chimera-packets'
// `Acknowledgement::from_bytes` closely enough to refuse what it refuses.

import { base64ToBytes, fromUtf8 } from "./encoding";

export type OutputEncoding = "png" | "text" | "tensor" | "json";

/** What the chain agreed the output is: its SHA-256, size and encoding. */
export interface Commitment {
  sha256: string; // 64 lowercase hex digits
  size: bigint;
  encoding: OutputEncoding;
}

export interface Quorum {
  height: bigint;
  agreeingPower: bigint;
  totalPower: bigint;
}

export interface InferenceResult {
  jobId: bigint;
  modelHash: string;
  output: Commitment;
  quorum: Quorum;
}

export type Ack =
  | { kind: "result"; result: InferenceResult }
  | { kind: "error"; error: string; code?: number; codeName?: string };

export class AckDecodeError extends Error {}

const ENCODINGS: readonly string[] = ["png", "text", "tensor", "json"];

function u64(v: unknown, field: string): bigint {
  if (typeof v !== "string" || !/^(0|[1-9][0-9]{0,19})$/.test(v)) {
    throw new AckDecodeError(`${field}: expected a u64 as a decimal string, got ${JSON.stringify(v)}`);
  }
  const n = BigInt(v);
  if (n > 0xffffffffffffffffn) throw new AckDecodeError(`${field}: ${v} exceeds u64`);
  return n;
}

function hex32(v: unknown, field: string): string {
  if (typeof v !== "string" || !/^[0-9a-f]{64}$/.test(v)) {
    throw new AckDecodeError(`${field}: expected 64 lowercase hex digits, got ${JSON.stringify(v)}`);
  }
  return v;
}

function object(v: unknown, field: string, keys: string[]): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new AckDecodeError(`${field}: expected an object`);
  }
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!keys.includes(k)) throw new AckDecodeError(`${field}: unknown field ${JSON.stringify(k)}`);
  }
  for (const k of keys) {
    if (!(k in o)) throw new AckDecodeError(`${field}: missing field ${JSON.stringify(k)}`);
  }
  return o;
}

function parseJson(bytes: Uint8Array, what: string): unknown {
  let text: string;
  try {
    text = fromUtf8(bytes);
  } catch {
    throw new AckDecodeError(`${what} is not UTF-8`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new AckDecodeError(`${what} is not JSON: ${(e as Error).message}`);
  }
}

/** The JSON inside a result ack's base64 (vector `ack_result_inner`). */
export function decodeInferenceResult(bytes: Uint8Array): InferenceResult {
  const o = object(parseJson(bytes, "the result"), "result", ["job_id", "model_hash", "output", "quorum"]);
  const out = object(o.output, "output", ["encoding", "sha256", "size"]);
  const q = object(o.quorum, "quorum", ["agreeing_power", "height", "total_power"]);
  if (typeof out.encoding !== "string" || !ENCODINGS.includes(out.encoding)) {
    throw new AckDecodeError(`output.encoding: ${JSON.stringify(out.encoding)} is not png, text, tensor or json`);
  }
  return {
    jobId: u64(o.job_id, "job_id"),
    modelHash: hex32(o.model_hash, "model_hash"),
    output: {
      sha256: hex32(out.sha256, "output.sha256"),
      size: u64(out.size, "output.size"),
      encoding: out.encoding as OutputEncoding,
    },
    quorum: {
      height: u64(q.height, "quorum.height"),
      agreeingPower: u64(q.agreeing_power, "quorum.agreeing_power"),
      totalPower: u64(q.total_power, "quorum.total_power"),
    },
  };
}

/** Decodes acknowledgement bytes (or their text): a result or an error. */
export function decodeAck(ack: Uint8Array | string): Ack {
  const bytes = typeof ack === "string" ? new TextEncoder().encode(ack) : ack;
  const v = parseJson(bytes, "the acknowledgement");
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new AckDecodeError("the acknowledgement is not a JSON object");
  }
  const keys = Object.keys(v);
  if (keys.length !== 1 || (keys[0] !== "result" && keys[0] !== "error")) {
    throw new AckDecodeError(`the acknowledgement must hold exactly "result" or "error", not ${JSON.stringify(keys)}`);
  }
  const o = v as Record<string, unknown>;
  if (keys[0] === "error") {
    if (typeof o.error !== "string" || o.error === "") throw new AckDecodeError("error: expected a non-empty string");
    const m = /^chimera: code (\d+) \(([a-z_]+)\)/.exec(o.error);
    return m
      ? { kind: "error", error: o.error, code: Number(m[1]), codeName: m[2] }
      : { kind: "error", error: o.error };
  }
  if (typeof o.result !== "string") throw new AckDecodeError("result: expected base64 text");
  let inner: Uint8Array;
  try {
    inner = base64ToBytes(o.result);
  } catch (e) {
    throw new AckDecodeError(`result: ${(e as Error).message}`);
  }
  return { kind: "result", result: decodeInferenceResult(inner) };
}

/** The output commitment of a result ack; throws for an error ack. */
export function commitmentOf(ack: Ack): Commitment {
  if (ack.kind === "error") throw new AckDecodeError(`no output: the job failed (${ack.error})`);
  return ack.result.output;
}

/** Whether the quorum is the protocol's supermajority (more than 2/3). */
export function isSupermajority(q: Quorum): boolean {
  return q.totalPower > 0n && 3n * q.agreeingPower > 2n * q.totalPower;
}
