//! The exact output bytes an executor commits to (`docs/protocol.md` §4.2):
//! the canonical tensor encoding, a byte-for-byte specified PNG, or UTF-8
//! text, and the `OutputCommitment` (sha256, size, encoding) over them.
//!
//! Pure functions, no libtorch: consensus code and requesters link them too.

use chimera_packets::{DType, OutputCommitment, OutputEncoding};
use sha2::{Digest, Sha256};

/// Most dimensions of a canonical tensor.
pub const MAX_RANK: usize = 8;

/// The canonical encoding's one-byte tag of each dtype (stable; never reused).
pub fn dtype_tag(dtype: DType) -> u8 {
    match dtype {
        DType::Bool => 1,
        DType::U8 => 2,
        DType::I8 => 3,
        DType::I16 => 4,
        DType::I32 => 5,
        DType::I64 => 6,
        DType::F16 => 7,
        DType::Bf16 => 8,
        DType::F32 => 9,
        DType::F64 => 10,
    }
}

/// The dtype of a canonical encoding tag.
pub fn dtype_from_tag(tag: u8) -> Option<DType> {
    DType::ALL.into_iter().find(|d| dtype_tag(*d) == tag)
}

/// Why bytes are not a canonical tensor.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TensorDecodeError {
    #[error("canonical tensor: {0}")]
    Malformed(&'static str),
}

/// **The canonical tensor encoding** (little-endian, shape-prefixed):
///
/// ```text
/// tag   u8            dtype (dtype_tag: bool 1, u8 2, i8 3, i16 4, i32 5,
///                     i64 6, f16 7, bf16 8, f32 9, f64 10)
/// rank  u8            number of dimensions, 0..=8
/// dims  rank × u64 LE outermost first
/// data  product(dims) × size(dtype) bytes: the elements in row-major (C)
///       order, each little-endian
/// ```
///
/// `data` must already be little-endian element bytes of that length; the
/// function panics otherwise (a bug in the caller, not an input error).
pub fn encode_tensor(dtype: DType, shape: &[u64], data: &[u8]) -> Vec<u8> {
    assert!(shape.len() <= MAX_RANK, "rank {} > {MAX_RANK}", shape.len());
    let numel: u64 = shape.iter().product();
    assert_eq!(numel * dtype.size(), data.len() as u64, "tensor data length");
    let mut out = Vec::with_capacity(2 + 8 * shape.len() + data.len());
    out.push(dtype_tag(dtype));
    out.push(shape.len() as u8);
    for d in shape {
        out.extend_from_slice(&d.to_le_bytes());
    }
    out.extend_from_slice(data);
    out
}

/// The canonical encoding of an f32 tensor.
pub fn encode_f32(shape: &[u64], values: &[f32]) -> Vec<u8> {
    let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    encode_tensor(DType::F32, shape, &data)
}

/// A decoded canonical tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorRef<'a> {
    pub dtype: DType,
    pub shape: Vec<u64>,
    pub data: &'a [u8],
}

impl TensorRef<'_> {
    /// The elements of an f32 tensor.
    pub fn f32s(&self) -> Option<Vec<f32>> {
        (self.dtype == DType::F32).then(|| {
            self.data
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        })
    }
}

/// Reads a canonical tensor, checking every length. Never panics.
pub fn decode_tensor(bytes: &[u8]) -> Result<TensorRef<'_>, TensorDecodeError> {
    let bad = TensorDecodeError::Malformed;
    let (&tag, rest) = bytes.split_first().ok_or(bad("empty"))?;
    let dtype = dtype_from_tag(tag).ok_or(bad("unknown dtype tag"))?;
    let (&rank, mut rest) = rest.split_first().ok_or(bad("no rank"))?;
    if rank as usize > MAX_RANK {
        return Err(bad("rank over 8"));
    }
    let mut shape = Vec::with_capacity(rank as usize);
    let mut numel: u64 = 1;
    for _ in 0..rank {
        if rest.len() < 8 {
            return Err(bad("truncated shape"));
        }
        let (d, r) = rest.split_at(8);
        let d = u64::from_le_bytes(d.try_into().expect("8 bytes"));
        numel = numel.checked_mul(d).ok_or(bad("shape overflows"))?;
        shape.push(d);
        rest = r;
    }
    let want = numel.checked_mul(dtype.size()).ok_or(bad("shape overflows"))?;
    if rest.len() as u64 != want {
        return Err(bad("data length does not match the shape"));
    }
    Ok(TensorRef {
        dtype,
        shape,
        data: rest,
    })
}

/// The commitment to exact output bytes: what an ack carries (§4.2).
pub fn commitment(bytes: &[u8], encoding: OutputEncoding) -> OutputCommitment {
    OutputCommitment {
        sha256: Sha256::digest(bytes).into(),
        size: bytes.len() as u64,
        encoding,
    }
}

/// Pixel layouts the PNG writer supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PngColor {
    /// One byte per pixel (PNG color type 0).
    Gray,
    /// Three bytes per pixel, R G B (PNG color type 2).
    Rgb,
}

impl PngColor {
    /// Bytes per pixel.
    pub fn channels(self) -> usize {
        match self {
            PngColor::Gray => 1,
            PngColor::Rgb => 3,
        }
    }
}

/// Largest image side the PNG writer accepts.
pub const MAX_PNG_SIDE: u32 = 1 << 14;

/// **The canonical PNG**: a byte-for-byte specified 8-bit image that any
/// PNG reader opens, independent of any compression library's version:
///
/// ```text
/// 89 50 4E 47 0D 0A 1A 0A                      signature
/// IHDR  width, height (u32 BE), bit depth 8, color type 0 (gray) or 2 (RGB),
///       compression 0, filter 0, interlace 0
/// IDAT  one chunk: the zlib stream 78 01, then the scanlines (each a filter
///       byte 0 and its pixels) as stored (uncompressed) deflate blocks of
///       65535 bytes (the last one shorter, BFINAL set), then Adler-32 (BE)
/// IEND
/// ```
///
/// Chunks are `length (u32 BE) ‖ type ‖ data ‖ CRC-32 (BE) of type ‖ data`;
/// no ancillary chunks (no gamma, time or text). Panics if `pixels` is not
/// `width × height × channels` bytes or a side is 0 or over `MAX_PNG_SIDE`.
pub fn encode_png(width: u32, height: u32, color: PngColor, pixels: &[u8]) -> Vec<u8> {
    assert!((1..=MAX_PNG_SIDE).contains(&width) && (1..=MAX_PNG_SIDE).contains(&height));
    let row = width as usize * color.channels();
    assert_eq!(pixels.len(), row * height as usize, "png pixel buffer length");

    let mut raw = Vec::with_capacity((row + 1) * height as usize);
    for line in pixels.chunks_exact(row) {
        raw.push(0); // filter type None
        raw.extend_from_slice(line);
    }
    let mut z = Vec::with_capacity(raw.len() + raw.len() / 65535 * 5 + 16);
    z.extend_from_slice(&[0x78, 0x01]);
    let mut blocks = raw.chunks(65535).peekable();
    while let Some(block) = blocks.next() {
        z.push(u8::from(blocks.peek().is_none())); // BFINAL, BTYPE 00
        let len = block.len() as u16;
        z.extend_from_slice(&len.to_le_bytes());
        z.extend_from_slice(&(!len).to_le_bytes());
        z.extend_from_slice(block);
    }
    z.extend_from_slice(&adler32(&raw).to_be_bytes());

    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[
        8,
        match color {
            PngColor::Gray => 0,
            PngColor::Rgb => 2,
        },
        0,
        0,
        0,
    ]);
    let mut out = Vec::with_capacity(z.len() + 64);
    out.extend_from_slice(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]);
    png_chunk(&mut out, b"IHDR", &ihdr);
    png_chunk(&mut out, b"IDAT", &z);
    png_chunk(&mut out, b"IEND", &[]);
    out
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(5552) {
        for &x in chunk {
            a += x as u32;
            b += a;
        }
        a %= 65521;
        b %= 65521;
    }
    (b << 16) | a
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in data {
        crc ^= byte as u32;
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

/// A decoded 8-bit image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    pub width: u32,
    pub height: u32,
    pub color: PngColor,
    pub pixels: Vec<u8>,
}

/// Reads an 8-bit gray or RGB PNG (any valid encoder's) with the `png`
/// crate. Never panics; refuses images over `MAX_PNG_SIDE`.
pub fn decode_png(bytes: &[u8]) -> Result<Image, String> {
    let limits = png::Limits {
        bytes: (MAX_PNG_SIDE as usize) * (MAX_PNG_SIDE as usize) * 3,
    };
    let decoder = png::Decoder::new_with_limits(std::io::Cursor::new(bytes), limits);
    let mut reader = decoder.read_info().map_err(|e| e.to_string())?;
    let size = reader.output_buffer_size().ok_or("image too large")?;
    let mut buf = vec![0; size];
    let info = reader.next_frame(&mut buf).map_err(|e| e.to_string())?;
    if info.bit_depth != png::BitDepth::Eight {
        return Err(format!("bit depth {:?}, want 8", info.bit_depth));
    }
    let color = match info.color_type {
        png::ColorType::Grayscale => PngColor::Gray,
        png::ColorType::Rgb => PngColor::Rgb,
        other => return Err(format!("color type {other:?}, want gray or RGB")),
    };
    if info.width > MAX_PNG_SIDE || info.height > MAX_PNG_SIDE {
        return Err("image too large".into());
    }
    buf.truncate(info.buffer_size());
    Ok(Image {
        width: info.width,
        height: info.height,
        color,
        pixels: buf,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_tensor_layout() {
        let bytes = encode_f32(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, -0.5]);
        let mut want = vec![9u8, 2];
        want.extend_from_slice(&2u64.to_le_bytes());
        want.extend_from_slice(&3u64.to_le_bytes());
        for v in [1.0f32, 2.0, 3.0, 4.0, 5.0, -0.5] {
            want.extend_from_slice(&v.to_le_bytes());
        }
        assert_eq!(bytes, want);
        assert_eq!(&bytes[..2], &[0x09, 0x02]);
        assert_eq!(&bytes[18..22], &[0x00, 0x00, 0x80, 0x3f], "1.0f32 little-endian");
        let t = decode_tensor(&bytes).unwrap();
        assert_eq!(t.dtype, DType::F32);
        assert_eq!(t.shape, vec![2, 3]);
        assert_eq!(t.f32s().unwrap(), vec![1.0, 2.0, 3.0, 4.0, 5.0, -0.5]);
        // The pinned commitment of this tensor: a change of the encoding shows here.
        let c = commitment(&bytes, OutputEncoding::Tensor);
        assert_eq!(c.size, 42);
        assert_eq!(hex::encode(c.sha256), hex::encode(Sha256::digest(&want)));
    }

    #[test]
    fn every_dtype_tag_round_trips_and_scalars_work() {
        for tag in 1..=10u8 {
            assert_eq!(dtype_tag(dtype_from_tag(tag).unwrap()), tag);
        }
        assert_eq!(dtype_from_tag(0), None);
        assert_eq!(dtype_from_tag(11), None);
        let s = encode_tensor(DType::I64, &[], &7i64.to_le_bytes());
        assert_eq!(s.len(), 2 + 8);
        assert_eq!(decode_tensor(&s).unwrap().shape, Vec::<u64>::new());
    }

    #[test]
    fn decoder_refuses_malformed_tensors() {
        let good = encode_f32(&[2], &[1.0, 2.0]);
        assert!(decode_tensor(&[]).is_err());
        assert!(decode_tensor(&good[..good.len() - 1]).is_err());
        let mut long = good.clone();
        long.push(0);
        assert!(decode_tensor(&long).is_err());
        let mut bad_tag = good.clone();
        bad_tag[0] = 99;
        assert!(decode_tensor(&bad_tag).is_err());
        let mut huge = vec![9u8, 2];
        huge.extend_from_slice(&u64::MAX.to_le_bytes());
        huge.extend_from_slice(&u64::MAX.to_le_bytes());
        assert!(decode_tensor(&huge).is_err());
        assert!(decode_tensor(&[9, 9]).is_err());
    }

    #[test]
    fn png_is_byte_exact_and_readable() {
        let (w, h) = (5u32, 3u32);
        let px: Vec<u8> = (0..w * h).map(|i| (i * 17) as u8).collect();
        let a = encode_png(w, h, PngColor::Gray, &px);
        assert_eq!(a, encode_png(w, h, PngColor::Gray, &px));
        // signature 8 + IHDR 25 + IDAT (12 + 2 + 5 + 3*6 + 4) + IEND 12
        assert_eq!(a.len(), 8 + 25 + 12 + 2 + 5 + 18 + 4 + 12);
        let img = decode_png(&a).unwrap();
        assert_eq!((img.width, img.height, img.color), (w, h, PngColor::Gray));
        assert_eq!(img.pixels, px);
        // CRC-32 and Adler-32 known answers.
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
    }

    #[test]
    fn large_png_uses_several_stored_blocks() {
        let (w, h) = (300u32, 300u32);
        let px: Vec<u8> = (0..w * h * 3).map(|i| (i % 251) as u8).collect();
        let a = encode_png(w, h, PngColor::Rgb, &px);
        let img = decode_png(&a).unwrap();
        assert_eq!(img.color, PngColor::Rgb);
        assert_eq!(img.pixels, px);
        assert!(decode_png(&a[..a.len() / 2]).is_err());
        assert!(decode_png(b"not a png").is_err());
    }
}
