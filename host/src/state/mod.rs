//! Versioned, verifiable chain state.
//!
//! All state is one Jellyfish Merkle tree (`jmt`) over raw byte keys,
//! stored in RocksDB. Modules namespace their keys (`auth/…`, `bank/…`);
//! IBC keys are the ICS-24 paths themselves (`clients/07-tendermint-0/clientState`),
//! so a proof for IBC path `P` is a JMT proof for key `P`. Versions are
//! block heights (the first commit is version 1).
//!
//! The app hash is `sha256("ChimeraAppHash" ‖ "ibc" ‖ jmt_root)`: the
//! ICS-23 leaf hash of key `ibc` (the IBC store prefix) and value
//! `jmt_root`. Counterparty light clients verify with
//! [`proof_specs`] = `[jmt::ics23_spec(), app_hash_spec()]` and commitment
//! prefix [`IBC_STORE_PREFIX`]; see [`proof`] for the chaining.
//!
//! - `store`: [`Storage`] (open, commit, prune, versions) and [`Snapshot`]
//!   (reads, proofs, prefix iteration at the latest version);
//! - `delta`: [`Delta`], nested write buffers for blocks and transactions;
//! - `proof`: [`AppHash`], the proof specs and ibc-go-equivalent verifiers;
//! - `layout`: the RocksDB column families and key encodings;
//! - `codec`: the binary encoding of JMT nodes.

mod codec;
pub mod delta;
pub mod error;
pub mod layout;
pub mod proof;
pub mod store;

pub use delta::Delta;
pub use error::StateError;
pub use proof::{
    app_hash_proof, app_hash_spec, check_membership, check_non_membership, proof_specs, verify_membership,
    verify_non_membership, AppHash, APP_HASH_DOMAIN, EMPTY_TREE_ROOT, IBC_STORE_PREFIX,
};
pub use store::{Changes, KeyValues, PreparedCommit, Snapshot, Storage, StorageOptions};
