// Tensor inputs for the Ask page: what the chain's registry says a model
// reads (`ModelInput`: dtype, shape, exact size), and the three ways a user
// makes one: a file of raw little-endian elements, an image scaled to the
// model's H×W in grey levels, or cells painted on a small grid. Pure
// functions; the canvas work stays in the component (pages/TensorInput.tsx).

/** A registered tensor input (`/api/models`' `tensor`). */
export interface TensorSpec {
  dtype: string;
  shape: number[];
  /** Exact size in bytes. */
  bytes: number;
}

/** `f32[1, 8, 8], 256 bytes`. */
export function describeSpec(s: TensorSpec): string {
  return `${s.dtype}[${s.shape.join(", ")}], ${s.bytes} bytes`;
}

/** The contract's (and the packet's) encoding of a tensor input. */
export function tensorEncoding(s: TensorSpec): { tensor: { dtype: string; shape: number[] } } {
  return { tensor: { dtype: s.dtype, shape: s.shape } };
}

/** Height and width when the input is one grey image (`[H, W]`, `[1, H, W]`
 *  or `[1, 1, H, W]` of f32, at most 64×64): then it can be drawn or made
 *  from a picture. Null for anything else (a raw file only). */
export function imageSize(s: TensorSpec): { h: number; w: number } | null {
  if (s.dtype !== "f32") return null;
  const dims = [...s.shape];
  while (dims.length > 2 && dims[0] === 1) dims.shift();
  if (dims.length !== 2) return null;
  const [h, w] = dims;
  if (h < 1 || w < 1 || h > 64 || w > 64 || h * w * 4 !== s.bytes) return null;
  return { h, w };
}

/** A raw file checked against the spec: the exact size, and for floats no
 *  NaN or infinity (the executor would refuse it after the fee is spent). */
export function rawTensor(bytes: Uint8Array, s: TensorSpec): Uint8Array {
  if (bytes.length !== s.bytes) {
    throw new Error(`the file has ${bytes.length} bytes; this model reads ${describeSpec(s)} (raw little-endian elements, no header)`);
  }
  if (s.dtype === "f32") {
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < bytes.length; i += 4) {
      if (!Number.isFinite(v.getFloat32(i, true))) throw new Error(`element ${i / 4} of the file is not a finite number`);
    }
  }
  return bytes;
}

/** Values in [0, 1] (clamped) as little-endian f32 bytes. */
export function f32Bytes(values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const v = new DataView(out.buffer);
  values.forEach((x, i) => v.setFloat32(i * 4, Math.min(1, Math.max(0, x)), true));
  return out;
}

/** Grey levels in [0, 1] of an RGBA image (ITU-R BT.601 luma, alpha over
 *  white), ink high: a picture that is mostly light (dark ink on paper) is
 *  inverted, so both a scan and the models' own dark-background images
 *  give bright strokes, as the digits models were trained. */
export function inkLevels(rgba: Uint8ClampedArray | Uint8Array, w: number, h: number): number[] {
  if (rgba.length !== w * h * 4) throw new Error(`expected ${w * h * 4} RGBA bytes, got ${rgba.length}`);
  const grey: number[] = [];
  for (let i = 0; i < w * h; i++) {
    const [r, g, b, a] = [rgba[4 * i], rgba[4 * i + 1], rgba[4 * i + 2], rgba[4 * i + 3] / 255];
    const y = (0.299 * r + 0.587 * g + 0.114 * b) / 255;
    grey.push(y * a + (1 - a));
  }
  const mean = grey.reduce((s, x) => s + x, 0) / grey.length;
  return mean > 0.5 ? grey.map((x) => 1 - x) : grey;
}

/** A sample the page offers: a "7" from digits-ddpm (seed 42), 8×8 grey
 *  levels 0–255, the same image the e2e suite feeds digits-cnn
 *  (e2e/src/inference.rs GOLDEN_SEVEN). */
export const SAMPLE_SEVEN: number[][] = [
  [0, 0, 60, 213, 255, 242, 48, 0],
  [0, 36, 240, 211, 220, 255, 76, 0],
  [0, 134, 241, 11, 154, 221, 3, 0],
  [0, 143, 195, 85, 233, 124, 13, 0],
  [0, 0, 21, 223, 255, 247, 96, 0],
  [0, 0, 59, 235, 213, 131, 53, 1],
  [1, 0, 5, 246, 59, 0, 2, 1],
  [0, 0, 79, 176, 8, 0, 0, 0],
];

/** 8-bit grey levels as the [0, 1] values a tensor input carries (÷ 255). */
export function levelsOf(rows: number[][]): number[] {
  return rows.flat().map((v) => v / 255);
}
