//! The inference application: requests arrive over IBC (`inference`
//! packets) or as `MsgRunInference`, become jobs in state, run on every
//! validator's executor off the consensus path, and end when a quorum of
//! vote-extension reports agrees (docs/protocol.md §4, §13).
//!
//! Consensus side (deterministic, feeds the app hash):
//! - [`store`]: keys and records (jobs, reports, models, executor keys,
//!   requests sent);
//! - [`params`], [`genesis`]: parameters and the model registry;
//! - [`jobs`]: admission checks that need state, and job outcomes;
//! - [`module`], [`channel`]: the ibc-rs app on port `inference`, both the
//!   host side and the [`requester`] side;
//! - [`msgs`]: `MsgRunInference`, `MsgRequestInference`,
//!   `MsgRegisterExecutorKey`;
//! - [`votes`]: vote extensions and the votes record a proposer puts in
//!   its block;
//! - [`tally`]: the quorum rule and the asynchronous acknowledgement.
//!
//! Node side (not consensus): [`worker`] runs committed jobs on the local
//! executor, stores outputs in the blob store, and fills `ExtendVote`.

pub mod channel;
pub mod genesis;
pub mod jobs;
pub mod module;
pub mod msgs;
pub mod params;
pub mod requester;
pub mod store;
pub mod tally;
pub mod votes;
pub mod worker;

pub use msgs::{is_inference_type_url, InferenceMsg};
