//! ICS-26 routing: which app owns which port. One router is built per IBC
//! message over the message's shared state, so every app sees the same
//! buffer and gas meter.

use ::ibc::apps::transfer::types::MODULE_ID_STR as TRANSFER_MODULE_ID;
use ::ibc::core::host::types::identifiers::PortId;
use ::ibc::core::router::module::Module;
use ::ibc::core::router::router::Router;
use ::ibc::core::router::types::module::ModuleId;

use super::context::SharedRef;
use super::transfer::{Transfer, PORT as TRANSFER_PORT};
use crate::ica::module::{IcaHostModule, MODULE_ID as ICA_HOST_MODULE_ID};
use crate::inference::module::{InferenceModule, MODULE_ID as INFERENCE_MODULE_ID};

/// ICS-26 routing: port `transfer` to ICS-20, port `inference` to the
/// inference app, port `icahost` to the ICS-27 host.
pub struct IbcRouter {
    transfer: Transfer,
    inference: InferenceModule,
    ica_host: IcaHostModule,
}

impl IbcRouter {
    /// The router of one message.
    pub fn new(shared: SharedRef) -> IbcRouter {
        IbcRouter {
            transfer: Transfer::new(shared.clone()),
            inference: InferenceModule::new(shared.clone()),
            ica_host: IcaHostModule::new(shared),
        }
    }

    /// The transfer app (the token context of `MsgTransfer`).
    pub fn transfer_mut(&mut self) -> &mut Transfer {
        &mut self.transfer
    }
}

impl Router for IbcRouter {
    fn get_route(&self, module_id: &ModuleId) -> Option<&dyn Module> {
        match module_id.to_string().as_str() {
            TRANSFER_MODULE_ID => Some(&self.transfer),
            INFERENCE_MODULE_ID => Some(&self.inference),
            ICA_HOST_MODULE_ID => Some(&self.ica_host),
            _ => None,
        }
    }

    fn get_route_mut(&mut self, module_id: &ModuleId) -> Option<&mut dyn Module> {
        match module_id.to_string().as_str() {
            TRANSFER_MODULE_ID => Some(&mut self.transfer),
            INFERENCE_MODULE_ID => Some(&mut self.inference),
            ICA_HOST_MODULE_ID => Some(&mut self.ica_host),
            _ => None,
        }
    }

    fn lookup_module(&self, port_id: &PortId) -> Option<ModuleId> {
        match port_id.as_str() {
            TRANSFER_PORT => Some(ModuleId::new(TRANSFER_MODULE_ID.to_string())),
            chimera_packets::PORT_ID => Some(ModuleId::new(INFERENCE_MODULE_ID.to_string())),
            chimera_packets::ica::HOST_PORT => Some(ModuleId::new(ICA_HOST_MODULE_ID.to_string())),
            _ => None,
        }
    }
}
