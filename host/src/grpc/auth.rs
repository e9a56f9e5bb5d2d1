//! `cosmos.auth.v1beta1.Query`: accounts as the SDK hands them out (an Any
//! of `BaseAccount`), which is where wallets and Hermes read the account
//! number and sequence they sign with.

use ibc_proto::cosmos::auth::v1beta1::query_server::Query;
use ibc_proto::cosmos::auth::v1beta1::*;
use ibc_proto::google::protobuf::Any;
use prost::Message;
use tonic::Status;

use super::error::{QResult, QueryError};
use super::read::{state_service, QueryCtx};
use crate::chain::address::{Address, ACCOUNT_PREFIX};
use crate::chain::auth::{self as chain_auth, BASE_ACCOUNT_TYPE_URL};
use crate::chain::gas::cost;
use crate::state::Snapshot;

/// The auth params the SDK defaults to. Our ante handler charges the same
/// size and secp256k1 costs (`chain::gas::cost`); the memo and signature
/// limits are the SDK's defaults, which wallets check txs against.
pub fn params() -> Params {
    Params {
        max_memo_characters: 256,
        tx_sig_limit: 7,
        tx_size_cost_per_byte: cost::TX_SIZE_PER_BYTE,
        sig_verify_cost_ed25519: 590,
        sig_verify_cost_secp256k1: cost::SIG_VERIFY_SECP256K1,
    }
}

/// Parses a request's address as the SDK's auth queries do.
fn address(s: &str) -> QResult<Address> {
    if s.is_empty() {
        return Err(QueryError::invalid("Address cannot be empty"));
    }
    Address::parse(s).map_err(|e| QueryError::invalid(e.to_string()))
}

fn base_account(snap: &Snapshot, addr: &str) -> QResult<BaseAccount> {
    let a = address(addr)?;
    chain_auth::get_committed(snap, &a)?
        .ok_or_else(|| QueryError::not_found(format!("account {addr} not found")))
}

/// `Query/Account`.
pub fn account(_: &QueryCtx, snap: &Snapshot, req: QueryAccountRequest) -> QResult<QueryAccountResponse> {
    let acc = base_account(snap, &req.address)?;
    Ok(QueryAccountResponse {
        account: Some(Any {
            type_url: BASE_ACCOUNT_TYPE_URL.into(),
            value: acc.encode_to_vec(),
        }),
    })
}

/// `Query/AccountInfo` (SDK 0.47+): the same account, unwrapped.
pub fn account_info(
    _: &QueryCtx,
    snap: &Snapshot,
    req: QueryAccountInfoRequest,
) -> QResult<QueryAccountInfoResponse> {
    Ok(QueryAccountInfoResponse {
        info: Some(base_account(snap, &req.address)?),
    })
}

/// `Query/Params`.
pub fn query_params(_: &QueryCtx, _: &Snapshot, _: QueryParamsRequest) -> QResult<QueryParamsResponse> {
    Ok(QueryParamsResponse {
        params: Some(params()),
    })
}

/// `Query/Bech32Prefix`.
pub fn bech32_prefix(_: &QueryCtx, _: &Snapshot, _: Bech32PrefixRequest) -> QResult<Bech32PrefixResponse> {
    Ok(Bech32PrefixResponse {
        bech32_prefix: ACCOUNT_PREFIX.into(),
    })
}

/// `Query/AddressBytesToString`.
pub fn address_bytes_to_string(
    _: &QueryCtx,
    _: &Snapshot,
    req: AddressBytesToStringRequest,
) -> QResult<AddressBytesToStringResponse> {
    let a = Address::from_slice(&req.address_bytes).ok_or_else(|| {
        QueryError::invalid(format!(
            "address is {} bytes, want 20 or 32",
            req.address_bytes.len()
        ))
    })?;
    Ok(AddressBytesToStringResponse {
        address_string: a.to_string(),
    })
}

/// `Query/AddressStringToBytes`.
pub fn address_string_to_bytes(
    _: &QueryCtx,
    _: &Snapshot,
    req: AddressStringToBytesRequest,
) -> QResult<AddressStringToBytesResponse> {
    Ok(AddressStringToBytesResponse {
        address_bytes: address(&req.address_string)?.as_bytes().to_vec(),
    })
}

/// The tonic service.
#[derive(Clone)]
pub struct AuthQuery(pub QueryCtx);

fn unimplemented(method: &str) -> Status {
    QueryError::unimplemented(&format!("cosmos.auth.v1beta1.Query/{method}")).into()
}

state_service! {
    impl Query for AuthQuery {
        account(QueryAccountRequest) -> QueryAccountResponse = account;
        params(QueryParamsRequest) -> QueryParamsResponse = query_params;
        bech32_prefix(Bech32PrefixRequest) -> Bech32PrefixResponse = bech32_prefix;
        address_bytes_to_string(AddressBytesToStringRequest) -> AddressBytesToStringResponse = address_bytes_to_string;
        address_string_to_bytes(AddressStringToBytesRequest) -> AddressStringToBytesResponse = address_string_to_bytes;
        account_info(QueryAccountInfoRequest) -> QueryAccountInfoResponse = account_info;
    }
    unimplemented {
        accounts(QueryAccountsRequest) -> QueryAccountsResponse = unimplemented("Accounts");
        account_address_by_id(QueryAccountAddressByIdRequest) -> QueryAccountAddressByIdResponse = unimplemented("AccountAddressByID");
        module_accounts(QueryModuleAccountsRequest) -> QueryModuleAccountsResponse = unimplemented("ModuleAccounts");
        module_account_by_name(QueryModuleAccountByNameRequest) -> QueryModuleAccountByNameResponse = unimplemented("ModuleAccountByName");
    }
}
