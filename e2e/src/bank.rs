//! Bank balances over the Cosmos SDK gRPC API.
//!
//! Tests assert on balances (genesis funds, fees paid, tokens moved by IBC);
//! gRPC with `cosmrs`' generated clients is the same interface the relayer
//! and the Chimera CLI use, so the suites exercise it too.

use cosmrs::proto::cosmos::bank::v1beta1::query_client::QueryClient;
use cosmrs::proto::cosmos::bank::v1beta1::QueryBalanceRequest;

/// The balance query failed.
#[derive(Debug, thiserror::Error)]
pub enum BankError {
    /// Could not connect to the gRPC endpoint.
    #[error("gRPC {url}: cannot connect: {source}")]
    Connect {
        /// The endpoint.
        url: String,
        /// The transport error.
        source: tonic::transport::Error,
    },
    /// The query returned an error status.
    #[error("gRPC {url}: Balance({address}, {denom}): {status}")]
    Query {
        /// The endpoint.
        url: String,
        /// The queried address.
        address: String,
        /// The queried denom.
        denom: String,
        /// The gRPC status.
        status: Box<tonic::Status>,
    },
    /// The amount was not an unsigned integer.
    #[error("gRPC {url}: Balance({address}, {denom}) returned a non-integer amount {amount:?}")]
    Amount {
        /// The endpoint.
        url: String,
        /// The queried address.
        address: String,
        /// The queried denom.
        denom: String,
        /// What came back.
        amount: String,
    },
}

/// The `denom` balance of `address`, asked of the gRPC endpoint `url`
/// (`http://host:port`). An account without that denom has balance 0.
///
/// Why: the exact, integer balance tests assert on.
pub async fn balance(url: &str, address: &str, denom: &str) -> Result<u128, BankError> {
    let mut client = QueryClient::connect(url.to_string())
        .await
        .map_err(|source| BankError::Connect {
            url: url.to_string(),
            source,
        })?;
    let resp = client
        .balance(QueryBalanceRequest {
            address: address.to_string(),
            denom: denom.to_string(),
        })
        .await
        .map_err(|status| BankError::Query {
            url: url.to_string(),
            address: address.to_string(),
            denom: denom.to_string(),
            status: Box::new(status),
        })?
        .into_inner();
    let amount = resp.balance.map(|c| c.amount).unwrap_or_default();
    if amount.is_empty() {
        return Ok(0);
    }
    amount.parse().map_err(|_| BankError::Amount {
        url: url.to_string(),
        address: address.to_string(),
        denom: denom.to_string(),
        amount,
    })
}
