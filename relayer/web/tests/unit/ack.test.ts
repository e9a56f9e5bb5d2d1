// The page's ack decoding and verification against chimera-packets' golden
// vectors (packets/testdata): the bytes the host writes and Terra Classic
// (ibc-go) reads.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { AckDecodeError, commitmentOf, decodeAck, decodeInferenceResult, isSupermajority } from "../../src/lib/ack";
import { base64ToBytes, bytesToBase64, bytesToHex, hexToBytes, utf8 } from "../../src/lib/encoding";
import { sha256Hex, verifyOutput } from "../../src/lib/verify";

interface Vector {
  kind: string;
  description: string;
  bytes: string;
  sha256: string;
  value: Record<string, unknown>;
}

const testdata = new URL("../../../../packets/testdata/", import.meta.url);
const vector = (name: string): Vector => JSON.parse(readFileSync(new URL(`${name}.json`, testdata), "utf8"));

describe("golden vectors", () => {
  it("hash to their recorded sha256", async () => {
    for (const name of ["ack_result", "ack_result_inner", "ack_error_no_quorum"]) {
      const v = vector(name);
      expect(await sha256Hex(utf8(v.bytes)), name).toBe(v.sha256);
    }
  });

  it("ack_result decodes to its inner result and commitment", () => {
    const v = vector("ack_result");
    const ack = decodeAck(v.bytes);
    expect(ack.kind).toBe("result");
    if (ack.kind !== "result") return;
    const inner = vector("ack_result_inner");
    // The base64 holds exactly the inner vector's bytes.
    expect(new TextDecoder().decode(base64ToBytes(v.value.result as string))).toBe(inner.bytes);
    expect(ack.result).toEqual(decodeInferenceResult(utf8(inner.bytes)));
    expect(ack.result.jobId).toBe(7n);
    expect(ack.result.quorum).toEqual({ height: 1234n, agreeingPower: 30n, totalPower: 40n });
    expect(isSupermajority(ack.result.quorum)).toBe(true);
    const c = commitmentOf(ack);
    const out = (inner.value.output as Record<string, string>);
    expect(c).toEqual({ sha256: out.sha256, size: 9n, encoding: "png" });
  });

  it("the commitment verifies the bytes it was made from, and only those", async () => {
    // packets/tests/vectors.rs: output = sha256("png bytes"), 9 bytes;
    // model_hash = sha256("digits-ddpm.pt").
    const ack = decodeAck(vector("ack_result").bytes);
    if (ack.kind !== "result") throw new Error("not a result");
    expect(ack.result.modelHash).toBe(await sha256Hex(utf8("digits-ddpm.pt")));
    const c = commitmentOf(ack);
    const good = await verifyOutput(utf8("png bytes"), c);
    expect(good.ok).toBe(true);
    const tampered = utf8("png bytes");
    tampered[4] ^= 1;
    const bad = await verifyOutput(tampered, c);
    expect(bad.ok).toBe(false);
    expect(bad.reason).toContain(c.sha256);
    const short = await verifyOutput(utf8("png byte"), c);
    expect(short.ok).toBe(false);
    expect(short.reason).toContain("8 bytes");
  });

  it("ack_error_no_quorum decodes to its code", () => {
    const v = vector("ack_error_no_quorum");
    const ack = decodeAck(utf8(v.bytes));
    expect(ack).toEqual({ kind: "error", error: v.value.error, code: 12, codeName: "no_quorum" });
    expect(() => commitmentOf(ack)).toThrow(/job failed/);
  });
});

describe("decodeAck refuses", () => {
  const inner = () => JSON.parse(vector("ack_result_inner").bytes);
  const wrap = (o: unknown) => JSON.stringify({ result: bytesToBase64(utf8(JSON.stringify(o))) });
  it.each([
    ["not JSON", "{"],
    ["both keys", '{"result":"","error":"x"}'],
    ["no key", "{}"],
    ["an array", "[]"],
    ["bad base64", '{"result":"@@@@"}'],
    ["an empty error", '{"error":""}'],
  ])("%s", (_, text) => {
    expect(() => decodeAck(text)).toThrow(AckDecodeError);
  });
  it("numbers where u64 strings belong, unknown fields, bad hashes and encodings", () => {
    const cases = [
      { ...inner(), job_id: 7 },
      { ...inner(), extra: 1 },
      { ...inner(), model_hash: "C7" + inner().model_hash.slice(2) },
      { ...inner(), output: { ...inner().output, encoding: "gif" } },
      { ...inner(), output: { ...inner().output, size: "09" } },
      { ...inner(), quorum: { ...inner().quorum, height: "18446744073709551616" } },
    ];
    for (const c of cases) expect(() => decodeAck(wrap(c)), JSON.stringify(c)).toThrow(AckDecodeError);
    expect(decodeAck(wrap(inner())).kind).toBe("result");
  });
});

describe("helpers", () => {
  it("sha256 of known bytes", async () => {
    expect(await sha256Hex(new Uint8Array())).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(await sha256Hex(utf8("abc"))).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });
  it("hex round trips and refuses odd or non-hex input", () => {
    const b = new Uint8Array([0, 1, 0xab, 0xff]);
    expect(bytesToHex(b)).toBe("0001abff");
    expect(hexToBytes("0001ABff")).toEqual(b);
    expect(() => hexToBytes("abc")).toThrow();
    expect(() => hexToBytes("zz")).toThrow();
  });
  it("base64 round trips every padding and refuses junk", () => {
    for (const s of ["", "f", "fo", "foo", "foob", "fooba", "foobar"]) {
      const b64 = bytesToBase64(utf8(s));
      expect(b64).toBe(Buffer.from(s).toString("base64"));
      expect(new TextDecoder().decode(base64ToBytes(b64))).toBe(s);
    }
    expect(() => base64ToBytes("abc")).toThrow();
    expect(() => base64ToBytes("ab$=")).toThrow();
  });
});
