//! ICS-27 interchain accounts, host side (port `icahost`), written from
//! ibc-go v7's `27-interchain-accounts/host` (ibc-rs has none): a
//! controller chain — Terra Classic, whose ibc-go v7 controller needs no
//! authentication module — opens a channel, the host creates an account
//! for it, and the controller's packets execute `MsgRunInference` and
//! `MsgSend` as that account (docs/protocol.md §5).
//!
//! - [`params`]: `host_enabled` and the message allow-list;
//! - [`store`]: accounts by (connection, controller port), active
//!   channels, acknowledgements waiting for jobs;
//! - [`channel`]: the handshake (`OpenTry`, `OpenConfirm`; nothing else
//!   from this end);
//! - [`execute`]: receiving a packet, and the asynchronous acknowledgement
//!   when its inference jobs end;
//! - [`module`]: the ibc-rs `Module` the router sends port `icahost` to.

pub mod channel;
pub mod execute;
pub mod module;
pub mod params;
pub mod store;

pub use execute::on_job_finished;
pub use params::IcaHostParams;
