//! `SealedEnvelope` from JSON + `validate`, then `open` with a fixed executor
//! secret: what every executor runs on sealed prompts. The input is
//! `envelope JSON` or `envelope JSON | 0x00 | ciphertext` (raw NUL cannot
//! occur in JSON, so the split is unambiguous). Never panics.
#![no_main]

use std::sync::OnceLock;

use chimera_packets::sealed::{executor_keypair_from_seed, SealedEnvelope};
use libfuzzer_sys::fuzz_target;
use x25519_dalek::StaticSecret;

/// The model the seeds were sealed for (packets/testdata/packet_sealed.json).
const MODEL: &str = "tiny-lm";

fn executor() -> &'static (StaticSecret, [u8; 32]) {
    static KEY: OnceLock<(StaticSecret, [u8; 32])> = OnceLock::new();
    // Executor seed 01..01: the first recipient of the testdata envelope.
    KEY.get_or_init(|| executor_keypair_from_seed([1; 32]))
}

fuzz_target!(|data: &[u8]| {
    let (json, ciphertext) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    let Ok(envelope) = serde_json::from_slice::<SealedEnvelope>(json) else {
        return;
    };
    let valid = envelope.validate().is_ok();
    // JSON round trip of whatever decoded, valid or not.
    let text = serde_json::to_vec(&envelope).expect("an envelope always serializes");
    let back: SealedEnvelope = serde_json::from_slice(&text).expect("an envelope decodes from its own JSON");
    assert_eq!(back, envelope, "envelope JSON round trip changed it");
    assert_eq!(back.validate().is_ok(), valid);

    let Some(ciphertext) = ciphertext else {
        return;
    };
    let (secret, public) = executor();
    let opened = envelope.open(ciphertext, MODEL, secret);
    if opened.is_ok() {
        assert!(valid, "open accepted an envelope that validate refuses");
        assert!(envelope.recipient(public).is_some(), "opened without being a recipient");
        assert!(ciphertext.len() >= 16, "opened a ciphertext shorter than its tag");
    }
    // Opening for another model must fail (the AAD binds the model).
    if opened.is_ok() {
        assert!(envelope.open(ciphertext, "other-model", secret).is_err(), "AAD does not bind the model");
    }
});
