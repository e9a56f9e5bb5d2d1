//! `BlobHash`: a blob's name, the SHA-256 of its bytes.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

use super::BlobError;

/// The SHA-256 of a blob's bytes: its name in the store and on the wire
/// (32 raw bytes in protobuf, 64 lower-case hex characters in text).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobHash(pub [u8; 32]);

impl BlobHash {
    /// The hash of `data`.
    pub fn of(data: &[u8]) -> Self {
        BlobHash(Sha256::digest(data).into())
    }

    /// From the 32 raw bytes of a protobuf `bytes sha256` field.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, BlobError> {
        let arr: [u8; 32] = bytes.try_into().map_err(|_| {
            BlobError::InvalidHash(format!("expected 32 bytes of SHA-256, got {}", bytes.len()))
        })?;
        Ok(BlobHash(arr))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl FromStr for BlobHash {
    type Err = BlobError;

    /// 64 hex characters (either case).
    fn from_str(s: &str) -> Result<Self, BlobError> {
        if s.len() != 64 {
            return Err(BlobError::InvalidHash(format!(
                "expected 64 hex characters of SHA-256, got {} characters",
                s.len()
            )));
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|e| BlobError::InvalidHash(format!("not hex: {e}")))?;
        Ok(BlobHash(out))
    }
}

impl fmt::Display for BlobHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for BlobHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlobHash({})", self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_errors() {
        let h = BlobHash::of(b"");
        assert_eq!(
            h.to_string(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(h.to_string().parse::<BlobHash>().unwrap(), h);
        assert_eq!(h.to_string().to_uppercase().parse::<BlobHash>().unwrap(), h);
        assert!("abc".parse::<BlobHash>().is_err());
        assert!("zz".repeat(32).parse::<BlobHash>().is_err());
        assert!(BlobHash::from_slice(&[0u8; 31]).is_err());
    }
}
