// The Ask page's input for a tensor model (digits-cnn reads f32[1, 8, 8]):
// paint cells on a grid, load the sample "7", or upload a picture (scaled
// to the model's size in grey levels) or a file of raw little-endian
// elements. It reports the exact bytes the request will carry, or why
// there are none yet.
import { useEffect, useState } from "preact/hooks";
import { describeSpec, f32Bytes, imageSize, inkLevels, levelsOf, rawTensor, SAMPLE_SEVEN, type TensorSpec } from "../lib/input";

export interface TensorValue {
  bytes: Uint8Array | null;
  /** What is wrong with the input, for the submit button to show. */
  error: string | null;
}

/** Scales a picture to w×h with the browser's smoothing, as RGBA. */
async function pictureRgba(file: Blob, w: number, h: number): Promise<Uint8ClampedArray> {
  const bitmap = await createImageBitmap(file);
  const canvas = document.createElement("canvas");
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d");
  if (!ctx) throw new Error("this browser cannot draw on a canvas");
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(bitmap, 0, 0, w, h);
  return ctx.getImageData(0, 0, w, h).data;
}

export function TensorInput({ spec, model, onChange }: { spec: TensorSpec; model: string; onChange: (v: TensorValue) => void }) {
  const size = imageSize(spec);
  const [cells, setCells] = useState<number[] | null>(size ? levelsOf(SAMPLE_SEVEN).slice(0, size.h * size.w) : null);
  const [source, setSource] = useState(size && size.h === 8 && size.w === 8 ? "the sample 7" : "");
  const [raw, setRaw] = useState<Uint8Array | null>(null);
  const [error, setError] = useState<string | null>(size ? null : `upload a file of ${describeSpec(spec)}`);
  const [paint, setPaint] = useState<number | null>(null);

  // Start empty unless the sample fits the grid.
  useEffect(() => {
    if (size && !(size.h === 8 && size.w === 8)) setCells(new Array(size.h * size.w).fill(0));
  }, [spec.dtype, spec.shape.join("x")]);

  useEffect(() => {
    if (error) onChange({ bytes: null, error });
    else if (raw) onChange({ bytes: raw, error: null });
    else if (cells) {
      onChange(cells.some((v) => v > 0) ? { bytes: f32Bytes(cells), error: null } : { bytes: null, error: "the grid is empty: paint a digit, load the sample or upload a picture" });
    }
  }, [cells, raw, error]);

  const setCell = (i: number, v: number) => {
    setRaw(null);
    setError(null);
    setSource("drawn here");
    setCells((c) => (c ? c.map((x, j) => (j === i ? v : x)) : c));
  };

  const onFile = async (ev: Event) => {
    const input = ev.target as HTMLInputElement;
    const file = input.files?.[0];
    if (!file) return;
    try {
      if (size && file.type.startsWith("image/")) {
        const levels = inkLevels(await pictureRgba(file, size.w, size.h), size.w, size.h);
        setRaw(null);
        setCells(levels);
        setSource(`${file.name}, scaled to ${size.w}×${size.h}`);
      } else {
        const bytes = rawTensor(new Uint8Array(await file.arrayBuffer()), spec);
        setRaw(bytes);
        setSource(`${file.name} (raw)`);
      }
      setError(null);
    } catch (e) {
      setRaw(null);
      setError(`${file.name}: ${(e as Error).message}`);
    }
  };

  return (
    <fieldset class="tensor-input">
      <legend>
        Input for {model}: {describeSpec(spec)}
      </legend>
      {size && cells && (
        <>
          <div
            class="pad"
            role="group"
            aria-label={`${size.h} by ${size.w} input: click or drag over cells to paint, again to erase`}
            style={{ gridTemplateColumns: `repeat(${size.w}, 1fr)` }}
            onPointerUp={() => setPaint(null)}
            onPointerLeave={() => setPaint(null)}
          >
            {cells.map((v, i) => (
              <button
                type="button"
                key={i}
                class="cell"
                data-testid="pad-cell"
                aria-label={`row ${Math.floor(i / size.w) + 1}, column ${(i % size.w) + 1}`}
                aria-pressed={v >= 0.5}
                style={{ background: `rgb(${Math.round(v * 255)}, ${Math.round(v * 255)}, ${Math.round(v * 255)})` }}
                onPointerDown={(e) => {
                  e.preventDefault();
                  const next = v >= 0.5 ? 0 : 1;
                  setPaint(next);
                  setCell(i, next);
                }}
                onPointerEnter={() => paint !== null && setCell(i, paint)}
                onKeyDown={(e) => {
                  if (e.key === "Enter" || e.key === " ") {
                    e.preventDefault();
                    setCell(i, v >= 0.5 ? 0 : 1);
                  }
                }}
              />
            ))}
          </div>
          <div class="pad-actions">
            {size.h === 8 && size.w === 8 && (
              <button
                type="button"
                onClick={() => {
                  setRaw(null);
                  setError(null);
                  setCells(levelsOf(SAMPLE_SEVEN));
                  setSource("the sample 7");
                }}
              >
                Sample 7
              </button>
            )}
            <button
              type="button"
              onClick={() => {
                setRaw(null);
                setError(null);
                setCells(new Array(size.h * size.w).fill(0));
                setSource("drawn here");
              }}
            >
              Clear
            </button>
          </div>
        </>
      )}
      <label>
        {size ? "Or upload a picture (scaled to the grid) or a raw file" : "Upload the input"} ({describeSpec(spec)}, little-endian, no header)
        <input type="file" name="tensor-file" accept={size ? "image/*,.f32,.bin,.raw" : ".f32,.bin,.raw,application/octet-stream"} onChange={onFile} />
      </label>
      <p class={`hint${error ? " error-text" : ""}`} data-testid="tensor-note" aria-live="polite">
        {error ?? (raw ? `${raw.length} bytes from ${source}` : `${spec.bytes} bytes from ${source}`)}
      </p>
    </fieldset>
  );
}
