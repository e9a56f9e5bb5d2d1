//! ICS-26 routing: which app owns which port. One router is built per IBC
//! message over the message's shared state, so every app sees the same
//! buffer and gas meter.

use ::ibc::apps::transfer::types::MODULE_ID_STR;
use ::ibc::core::host::types::identifiers::PortId;
use ::ibc::core::router::module::Module;
use ::ibc::core::router::router::Router;
use ::ibc::core::router::types::module::ModuleId;

use super::context::SharedRef;
use super::transfer::{Transfer, PORT};

/// ICS-26 routing: port `transfer` to the transfer app; nothing else is
/// bound yet (the inference and ICA modules join with #6 and #8).
pub struct IbcRouter {
    transfer: Transfer,
}

impl IbcRouter {
    /// The router of one message.
    pub fn new(shared: SharedRef) -> IbcRouter {
        IbcRouter {
            transfer: Transfer::new(shared),
        }
    }

    /// The transfer app (the token context of `MsgTransfer`).
    pub fn transfer_mut(&mut self) -> &mut Transfer {
        &mut self.transfer
    }
}

impl Router for IbcRouter {
    fn get_route(&self, module_id: &ModuleId) -> Option<&dyn Module> {
        (module_id.to_string() == MODULE_ID_STR).then_some(&self.transfer as &dyn Module)
    }

    fn get_route_mut(&mut self, module_id: &ModuleId) -> Option<&mut dyn Module> {
        (module_id.to_string() == MODULE_ID_STR).then_some(&mut self.transfer as &mut dyn Module)
    }

    fn lookup_module(&self, port_id: &PortId) -> Option<ModuleId> {
        (port_id.as_str() == PORT).then(|| ModuleId::new(MODULE_ID_STR.to_string()))
    }
}
