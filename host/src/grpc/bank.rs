//! `cosmos.bank.v1beta1.Query`: balances and supply from committed state,
//! in the SDK's shapes, so that wallets, explorers and Hermes (`keys
//! balance`, telemetry) read them unchanged. Nothing here is locked or
//! vesting, so spendable balances are all balances.

use ibc_proto::cosmos::bank::v1beta1::query_server::Query;
use ibc_proto::cosmos::bank::v1beta1::*;
use ibc_proto::cosmos::base::v1beta1::Coin;
use tonic::Status;

use super::error::{QResult, QueryError};
use super::page::paginate;
use super::read::{state_service, QueryCtx};
use crate::chain::address::Address;
use crate::chain::bank as chain_bank;
use crate::chain::params::Params as ChainParams;
use crate::chain::params::StateParams;
use crate::state::Snapshot;

/// Parses a request's address as the SDK's bank queries do.
fn address(s: &str) -> QResult<Address> {
    if s.is_empty() {
        return Err(QueryError::invalid(
            "invalid address: empty address string is not allowed",
        ));
    }
    Address::parse(s).map_err(|e| QueryError::invalid(format!("invalid address: {e}")))
}

fn denom(d: &str) -> QResult<&str> {
    chain_bank::validate_denom(d)
        .map(|()| d)
        .map_err(|_| QueryError::invalid(format!("invalid denom: {d}")))
}

fn coin(denom: &str, amount: u128) -> Coin {
    Coin {
        denom: denom.into(),
        amount: amount.to_string(),
    }
}

/// Coins keyed by denom (the SDK's `next_key` for balance and supply pages).
fn by_denom(coins: Vec<Coin>) -> Vec<(Vec<u8>, Coin)> {
    coins
        .into_iter()
        .filter(|c| c.amount != "0")
        .map(|c| (c.denom.as_bytes().to_vec(), c))
        .collect()
}

/// `Query/Balance`: zero for an unknown account or denom, as the SDK.
pub fn balance(_: &QueryCtx, snap: &Snapshot, req: QueryBalanceRequest) -> QResult<QueryBalanceResponse> {
    let addr = address(&req.address)?;
    let d = denom(&req.denom)?;
    Ok(QueryBalanceResponse {
        balance: Some(coin(d, chain_bank::balance_committed(snap, &addr, d)?)),
    })
}

/// `Query/AllBalances`, paginated by denom.
pub fn all_balances(
    _: &QueryCtx,
    snap: &Snapshot,
    req: QueryAllBalancesRequest,
) -> QResult<QueryAllBalancesResponse> {
    let addr = address(&req.address)?;
    let (balances, page) = paginate(
        by_denom(chain_bank::balances_committed(snap, &addr)?),
        req.pagination.as_ref(),
    )?;
    Ok(QueryAllBalancesResponse {
        balances,
        pagination: Some(page),
    })
}

/// `Query/SpendableBalances`: all balances (nothing is locked).
pub fn spendable_balances(
    q: &QueryCtx,
    snap: &Snapshot,
    req: QuerySpendableBalancesRequest,
) -> QResult<QuerySpendableBalancesResponse> {
    let all = all_balances(
        q,
        snap,
        QueryAllBalancesRequest {
            address: req.address,
            pagination: req.pagination,
            resolve_denom: false,
        },
    )?;
    Ok(QuerySpendableBalancesResponse {
        balances: all.balances,
        pagination: all.pagination,
    })
}

/// `Query/SpendableBalanceByDenom`: the balance.
pub fn spendable_balance_by_denom(
    q: &QueryCtx,
    snap: &Snapshot,
    req: QuerySpendableBalanceByDenomRequest,
) -> QResult<QuerySpendableBalanceByDenomResponse> {
    let b = balance(
        q,
        snap,
        QueryBalanceRequest {
            address: req.address,
            denom: req.denom,
        },
    )?;
    Ok(QuerySpendableBalanceByDenomResponse { balance: b.balance })
}

/// `Query/TotalSupply`, paginated by denom.
pub fn total_supply(
    _: &QueryCtx,
    snap: &Snapshot,
    req: QueryTotalSupplyRequest,
) -> QResult<QueryTotalSupplyResponse> {
    let (supply, page) = paginate(
        by_denom(chain_bank::supplies_committed(snap)?),
        req.pagination.as_ref(),
    )?;
    Ok(QueryTotalSupplyResponse {
        supply,
        pagination: Some(page),
    })
}

/// `Query/SupplyOf`: zero for an unknown denom, as the SDK.
pub fn supply_of(_: &QueryCtx, snap: &Snapshot, req: QuerySupplyOfRequest) -> QResult<QuerySupplyOfResponse> {
    if req.denom.is_empty() {
        return Err(QueryError::invalid("invalid denom"));
    }
    Ok(QuerySupplyOfResponse {
        amount: Some(coin(&req.denom, chain_bank::supply_committed(snap, &req.denom)?)),
    })
}

/// `Query/Params`: sends are enabled for every denom.
#[allow(deprecated)] // `send_enabled` in params: empty, as the SDK since 0.47
pub fn query_params(_: &QueryCtx, _: &Snapshot, _: QueryParamsRequest) -> QResult<QueryParamsResponse> {
    Ok(QueryParamsResponse {
        params: Some(Params {
            send_enabled: Vec::new(),
            default_send_enabled: true,
        }),
    })
}

/// Display metadata of the fee denom, the one denom whose units we know:
/// wallets show `uchim` as CHIM with 6 decimals (the Cosmos `u` = micro
/// convention); any other fee denom is described by its base unit only.
fn fee_denom_metadata(snap: &Snapshot) -> QResult<Option<Metadata>> {
    let Some(p) = ChainParams::load_committed(snap)? else {
        return Ok(None);
    };
    let base = p.fee_denom;
    let mut units = vec![DenomUnit {
        denom: base.clone(),
        exponent: 0,
        aliases: Vec::new(),
    }];
    let display = match base.strip_prefix('u').filter(|d| d.len() >= 3) {
        Some(whole) => {
            units[0].aliases.push(format!("micro{whole}"));
            units.push(DenomUnit {
                denom: whole.into(),
                exponent: 6,
                aliases: Vec::new(),
            });
            whole.to_string()
        }
        None => base.clone(),
    };
    Ok(Some(Metadata {
        description: "The native fee and staking token of the Chimera host chain".into(),
        denom_units: units,
        name: display.to_uppercase(),
        symbol: display.to_uppercase(),
        base,
        display,
        uri: String::new(),
        uri_hash: String::new(),
    }))
}

fn metadata_of(snap: &Snapshot, d: &str) -> QResult<Metadata> {
    if d.is_empty() {
        return Err(QueryError::invalid("invalid denom"));
    }
    fee_denom_metadata(snap)?
        .filter(|m| m.base == d)
        .ok_or_else(|| QueryError::not_found(format!("client metadata for denom {d}")))
}

/// `Query/DenomMetadata`.
pub fn denom_metadata(
    _: &QueryCtx,
    snap: &Snapshot,
    req: QueryDenomMetadataRequest,
) -> QResult<QueryDenomMetadataResponse> {
    Ok(QueryDenomMetadataResponse {
        metadata: Some(metadata_of(snap, &req.denom)?),
    })
}

/// `Query/DenomMetadataByQueryString`.
pub fn denom_metadata_by_query_string(
    _: &QueryCtx,
    snap: &Snapshot,
    req: QueryDenomMetadataByQueryStringRequest,
) -> QResult<QueryDenomMetadataByQueryStringResponse> {
    Ok(QueryDenomMetadataByQueryStringResponse {
        metadata: Some(metadata_of(snap, &req.denom)?),
    })
}

/// `Query/DenomsMetadata`.
pub fn denoms_metadata(
    _: &QueryCtx,
    snap: &Snapshot,
    req: QueryDenomsMetadataRequest,
) -> QResult<QueryDenomsMetadataResponse> {
    let all = fee_denom_metadata(snap)?
        .into_iter()
        .map(|m| (m.base.as_bytes().to_vec(), m))
        .collect();
    let (metadatas, page) = paginate(all, req.pagination.as_ref())?;
    Ok(QueryDenomsMetadataResponse {
        metadatas,
        pagination: Some(page),
    })
}

/// `Query/SendEnabled`: no denom has an explicit entry.
pub fn send_enabled(
    _: &QueryCtx,
    _: &Snapshot,
    req: QuerySendEnabledRequest,
) -> QResult<QuerySendEnabledResponse> {
    let (send_enabled, page) = paginate(Vec::<(Vec<u8>, SendEnabled)>::new(), req.pagination.as_ref())?;
    Ok(QuerySendEnabledResponse {
        send_enabled,
        pagination: Some(page),
    })
}

/// The tonic service.
#[derive(Clone)]
pub struct BankQuery(pub QueryCtx);

fn unimplemented(method: &str) -> Status {
    QueryError::unimplemented(&format!("cosmos.bank.v1beta1.Query/{method}")).into()
}

state_service! {
    impl Query for BankQuery {
        balance(QueryBalanceRequest) -> QueryBalanceResponse = balance;
        all_balances(QueryAllBalancesRequest) -> QueryAllBalancesResponse = all_balances;
        spendable_balances(QuerySpendableBalancesRequest) -> QuerySpendableBalancesResponse = spendable_balances;
        spendable_balance_by_denom(QuerySpendableBalanceByDenomRequest) -> QuerySpendableBalanceByDenomResponse = spendable_balance_by_denom;
        total_supply(QueryTotalSupplyRequest) -> QueryTotalSupplyResponse = total_supply;
        supply_of(QuerySupplyOfRequest) -> QuerySupplyOfResponse = supply_of;
        params(QueryParamsRequest) -> QueryParamsResponse = query_params;
        denom_metadata(QueryDenomMetadataRequest) -> QueryDenomMetadataResponse = denom_metadata;
        denom_metadata_by_query_string(QueryDenomMetadataByQueryStringRequest) -> QueryDenomMetadataByQueryStringResponse = denom_metadata_by_query_string;
        denoms_metadata(QueryDenomsMetadataRequest) -> QueryDenomsMetadataResponse = denoms_metadata;
        send_enabled(QuerySendEnabledRequest) -> QuerySendEnabledResponse = send_enabled;
    }
    unimplemented {
        denom_owners(QueryDenomOwnersRequest) -> QueryDenomOwnersResponse = unimplemented("DenomOwners");
        denom_owners_by_query(QueryDenomOwnersByQueryRequest) -> QueryDenomOwnersByQueryResponse = unimplemented("DenomOwnersByQuery");
    }
}
