// The ICA route's messages against chimera-packets' golden vectors
// (packets/testdata): the MsgRunInference an interchain account signs and
// the ICS-27 packet data that carries it, byte for byte.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { RequestAnswer } from "../../src/api";
import { base64ToBytes, bytesToHex, fromUtf8, hexToBytes, utf8 } from "../../src/lib/encoding";
import {
  encodeCosmosTx,
  encodeRegister,
  encodeRunInference,
  encodeSendTx,
  icaPacketJson,
  icaRegistryTypes,
  inferenceSendTx,
  MSG_RUN_INFERENCE,
  MSG_SEND_TX,
  ProtoWriter,
} from "../../src/lib/ica";
import { x25519 } from "@noble/curves/ed25519";
import { fundingNeeded } from "../../src/lib/icaFlow";
import { openSealed, parseRecipients, seal } from "../../src/lib/sealed";
import { recordMatchesJob, timelineOf } from "../../src/lib/timeline";
import { sha256Hex } from "../../src/lib/verify";

const testdata = new URL("../../../../packets/testdata/", import.meta.url);
const vector = (name: string) => JSON.parse(readFileSync(new URL(`${name}.json`, testdata), "utf8"));

/** The vectors' request: tiny-lm "Once upon a time", seed 42, three extras, 1 LUNC voucher. */
const golden = {
  signer: "chimera1y5rpzk6gdsrrxqjcmlq5tdlsj3ffxxrhe7w9kfu8lp4tf8c4t5nq3c6z6n",
  model: "tiny-lm",
  input: utf8("Once upon a time"),
  seed: 42n,
  extra: { top_k: "40", max_tokens: "32", temperature: "0.8" },
  fee: [{ denom: "ibc/8F7F3E4E0A6C8A1A3F1C8D9E3F1E5C0A9B0D7F1A2B3C4D5E6F708192A3B4C5D6", amount: "1000000" }],
};

describe("MsgRunInference", () => {
  it("encodes msg_run_inference.json byte for byte", async () => {
    const v = vector("msg_run_inference");
    const bytes = encodeRunInference(golden);
    expect(bytesToHex(bytes)).toBe(v.bytes_hex);
    expect(await sha256Hex(bytes)).toBe(v.sha256);
    expect(v.type_url).toBe(MSG_RUN_INFERENCE);
  });

  it("encodes a tensor input's spec (shape packed)", () => {
    const b = bytesToHex(
      encodeRunInference({ signer: "s", model: "m", input: Uint8Array.of(1, 2), encoding: { tensor: { dtype: "f32", shape: [1, 8, 300] } }, seed: 1n, fee: [] }),
    );
    // InputEncoding { tensor: TensorSpec { dtype "f32", shape [1, 8, 300] packed } }
    expect(b).toBe("0a0173" + "12016d" + "1a040a020102" + "220d1a0b" + "0a03663332" + "120401" + "08ac02" + "2a020801");
  });

  it("leaves proto3 defaults out but keeps present messages", () => {
    const b = bytesToHex(encodeRunInference({ signer: "s", model: "m", input: new Uint8Array(), seed: 0n, fee: [] }));
    // signer, model, an empty inline input, text encoding, empty params.
    expect(b).toBe("0a0173" + "12016d" + "1a020a00" + "22020a00" + "2a00");
  });
});

describe("ICS-27 packet data", () => {
  it("carries the MsgRunInference as ica_packet_proto3.json", async () => {
    const v = vector("ica_packet_proto3");
    const tx = encodeCosmosTx([{ typeUrl: MSG_RUN_INFERENCE, value: encodeRunInference(golden) }]);
    expect(icaPacketJson(tx)).toBe(v.bytes);
    expect(await sha256Hex(utf8(icaPacketJson(tx)))).toBe(v.sha256);
    expect(tx).toEqual(base64ToBytes(v.value.data));
  });

  it("MsgSendTx wraps it for the controller", () => {
    const r = inferenceSendTx({
      owner: "terra1owner",
      connectionId: "connection-0",
      ica: golden.signer,
      model: "digits-ddpm",
      prompt: "7",
      seed: "42",
      fee: [{ denom: "ibc/AB", amount: "100000" }],
      timeoutSeconds: 600,
    });
    expect(r.sealed).toBe(false);
    expect(r.msg.relativeTimeout).toBe(600_000_000_000n);
    const packet = JSON.parse(r.packet);
    expect(packet.type).toBe("TYPE_EXECUTE_TX");
    expect(base64ToBytes(packet.data)).toEqual(r.msg.packetData.data);
    const bytes = encodeSendTx(r.msg);
    const hex = bytesToHex(bytes);
    // owner, connection, packet data {type 1, data, memo ""}, timeout.
    expect(hex.startsWith("0a0b" + bytesToHex(utf8("terra1owner")) + "120c" + bytesToHex(utf8("connection-0")) + "1a")).toBe(true);
    expect(hex.endsWith("20" + "80e0a596bb11")).toBe(true); // varint(600e9)
    expect(hex).toContain("0801" + "12"); // TYPE_EXECUTE_TX then data
    // The registry type CosmJS calls.
    const t = icaRegistryTypes.find(([u]) => u === MSG_SEND_TX)![1];
    expect(t.encode(t.fromPartial(r.msg as never)).finish()).toEqual(bytes);
  });

  it("seals the prompt in the page when asked", () => {
    const secret = hexToBytes("77".repeat(32));
    const pub = bytesToHex(x25519.getPublicKey(secret));
    // The same "random" bytes twice: the page's message and a direct seal.
    const counter = () => {
      let i = 0;
      return (n: number) => Uint8Array.from({ length: n }, () => i++ & 0xff);
    };
    const r = inferenceSendTx({
      owner: "terra1owner",
      connectionId: "connection-0",
      ica: golden.signer,
      model: "digits-ddpm",
      prompt: "7",
      seed: "42",
      fee: [],
      timeoutSeconds: 600,
      sealTo: [pub],
      random: counter(),
    });
    expect(r.sealed).toBe(true);
    const s = seal(utf8("7"), "digits-ddpm", parseRecipients([pub]), counter());
    expect(fromUtf8(openSealed(s.envelope, s.ciphertext, "digits-ddpm", secret))).toBe("7");
    const want = encodeRunInference({ signer: golden.signer, model: "digits-ddpm", input: s.ciphertext, seed: 42n, sealed: s.envelope, fee: [] });
    const data = base64ToBytes(JSON.parse(r.packet).data);
    expect(data).toEqual(encodeCosmosTx([{ typeUrl: MSG_RUN_INFERENCE, value: want }]));
    // The ciphertext (17 bytes) travels, with the envelope; not the plaintext input.
    expect(bytesToHex(data)).toContain("1a13" + "0a11" + bytesToHex(s.ciphertext));
    expect(bytesToHex(data)).not.toContain("1a03" + "0a01" + "37");
    expect(bytesToHex(data)).toContain(bytesToHex(utf8("x25519-hkdf-sha256-chacha20poly1305-v1")));
  });

  it("MsgRegisterInterchainAccount leaves ordering out (ibc-go v7.4)", () => {
    const b = encodeRegister({ owner: "o", connectionId: "c", version: "{}" });
    expect(bytesToHex(b)).toBe("0a016f" + "120163" + "1a027b7d");
  });

  it("writes varints of any size", () => {
    expect(bytesToHex(new ProtoWriter().uint(1, 300n).finish())).toBe("08ac02");
    expect(bytesToHex(new ProtoWriter().uint(1, 2n ** 64n - 1n).finish())).toBe("08ffffffffffffffffff01");
    expect(() => inferenceSendTx({ owner: "o", connectionId: "c", ica: "i", model: "m", prompt: "p", seed: "-1", fee: [], timeoutSeconds: 1 })).toThrow(/seed/);
  });
});

describe("funding", () => {
  it("funds ten requests when the account lacks the fee", () => {
    expect(fundingNeeded(100_000n, 0n)).toBe(1_000_000n);
    expect(fundingNeeded(100_000n, 99_999n)).toBe(1_000_000n);
    expect(fundingNeeded(100_000n, 100_000n)).toBe(0n);
    expect(fundingNeeded(0n, 0n)).toBe(0n);
  });
});

describe("the ICA request's timeline", () => {
  const SHA = "cd".repeat(32);
  const answer = (status: "pending" | "succeeded" | "failed"): RequestAnswer => ({
    id: "channel-1/2",
    route: "ica",
    contract: null,
    record: {
      id: "channel-1/2",
      requester: "terra1owner",
      interchain_account: "chimera1ica",
      channel_id: "channel-1",
      model: "digits-ddpm",
      fee: { denom: "ibc/AB", amount: "100000" },
      created_height: 10,
      timeout: "1800000000000000000",
      status,
      ...(status === "succeeded"
        ? { outcome: { result: { job_id: "4", output_sha256: SHA, output_size: "9", output_encoding: "png" } } }
        : status === "failed"
          ? { outcome: { error: { code: 13, message: "ABCI code: 13: error handling packet: see events for details" } } }
          : {}),
    },
    terra: {
      tx: { hash: "TX", height: 10, time_ms: 1_000_000 },
      packet: { sequence: 2, source_channel: "channel-1", destination_channel: "channel-1" },
      ack: status === "pending" ? null : { kind: "acknowledge_packet", hash: "ACK", height: 14, time_ms: 1_004_000 },
    },
    job:
      status === "failed"
        ? null
        : {
            id: "4",
            model: "digits-ddpm",
            requester: "chimera1ica",
            status: status === "succeeded" ? "completed" : "pending",
            created_height: "20",
            port_id: "",
            channel_id: "",
            sequence: "0",
            result:
              status === "succeeded"
                ? { job_id: "4", model_hash: "00", output: { sha256: SHA, size: "9", encoding: "png" }, quorum: { height: "21", agreeing_power: "1", total_power: "1" } }
                : null,
            ack: null,
            error_code: 0,
            error: "",
          },
    reports: [],
  });

  it("says what the acknowledgement says, not a contract", () => {
    const tl = timelineOf(answer("succeeded"));
    expect(tl.finished).toBe(true);
    expect(tl.outcome).toBe("succeeded");
    expect(tl.steps[0].detail).toMatch(/MsgSendTx, packet channel-1 sequence 2/);
    const ack = tl.steps.find((s) => s.key === "ack")!;
    expect(ack.detail).toBe("the acknowledgement says: succeeded");
    expect(ack.height).toBe(14);
    expect(recordMatchesJob(answer("succeeded"))).toBeNull();
    const other = answer("succeeded");
    other.record.outcome!.result!.output_sha256 = "ef".repeat(32);
    expect(recordMatchesJob(other)).toMatch(/^the acknowledgement on Terra says/);
  });

  it("waits for the relayer while pending, and fails on an error ack", () => {
    const p = timelineOf(answer("pending"));
    expect(p.finished).toBe(false);
    expect(p.steps.find((s) => s.key === "ack")!.detail).toMatch(/interchain account's channel/);
    const f = timelineOf(answer("failed"));
    expect(f.outcome).toBe("failed");
    expect(f.steps.find((s) => s.key === "ack")!.state).toBe("failed");
  });
});
