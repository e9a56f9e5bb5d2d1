//! The host chain's `app_state` in CometBFT's genesis.json: parameters and
//! funded accounts. `chimerad init` writes it; InitChain applies it.

use serde::{Deserialize, Serialize};

use super::address::Address;
use super::bank;
use super::gas::unmetered;
use super::params::Params;
use super::params::StateParams;
use crate::state::Delta;

/// `app_state` of genesis.json.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppGenesis {
    #[serde(default)]
    pub params: Params,
    #[serde(default)]
    pub accounts: Vec<GenesisAccount>,
    #[serde(default)]
    pub inference: crate::inference::genesis::InferenceGenesis,
    /// ICS-27 host parameters (`host_enabled`, `allow_messages`).
    #[serde(default)]
    pub ica_host: crate::ica::IcaHostParams,
    /// Fee schedule, split, fault limit and Terra Classic route.
    #[serde(default)]
    pub fees: crate::fees::FeeParams,
}

/// An account funded at genesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisAccount {
    pub address: String,
    /// `[{"denom": "uchim", "amount": "1000"}]`.
    pub coins: Vec<GenesisCoin>,
}

/// A coin in genesis (amount as a decimal string, as in the SDK's JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisCoin {
    pub denom: String,
    pub amount: String,
}

impl AppGenesis {
    /// Parses `app_state` (an empty byte string means all defaults).
    pub fn parse(bytes: &[u8]) -> Result<AppGenesis, String> {
        if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            return Ok(AppGenesis::default());
        }
        serde_json::from_slice(bytes).map_err(|e| format!("app_state: {e}"))
    }

    /// Writes the genesis state into `state`.
    pub fn apply(&self, state: &mut Delta) -> Result<(), String> {
        self.params
            .validate()
            .map_err(|e| format!("app_state.params: {e}"))?;
        self.params.store(state);
        self.inference.apply(state)?;
        self.ica_host
            .validate()
            .map_err(|e| format!("app_state.ica_host: {e}"))?;
        self.ica_host.store(state);
        self.fees.validate().map_err(|e| format!("app_state.fees: {e}"))?;
        self.fees.store(state);
        unmetered(state, 0, |ctx| {
            for acc in &self.accounts {
                let addr = Address::parse(&acc.address).map_err(|e| format!("app_state.accounts: {e}"))?;
                for c in &acc.coins {
                    bank::validate_denom(&c.denom).map_err(|e| format!("{}: {e}", acc.address))?;
                    let amount =
                        bank::parse_amount(&c.amount).map_err(|e| format!("{}: {e}", acc.address))?;
                    bank::mint(ctx, &addr, &c.denom, amount).map_err(|e| e.to_string())?;
                }
                super::auth::get_or_create(ctx, &addr).map_err(|e| e.to_string())?;
            }
            Ok(())
        })
    }
}
