//! The host chain: a Cosmos-style ABCI 2.0 application that CometBFT 0.38
//! drives. Accounts, transactions and fees follow the Cosmos SDK's wire
//! formats and error codes so that wallets and relayers work unchanged;
//! state lives in `crate::state` (JMT on RocksDB).
//!
//! Layers, outermost first: `abci` (the socket) → `app` (the block life
//! cycle) → `tx` (decoding, ante checks) → modules (`auth`, `bank`), which
//! read and write only through a gas-metered `gas::Ctx`.

pub mod abci;
pub mod address;
pub mod app;
pub mod auth;
pub mod bank;
pub mod error;
pub mod gas;
pub mod genesis;
pub mod params;
pub mod query;
pub mod tx;
