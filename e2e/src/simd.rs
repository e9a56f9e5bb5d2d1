//! A single-validator ibc-go `simd` localnet (v7.10.0: Cosmos SDK 0.47,
//! CometBFT 0.37): the plain Go Cosmos SDK chain Chimera is measured
//! against.
//!
//! `simd` has the same operator commands and config files as `terrad`, so
//! the localnet is [`SdkLocalnet`] with [`Simd`]'s binary, denom, coin type
//! and prefix: `simd init`, recovered keys with coin type 118, genesis
//! accounts, gentx, collect-gentxs, loopback ports, then `simd start`.

use crate::keys;
use crate::terra::{SdkConfig, SdkDaemon, SdkLocalnet};

/// Default chain id of the localnet.
///
/// Why: clearly a test chain, so a signed test transaction can never be
/// replayed on a real one.
pub const DEFAULT_CHAIN_ID: &str = "simd-localnet-1";

/// simd's staking and fee denom (`init --default-denom`).
pub const DENOM: &str = "stake";

/// simd's bech32 account prefix (the SDK's default).
pub const PREFIX: &str = "cosmos";

/// Default `minimum-gas-prices`: 0.025stake, the same price `chimerad`
/// charges in uchim.
///
/// Why: benchmarks send the same tx shape with the same fee on both chains.
pub const DEFAULT_MIN_GAS_PRICES: &str = "0.025stake";

/// ibc-go's `simd` (v7.x).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Simd;

impl SdkDaemon for Simd {
    const BINARY: &'static str = "simd";
    const DENOM: &'static str = DENOM;
    const COIN_TYPE: u32 = keys::COSMOS_COIN_TYPE;
    const PREFIX: &'static str = PREFIX;
    const DEFAULT_CHAIN_ID: &'static str = DEFAULT_CHAIN_ID;
    const DEFAULT_MIN_GAS_PRICES: &'static str = DEFAULT_MIN_GAS_PRICES;
}

/// How to build a simd localnet (`Default`: one validator, one funded user,
/// 0.5 s blocks, 0.025stake minimum gas price).
pub type SimdConfig = SdkConfig<Simd>;

/// A running single-validator simd chain; dropping it stops the node.
pub type SimdLocalnet = SdkLocalnet<Simd>;
