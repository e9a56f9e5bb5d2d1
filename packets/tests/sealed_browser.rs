//! The browser's sealer (relayer/web/src/lib/sealed.ts, the web app's
//! "Encrypt prompt") must write exactly the envelope `seal` writes
//! (`docs/protocol.md` §6). `packets/testdata/browser/sealed.json`
//! pins `seal`'s output for fixed executor keys and fixed random bytes (in
//! `seal`'s documented draw order: content key, nonce, one ephemeral
//! secret per recipient); this test rebuilds it and opens every case with
//! every executor's secret, and the web app's Vitest
//! (relayer/web/tests/unit/sealed.test.ts) seals the same inputs with the
//! same random bytes and must get the same ciphertext and envelope bytes.
//! `CHIMERA_BLESS=1` rewrites the file after a deliberate change.

use std::path::PathBuf;

use base64::Engine;
use chimera_packets::encoding::to_canonical_vec;
use chimera_packets::sealed::{executor_keypair_from_seed, seal, SealedEnvelope};
use rand_core::{CryptoRng, RngCore};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// Hands out exactly the given bytes, in order; panics when they run out.
struct Scripted<'a>(&'a [u8]);

impl RngCore for Scripted<'_> {
    fn next_u32(&mut self) -> u32 {
        rand_core::impls::next_u32_via_fill(self)
    }
    fn next_u64(&mut self) -> u64 {
        rand_core::impls::next_u64_via_fill(self)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        let (head, rest) = self.0.split_at(dest.len());
        dest.copy_from_slice(head);
        self.0 = rest;
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}
impl CryptoRng for Scripted<'_> {}

/// `n` bytes of SHA-256 in counter mode over `label` (the vector's "random").
fn stream(label: &str, n: usize) -> Vec<u8> {
    (0u64..)
        .flat_map(|i| {
            Sha256::new()
                .chain_update(label)
                .chain_update(i.to_be_bytes())
                .finalize()
        })
        .take(n)
        .collect()
}

fn case(name: &str, model: &str, plaintext: &str, seeds: &[[u8; 32]]) -> Value {
    let keys: Vec<[u8; 32]> = seeds.iter().map(|s| executor_keypair_from_seed(*s).1).collect();
    let random = stream(name, 32 + 12 + 32 * seeds.len());
    let mut rng = Scripted(&random);
    let (ciphertext, envelope) = seal(plaintext.as_bytes(), model, &keys, &mut rng).unwrap();
    assert!(
        rng.0.is_empty(),
        "{name}: seal drew fewer random bytes than documented"
    );
    for s in seeds {
        let secret = executor_keypair_from_seed(*s).0;
        assert_eq!(
            envelope.open(&ciphertext, model, &secret).unwrap(),
            plaintext.as_bytes()
        );
    }
    let sealed_json = String::from_utf8(to_canonical_vec(&envelope).unwrap()).unwrap();
    json!({
        "name": name,
        "model": model,
        "plaintext": plaintext,
        "executor_seeds": seeds.iter().map(hex::encode).collect::<Vec<_>>(),
        "executor_keys": keys.iter().map(hex::encode).collect::<Vec<_>>(),
        "random": hex::encode(&random),
        "ciphertext": base64::engine::general_purpose::STANDARD.encode(&ciphertext),
        "sealed_json": sealed_json,
    })
}

#[test]
fn browser_vector_matches_seal_and_opens() {
    let vector = json!({
        "kind": "sealed_envelope",
        "description": "seal(plaintext, model, executor_keys, rng) with rng handing out `random` (hex) in seal's draw order: 32-byte content key, 12-byte nonce, one 32-byte ephemeral secret per recipient. executor_keys are X25519(executor_seeds); `ciphertext` (base64, tag appended) and `sealed_json` (the envelope's canonical JSON) are what seal returns. The web app's sealer must give the same bytes; each executor seed opens each case.",
        "cases": [
            case("digits-ddpm 7 to one executor", "digits-ddpm", "7", &[[0x03; 32]]),
            case(
                "utf-8 prompt to three executors",
                "chimera/tiny-llama-v1",
                "Ünïcödé \"quoted\" prompt ✓ 🌕",
                &[[0x04; 32], [0x05; 32], [0x06; 32]],
            ),
        ],
    });
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/browser/sealed.json");
    let text = serde_json::to_string_pretty(&vector).unwrap() + "\n";
    if std::env::var_os("CHIMERA_BLESS").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == text,
        "{} differs from what seal writes; if the change is deliberate, rerun with CHIMERA_BLESS=1",
        path.display()
    );
    // The file's envelopes parse back as the Rust type, unchanged.
    for c in vector["cases"].as_array().unwrap() {
        let s = c["sealed_json"].as_str().unwrap();
        let env: SealedEnvelope = serde_json::from_str(s).unwrap();
        assert_eq!(env.validate(), Ok(()));
        assert_eq!(String::from_utf8(to_canonical_vec(&env).unwrap()).unwrap(), s);
    }
}
