// The ICA route's messages (ICS-27 from a Terra Classic account, DESIGN §3):
// `MsgRunInference` (packets/proto/chimera/inference/v1/tx.proto) in a
// `CosmosTx` in `InterchainAccountPacketData`, sent by `MsgSendTx`; and
// `MsgRegisterInterchainAccount`. Encoded here with a tiny protobuf writer
// (fields in number order, proto3 defaults left out, sub-messages always
// written), the bytes prost writes in chimera-packets:
// tests/unit/ica.test.ts checks them against packets/testdata's
// msg_run_inference.json and ica_packet_proto3.json. Pure: no CosmJS here;
// `icaRegistryTypes` lets CosmJS's Registry sign these messages.
import { bytesToBase64, hexToBytes, base64ToBytes, utf8 } from "./encoding";
import { parseRecipients, type RandomBytes, seal, type SealedEnvelope } from "./sealed";

export const MSG_RUN_INFERENCE = "/chimera.inference.v1.MsgRunInference";
export const MSG_SEND_TX = "/ibc.applications.interchain_accounts.controller.v1.MsgSendTx";
export const MSG_REGISTER = "/ibc.applications.interchain_accounts.controller.v1.MsgRegisterInterchainAccount";
export const MSG_TRANSFER = "/ibc.applications.transfer.v1.MsgTransfer";
/** `InterchainAccountPacketData.type` TYPE_EXECUTE_TX. */
export const TYPE_EXECUTE_TX = 1;

/** A protobuf writer: just what these messages need. */
export class ProtoWriter {
  private parts: number[] = [];

  private varint(v: bigint): void {
    if (v < 0n) throw new Error("negative varint");
    while (v >= 0x80n) {
      this.parts.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.parts.push(Number(v));
  }

  private tag(field: number, wire: number): void {
    this.varint(BigInt((field << 3) | wire));
  }

  /** A uint64/enum field; 0 is left out (proto3). */
  uint(field: number, v: bigint | number): this {
    const b = BigInt(v);
    if (b !== 0n) {
      this.tag(field, 0);
      this.varint(b);
    }
    return this;
  }

  /** A bytes field, written even when empty when `always` (oneof members). */
  bytes(field: number, b: Uint8Array, always = false): this {
    if (b.length === 0 && !always) return this;
    this.tag(field, 2);
    this.varint(BigInt(b.length));
    for (const x of b) this.parts.push(x);
    return this;
  }

  /** A string field; "" is left out. */
  string(field: number, s: string): this {
    return this.bytes(field, utf8(s));
  }

  /** A packed repeated uint32 field (proto3's default); none: left out. */
  packed(field: number, vs: number[]): this {
    if (vs.length === 0) return this;
    const inner = new ProtoWriter();
    for (const v of vs) inner.varint(BigInt(v));
    return this.bytes(field, inner.finish());
  }

  /** A sub-message field: always written (a present message, even empty). */
  message(field: number, m: Uint8Array): this {
    return this.bytes(field, m, true);
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

export interface Coin {
  denom: string;
  amount: string;
}

const coin = (c: Coin) => new ProtoWriter().string(1, c.denom).string(2, c.amount).finish();

/** How the executor reads the input: text (a prompt), or a tensor as the
 *  registry names it (lib/input.ts's `tensorEncoding`). */
export type InputEncoding = "text" | { tensor: { dtype: string; shape: number[] } };

function inputEncoding(e: InputEncoding): Uint8Array {
  // InputEncoding { text: TextEncoding {} = 1 | tensor: TensorSpec = 3 }
  if (e === "text") return new ProtoWriter().message(1, new Uint8Array()).finish();
  return new ProtoWriter().message(3, new ProtoWriter().string(1, e.tensor.dtype).packed(2, e.tensor.shape).finish()).finish();
}

export interface RunInference {
  /** The interchain account on chimerad (`chimera1…`). */
  signer: string;
  model: string;
  /** The prompt's UTF-8 bytes (or a tensor's), or the ciphertext when sealed. */
  input: Uint8Array;
  /** Default: text. */
  encoding?: InputEncoding;
  seed: bigint;
  /** `Params.extra`, written in key order as chimera-packets keeps them. */
  extra?: Record<string, string>;
  sealed?: SealedEnvelope | null;
  receiver?: string;
  memo?: string;
  /** The most the account pays, in its LUNC voucher; empty: nothing. */
  fee: Coin[];
}

function sealedEnvelope(e: SealedEnvelope): Uint8Array {
  const w = new ProtoWriter().string(1, e.scheme).bytes(2, base64ToBytes(e.nonce));
  for (const r of e.recipients)
    w.message(
      3,
      new ProtoWriter().bytes(1, hexToBytes(r.executor)).bytes(2, base64ToBytes(r.ephemeral)).bytes(3, base64ToBytes(r.wrapped_key)).finish(),
    );
  return w.finish();
}

/** `MsgRunInference` with an inline input, as prost encodes it. */
export function encodeRunInference(m: RunInference): Uint8Array {
  const params = new ProtoWriter().uint(1, m.seed);
  for (const k of Object.keys(m.extra ?? {}).sort()) params.message(2, new ProtoWriter().string(1, k).string(2, m.extra![k]).finish());
  const w = new ProtoWriter()
    .string(1, m.signer)
    .string(2, m.model)
    .message(3, new ProtoWriter().bytes(1, m.input, true).finish())
    .message(4, inputEncoding(m.encoding ?? "text"))
    .message(5, params.finish());
  if (m.sealed) w.message(6, sealedEnvelope(m.sealed));
  w.string(7, m.receiver ?? "").string(8, m.memo ?? "");
  for (const c of m.fee) w.message(9, coin(c));
  return w.finish();
}

export interface AnyMsg {
  typeUrl: string;
  value: Uint8Array;
}

/** `CosmosTx { messages: [Any] }` (proto3 encoding of the channel). */
export function encodeCosmosTx(msgs: AnyMsg[]): Uint8Array {
  const w = new ProtoWriter();
  for (const a of msgs) w.message(1, new ProtoWriter().string(1, a.typeUrl).bytes(2, a.value).finish());
  return w.finish();
}

/** The packet bytes the controller sends for `cosmosTx`: the sorted-key
 *  JSON of `InterchainAccountPacketData` (what the host reads). */
export function icaPacketJson(cosmosTx: Uint8Array, memo = ""): string {
  return JSON.stringify({ data: bytesToBase64(cosmosTx), memo, type: "TYPE_EXECUTE_TX" });
}

export interface SendTx {
  owner: string;
  connectionId: string;
  packetData: { type: number; data: Uint8Array; memo: string };
  /** Nanoseconds. */
  relativeTimeout: bigint;
}

export function encodeSendTx(m: SendTx): Uint8Array {
  const pd = new ProtoWriter().uint(1, m.packetData.type).bytes(2, m.packetData.data).string(3, m.packetData.memo).finish();
  return new ProtoWriter().string(1, m.owner).string(2, m.connectionId).message(3, pd).uint(4, m.relativeTimeout).finish();
}

export interface RegisterAccount {
  owner: string;
  connectionId: string;
  /** The version metadata JSON (`/api/ica-info`'s `register_version`). */
  version: string;
}

/** `ordering` stays out: ibc-go v7.4 (Terra Classic v3.4) refuses the field. */
export function encodeRegister(m: RegisterAccount): Uint8Array {
  return new ProtoWriter().string(1, m.owner).string(2, m.connectionId).string(3, m.version).finish();
}

/** CosmJS `GeneratedType`s (encode/fromPartial) for these messages. */
function generated<T>(encode: (m: T) => Uint8Array) {
  return {
    encode: (m: T) => ({ finish: () => encode(m) }),
    decode: (): T => {
      throw new Error("decoding is not supported");
    },
    fromPartial: (m: T) => m,
  };
}

export const icaRegistryTypes: [string, ReturnType<typeof generated<never>>][] = [
  [MSG_SEND_TX, generated<SendTx>(encodeSendTx) as never],
  [MSG_REGISTER, generated<RegisterAccount>(encodeRegister) as never],
];

/** The `MsgSendTx` the page signs: `MsgRunInference` from `ica` through
 *  `owner`'s account on `connectionId`; the prompt sealed in the page when
 *  `sealTo` names executor keys (lib/sealed.ts). Also returns the packet
 *  bytes Terra will send, to check against its `send_packet` event. */
export function inferenceSendTx(opts: {
  owner: string;
  connectionId: string;
  ica: string;
  model: string;
  /** The text prompt; or `input` (a tensor's bytes) with its `encoding`. */
  prompt: string;
  input?: Uint8Array;
  encoding?: InputEncoding;
  seed: string;
  fee: Coin[];
  timeoutSeconds: number;
  sealTo?: string[] | null;
  random?: RandomBytes;
}): { msg: SendTx; packet: string; sealed: boolean } {
  if (!/^\d+$/.test(opts.seed)) throw new Error(`seed ${JSON.stringify(opts.seed)} is not a whole number`);
  let input = opts.input ?? utf8(opts.prompt);
  let sealed: SealedEnvelope | null = null;
  if (opts.sealTo) {
    const s = seal(input, opts.model, parseRecipients(opts.sealTo), opts.random);
    input = s.ciphertext;
    sealed = s.envelope;
  }
  const run = encodeRunInference({
    signer: opts.ica,
    model: opts.model,
    input,
    encoding: opts.encoding ?? "text",
    seed: BigInt(opts.seed),
    sealed,
    fee: opts.fee,
  });
  const data = encodeCosmosTx([{ typeUrl: MSG_RUN_INFERENCE, value: run }]);
  return {
    msg: {
      owner: opts.owner,
      connectionId: opts.connectionId,
      packetData: { type: TYPE_EXECUTE_TX, data, memo: "" },
      relativeTimeout: BigInt(opts.timeoutSeconds) * 1_000_000_000n,
    },
    packet: icaPacketJson(data),
    sealed: sealed !== null,
  };
}
