//! tiny-lm end to end: seeded sampling gives the same text every time, the
//! same text as the Python twin (scripts/models/common.py lm_generate), and
//! re-scoring (`verify_generation`) accepts it and rejects a forgery.

mod executor_support;

use chimera_host::executor::{ExecError, Request, Sketch};
use executor_support::{executor, fixture};

fn request(prompt: &str, seed: u64, params: &serde_json::Value) -> Request {
    let mut r = Request::text("tiny-lm", prompt, seed);
    if let Some(map) = params.as_object() {
        for (k, v) in map {
            r = r.with_param(k, v.as_str().unwrap());
        }
    }
    r
}

#[test]
fn same_seed_same_text_and_it_matches_python() {
    let exec = executor();
    let text = std::fs::read_to_string(fixture("tinylm_reference.json")).expect("fixture");
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let model_hash = hex::encode(exec.model("tiny-lm").unwrap().model_hash);
    assert_eq!(
        doc["sha256"].as_str(),
        Some(model_hash.as_str()),
        "fixture made from another file"
    );
    for case in doc["cases"].as_array().unwrap() {
        let req = request(
            case["prompt"].as_str().unwrap(),
            case["seed"].as_u64().unwrap(),
            &case["params"],
        );
        let a = exec.run(&req).expect("generate");
        let b = exec.run(&req).expect("generate again");
        assert_eq!(a.bytes, b.bytes);
        let got = String::from_utf8(a.bytes.clone()).expect("UTF-8 output");
        assert_eq!(got, case["output"].as_str().unwrap(), "case {case}");
        assert!(got.bytes().all(|c| c == b'\n' || (32..127).contains(&c)));
        let Sketch::Tokens { tokens } = &a.sketch else {
            panic!("tokens sketch")
        };
        assert_eq!(tokens.len(), got.len());
    }
}

#[test]
fn seeds_change_the_text_and_max_tokens_bounds_it() {
    let exec = executor();
    let a = exec.run(&Request::text("tiny-lm", "The ", 1)).unwrap();
    let b = exec.run(&Request::text("tiny-lm", "The ", 2)).unwrap();
    assert_ne!(a.bytes, b.bytes);
    assert_eq!(a.bytes.len(), 64, "manifest default max_tokens");
    let short = exec
        .run(&Request::text("tiny-lm", "The ", 1).with_param("max_tokens", "5"))
        .unwrap();
    assert_eq!(short.bytes.len(), 5);
    assert_eq!(&short.bytes[..], &a.bytes[..5], "a shorter run is a prefix");
}

#[test]
fn long_prompts_slide_the_context_window() {
    let exec = executor();
    let prompt = "It was a dark and stormy night; the rain fell in torrents. ".repeat(4);
    let out = exec
        .run(&Request::text("tiny-lm", &prompt, 9).with_param("max_tokens", "8"))
        .unwrap();
    assert_eq!(out.bytes.len(), 8);
}

#[test]
fn verify_generation_accepts_honest_text_and_rejects_forgeries() {
    let exec = executor();
    let req = Request::text("tiny-lm", "The ", 42).with_param("max_tokens", "24");
    let out = exec.run(&req).unwrap();
    assert!(exec.verify_generation(&req, &out.bytes).unwrap());
    let mut forged = out.bytes.clone();
    forged[10] = if forged[10] == b'q' { b'z' } else { b'q' };
    assert!(!exec.verify_generation(&req, &forged).unwrap());
    let other_seed = Request::text("tiny-lm", "The ", 43).with_param("max_tokens", "24");
    assert!(!exec.verify_generation(&other_seed, &out.bytes).unwrap());
    // Greedy text verifies too.
    let greedy = Request::text("tiny-lm", "The ", 0).with_param("temperature", "0");
    let g = exec.run(&greedy).unwrap();
    assert!(exec.verify_generation(&greedy, &g.bytes).unwrap());
}

#[test]
fn refuses_bad_params() {
    let exec = executor();
    for (k, v) in [
        ("max_tokens", "0"),
        ("max_tokens", "100000"),
        ("temperature", "-1"),
        ("temperature", "NaN"),
        ("temperature", "inf"),
        ("top_k", "-3"),
        ("steps", "5"),
    ] {
        let e = exec
            .run(&Request::text("tiny-lm", "The ", 0).with_param(k, v))
            .unwrap_err();
        assert!(matches!(e, ExecError::InvalidParam { .. }), "{k}={v}: {e}");
    }
}
