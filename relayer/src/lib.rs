//! The `chimera` relayer as a library: everything the binary runs, so tests
//! and the e2e harness can reach the same code.
//!
//! Layers, lowest first: [`config`] and [`keys`] (files on disk), [`chain`]
//! (one chain's RPC, gRPC and transactions), [`light`] (headers and client
//! states for 07-tendermint clients), [`events`] (IBC events out of blocks),
//! [`handshake`] (clients, connections, channels), [`relay`] (the packet
//! loop), [`telemetry`] (metrics and health); [`ica`] is the ICS-27
//! controller client LUNC users run (`chimera ica ...`).

pub mod chain;
pub mod config;
pub mod events;
pub mod handshake;
pub mod ica;
pub mod keys;
pub mod light;
pub mod paths;
pub mod proof;
pub mod query;
pub mod relay;
pub mod telemetry;
