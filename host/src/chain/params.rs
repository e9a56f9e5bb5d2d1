//! Chain parameters: set in genesis, stored in state (so every validator
//! enforces the same fee floor and limits), read once per block.

use serde::{Deserialize, Serialize};

use super::address::Address;
use super::error::TxError;
use crate::state::{Delta, Snapshot, StateError};

const PARAMS_KEY: &[u8] = b"chain/params";

/// Consensus-relevant parameters of the host chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Params {
    /// The native staking and fee denom.
    pub fee_denom: String,
    /// Minimum gas price as a fraction `num/den` of `fee_denom` per gas unit
    /// (integers: no floats in consensus). 0.025uchim = 1/40.
    pub min_gas_price_num: u64,
    pub min_gas_price_den: u64,
    /// Largest tx CheckTx or FinalizeBlock accepts, in bytes.
    pub max_tx_bytes: u64,
    /// Largest gas limit one tx may ask for.
    pub max_gas_per_tx: u64,
    /// What `cosmos.staking.v1beta1.Query/Params` reports as the unbonding
    /// time, in seconds: relayers derive client trusting periods from it.
    pub unbonding_time_secs: u64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            fee_denom: "uchim".into(),
            min_gas_price_num: 1,
            min_gas_price_den: 40,
            max_tx_bytes: 1 << 20,
            max_gas_per_tx: 100_000_000,
            unbonding_time_secs: 21 * 24 * 3600,
        }
    }
}

impl Params {
    /// The least fee (in `fee_denom`) a tx with `gas_limit` must pay: the
    /// SDK's `ceil(gas x price)`.
    pub fn required_fee(&self, gas_limit: u64) -> u128 {
        let n = gas_limit as u128 * self.min_gas_price_num as u128;
        let d = self.min_gas_price_den.max(1) as u128;
        n.div_ceil(d)
    }

    /// The minimum gas price as the decimal string operators and Hermes's
    /// `gas_price.price` use (e.g. "0.025").
    pub fn min_gas_price_decimal(&self) -> String {
        let d = self.min_gas_price_den.max(1);
        let int = self.min_gas_price_num / d;
        let mut rem = self.min_gas_price_num % d;
        let mut s = format!("{int}.");
        for _ in 0..18 {
            rem *= 10;
            s.push(char::from(b'0' + (rem / d) as u8));
            rem %= d;
        }
        let s = s.trim_end_matches('0').to_string();
        if s.ends_with('.') {
            format!("{s}0")
        } else {
            s
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        super::bank::validate_denom(&self.fee_denom).map_err(|e| e.to_string())?;
        if self.min_gas_price_den == 0 {
            return Err("min_gas_price_den must be positive".into());
        }
        if self.max_tx_bytes == 0 || self.max_gas_per_tx == 0 || self.unbonding_time_secs == 0 {
            return Err("max_tx_bytes, max_gas_per_tx and unbonding_time_secs must be positive".into());
        }
        Ok(())
    }
}

impl StateParams for Params {
    const KEY: &'static [u8] = PARAMS_KEY;
    const WHAT: &'static str = "chain params";
}

/// A module's parameters, kept as JSON under one state key: genesis stores
/// them, every validator reads the same bytes.
pub trait StateParams: Serialize + serde::de::DeserializeOwned {
    /// The state key.
    const KEY: &'static [u8];
    /// What they are, for the fault when they are missing.
    const WHAT: &'static str;

    fn load(state: &Delta) -> Result<Self, TxError> {
        load_json(state, Self::KEY, Self::WHAT)
    }

    /// From a committed snapshot, for queries.
    fn load_committed(snap: &Snapshot) -> Result<Option<Self>, StateError> {
        load_json_committed(snap, Self::KEY)
    }

    fn store(&self, state: &mut Delta) {
        store_json(state, Self::KEY, self)
    }
}

/// Reads a module's parameters, kept as JSON under `key`; missing or
/// unreadable parameters are a fault (genesis always writes them).
pub fn load_json<T: serde::de::DeserializeOwned>(
    state: &Delta,
    key: &[u8],
    what: &str,
) -> Result<T, TxError> {
    let b = state
        .get(key)?
        .ok_or_else(|| TxError::Internal(format!("{what} are missing from state")))?;
    serde_json::from_slice(&b).map_err(|e| TxError::Internal(format!("{what}: {e}")))
}

/// [`load_json`] from a committed snapshot, for queries.
pub fn load_json_committed<T: serde::de::DeserializeOwned>(
    snap: &Snapshot,
    key: &[u8],
) -> Result<Option<T>, StateError> {
    Ok(snap.get(key)?.and_then(|b| serde_json::from_slice(&b).ok()))
}

/// Writes parameters as JSON under `key`.
pub fn store_json<T: Serialize>(state: &mut Delta, key: &[u8], value: &T) {
    state.put(key.to_vec(), serde_json::to_vec(value).expect("params serialize"));
}

/// The module account that collects fees.
pub fn fee_collector() -> Address {
    Address::module("fee_collector")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fee_rounds_up_and_prints_like_the_sdk() {
        let p = Params::default();
        assert_eq!(p.required_fee(200_000), 5000);
        assert_eq!(p.required_fee(1), 1);
        assert_eq!(p.min_gas_price_decimal(), "0.025");
        let q = Params {
            min_gas_price_num: 0,
            ..Params::default()
        };
        assert_eq!(q.min_gas_price_decimal(), "0.0");
        assert_eq!(q.required_fee(1_000_000), 0);
    }
}
