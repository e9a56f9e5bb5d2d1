//! `chimera.fees.v1.Query` (docs/tokenomics.md): the fee parameters, what
//! fees have paid, burned and funded per denom, and every validator's
//! record as an executor, read from committed snapshots through
//! [`crate::fees::store`], over gRPC and gRPC-over-ABCI like every other
//! query of the node. No paging: one total per priced denom and one record
//! per validator.

use std::collections::BTreeMap;

use chimera_packets::proto::fees::*;

use super::error::QResult;
use super::read::{state_service, QueryCtx};
use crate::chain::address::Address;
use crate::fees::store::{self, Totals};
use crate::fees::FeeParams;
use crate::state::Snapshot;

pub use crate::services::fees::{QueryClient, QueryServer};

/// `Query/Params`: the parameters in state (the defaults on a chain whose
/// genesis has none).
pub fn params(_: &QueryCtx, snap: &Snapshot, _: QueryParamsRequest) -> QResult<QueryParamsResponse> {
    let params = FeeParams::load_committed(snap)?;
    Ok(QueryParamsResponse {
        params: Some(Params::from(&params)),
    })
}

/// `Query/Totals`: every denom with a totals record, and every priced denom
/// with a pending burn or community balance but no record yet, by denom.
/// The pending amounts are the balances of the module accounts
/// `fees/burn` and `fees/community`.
pub fn totals(_: &QueryCtx, snap: &Snapshot, _: QueryTotalsRequest) -> QResult<QueryTotalsResponse> {
    Ok(QueryTotalsResponse {
        totals: totals_of(snap)?,
    })
}

/// What `Query/Totals` answers (chimerad's fee gauges read it too).
pub fn totals_of(snap: &Snapshot) -> QResult<Vec<Total>> {
    let params = FeeParams::load_committed(snap)?;
    let mut by_denom: BTreeMap<String, Totals> = store::totals_committed(snap)?.into_iter().collect();
    let (burn, community) = (store::burn_account(), store::community_account());
    let pending = |denom: &str| -> QResult<(u128, u128)> {
        Ok((
            crate::chain::bank::balance_committed(snap, &burn, denom)?,
            crate::chain::bank::balance_committed(snap, &community, denom)?,
        ))
    };
    for denom in params
        .prices
        .iter()
        .map(|p| crate::fees::params::bank_denom(&p.denom))
    {
        if !by_denom.contains_key(&denom) && pending(&denom)? != (0, 0) {
            by_denom.insert(denom, Totals::default());
        }
    }
    by_denom
        .iter()
        .map(|(denom, t)| {
            let (b, c) = pending(denom)?;
            Ok(t.to_pb(denom, b, c))
        })
        .collect()
}

/// `Query/Executors`: every validator, by consensus address, with its
/// record (a zero one if it has none yet) and its operator account.
pub fn executors(_: &QueryCtx, snap: &Snapshot, _: QueryExecutorsRequest) -> QResult<QueryExecutorsResponse> {
    Ok(QueryExecutorsResponse {
        executors: executors_of(snap)?,
    })
}

/// What `Query/Executors` answers (chimerad's executor gauges read it too).
pub fn executors_of(snap: &Snapshot) -> QResult<Vec<Executor>> {
    let mut validators = crate::inference::store::validators_committed(snap)?;
    validators.sort_by(|a, b| a.address.cmp(&b.address));
    validators
        .into_iter()
        .map(|v| {
            let mut e = store::executor_committed(snap, &v.address)?.unwrap_or_else(|| Executor {
                validator: v.address.clone(),
                ..Default::default()
            });
            e.operator = crate::inference::store::operator_of_committed(snap, &v.address)?
                .and_then(|op| Address::from_slice(&op))
                .map(|a| a.to_string())
                .unwrap_or_default();
            Ok(e)
        })
        .collect()
}

/// Answers `chimera.fees.v1.Query/<method>` from `abci_query` bytes; None
/// for any other path.
pub fn abci_route(q: &QueryCtx, path: &str, data: &[u8], height: u64) -> Option<QResult<Vec<u8>>> {
    use super::read::abci;
    let method = path.strip_prefix("chimera.fees.v1.Query/")?;
    Some(match method {
        "Params" => abci(q, data, height, params),
        "Totals" => abci(q, data, height, totals),
        "Executors" => abci(q, data, height, executors),
        _ => return None,
    })
}

/// The tonic service.
#[derive(Clone)]
pub struct FeesQuery(pub QueryCtx);

state_service! {
    impl crate::services::fees::query_server::Query for FeesQuery {
        params(QueryParamsRequest) -> QueryParamsResponse = params;
        totals(QueryTotalsRequest) -> QueryTotalsResponse = totals;
        executors(QueryExecutorsRequest) -> QueryExecutorsResponse = executors;
    }
}
