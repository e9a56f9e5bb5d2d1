// Tensor inputs the Ask page builds: sizes from the chain's registry
// record, raw files checked before a fee is spent, pictures to grey ink
// levels, and the bytes of the sample "7" equal to what the e2e suite
// sends digits-cnn.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decodeTensor } from "../../src/lib/tensor";
import { describeSpec, f32Bytes, imageSize, inkLevels, levelsOf, rawTensor, SAMPLE_SEVEN, tensorEncoding, type TensorSpec } from "../../src/lib/input";
import { sha256Hex } from "../../src/lib/verify";

const CNN: TensorSpec = { dtype: "f32", shape: [1, 8, 8], bytes: 256 };

describe("tensor inputs", () => {
  it("know which inputs are one grey image", () => {
    expect(imageSize(CNN)).toEqual({ h: 8, w: 8 });
    expect(imageSize({ dtype: "f32", shape: [28, 28], bytes: 3136 })).toEqual({ h: 28, w: 28 });
    expect(imageSize({ dtype: "f32", shape: [1, 1, 8, 8], bytes: 256 })).toEqual({ h: 8, w: 8 });
    expect(imageSize({ dtype: "f32", shape: [3, 8, 8], bytes: 768 })).toBeNull();
    expect(imageSize({ dtype: "u8", shape: [8, 8], bytes: 64 })).toBeNull();
    expect(imageSize({ dtype: "f32", shape: [1, 64], bytes: 256 })).toEqual({ h: 1, w: 64 });
    expect(describeSpec(CNN)).toBe("f32[1, 8, 8], 256 bytes");
    expect(tensorEncoding(CNN)).toEqual({ tensor: { dtype: "f32", shape: [1, 8, 8] } });
  });

  it("refuse raw files of the wrong size or with NaN", () => {
    expect(() => rawTensor(new Uint8Array(255), CNN)).toThrow(/255 bytes; this model reads f32\[1, 8, 8\], 256 bytes/);
    const nan = f32Bytes(new Array(64).fill(0));
    new DataView(nan.buffer).setFloat32(12, NaN, true);
    expect(() => rawTensor(nan, CNN)).toThrow(/element 3/);
    const ok = f32Bytes(new Array(64).fill(0.5));
    expect(rawTensor(ok, CNN)).toBe(ok);
  });

  it("turn pictures into bright ink on dark, whichever way they were drawn", () => {
    // Dark ink on white paper: inverted.
    const paper = new Uint8ClampedArray([255, 255, 255, 255, 0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255, 255]);
    expect(inkLevels(paper, 2, 2)).toEqual([0, 1, 0, 0]);
    // The models' own images (light strokes on black) are kept.
    const own = new Uint8ClampedArray([0, 0, 0, 255, 255, 255, 255, 255, 0, 0, 0, 255, 0, 0, 0, 255]);
    expect(inkLevels(own, 2, 2)).toEqual([0, 1, 0, 0]);
    // Transparent pixels count as white paper.
    expect(inkLevels(new Uint8ClampedArray([0, 0, 0, 0, 0, 0, 0, 255, 0, 0, 0, 0, 0, 0, 0, 0]), 2, 2)).toEqual([0, 1, 0, 0]);
    expect(() => inkLevels(new Uint8ClampedArray(3), 1, 1)).toThrow(/4 RGBA bytes/);
  });

  it("make the sample 7 byte-equal to the e2e suite's digits-cnn input", async () => {
    const bytes = f32Bytes(levelsOf(SAMPLE_SEVEN));
    expect(bytes.length).toBe(256);
    // Each element is f32(v) / 255 in f32 arithmetic, as Rust computes it.
    const t = decodeTensor(new Uint8Array([9, 1, ...new Uint8Array(new BigUint64Array([64n]).buffer), ...bytes]));
    expect(t.values[2]).toBe(Math.fround(60 / 255));
    // Pinned: Python's struct.pack("<f", v / 255) over the same pixels
    // (correctly rounded, as Rust's f32 division).
    expect(await sha256Hex(bytes)).toBe("8a9bf062da4bd4cff4adfb32701c7c13d64bc1dafbbcebcd5d81e732b39e190c");
    // An empty grid is the golden packet's tensor blob (packets/testdata).
    const golden = JSON.parse(readFileSync(new URL("../../../../packets/testdata/packet_tensor_blob.json", import.meta.url), "utf8"));
    expect(await sha256Hex(f32Bytes(new Array(64).fill(0)))).toBe(golden.value.input.blob.sha256);
  });
});
