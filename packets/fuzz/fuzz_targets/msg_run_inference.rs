//! `MsgRunInference` protobuf bytes -> `InferencePacketData::from_msg` ->
//! `validate`: the ICS-27 / local-account route into the host. Never panics;
//! a valid request survives the packet JSON round trip and the message round
//! trip unchanged.
#![no_main]

use chimera_packets::{encoding::is_canonical, proto, InferencePacketData, Limits};
use libfuzzer_sys::fuzz_target;
use prost::Message;

fuzz_target!(|data: &[u8]| {
    let Ok(msg) = proto::MsgRunInference::decode(data) else {
        return;
    };
    let Ok(packet) = InferencePacketData::from_msg(&msg) else {
        return;
    };
    let limits = Limits::default();
    if packet.validate(&limits).is_err() {
        return;
    }
    // The same request as an `inference` packet.
    let bytes = packet.to_bytes();
    assert!(is_canonical(&bytes), "packet JSON is not canonical");
    let back = InferencePacketData::decode_and_validate(&bytes, &limits)
        .unwrap_or_else(|e| panic!("packet JSON of a valid MsgRunInference is refused: {e}"));
    assert_eq!(back, packet, "packet JSON round trip changed the request");
    // And back to the message: same request, and the same bytes once encoded.
    let again = back.to_msg(msg.fee.clone());
    let from_again = InferencePacketData::from_msg(&again)
        .unwrap_or_else(|e| panic!("to_msg of a valid request does not convert back: {e}"));
    assert_eq!(from_again, packet, "message round trip changed the request");
    let reencoded = proto::MsgRunInference::decode(again.encode_to_vec().as_slice())
        .expect("prost decodes what it encoded");
    assert_eq!(reencoded, again, "prost round trip changed the message");
});
