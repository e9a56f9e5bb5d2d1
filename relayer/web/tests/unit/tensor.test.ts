import { describe, expect, it } from "vitest";
import { bars, decodeTensor, numbersOfJson } from "../../src/lib/tensor";

function f32Tensor(dims: number[], values: number[]): Uint8Array {
  const b = new Uint8Array(2 + 8 * dims.length + 4 * values.length);
  const v = new DataView(b.buffer);
  b[0] = 9;
  b[1] = dims.length;
  dims.forEach((d, i) => v.setBigUint64(2 + 8 * i, BigInt(d), true));
  values.forEach((x, i) => v.setFloat32(2 + 8 * dims.length + 4 * i, x, true));
  return b;
}

describe("tensors", () => {
  it("decodes the protocol's f32[10] example header", () => {
    const probs = [0.5, 0.25, 0.125, 0.125, 0, 0, 0, 0, 0, 0];
    const b = f32Tensor([10], probs);
    expect(b.length).toBe(50);
    expect(Array.from(b.slice(0, 10))).toEqual([9, 1, 10, 0, 0, 0, 0, 0, 0, 0]);
    expect(decodeTensor(b)).toEqual({ dtype: "f32", dims: [10], values: probs });
  });
  it("refuses a length that disagrees with the header", () => {
    expect(() => decodeTensor(f32Tensor([3], [1, 2]))).toThrow(/expected 3/);
    expect(() => decodeTensor(new Uint8Array([42, 0]))).toThrow(/dtype/);
  });
  it("finds numbers in JSON outputs and caps bars", () => {
    expect(numbersOfJson({ label: 3, probabilities: [0.1, 0.9] })).toEqual([0.1, 0.9]);
    expect(numbersOfJson([[1, 2, 3]])).toEqual([1, 2, 3]);
    expect(numbersOfJson({ text: "x" })).toBeNull();
    expect(bars([1, 2, 3], 2)).toEqual([{ index: 0, value: 1 }, { index: 1, value: 2 }]);
  });
});
