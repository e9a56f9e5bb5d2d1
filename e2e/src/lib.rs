//! Harness for Chimera's end-to-end suites: real chain binaries, started as
//! localnets on free loopback ports, waited on until they make blocks,
//! queried over their real RPC/gRPC interfaces, and always stopped.
//!
//! One concept per module:
//! - [`process`]: a started process in its own group, logged, waited on,
//!   stopped on drop (log tail printed when a test fails).
//! - [`ports`]: free, distinct loopback ports and clear "port in use" errors.
//! - [`home`]: per-node home directories, kept when a test fails.
//! - [`bins`]: finding the binaries `scripts/setup` installs.
//! - [`http`], [`rpc`]: the HTTP and CometBFT `/status` calls readiness needs.
//! - [`hermes`]: the Hermes 1.11 relayer: config, keys, clients,
//!   connections, channels, ICS-20 transfers and a managed `hermes start`.
//! - [`keys`]: fixed mnemonics and their coin-type-330 addresses.
//! - [`bank`]: balances over gRPC with `cosmrs`.
//! - [`toml_config`]: strict edits of generated config files.
//! - [`wasm`]: CosmWasm contracts on the Terra localnet through `terrad`'s
//!   own CLI (store, instantiate, execute, query, tx results).
//! - [`terra`]: a single-validator Terra Classic localnet (`terrad`).
//! - [`chimera`]: chimerad localnets (1..N validators, each `chimerad start`
//!   with its CometBFT child), crash helpers and a bank-send tx builder.
//! - [`inference`]: the inference app from outside: `MsgRunInference` /
//!   `MsgRequestInference` bytes, job and request events, outputs from a
//!   node's BlobService, canonical tensor and PNG decoding.
//! - [`dishonest`]: a BlobService that serves honest outputs with a byte
//!   flipped, for the fetch-must-refuse tests.
//! - [`bench_ica`]: `chimera ica infer` end to end by stage, against a local
//!   job and an ICS-20 round trip on the same chains.
//! - [`devnet`]: the README's main job (`chimera-e2e devnet up|status|down`):
//!   a persistent Terra + chimerad + `chimera relay` devnet and a LUNC
//!   user's `digits-ddpm` request through `chimera ica`; its start-up and
//!   Hermes path-opening helpers are shared with `tests/hermes_chimera.rs`.

pub mod bank;
pub mod bench_bank;
pub mod bench_ica;
pub mod bench_ics20;
pub mod bench_inference;
pub mod bench_relayer;
pub mod bins;
pub mod chimera;
pub mod devnet;
pub mod dishonest;
pub mod fees;
pub mod hermes;
pub mod home;
pub mod http;
pub mod inference;
pub mod keys;
pub mod ports;
pub mod process;
pub mod proxy;
pub mod relayer;
pub mod requester;
pub mod rpc;
pub mod simd;
pub mod terra;
pub mod toml_config;
pub mod wasm;
pub mod web;

pub use chimera::{ChimeraNet, ChimeraNetConfig};
pub use process::{ManagedProcess, ProcessSpec};
pub use terra::{TerraConfig, TerraLocalnet, TerraPorts};
