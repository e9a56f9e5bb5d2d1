//! Sketches: the small integer fingerprints of an output that validators
//! agree on (DESIGN §2), and `agree`, the integer tolerance rule.
//!
//! Exact output hashes agree only among identical machines (float kernels
//! differ in the last bits between CPUs, GPUs and thread counts), so the
//! quorum is decided on sketches: each is computed from the exact output
//! bytes by a pure function (`sketch_of_output`), so anyone holding a blob
//! can recompute its sketch, and `agree` compares two sketches with integers
//! only. No libtorch here: consensus links this module.

use chimera_packets::OutputEncoding;
use serde::Deserialize;

use super::output::{decode_png, decode_tensor};

/// Most values one sketch holds (bounds decoding of untrusted bytes).
pub const MAX_SKETCH_VALUES: usize = 1 << 16;

/// Which fingerprint a model's outputs get (`[model.sketch] rule`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SketchRule {
    /// Probabilities f32[K] in [0, 1]: argmax and quantized probabilities.
    Classify,
    /// Vector f32[D] in [-1, 1]: sign bits and quantized values.
    Embedding,
    /// PNG image: a quantized thumbnail of its pixels.
    Image,
    /// Text from a token sampler: the token ids (bytes for a byte vocab).
    Tokens,
}

/// `[model.sketch]` of a manifest.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SketchSpec {
    pub rule: SketchRule,
    /// Quantization levels of a value's range (2..=65536).
    #[serde(default = "default_levels")]
    pub levels: u32,
    /// L-infinity tolerance, in levels.
    #[serde(default)]
    pub tolerance: u32,
    /// Image rule: the thumbnail's side in cells (1..=64).
    #[serde(default = "default_thumb")]
    pub thumb: u32,
    /// Tokens rule: the re-scoring tolerance of `verify_tokens`, in logits
    /// (a decimal string, as every float in a manifest).
    #[serde(default)]
    pub logit_tolerance: Option<String>,
}

fn default_levels() -> u32 {
    256
}

fn default_thumb() -> u32 {
    8
}

impl SketchSpec {
    /// Checks the numbers: a manifest with a bad sketch is refused.
    pub fn validate(&self) -> Result<(), String> {
        if !(2..=65536).contains(&self.levels) {
            return Err(format!("sketch.levels {} is not in 2..=65536", self.levels));
        }
        if self.tolerance >= self.levels {
            return Err(format!("sketch.tolerance {} is not below levels", self.tolerance));
        }
        if !(1..=64).contains(&self.thumb) {
            return Err(format!("sketch.thumb {} is not in 1..=64", self.thumb));
        }
        if let Some(t) = &self.logit_tolerance {
            match t.parse::<f64>() {
                Ok(v) if v.is_finite() && v >= 0.0 => {}
                _ => return Err(format!("sketch.logit_tolerance {t:?} is not a number >= 0")),
            }
        }
        Ok(())
    }

    /// The tokens rule's logit tolerance (0 when unset).
    pub fn logit_tolerance(&self) -> f64 {
        self.logit_tolerance
            .as_deref()
            .and_then(|t| t.parse().ok())
            .unwrap_or(0.0)
    }
}

/// An output's fingerprint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sketch {
    /// The argmax and every probability quantized to `levels` over [0, 1].
    Classify { label: u32, probs: Vec<u16> },
    /// Sign bits (1 = non-negative, LSB first) and values quantized over [-1, 1].
    Embedding { signs: Vec<u8>, values: Vec<u16> },
    /// A `cols × rows` thumbnail of mean pixel values, quantized over 0..=255.
    Image { cols: u32, rows: u32, cells: Vec<u16> },
    /// The sampled token ids.
    Tokens { tokens: Vec<u32> },
}

/// Why an output has no sketch.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SketchError {
    #[error("sketch: the {rule:?} rule does not apply to {encoding:?} output")]
    WrongEncoding {
        rule: SketchRule,
        encoding: OutputEncoding,
    },
    #[error("sketch: {0}")]
    BadOutput(String),
}

/// Quantizes `x` in `[lo, hi]` to `0..levels` by rounding to the nearest
/// level (docs/models.md): `floor((x - lo) / (hi - lo) × (levels - 1) + 0.5)`
/// in f64, clamped to `0..=levels-1`. `x` must be finite.
pub fn quantize(x: f32, lo: f64, hi: f64, levels: u32) -> u16 {
    let v = ((x as f64 - lo) / (hi - lo) * (levels - 1) as f64 + 0.5).floor();
    v.clamp(0.0, (levels - 1) as f64) as u16
}

/// Quantizes a byte `v` to `0..levels`, integers only:
/// `floor(v × (levels - 1) / 255 + 0.5)`.
pub fn quantize_u8(v: u64, levels: u32) -> u16 {
    ((2 * v * (levels as u64 - 1) + 255) / 510) as u16
}

/// The sketch of exact output bytes, as every validator computes it.
pub fn sketch_of_output(
    spec: &SketchSpec,
    encoding: OutputEncoding,
    bytes: &[u8],
) -> Result<Sketch, SketchError> {
    let wrong = || SketchError::WrongEncoding {
        rule: spec.rule,
        encoding,
    };
    let bad = |e: String| SketchError::BadOutput(e);
    match spec.rule {
        SketchRule::Classify | SketchRule::Embedding => {
            if encoding != OutputEncoding::Tensor {
                return Err(wrong());
            }
            let t = decode_tensor(bytes).map_err(|e| bad(e.to_string()))?;
            let values = t.f32s().ok_or_else(|| bad("tensor is not f32".into()))?;
            if values.is_empty() || values.len() > MAX_SKETCH_VALUES {
                return Err(bad(format!("{} values", values.len())));
            }
            if values.iter().any(|v| !v.is_finite()) {
                return Err(bad("NaN or infinite value".into()));
            }
            Ok(if spec.rule == SketchRule::Classify {
                sketch_classify(&values, spec.levels)
            } else {
                sketch_embedding(&values, spec.levels)
            })
        }
        SketchRule::Image => {
            if encoding != OutputEncoding::Png {
                return Err(wrong());
            }
            let img = decode_png(bytes).map_err(bad)?;
            Ok(sketch_image(
                img.width,
                img.height,
                img.color.channels() as u32,
                &img.pixels,
                spec,
            ))
        }
        SketchRule::Tokens => {
            if encoding != OutputEncoding::Text {
                return Err(wrong());
            }
            if bytes.len() > MAX_SKETCH_VALUES {
                return Err(bad(format!("{} tokens", bytes.len())));
            }
            Ok(Sketch::Tokens {
                tokens: bytes.iter().map(|&b| b as u32).collect(),
            })
        }
    }
}

/// Classify: label = the first index of the largest probability; each
/// probability quantized over [0, 1].
pub fn sketch_classify(probs: &[f32], levels: u32) -> Sketch {
    let mut label = 0usize;
    for (i, p) in probs.iter().enumerate() {
        if *p > probs[label] {
            label = i;
        }
    }
    Sketch::Classify {
        label: label as u32,
        probs: probs.iter().map(|&p| quantize(p, 0.0, 1.0, levels)).collect(),
    }
}

/// Embedding: sign bit `x >= 0` (so -0.0 counts as non-negative) and each
/// value quantized over [-1, 1].
pub fn sketch_embedding(values: &[f32], levels: u32) -> Sketch {
    let mut signs = vec![0u8; values.len().div_ceil(8)];
    for (i, v) in values.iter().enumerate() {
        if *v >= 0.0 {
            signs[i / 8] |= 1 << (i % 8);
        }
    }
    Sketch::Embedding {
        signs,
        values: values.iter().map(|&v| quantize(v, -1.0, 1.0, levels)).collect(),
    }
}

/// Image: the picture cut into `thumb × thumb` cells (fewer when a side is
/// shorter): cell `(r, c)` covers rows `r·H/n .. (r+1)·H/n` and columns
/// `c·W/m .. (c+1)·W/m`; its value is the mean of its channel bytes,
/// `floor(sum / count)`, quantized by `quantize_u8` (integers only). For
/// digits-ddpm (8×8 upscaled ×4, thumb 8) the cells are exactly the 8×8
/// image before upscaling, as docs/models.md specifies.
pub fn sketch_image(width: u32, height: u32, channels: u32, pixels: &[u8], spec: &SketchSpec) -> Sketch {
    let cols = spec.thumb.min(width);
    let rows = spec.thumb.min(height);
    let (w, h, ch) = (width as u64, height as u64, channels as u64);
    let mut cells = Vec::with_capacity((cols * rows) as usize);
    for r in 0..rows as u64 {
        let (y0, y1) = (r * h / rows as u64, (r + 1) * h / rows as u64);
        for c in 0..cols as u64 {
            let (x0, x1) = (c * w / cols as u64, (c + 1) * w / cols as u64);
            let mut sum = 0u64;
            for y in y0..y1 {
                let start = ((y * w + x0) * ch) as usize;
                let end = ((y * w + x1) * ch) as usize;
                sum += pixels[start..end].iter().map(|&b| b as u64).sum::<u64>();
            }
            let count = (y1 - y0) * (x1 - x0) * ch;
            let mean = sum / count;
            cells.push(quantize_u8(mean, spec.levels));
        }
    }
    Sketch::Image { cols, rows, cells }
}

/// True when two honest executors' sketches of one request are close enough
/// to count as the same result, under `spec`'s tolerance `t` (in levels):
///
/// - **classify**: every probability within `t`, and the same label, or a
///   near tie: each side's own top probability is within `t` of its
///   probability of the other side's label;
/// - **embedding**: every value within `t`; a sign may differ only where
///   both values are within `t` of the zero crossing (levels `L/2 - 1`,
///   `L/2`);
/// - **image**: the same thumbnail size and every cell within `t`;
/// - **tokens**: the same token sequence (a differing sampler is judged by
///   `sampling::verify_tokens`, which re-scores the reference output).
///
/// Different rules or lengths never agree. Integers only; symmetric.
pub fn agree(spec: &SketchSpec, a: &Sketch, b: &Sketch) -> bool {
    let t = spec.tolerance;
    let close =
        |x: &[u16], y: &[u16]| x.len() == y.len() && x.iter().zip(y).all(|(p, q)| p.abs_diff(*q) as u32 <= t);
    match (a, b) {
        (Sketch::Classify { label: la, probs: pa }, Sketch::Classify { label: lb, probs: pb }) => {
            let (la, lb) = (*la as usize, *lb as usize);
            if !close(pa, pb) || la >= pa.len() || lb >= pb.len() {
                return false;
            }
            la == lb
                || (pa[la].saturating_sub(pa[lb]) as u32 <= t && pb[lb].saturating_sub(pb[la]) as u32 <= t)
        }
        (
            Sketch::Embedding {
                signs: sa,
                values: va,
            },
            Sketch::Embedding {
                signs: sb,
                values: vb,
            },
        ) => {
            if !close(va, vb) || sa.len() != va.len().div_ceil(8) || sb.len() != sa.len() {
                return false;
            }
            let zero = (spec.levels / 2) as i64;
            let near_zero = |q: u16| {
                let q = q as i64;
                q >= zero - 1 - t as i64 && q <= zero + t as i64
            };
            va.iter().zip(vb).enumerate().all(|(i, (&x, &y))| {
                let bit = |s: &[u8]| s[i / 8] >> (i % 8) & 1;
                bit(sa) == bit(sb) || (near_zero(x) && near_zero(y))
            })
        }
        (
            Sketch::Image {
                cols: ca,
                rows: ra,
                cells: xa,
            },
            Sketch::Image {
                cols: cb,
                rows: rb,
                cells: xb,
            },
        ) => ca == cb && ra == rb && xa.len() == (*ca * *ra) as usize && close(xa, xb),
        (Sketch::Tokens { tokens: ta }, Sketch::Tokens { tokens: tb }) => ta == tb,
        _ => false,
    }
}

impl Sketch {
    /// The canonical bytes (vote extensions carry them):
    ///
    /// ```text
    /// classify   01 ‖ label u32 ‖ n u32 ‖ n × u16
    /// embedding  02 ‖ n u32 ‖ n × u16 ‖ ceil(n/8) sign bytes
    /// image      03 ‖ cols u32 ‖ rows u32 ‖ cols·rows × u16
    /// tokens     04 ‖ n u32 ‖ n × u32
    /// ```
    /// (all integers little-endian).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let u16s =
            |out: &mut Vec<u8>, v: &[u16]| v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes()));
        match self {
            Sketch::Classify { label, probs } => {
                out.push(1);
                out.extend_from_slice(&label.to_le_bytes());
                out.extend_from_slice(&(probs.len() as u32).to_le_bytes());
                u16s(&mut out, probs);
            }
            Sketch::Embedding { signs, values } => {
                out.push(2);
                out.extend_from_slice(&(values.len() as u32).to_le_bytes());
                u16s(&mut out, values);
                out.extend_from_slice(signs);
            }
            Sketch::Image { cols, rows, cells } => {
                out.push(3);
                out.extend_from_slice(&cols.to_le_bytes());
                out.extend_from_slice(&rows.to_le_bytes());
                u16s(&mut out, cells);
            }
            Sketch::Tokens { tokens } => {
                out.push(4);
                out.extend_from_slice(&(tokens.len() as u32).to_le_bytes());
                tokens
                    .iter()
                    .for_each(|x| out.extend_from_slice(&x.to_le_bytes()));
            }
        }
        out
    }

    /// Reads canonical sketch bytes. Never panics; refuses trailing bytes and
    /// more than `MAX_SKETCH_VALUES` values.
    pub fn from_bytes(bytes: &[u8]) -> Result<Sketch, SketchError> {
        let mut r = Reader(bytes);
        let bad = || SketchError::BadOutput("malformed sketch bytes".into());
        let sketch = match r.u8().ok_or_else(bad)? {
            1 => {
                let label = r.u32().ok_or_else(bad)?;
                let n = r.len().ok_or_else(bad)?;
                Sketch::Classify {
                    label,
                    probs: r.u16s(n).ok_or_else(bad)?,
                }
            }
            2 => {
                let n = r.len().ok_or_else(bad)?;
                let values = r.u16s(n).ok_or_else(bad)?;
                let signs = r.take(n.div_ceil(8)).ok_or_else(bad)?.to_vec();
                Sketch::Embedding { signs, values }
            }
            3 => {
                let cols = r.u32().ok_or_else(bad)?;
                let rows = r.u32().ok_or_else(bad)?;
                let n = (cols as u64 * rows as u64) as usize;
                if n > MAX_SKETCH_VALUES {
                    return Err(bad());
                }
                Sketch::Image {
                    cols,
                    rows,
                    cells: r.u16s(n).ok_or_else(bad)?,
                }
            }
            4 => {
                let n = r.len().ok_or_else(bad)?;
                let raw = r.take(n * 4).ok_or_else(bad)?;
                Sketch::Tokens {
                    tokens: raw
                        .chunks_exact(4)
                        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                        .collect(),
                }
            }
            _ => return Err(bad()),
        };
        if !r.0.is_empty() {
            return Err(bad());
        }
        Ok(sketch)
    }

    /// A short human-readable summary (the CLI prints it).
    pub fn summary(&self) -> String {
        match self {
            Sketch::Classify { label, probs } => format!("classify label={label} probs={probs:?}"),
            Sketch::Embedding { values, .. } => {
                let head: Vec<_> = values.iter().take(8).collect();
                format!("embedding dims={} values[..8]={head:?}", values.len())
            }
            Sketch::Image { cols, rows, cells } => format!("image thumb={cols}x{rows} cells={cells:?}"),
            Sketch::Tokens { tokens } => format!("tokens n={}", tokens.len()),
        }
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn len(&mut self) -> Option<usize> {
        self.u32().map(|n| n as usize).filter(|&n| n <= MAX_SKETCH_VALUES)
    }
    fn u16s(&mut self, n: usize) -> Option<Vec<u16>> {
        self.take(n * 2).map(|b| {
            b.chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::output::{encode_f32, encode_png, PngColor};

    fn spec(rule: SketchRule, levels: u32, tolerance: u32) -> SketchSpec {
        SketchSpec {
            rule,
            levels,
            tolerance,
            thumb: 8,
            logit_tolerance: None,
        }
    }

    #[test]
    fn quantize_boundaries() {
        assert_eq!(quantize_u8(0, 16), 0);
        assert_eq!(quantize_u8(255, 16), 15);
        assert_eq!(quantize_u8(8, 16), 0); // 8 × 15 / 255 = 0.47
        assert_eq!(quantize_u8(9, 16), 1); // 0.53
        assert_eq!(quantize_u8(128, 256), 128);
        assert_eq!(quantize(0.0, 0.0, 1.0, 256), 0);
        assert_eq!(quantize(1.0, 0.0, 1.0, 256), 255);
        assert_eq!(quantize(0.5, 0.0, 1.0, 256), 128);
        assert_eq!(quantize(0.5 - 1e-7, 0.0, 1.0, 256), 127);
        assert_eq!(quantize(-3.0, 0.0, 1.0, 256), 0);
        assert_eq!(quantize(7.0, 0.0, 1.0, 16), 15);
        assert_eq!(quantize(0.0, -1.0, 1.0, 16), 8);
        assert_eq!(quantize(-1e-9, -1.0, 1.0, 16), 7);
        assert_eq!(quantize(-1.0, -1.0, 1.0, 16), 0);
    }

    #[test]
    fn classify_jitter_of_one_level_agrees_other_label_does_not() {
        let s = spec(SketchRule::Classify, 256, 1);
        let mut p = vec![0.01f32; 10];
        p[7] = 0.91;
        p[3] = 2.5 / 255.0 + 1e-7; // just above the boundary of levels 2 and 3
        let a = sketch_classify(&p, 256);
        // Honest jitter: a value on a level boundary moves by one level.
        let mut q = p.clone();
        q[3] = 2.5 / 255.0 - 1e-7;
        let b = sketch_classify(&q, 256);
        assert_ne!(a, b);
        assert!(agree(&s, &a, &b) && agree(&s, &b, &a));
        // Two levels away: disagree.
        let mut far = p.clone();
        far[7] = 0.91 + 2.5 / 256.0;
        assert!(!agree(&s, &a, &sketch_classify(&far, 256)));
        // A confident different label: disagree.
        let mut other = vec![0.01f32; 10];
        other[1] = 0.91;
        assert!(!agree(&s, &a, &sketch_classify(&other, 256)));
        // Different lengths never agree.
        assert!(!agree(&s, &a, &sketch_classify(&p[..9], 256)));
    }

    #[test]
    fn classify_near_tie_may_flip_label() {
        let s = spec(SketchRule::Classify, 256, 1);
        let mut p = vec![0.0f32; 10];
        p[2] = 0.5;
        p[5] = 0.5 - 1e-7; // level 127 vs 128
        let a = sketch_classify(&p, 256);
        let mut q = vec![0.0f32; 10];
        q[2] = 0.5 - 1e-7;
        q[5] = 0.5;
        let b = sketch_classify(&q, 256);
        assert_ne!(a, b, "labels differ");
        assert!(agree(&s, &a, &b));
        // Exactly equal probabilities: the first index wins on every machine.
        let tie = sketch_classify(&[0.5, 0.5], 256);
        assert!(matches!(tie, Sketch::Classify { label: 0, .. }));
    }

    #[test]
    fn embedding_rules() {
        let s = spec(SketchRule::Embedding, 256, 1);
        let v: Vec<f32> = (0..384).map(|i| ((i as f32) * 0.37).sin() * 0.2).collect();
        let a = sketch_embedding(&v, 256);
        // Jitter of 1e-7 on every component: at most one level.
        let w: Vec<f32> = v.iter().map(|x| x + 1e-7).collect();
        assert!(agree(&s, &a, &sketch_embedding(&w, 256)));
        // A sign flip at the zero crossing is honest.
        let mut z = v.clone();
        z[0] = 1e-9;
        let mut y = v.clone();
        y[0] = -1e-9;
        assert!(agree(&s, &sketch_embedding(&z, 256), &sketch_embedding(&y, 256)));
        // A far-away vector disagrees.
        let far: Vec<f32> = v.iter().map(|x| -x).collect();
        assert!(!agree(&s, &a, &sketch_embedding(&far, 256)));
        // One component two levels off disagrees.
        let mut one = v.clone();
        one[100] += 2.5 * 2.0 / 256.0;
        assert!(!agree(&s, &a, &sketch_embedding(&one, 256)));
        // Different rule never agrees.
        assert!(!agree(&s, &a, &sketch_classify(&[1.0], 256)));
    }

    #[test]
    fn image_thumbnail_and_rules() {
        let s = SketchSpec {
            thumb: 4,
            ..spec(SketchRule::Image, 16, 1)
        };
        let (w, h) = (8u32, 8u32);
        let px: Vec<u8> = (0..64).map(|i| if i % 8 < 4 { 0 } else { 255 }).collect();
        let a = sketch_image(w, h, 1, &px, &s);
        assert_eq!(
            a,
            Sketch::Image {
                cols: 4,
                rows: 4,
                cells: [0, 0, 15, 15].repeat(4)
            }
        );
        let mut jitter = px.clone();
        jitter[5] = 200; // one pixel of a white cell: mean 241 → level 15
        assert!(agree(&s, &a, &sketch_image(w, h, 1, &jitter, &s)));
        let inverted: Vec<u8> = px.iter().map(|p| 255 - p).collect();
        assert!(!agree(&s, &a, &sketch_image(w, h, 1, &inverted, &s)));
        // From PNG bytes, as validators recompute it.
        let png = encode_png(w, h, PngColor::Gray, &px);
        assert_eq!(sketch_of_output(&s, OutputEncoding::Png, &png).unwrap(), a);
        // An image smaller than the thumbnail keeps its own size.
        let tiny = sketch_image(2, 3, 1, &[10, 20, 30, 40, 50, 60], &s);
        assert!(matches!(tiny, Sketch::Image { cols: 2, rows: 3, .. }));
    }

    #[test]
    fn tokens_agree_only_when_equal() {
        let s = spec(SketchRule::Tokens, 256, 0);
        let a = sketch_of_output(&s, OutputEncoding::Text, b"hello").unwrap();
        let b = sketch_of_output(&s, OutputEncoding::Text, b"hello").unwrap();
        let c = sketch_of_output(&s, OutputEncoding::Text, b"hellp").unwrap();
        assert!(agree(&s, &a, &b));
        assert!(!agree(&s, &a, &c));
    }

    #[test]
    fn sketch_of_tensor_output_and_wrong_encodings() {
        let s = spec(SketchRule::Classify, 256, 1);
        let bytes = encode_f32(&[3], &[0.1, 0.7, 0.2]);
        let sk = sketch_of_output(&s, OutputEncoding::Tensor, &bytes).unwrap();
        assert_eq!(sk, sketch_classify(&[0.1, 0.7, 0.2], 256));
        assert!(sketch_of_output(&s, OutputEncoding::Png, &bytes).is_err());
        let nan = encode_f32(&[2], &[f32::NAN, 0.5]);
        assert!(sketch_of_output(&s, OutputEncoding::Tensor, &nan).is_err());
    }

    #[test]
    fn sketch_bytes_round_trip_and_refuse_garbage() {
        let all = [
            sketch_classify(&[0.2, 0.8], 256),
            sketch_embedding(&[0.5, -0.5, 0.0, 0.1, 0.2, 0.3, 0.4, 0.5, -0.9], 256),
            Sketch::Image {
                cols: 2,
                rows: 1,
                cells: vec![3, 4],
            },
            Sketch::Tokens {
                tokens: vec![104, 105],
            },
        ];
        for s in &all {
            let b = s.to_bytes();
            assert_eq!(&Sketch::from_bytes(&b).unwrap(), s);
            assert!(Sketch::from_bytes(&b[..b.len() - 1]).is_err());
            let mut long = b.clone();
            long.push(0);
            assert!(Sketch::from_bytes(&long).is_err());
        }
        assert_eq!(all[0].to_bytes(), [1, 1, 0, 0, 0, 2, 0, 0, 0, 51, 0, 204, 0]);
        assert!(Sketch::from_bytes(&[]).is_err());
        assert!(Sketch::from_bytes(&[9]).is_err());
        assert!(Sketch::from_bytes(&[4, 255, 255, 255, 255]).is_err());
        assert!(Sketch::from_bytes(&[3, 255, 255, 0, 0, 255, 255, 0, 0]).is_err());
    }

    #[test]
    fn spec_validation() {
        assert!(spec(SketchRule::Classify, 256, 1).validate().is_ok());
        assert!(spec(SketchRule::Classify, 1, 0).validate().is_err());
        assert!(spec(SketchRule::Classify, 16, 16).validate().is_err());
        let mut s = spec(SketchRule::Tokens, 256, 0);
        s.logit_tolerance = Some("abc".into());
        assert!(s.validate().is_err());
        s.logit_tolerance = Some("0.05".into());
        assert!(s.validate().is_ok());
        assert_eq!(s.logit_tolerance(), 0.05);
    }
}
