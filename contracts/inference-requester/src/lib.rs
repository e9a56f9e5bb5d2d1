//! `chimera-inference-requester`: a CosmWasm 1.5 contract for Terra Classic,
//! the requester side of Chimera's `inference` IBC application
//! (`docs/protocol.md` §3, §4; users' guide in `docs/users.md`).
//!
//! A user (or another contract) calls `request_inference` with a fee in
//! `uluna`; the contract escrows it, sends an `InferencePacketData` built and
//! validated by `chimera-packets` (so the bytes are the host's bytes) over an
//! UNORDERED `chimera-inference-1` channel to the host's `inference` port,
//! and on the acknowledgement records the result (job id, output SHA-256,
//! quorum) and pays the fee out, or records the error and refunds it; a
//! timeout refunds too. The request id travels in the packet memo
//! (`chimera-requester:<id>`).
//!
//! Required chain capabilities: `iterator`, `stargate` (Terra Classic v3.4
//! offers `iterator,staking,stargate,terra,cosmwasm_1_1`).

pub mod contract;
pub mod error;
pub mod ibc;
pub mod msg;
pub mod state;

pub use crate::error::ContractError;

#[cfg(test)]
mod tests;
