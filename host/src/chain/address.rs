//! Account addresses: 20 bytes (keys and module accounts) or 32 bytes
//! (interchain accounts, ADR-028 derived), shown as bech32 with the
//! `chimera` prefix, derived from secp256k1 keys exactly as the Cosmos SDK
//! does so that existing wallets (and Hermes's key store) compute the same
//! address.

use std::fmt;

use bech32::{FromBase32, ToBase32, Variant};
use ripemd::Ripemd160;
use sha2::{Digest, Sha256};

/// The bech32 human-readable part of account addresses on the host chain.
pub const ACCOUNT_PREFIX: &str = "chimera";

/// An account address: 20 bytes, or 32 for interchain accounts (the SDK
/// 0.47 accepts both lengths; ibc-go derives 32-byte ICA addresses).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address {
    len: u8,
    bytes: [u8; 32],
}

/// Why a string is not a host-chain address.
#[derive(Debug, thiserror::Error)]
pub enum AddressError {
    #[error("address {0:?} is not bech32: {1}")]
    Bech32(String, String),
    #[error("address {0:?} has prefix {1:?}, want {ACCOUNT_PREFIX:?}")]
    Prefix(String, String),
    #[error("address {0:?} is {1} bytes, want 20 or 32")]
    Length(String, usize),
}

impl From<[u8; 20]> for Address {
    fn from(a: [u8; 20]) -> Address {
        Address::from_slice(&a).expect("20 bytes is an address length")
    }
}

impl From<[u8; 32]> for Address {
    fn from(a: [u8; 32]) -> Address {
        Address { len: 32, bytes: a }
    }
}

impl Address {
    /// An address of 20 or 32 raw bytes.
    pub fn from_slice(raw: &[u8]) -> Option<Address> {
        if raw.len() != 20 && raw.len() != 32 {
            return None;
        }
        let mut bytes = [0u8; 32];
        bytes[..raw.len()].copy_from_slice(raw);
        Some(Address {
            len: raw.len() as u8,
            bytes,
        })
    }

    /// The raw bytes (20 or 32).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }

    /// The bytes with a length byte in front, as the SDK's
    /// `address.MustLengthPrefix` puts them in store keys, so that a prefix
    /// scan of one address never reaches a longer one.
    pub fn length_prefixed(&self) -> Vec<u8> {
        let mut k = Vec::with_capacity(1 + self.len as usize);
        k.push(self.len);
        k.extend_from_slice(self.as_bytes());
        k
    }

    /// The SDK's secp256k1 address: RIPEMD-160(SHA-256(compressed key)).
    pub fn from_secp256k1(compressed: &[u8]) -> Address {
        let sha = Sha256::digest(compressed);
        let a: [u8; 20] = Ripemd160::digest(sha).into();
        Address::from(a)
    }

    /// A module account's address, as the SDK's `authtypes.NewModuleAddress`:
    /// the first 20 bytes of SHA-256(name).
    pub fn module(name: &str) -> Address {
        let sha = Sha256::digest(name.as_bytes());
        Address::from_slice(&sha[..20]).expect("20 bytes")
    }

    /// Parses `chimera1…`.
    pub fn parse(s: &str) -> Result<Address, AddressError> {
        let (hrp, data, _) = bech32::decode(s).map_err(|e| AddressError::Bech32(s.into(), e.to_string()))?;
        if hrp != ACCOUNT_PREFIX {
            return Err(AddressError::Prefix(s.into(), hrp));
        }
        let bytes =
            Vec::<u8>::from_base32(&data).map_err(|e| AddressError::Bech32(s.into(), e.to_string()))?;
        Address::from_slice(&bytes).ok_or_else(|| AddressError::Length(s.into(), bytes.len()))
    }

    /// Any bech32 address's raw bytes, whatever its prefix (IBC receivers on
    /// other chains, ICA addresses).
    pub fn encode_with(prefix: &str, bytes: &[u8]) -> String {
        bech32::encode(prefix, bytes.to_base32(), Variant::Bech32).expect("valid prefix")
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&Address::encode_with(ACCOUNT_PREFIX, self.as_bytes()))
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({self})")
    }
}

impl std::str::FromStr for Address {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Address::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_address_matches_the_sdk() {
        // The SDK's fee collector: sha256("fee_collector")[..20], well known
        // on the Cosmos Hub under this address.
        let a = Address::module("fee_collector");
        assert_eq!(
            Address::encode_with("cosmos", a.as_bytes()),
            "cosmos17xpfvakm2amg962yls6f84z3kell8c5lserqta"
        );
    }

    #[test]
    fn roundtrip_and_errors() {
        let a = Address::from([7u8; 20]);
        let s = a.to_string();
        assert!(s.starts_with("chimera1"));
        assert_eq!(Address::parse(&s).unwrap(), a);
        let other = Address::encode_with("terra", a.as_bytes());
        assert!(matches!(Address::parse(&other), Err(AddressError::Prefix(..))));
        let ica = Address::from([9u8; 32]);
        assert_eq!(Address::parse(&ica.to_string()).unwrap(), ica);
        assert_ne!(ica.length_prefixed()[..21], a.length_prefixed()[..]);
        let short = Address::encode_with(ACCOUNT_PREFIX, &[1u8; 19]);
        assert!(matches!(Address::parse(&short), Err(AddressError::Length(_, 19))));
        assert!(matches!(
            Address::parse("chimera1xyz"),
            Err(AddressError::Bech32(..))
        ));
    }
}
