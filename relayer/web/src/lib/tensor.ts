// Canonical tensors (docs/protocol.md §4.2): tag ‖ rank ‖ dims (u64 LE) ‖
// little-endian elements; and JSON outputs reduced to numbers, for charts.

export interface Tensor {
  dtype: string;
  dims: number[];
  values: number[];
}

const DTYPES: Record<number, [string, number]> = {
  1: ["bool", 1], 2: ["u8", 1], 3: ["i8", 1], 4: ["i16", 2], 5: ["i32", 4],
  6: ["i64", 8], 7: ["f16", 2], 8: ["bf16", 2], 9: ["f32", 4], 10: ["f64", 8],
};

function f16(bits: number): number {
  const s = bits & 0x8000 ? -1 : 1;
  const e = (bits >> 10) & 0x1f;
  const f = bits & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

export function decodeTensor(b: Uint8Array): Tensor {
  if (b.length < 2) throw new Error("tensor: too short");
  const dt = DTYPES[b[0]];
  if (!dt) throw new Error(`tensor: unknown dtype tag ${b[0]}`);
  const rank = b[1];
  if (rank > 8) throw new Error(`tensor: rank ${rank} > 8`);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length < 2 + 8 * rank) throw new Error("tensor: truncated dimensions");
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(Number(view.getBigUint64(2 + 8 * i, true)));
  const n = dims.reduce((a, d) => a * d, 1);
  const [dtype, size] = dt;
  const start = 2 + 8 * rank;
  if (b.length - start !== n * size) {
    throw new Error(`tensor: ${b.length - start} element bytes, expected ${n} × ${size} for dims [${dims}]`);
  }
  const values: number[] = [];
  for (let i = 0; i < n; i++) {
    const o = start + i * size;
    switch (dtype) {
      case "bool": case "u8": values.push(view.getUint8(o)); break;
      case "i8": values.push(view.getInt8(o)); break;
      case "i16": values.push(view.getInt16(o, true)); break;
      case "i32": values.push(view.getInt32(o, true)); break;
      case "i64": values.push(Number(view.getBigInt64(o, true))); break;
      case "f16": values.push(f16(view.getUint16(o, true))); break;
      case "bf16": values.push(new DataView(new Uint32Array([view.getUint16(o, true) << 16]).buffer).getFloat32(0, true)); break;
      case "f32": values.push(view.getFloat32(o, true)); break;
      case "f64": values.push(view.getFloat64(o, true)); break;
    }
  }
  return { dtype, dims, values };
}

/** The numbers of a JSON output worth a chart: an array of numbers, or the
 *  first such array among an object's fields (e.g. `probabilities`). */
export function numbersOfJson(v: unknown): number[] | null {
  if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === "number")) return v as number[];
  if (Array.isArray(v) && v.length === 1) return numbersOfJson(v[0]);
  if (v && typeof v === "object" && !Array.isArray(v)) {
    for (const x of Object.values(v as Record<string, unknown>)) {
      const n = numbersOfJson(x);
      if (n) return n;
    }
  }
  return null;
}

/** Bars for a chart: at most `max` values, with their indices. */
export function bars(values: number[], max = 64): { index: number; value: number }[] {
  return values.slice(0, max).map((value, index) => ({ index, value }));
}
