//! Blob metadata and its canonical encoding (the `meta` column family).
//!
//! One fixed binary layout, big-endian, so equal metadata is equal bytes:
//!
//! ```text
//! version u8 (= 1) | size u64 | chunk_size u32 | chunk_count u32 | data_id u64
//! | created_height u64 | encoding_len u8 | encoding | chunk hashes (32 bytes each,
//! only when chunk_count > 1) | check: first 8 bytes of sha256(blob hash ‖ all of the above)
//! ```
//!
//! A one-chunk blob's chunk hash is the blob hash, so it is not repeated.
//! The check binds the record to its key: a flipped byte anywhere, or a
//! record under the wrong key, decodes as `Corrupt`.

use sha2::{Digest, Sha256};

use super::{BlobError, BlobHash};

const VERSION: u8 = 1;
const FIXED: usize = 1 + 8 + 4 + 4 + 8 + 8 + 1;
const CHECK: usize = 8;
/// The longest `encoding` label.
pub const MAX_ENCODING_LEN: usize = 64;

/// What the store records for each blob (pins live in their own column
/// family and are reported in `BlobInfo`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobMeta {
    pub size: u64,
    pub chunk_size: u32,
    /// Where the chunks live: keys `data_id ‖ chunk_index` in `chunks`.
    pub data_id: u64,
    /// Height at which the blob was stored, renewed when it is put again.
    pub created_height: u64,
    pub encoding: String,
    /// SHA-256 of each chunk, in order.
    pub chunk_hashes: Vec<[u8; 32]>,
}

/// A blob's metadata as `Stat` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobInfo {
    pub hash: BlobHash,
    pub size: u64,
    pub encoding: String,
    pub created_height: u64,
    pub pins: u64,
    pub chunk_size: u32,
    pub chunk_count: u32,
}

impl BlobInfo {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "sha256": self.hash.to_hex(),
            "size": self.size,
            "encoding": self.encoding,
            "created_height": self.created_height,
            "pins": self.pins,
            "chunk_size": self.chunk_size,
            "chunk_count": self.chunk_count,
        })
    }
}

/// Checks an `encoding` label: printable ASCII, at most 64 bytes; empty
/// means "raw".
pub fn normalize_encoding(encoding: &str) -> Result<String, BlobError> {
    if encoding.is_empty() {
        return Ok("raw".to_string());
    }
    if encoding.len() > MAX_ENCODING_LEN || !encoding.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(BlobError::InvalidEncoding(encoding.chars().take(80).collect()));
    }
    Ok(encoding.to_string())
}

impl BlobMeta {
    pub fn chunk_count(&self) -> u32 {
        self.chunk_hashes.len() as u32
    }

    /// Length of chunk `index` (every chunk is full but the last).
    pub fn chunk_len(&self, index: u32) -> u64 {
        let cs = u64::from(self.chunk_size);
        let start = u64::from(index) * cs;
        (self.size - start).min(cs)
    }

    pub fn info(&self, hash: BlobHash, pins: u64) -> BlobInfo {
        BlobInfo {
            hash,
            size: self.size,
            encoding: self.encoding.clone(),
            created_height: self.created_height,
            pins,
            chunk_size: self.chunk_size,
            chunk_count: self.chunk_count(),
        }
    }

    pub fn encode(&self, hash: &BlobHash) -> Vec<u8> {
        let extra = if self.chunk_hashes.len() > 1 {
            32 * self.chunk_hashes.len()
        } else {
            0
        };
        let mut out = Vec::with_capacity(FIXED + self.encoding.len() + extra + CHECK);
        out.push(VERSION);
        out.extend_from_slice(&self.size.to_be_bytes());
        out.extend_from_slice(&self.chunk_size.to_be_bytes());
        out.extend_from_slice(&self.chunk_count().to_be_bytes());
        out.extend_from_slice(&self.data_id.to_be_bytes());
        out.extend_from_slice(&self.created_height.to_be_bytes());
        out.push(self.encoding.len() as u8);
        out.extend_from_slice(self.encoding.as_bytes());
        if self.chunk_hashes.len() > 1 {
            for h in &self.chunk_hashes {
                out.extend_from_slice(h);
            }
        }
        let check = check(hash, &out);
        out.extend_from_slice(&check);
        out
    }

    pub fn decode(hash: &BlobHash, bytes: &[u8]) -> Result<Self, BlobError> {
        let bad = |what: &str| BlobError::corrupt(*hash, format!("metadata: {what}"));
        if bytes.len() < FIXED + CHECK {
            return Err(bad("truncated"));
        }
        let (body, tail) = bytes.split_at(bytes.len() - CHECK);
        if check(hash, body) != tail {
            return Err(bad("checksum mismatch"));
        }
        if body[0] != VERSION {
            return Err(bad(&format!("unknown version {}", body[0])));
        }
        let u64_at = |i: usize| u64::from_be_bytes(body[i..i + 8].try_into().unwrap());
        let u32_at = |i: usize| u32::from_be_bytes(body[i..i + 4].try_into().unwrap());
        let size = u64_at(1);
        let chunk_size = u32_at(9);
        let chunk_count = u32_at(13);
        let data_id = u64_at(17);
        let created_height = u64_at(25);
        let enc_len = body[33] as usize;
        let rest = &body[FIXED..];
        if rest.len() < enc_len {
            return Err(bad("truncated encoding"));
        }
        let encoding = std::str::from_utf8(&rest[..enc_len])
            .map_err(|_| bad("encoding is not UTF-8"))?
            .to_string();
        let rest = &rest[enc_len..];
        if chunk_size == 0 {
            return Err(bad("chunk size 0"));
        }
        if u64::from(chunk_count) != size.div_ceil(u64::from(chunk_size)) {
            return Err(bad("chunk count does not match size"));
        }
        let chunk_hashes = match chunk_count {
            0 if rest.is_empty() => Vec::new(),
            1 if rest.is_empty() => vec![hash.0],
            n if n > 1 && rest.len() == 32 * n as usize => {
                rest.chunks_exact(32).map(|c| c.try_into().unwrap()).collect()
            }
            _ => return Err(bad("chunk hash list has the wrong length")),
        };
        Ok(BlobMeta {
            size,
            chunk_size,
            data_id,
            created_height,
            encoding,
            chunk_hashes,
        })
    }
}

fn check(hash: &BlobHash, body: &[u8]) -> [u8; CHECK] {
    let mut h = Sha256::new();
    h.update(hash.0);
    h.update(body);
    h.finalize()[..CHECK].try_into().unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(chunks: usize) -> BlobMeta {
        BlobMeta {
            size: if chunks == 0 {
                0
            } else {
                10 * (chunks as u64 - 1) + 3
            },
            chunk_size: 10,
            data_id: 7,
            created_height: 42,
            encoding: "raw".into(),
            chunk_hashes: (0..chunks).map(|i| [i as u8; 32]).collect(),
        }
    }

    #[test]
    fn round_trips_and_detects_flips() {
        for chunks in [0usize, 2, 5] {
            let hash = BlobHash::of(b"x");
            let m = meta(chunks);
            let bytes = m.encode(&hash);
            assert_eq!(BlobMeta::decode(&hash, &bytes).unwrap(), m);
            for i in 0..bytes.len() {
                let mut b = bytes.clone();
                b[i] ^= 0x01;
                assert!(matches!(
                    BlobMeta::decode(&hash, &b),
                    Err(BlobError::Corrupt { .. })
                ));
            }
            // Same record under another key.
            assert!(BlobMeta::decode(&BlobHash::of(b"y"), &bytes).is_err());
        }
        // A one-chunk blob's chunk hash is its own hash, not stored twice.
        let hash = BlobHash::of(b"abc");
        let one = BlobMeta {
            size: 3,
            chunk_hashes: vec![hash.0],
            ..meta(1)
        };
        let bytes = one.encode(&hash);
        assert_eq!(bytes.len(), FIXED + 3 + CHECK);
        assert_eq!(BlobMeta::decode(&hash, &bytes).unwrap(), one);
    }

    #[test]
    fn encoding_labels() {
        assert_eq!(normalize_encoding("").unwrap(), "raw");
        assert_eq!(normalize_encoding("safetensors").unwrap(), "safetensors");
        assert!(normalize_encoding("has space").is_err());
        assert!(normalize_encoding(&"a".repeat(65)).is_err());
    }
}
