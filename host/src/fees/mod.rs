//! Fees and tokenomics (docs/tokenomics.md): the price of a request per
//! model and denom, the fee's escrow through the job's life, and its
//! division on a result: the agreeing executors (equally: they each did
//! the same work), a burn part and a community part. Native-denom burns
//! happen here; burn and community parts in Terra Classic denoms go home
//! over ICS-20. Executors whose results disagree collect faults and, at the
//! limit, get no more work until they re-register.
//!
//! Consensus code: integers only, iteration in key order.

pub mod msgs;
pub mod params;
pub mod send;
pub mod settle;
pub mod split;
pub mod store;

pub use params::FeeParams;
