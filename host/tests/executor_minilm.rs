//! minilm-l6 end to end: sentence embeddings whose cosine similarities order
//! sensibly and that match Python's reference (same TorchScript, the
//! `tokenizers` Python package, torch 2.13) within 1e-4.

mod executor_support;

use chimera_host::executor::{ExecError, Request, Sketch};
use executor_support::{executor, f32s, fixture};

fn embed(text: &str) -> Vec<f32> {
    let out = executor()
        .run(&Request::text("minilm-l6", text, 0))
        .expect("embed");
    assert!(matches!(out.sketch, Sketch::Embedding { .. }));
    f32s(&out.bytes)
}

fn cos(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    let na: f64 = a.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb)
}

#[test]
fn embeddings_are_unit_vectors_that_order_sensibly() {
    let cat = embed("A cat sits on the mat.");
    let kitten = embed("A kitten is sitting on a rug.");
    let stocks = embed("The stock market fell sharply today.");
    let shares = embed("Share prices dropped steeply this afternoon.");
    assert_eq!(cat.len(), 384);
    let norm: f64 = cat.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    assert!((norm - 1.0).abs() < 1e-5, "norm {norm}");
    let (ck, cs, ss) = (cos(&cat, &kitten), cos(&cat, &stocks), cos(&stocks, &shares));
    assert!(ck > cs + 0.2, "cat~kitten {ck} vs cat~stocks {cs}");
    assert!(ss > cos(&kitten, &shares) + 0.2, "stocks~shares {ss}");
    assert!(ck > 0.5 && ss > 0.5, "paraphrases {ck} {ss}");
}

#[test]
fn embeddings_match_the_python_reference() {
    // host/tests/fixtures/minilm_reference.json: written by Python (see its
    // `source`): the TorchScript file's output for each sentence.
    let text = std::fs::read_to_string(fixture("minilm_reference.json")).expect("fixture");
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let model_hash = hex::encode(executor().model("minilm-l6").unwrap().model_hash);
    assert_eq!(
        doc["sha256"].as_str(),
        Some(model_hash.as_str()),
        "fixture made from another file"
    );
    for case in doc["cases"].as_array().unwrap() {
        let want: Vec<f32> = case["embedding"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        let got = embed(case["text"].as_str().unwrap());
        let max = got
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(max < 1e-4, "{:?}: max |diff| {max}", case["text"]);
    }
}

#[test]
fn long_text_is_truncated_and_bad_text_refused() {
    let exec = executor();
    // Over 128 tokens: truncated by the tokenizer, still embeds.
    let long = "word ".repeat(300);
    assert_eq!(embed(&long).len(), 384);
    let over = "x".repeat(2049);
    assert!(matches!(
        exec.run(&Request::text("minilm-l6", &over, 0)),
        Err(ExecError::InputTooLarge { .. })
    ));
    let mut bad = Request::text("minilm-l6", "ok", 0);
    bad.input = vec![b'o', 0xc3];
    assert!(matches!(exec.run(&bad), Err(ExecError::InvalidUtf8)));
}
