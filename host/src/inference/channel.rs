//! The `inference` channel handshake rules (docs/protocol.md §3.1): one
//! version, UNORDERED only, counterparty port `inference` (or a CosmWasm
//! requester's `wasm.<contract>`), and no closing by users.

use ::ibc::core::channel::types::channel::{Counterparty, Order};
use ::ibc::core::channel::types::error::ChannelError;
use ::ibc::core::channel::types::Version;
use chimera_packets::{CHANNEL_VERSION, PORT_ID};

fn refuse(description: String) -> ChannelError {
    ChannelError::AppSpecific { description }
}

fn check_order(order: Order) -> Result<(), ChannelError> {
    if order == Order::Unordered {
        Ok(())
    } else {
        let got = match order {
            Order::Ordered => "ORDERED",
            Order::Unordered => "UNORDERED",
            Order::None => "NONE",
        };
        Err(refuse(format!(
            "invalid channel ordering: expected UNORDERED, got {got}"
        )))
    }
}

fn check_counterparty_port(counterparty: &Counterparty) -> Result<(), ChannelError> {
    let port = counterparty.port_id().as_str();
    if port == PORT_ID || port.starts_with("wasm.") {
        Ok(())
    } else {
        Err(refuse(format!(
            "invalid counterparty port: expected {PORT_ID} or wasm.<contract>, got {port}"
        )))
    }
}

fn check_version(field: &str, version: &Version) -> Result<(), ChannelError> {
    if version.as_str() == CHANNEL_VERSION {
        Ok(())
    } else {
        Err(refuse(format!(
            "invalid {field}: expected {CHANNEL_VERSION}, got {:?}",
            version.as_str()
        )))
    }
}

/// `OnChanOpenInit`: an empty version is answered with ours.
pub fn open_init(
    order: Order,
    counterparty: &Counterparty,
    version: &Version,
) -> Result<Version, ChannelError> {
    check_order(order)?;
    check_counterparty_port(counterparty)?;
    if !version.as_str().is_empty() {
        check_version("version", version)?;
    }
    Ok(Version::new(CHANNEL_VERSION.to_string()))
}

/// `OnChanOpenTry`.
pub fn open_try(
    order: Order,
    counterparty: &Counterparty,
    counterparty_version: &Version,
) -> Result<Version, ChannelError> {
    check_order(order)?;
    check_counterparty_port(counterparty)?;
    check_version("counterparty version", counterparty_version)?;
    Ok(Version::new(CHANNEL_VERSION.to_string()))
}

/// `OnChanOpenAck`.
pub fn open_ack(counterparty_version: &Version) -> Result<(), ChannelError> {
    check_version("counterparty version", counterparty_version)
}

/// `OnChanCloseInit`: pending jobs would lose their acknowledgements.
pub fn close_init() -> Result<(), ChannelError> {
    Err(refuse(
        "inference channels cannot be closed by users: pending jobs would lose their acknowledgements".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::ibc::core::host::types::identifiers::{ChannelId, PortId};

    fn cp(port: &str) -> Counterparty {
        Counterparty::new(port.parse::<PortId>().unwrap(), Some(ChannelId::new(0)))
    }

    #[test]
    fn handshake_rules() {
        let v = Version::new(CHANNEL_VERSION.into());
        assert_eq!(
            open_init(Order::Unordered, &cp("inference"), &Version::empty()).unwrap(),
            v
        );
        assert!(open_init(Order::Unordered, &cp("wasm.terra1abc"), &v).is_ok());
        let e = open_init(Order::Ordered, &cp("inference"), &v).unwrap_err();
        assert!(e.to_string().contains("expected UNORDERED, got ORDERED"), "{e}");
        let e = open_try(Order::Unordered, &cp("transfer"), &v).unwrap_err();
        assert!(e.to_string().contains("invalid counterparty port"), "{e}");
        let e = open_try(
            Order::Unordered,
            &cp("inference"),
            &Version::new("ics20-1".into()),
        )
        .unwrap_err();
        assert!(e.to_string().contains("expected chimera-inference-1"), "{e}");
        assert!(open_ack(&v).is_ok());
        assert!(close_init().is_err());
    }
}
