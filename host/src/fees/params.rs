//! The fee parameters (`app_state.fees` in genesis, `fees/params` in
//! state, replaced by `MsgUpdateParams` from the authority): the price
//! of a request per model and denom, how a fee is split, the fault limit
//! and where the burn and community parts of Terra Classic denoms go.

use chimera_packets::proto::fees as pb;
use serde::{Deserialize, Serialize};

use super::split::Shares;
use crate::chain::error::TxError;
use crate::chain::params::{load_json, store_json};
use crate::state::{Delta, Snapshot, StateError};

pub(crate) const PARAMS_KEY: &[u8] = b"fees/params";

/// `model` of the price that applies to every model without its own.
pub const ANY_MODEL: &str = "*";

/// One price: `amount` of `denom` per request of `model`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub model: String,
    /// Native denom, `ibc/HASH`, or an ICS-20 path like
    /// `transfer/channel-0/uluna` (resolved with [`bank_denom`]).
    pub denom: String,
    /// Integer micro-units, as a decimal string (JSON numbers lose
    /// precision above 2^53).
    pub amount: String,
}

/// Where burn and community parts of Terra Classic denoms are sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Route {
    /// This chain's ICS-20 channel to Terra Classic; empty = nothing is
    /// sent (parts wait in the module accounts).
    pub channel: String,
    pub burn_address: String,
    pub community_address: String,
    pub send_interval_blocks: u64,
    pub timeout_seconds: u64,
}

impl Default for Route {
    fn default() -> Self {
        Route {
            channel: String::new(),
            burn_address: String::new(),
            community_address: String::new(),
            // Why 20: one ICS-20 packet per denom and destination every
            // ~10 s at 0.5 s blocks keeps relayer cost low and the
            // pending amount visible for only a short while.
            send_interval_blocks: 20,
            timeout_seconds: 600,
        }
    }
}

/// The fee parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeeParams {
    /// Account that may replace these parameters; empty = nobody.
    pub authority: String,
    /// Empty = requests pay what they offer (possibly nothing).
    pub prices: Vec<Price>,
    pub executor_bps: u32,
    pub burn_bps: u32,
    pub community_bps: u32,
    pub fault_limit: u64,
    pub route: Route,
}

impl Default for FeeParams {
    fn default() -> Self {
        FeeParams {
            authority: String::new(),
            prices: Vec::new(),
            // Why 70/20/10: the executors bear the cost (GPU time), the
            // burn is the seed's supply goal, the community part funds
            // development; all three are parameters.
            executor_bps: 7000,
            burn_bps: 2000,
            community_bps: 1000,
            fault_limit: 3,
            route: Route::default(),
        }
    }
}

/// The bank denom a price's denom names: `ibc/HASH` for an ICS-20 path.
pub fn bank_denom(denom: &str) -> String {
    if denom.starts_with("transfer/") {
        format!("ibc/{}", crate::ibc::transfer::trace_hash(denom))
    } else {
        denom.to_string()
    }
}

fn parse_amount(s: &str) -> Result<u128, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0')) {
        return Err(format!("amount {s:?} is not a decimal integer"));
    }
    s.parse::<u128>().map_err(|e| format!("amount {s:?}: {e}"))
}

fn check_bech32(what: &str, s: &str) -> Result<(), String> {
    bech32::decode(s)
        .map(|_| ())
        .map_err(|e| format!("{what} {s:?} is not a bech32 address: {e}"))
}

impl FeeParams {
    /// The split shares.
    pub fn shares(&self) -> Shares {
        Shares {
            executor_bps: self.executor_bps,
            burn_bps: self.burn_bps,
            community_bps: self.community_bps,
        }
    }

    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<(), String> {
        if !self.authority.is_empty() {
            crate::chain::address::Address::parse(&self.authority).map_err(|e| format!("authority: {e}"))?;
        }
        if !self.shares().is_whole() {
            return Err(format!(
                "executor_bps + burn_bps + community_bps = {} + {} + {} must be 10000",
                self.executor_bps, self.burn_bps, self.community_bps
            ));
        }
        if self.fault_limit == 0 {
            return Err("fault_limit must be at least 1".into());
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, p) in self.prices.iter().enumerate() {
            if p.model != ANY_MODEL {
                chimera_packets::packet::validate_model_id(&p.model)
                    .map_err(|e| format!("prices[{i}].model: {e}"))?;
            }
            let denom = bank_denom(&p.denom);
            crate::chain::bank::validate_denom(&denom).map_err(|e| format!("prices[{i}].denom: {e}"))?;
            if p.denom.starts_with("transfer/") && p.denom.split('/').count() < 3 {
                return Err(format!(
                    "prices[{i}].denom {:?} is not port/channel/base",
                    p.denom
                ));
            }
            if parse_amount(&p.amount).map_err(|e| format!("prices[{i}]: {e}"))? == 0 {
                return Err(format!("prices[{i}].amount must be positive"));
            }
            if !seen.insert((p.model.clone(), denom)) {
                return Err(format!("prices[{i}]: {} in {} is priced twice", p.model, p.denom));
            }
        }
        let r = &self.route;
        if !r.channel.is_empty() {
            r.channel
                .parse::<::ibc::core::host::types::identifiers::ChannelId>()
                .map_err(|e| format!("route.channel: {e}"))?;
            check_bech32("route.burn_address", &r.burn_address)?;
            check_bech32("route.community_address", &r.community_address)?;
            if r.send_interval_blocks == 0 || r.timeout_seconds == 0 {
                return Err("route.send_interval_blocks and route.timeout_seconds must be positive".into());
            }
        }
        Ok(())
    }

    /// The prices of `model` as (bank denom, amount), in schedule order:
    /// its own entries, else those of [`ANY_MODEL`]. Empty = not priced.
    pub fn prices_of(&self, model: &str) -> Vec<(String, u128)> {
        let of = |m: &str| -> Vec<(String, u128)> {
            self.prices
                .iter()
                .filter(|p| p.model == m)
                .filter_map(|p| Some((bank_denom(&p.denom), parse_amount(&p.amount).ok()?)))
                .collect()
        };
        let own = of(model);
        if own.is_empty() {
            of(ANY_MODEL)
        } else {
            own
        }
    }

    /// Every priced denom that is not `native`, as (bank denom, ICS-20
    /// path or `ibc/HASH` as written), sorted and without repeats: the
    /// denoms whose burn and community parts are sent over the route.
    pub fn foreign_denoms(&self, native: &str) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .prices
            .iter()
            .map(|p| (bank_denom(&p.denom), p.denom.clone()))
            .filter(|(d, _)| d != native)
            .collect();
        out.sort();
        out.dedup_by(|a, b| a.0 == b.0);
        out
    }

    /// Reads the parameters; a chain whose genesis predates them uses the
    /// defaults (no prices: nothing changes for it).
    pub fn load(state: &Delta) -> Result<FeeParams, TxError> {
        if state.get(PARAMS_KEY)?.is_none() {
            return Ok(FeeParams::default());
        }
        load_json(state, PARAMS_KEY, "fee params")
    }

    pub fn load_committed(snap: &Snapshot) -> Result<FeeParams, StateError> {
        Ok(crate::chain::params::load_json_committed(snap, PARAMS_KEY)?.unwrap_or_default())
    }

    pub fn store(&self, state: &mut Delta) {
        store_json(state, PARAMS_KEY, self)
    }
}

impl From<&FeeParams> for pb::Params {
    fn from(p: &FeeParams) -> Self {
        pb::Params {
            authority: p.authority.clone(),
            prices: p
                .prices
                .iter()
                .map(|x| pb::Price {
                    model: x.model.clone(),
                    denom: x.denom.clone(),
                    amount: x.amount.clone(),
                })
                .collect(),
            executor_bps: p.executor_bps,
            burn_bps: p.burn_bps,
            community_bps: p.community_bps,
            fault_limit: p.fault_limit,
            route: Some(pb::Route {
                channel: p.route.channel.clone(),
                burn_address: p.route.burn_address.clone(),
                community_address: p.route.community_address.clone(),
                send_interval_blocks: p.route.send_interval_blocks,
                timeout_seconds: p.route.timeout_seconds,
            }),
        }
    }
}

impl From<&pb::Params> for FeeParams {
    fn from(p: &pb::Params) -> Self {
        let r = p.route.clone().unwrap_or_default();
        FeeParams {
            authority: p.authority.clone(),
            prices: p
                .prices
                .iter()
                .map(|x| Price {
                    model: x.model.clone(),
                    denom: x.denom.clone(),
                    amount: x.amount.clone(),
                })
                .collect(),
            executor_bps: p.executor_bps,
            burn_bps: p.burn_bps,
            community_bps: p.community_bps,
            fault_limit: p.fault_limit,
            route: Route {
                channel: r.channel,
                burn_address: r.burn_address,
                community_address: r.community_address,
                send_interval_blocks: r.send_interval_blocks,
                timeout_seconds: r.timeout_seconds,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lunc() -> Price {
        Price {
            model: "digits-ddpm".into(),
            denom: "transfer/channel-0/uluna".into(),
            amount: "1000000".into(),
        }
    }

    #[test]
    fn defaults_are_valid_and_whole() {
        FeeParams::default().validate().unwrap();
    }

    #[test]
    fn an_ics20_path_prices_its_voucher() {
        let p = FeeParams {
            prices: vec![
                lunc(),
                Price {
                    model: ANY_MODEL.into(),
                    denom: "uchim".into(),
                    amount: "5".into(),
                },
            ],
            ..Default::default()
        };
        p.validate().unwrap();
        let voucher = format!(
            "ibc/{}",
            crate::ibc::transfer::trace_hash("transfer/channel-0/uluna")
        );
        assert_eq!(p.prices_of("digits-ddpm"), vec![(voucher.clone(), 1_000_000)]);
        assert_eq!(p.prices_of("tiny-lm"), vec![("uchim".to_string(), 5)]);
        assert_eq!(
            p.foreign_denoms("uchim"),
            vec![(voucher, "transfer/channel-0/uluna".to_string())]
        );
        assert_eq!(FeeParams::from(&pb::Params::from(&p)), p);
    }

    #[test]
    fn bad_parameters_name_the_field() {
        let bad = |f: &dyn Fn(&mut FeeParams)| {
            let mut p = FeeParams {
                prices: vec![lunc()],
                ..Default::default()
            };
            f(&mut p);
            p.validate().unwrap_err()
        };
        assert!(bad(&|p| p.burn_bps = 0).contains("must be 10000"));
        assert!(bad(&|p| p.prices[0].amount = "0".into()).contains("positive"));
        assert!(bad(&|p| p.prices[0].amount = "1.5".into()).contains("decimal"));
        assert!(bad(&|p| p.prices.push(lunc())).contains("priced twice"));
        assert!(bad(&|p| p.fault_limit = 0).contains("fault_limit"));
        assert!(bad(&|p| p.route.channel = "channel-0".into()).contains("burn_address"));
        assert!(bad(&|p| p.authority = "terra1x".into()).contains("authority"));
    }
}
