//! IBC on the host chain: ibc-rs 0.57 core (07-tendermint clients,
//! connections, channels, packets) and ICS-20 transfer, over our JMT state.
//!
//! Named `ibc` like the crate it wraps: inside `chimera-host`, `crate::ibc`
//! is this module and `::ibc` is ibc-rs (every path here spells `::ibc::`).
//!
//! - [`keys`]: the ICS-24 paths and ibc-go's value encodings, which
//!   counterparties verify byte for byte;
//! - [`context`]: ibc-rs's host and client contexts over a gas-metered
//!   state buffer;
//! - [`host`]: our own consensus states (what counterparties' clients of us
//!   store), recorded by FinalizeBlock, and our proof specs;
//! - [`transfer`]: the ICS-20 app on port `transfer`;
//! - [`router`]: ICS-26 routing of ports to apps;
//! - [`msgs`]: IBC messages in txs (decoding, signer, execution);
//! - [`query`]: the `ibc.core.{client,connection,channel}.v1.Query` and
//!   `ibc.applications.transfer.v1.Query` gRPC services Hermes uses.
//!
//! What counterparties need to verify our proofs: proof specs
//! [`crate::state::proof_specs`] (`[jmt, app-hash]`) and store prefix `ibc`
//! ([`crate::state::IBC_STORE_PREFIX`]); see `docs/protocol.md`.

pub mod context;
pub mod host;
pub mod keys;
pub mod msgs;
pub mod query;
pub mod router;
pub mod transfer;

pub use host::begin_block;
pub use msgs::{exec, is_ibc_type_url, IbcMsg};
