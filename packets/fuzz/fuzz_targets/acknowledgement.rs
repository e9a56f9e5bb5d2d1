//! `Acknowledgement::from_bytes` on arbitrary ack bytes: what the requester
//! side reads from any host. Never panics; what it accepts re-encodes
//! canonically and decodes back to the same value.
#![no_main]

use chimera_packets::{encoding::is_canonical, Acknowledgement};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(ack) = Acknowledgement::from_bytes(data) else {
        return;
    };
    let bytes = ack.to_bytes();
    assert!(is_canonical(&bytes), "ack re-encoding is not canonical: {:?}", String::from_utf8_lossy(&bytes));
    let back = Acknowledgement::from_bytes(&bytes)
        .unwrap_or_else(|e| panic!("re-encoding of an accepted ack is refused: {e}"));
    assert_eq!(back, ack, "ack re-encoding decodes to another value");
});
