//! Deterministic test keys: fixed mnemonics and their BIP-44 addresses.
//!
//! Localnet accounts are recovered from fixed 24-word mnemonics so their
//! addresses are the same on every run and every machine. Terra uses BIP-44
//! coin type 330, not the Cosmos default 118: the same mnemonic gives a
//! different address under each. The harness derives addresses itself (with
//! `cosmrs`' bip32) and checks that `terrad` derived the same one, so a key
//! recovered with the wrong path fails loudly instead of funding a stranger.

use bip32::{DerivationPath, Language, Mnemonic};
use cosmrs::crypto::secp256k1::SigningKey;
use cosmrs::AccountId;

/// Terra's registered BIP-44 coin type (SLIP-44 330).
pub const TERRA_COIN_TYPE: u32 = 330;

/// The Cosmos SDK default coin type, for contrast in tests.
pub const COSMOS_COIN_TYPE: u32 = 118;

/// Terra's bech32 account prefix.
pub const TERRA_PREFIX: &str = "terra";

/// Mnemonic of the localnet validator (LocalTerra's well-known validator
/// key: public test material, never fund it anywhere real).
///
/// Why: stable validator address across runs.
pub const VALIDATOR_MNEMONIC: &str = "satisfy adjust timber high purchase tuition stool faith fine install that you unaware feed domain license impose boss human eager hat rent enjoy dawn";

/// Mnemonic of an unbonded genesis user account (LocalTerra's `test1`).
///
/// Why: a funded account that is not the validator, for sending transactions
/// in later tests; its balance is exactly its genesis amount.
pub const USER_MNEMONIC: &str = "notice oak worry limit wrap speak medal online prefer cluster roof addict wrist behave treat actual wasp year salad speed social layer crew genius";

/// The Terra address of [`VALIDATOR_MNEMONIC`] (LocalTerra's published
/// validator address; `terrad keys show -a` agrees).
///
/// Why: tests can name the validator without deriving it.
pub const VALIDATOR_ADDRESS: &str = "terra1dcegyrekltswvyy0xy69ydgxn9x8x32zdtapd8";

/// The Terra address of [`USER_MNEMONIC`] (LocalTerra's published `test1`
/// address; `terrad keys show -a` agrees).
pub const USER_ADDRESS: &str = "terra1x46rqay4d3cssq8gxxvqz8xt6nwlz4td20k38v";

/// A mnemonic could not be parsed or a key could not be derived.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Not a valid English BIP-39 phrase (wrong word or checksum).
    #[error("invalid BIP-39 mnemonic: {0}")]
    Mnemonic(String),
    /// Derivation or address encoding failed.
    #[error("deriving {path}: {message}")]
    Derive {
        /// The HD path.
        path: String,
        /// The underlying error.
        message: String,
    },
}

/// The HD path `m/44'/<coin_type>'/0'/0/<index>`.
///
/// Why: the path `terrad keys add --coin-type N --account 0 --index I` uses.
pub fn hd_path(coin_type: u32, index: u32) -> String {
    format!("m/44'/{coin_type}'/0'/0/{index}")
}

/// The secp256k1 signing key at `hd_path(coin_type, 0)` of `mnemonic`
/// (empty BIP-39 passphrase, as `terrad keys add --recover` uses).
///
/// Why: tests sign transactions with the same keys the localnet funded.
pub fn signing_key(mnemonic: &str, coin_type: u32) -> Result<SigningKey, KeyError> {
    let phrase =
        Mnemonic::new(mnemonic.trim(), Language::English).map_err(|e| KeyError::Mnemonic(e.to_string()))?;
    let path_str = hd_path(coin_type, 0);
    let derive = |message: String| KeyError::Derive {
        path: path_str.clone(),
        message,
    };
    let path: DerivationPath = path_str.parse().map_err(|e| derive(format!("{e}")))?;
    SigningKey::derive_from_path(phrase.to_seed(""), &path).map_err(|e| derive(e.to_string()))
}

/// The bech32 account address (`prefix1...`) of `mnemonic` under
/// `coin_type`.
///
/// Why: the address the harness expects `terrad` to report for a recovered
/// key, and the one it queries balances of.
pub fn address(mnemonic: &str, coin_type: u32, prefix: &str) -> Result<AccountId, KeyError> {
    signing_key(mnemonic, coin_type)?
        .public_key()
        .account_id(prefix)
        .map_err(|e| KeyError::Derive {
            path: hd_path(coin_type, 0),
            message: e.to_string(),
        })
}

/// The Terra address (coin type 330, prefix `terra`) of `mnemonic`.
pub fn terra_address(mnemonic: &str) -> Result<AccountId, KeyError> {
    address(mnemonic, TERRA_COIN_TYPE, TERRA_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_localterra_published_addresses() {
        // Independent check of m/44'/330'/0'/0/0: LocalTerra publishes these
        // mnemonic/address pairs.
        assert_eq!(
            terra_address(VALIDATOR_MNEMONIC).unwrap().as_ref(),
            VALIDATOR_ADDRESS
        );
        assert_eq!(terra_address(USER_MNEMONIC).unwrap().as_ref(), USER_ADDRESS);
    }

    #[test]
    fn coin_type_changes_the_address() {
        let terra = terra_address(VALIDATOR_MNEMONIC).unwrap();
        let cosmos = address(VALIDATOR_MNEMONIC, COSMOS_COIN_TYPE, TERRA_PREFIX).unwrap();
        assert!(terra.as_ref().starts_with("terra1"));
        assert_ne!(terra, cosmos);
        assert_ne!(terra, terra_address(USER_MNEMONIC).unwrap());
    }

    #[test]
    fn bad_checksum_is_rejected() {
        let bad = VALIDATOR_MNEMONIC.replace("dawn", "satisfy");
        assert!(matches!(terra_address(&bad), Err(KeyError::Mnemonic(_))));
    }
}
