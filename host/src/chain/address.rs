//! Account addresses: 20 bytes, shown as bech32 with the `chimera` prefix,
//! derived from secp256k1 keys exactly as the Cosmos SDK does so that
//! existing wallets (and Hermes's key store) compute the same address.

use std::fmt;

use bech32::{FromBase32, ToBase32, Variant};
use ripemd::Ripemd160;
use sha2::{Digest, Sha256};

/// The bech32 human-readable part of account addresses on the host chain.
pub const ACCOUNT_PREFIX: &str = "chimera";

/// A 20-byte account address.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address(pub [u8; 20]);

/// Why a string is not a host-chain address.
#[derive(Debug, thiserror::Error)]
pub enum AddressError {
    #[error("address {0:?} is not bech32: {1}")]
    Bech32(String, String),
    #[error("address {0:?} has prefix {1:?}, want {ACCOUNT_PREFIX:?}")]
    Prefix(String, String),
    #[error("address {0:?} is {1} bytes, want 20")]
    Length(String, usize),
}

impl Address {
    /// The SDK's secp256k1 address: RIPEMD-160(SHA-256(compressed key)).
    pub fn from_secp256k1(compressed: &[u8]) -> Address {
        let sha = Sha256::digest(compressed);
        Address(Ripemd160::digest(sha).into())
    }

    /// A module account's address, as the SDK's `authtypes.NewModuleAddress`:
    /// the first 20 bytes of SHA-256(name).
    pub fn module(name: &str) -> Address {
        let sha = Sha256::digest(name.as_bytes());
        let mut a = [0u8; 20];
        a.copy_from_slice(&sha[..20]);
        Address(a)
    }

    /// Parses `chimera1…`.
    pub fn parse(s: &str) -> Result<Address, AddressError> {
        let (hrp, data, _) = bech32::decode(s).map_err(|e| AddressError::Bech32(s.into(), e.to_string()))?;
        if hrp != ACCOUNT_PREFIX {
            return Err(AddressError::Prefix(s.into(), hrp));
        }
        let bytes =
            Vec::<u8>::from_base32(&data).map_err(|e| AddressError::Bech32(s.into(), e.to_string()))?;
        let arr: [u8; 20] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| AddressError::Length(s.into(), bytes.len()))?;
        Ok(Address(arr))
    }

    /// Any bech32 address's raw bytes, whatever its prefix (IBC receivers on
    /// other chains, ICA addresses).
    pub fn encode_with(prefix: &str, bytes: &[u8]) -> String {
        bech32::encode(prefix, bytes.to_base32(), Variant::Bech32).expect("valid prefix")
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&Address::encode_with(ACCOUNT_PREFIX, &self.0))
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
            Address::encode_with("cosmos", &a.0),
            "cosmos17xpfvakm2amg962yls6f84z3kell8c5lserqta"
        );
    }

    #[test]
    fn roundtrip_and_errors() {
        let a = Address([7u8; 20]);
        let s = a.to_string();
        assert!(s.starts_with("chimera1"));
        assert_eq!(Address::parse(&s).unwrap(), a);
        let other = Address::encode_with("terra", &a.0);
        assert!(matches!(Address::parse(&other), Err(AddressError::Prefix(..))));
        assert!(matches!(
            Address::parse("chimera1xyz"),
            Err(AddressError::Bech32(..))
        ));
    }
}
