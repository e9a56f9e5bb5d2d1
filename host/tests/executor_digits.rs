//! digits-cnn and digits-ddpm end to end through the executor: real
//! held-out sklearn digits classified, a generated "7" that is
//! byte-for-byte reproducible and that digits-cnn reads as a 7.

mod executor_support;

use chimera_host::executor::output::decode_png;
use chimera_host::executor::{agree, ExecError, Request, Sketch};
use chimera_packets::ErrorCode;
use executor_support::{digits, executor, f32s};

#[test]
fn digits_cnn_classifies_held_out_sklearn_digits() {
    let exec = executor();
    let mut correct = 0;
    for (label, px) in digits() {
        let out = exec
            .run(&Request::tensor_f32("digits-cnn", &[1, 8, 8], &px, 0))
            .expect("classify");
        let probs = f32s(&out.bytes);
        assert_eq!(probs.len(), 10);
        let sum: f32 = probs.iter().sum();
        assert!((sum - 1.0).abs() < 1e-5, "probabilities sum to {sum}");
        let Sketch::Classify { label: got, .. } = out.sketch else {
            panic!("classify sketch")
        };
        correct += u32::from(got == label);
        assert_eq!(got, label, "digit {label} read as {got} (p = {probs:?})");
    }
    assert_eq!(correct, 10);
}

#[test]
fn classify_is_reproducible_and_batching_keeps_agreement() {
    let exec = executor();
    let samples = digits();
    let one: Vec<_> = samples
        .iter()
        .map(|(_, px)| {
            exec.run(&Request::tensor_f32("digits-cnn", &[1, 8, 8], px, 0))
                .unwrap()
        })
        .collect();
    // The same requests at once: the worker batches them.
    let handles: Vec<_> = samples
        .iter()
        .map(|(_, px)| {
            exec.submit(&Request::tensor_f32("digits-cnn", &[1, 8, 8], px, 0), None)
                .unwrap()
        })
        .collect();
    let spec = &exec.model("digits-cnn").unwrap().manifest.sketch;
    for (a, h) in one.iter().zip(handles) {
        let b = h.wait().unwrap();
        assert!(agree(spec, &a.sketch, &b.sketch), "batched result disagrees");
        assert_eq!(a.sketch, b.sketch);
    }
    let again = exec
        .run(&Request::tensor_f32("digits-cnn", &[1, 8, 8], &samples[3].1, 0))
        .unwrap();
    assert_eq!(again.commitment, one[3].commitment, "same request, same bytes");
}

#[test]
fn classify_refuses_bad_tensors() {
    let exec = executor();
    let px = vec![0.5f32; 64];
    let wrong_shape = Request::tensor_f32("digits-cnn", &[8, 8], &px, 0);
    assert!(matches!(
        exec.run(&wrong_shape),
        Err(ExecError::WrongShape { .. })
    ));
    let mut short = Request::tensor_f32("digits-cnn", &[1, 8, 8], &px, 0);
    short.input.pop();
    assert!(matches!(exec.run(&short), Err(ExecError::WrongLength { .. })));
    let mut long = Request::tensor_f32("digits-cnn", &[1, 8, 8], &px, 0);
    long.input.extend_from_slice(&[0; 4]);
    assert!(matches!(exec.run(&long), Err(ExecError::InputTooLarge { .. })));
    let mut dtype = Request::tensor_f32("digits-cnn", &[1, 8, 8], &px, 0);
    dtype.encoding = chimera_packets::InputEncoding::Tensor {
        dtype: chimera_packets::DType::F64,
        shape: vec![1, 8, 8],
    };
    let e = exec.run(&dtype).unwrap_err();
    assert!(matches!(e, ExecError::WrongDType { .. }));
    assert_eq!(e.code(), ErrorCode::InvalidEncoding);
    let text = Request::text("digits-cnn", "seven", 0);
    assert!(matches!(exec.run(&text), Err(ExecError::WrongEncoding { .. })));
    let mut nan = px.clone();
    nan[5] = f32::NAN;
    let e = exec
        .run(&Request::tensor_f32("digits-cnn", &[1, 8, 8], &nan, 0))
        .unwrap_err();
    assert!(matches!(e, ExecError::InvalidInput(_)), "{e}");
    let e = exec
        .run(&Request::tensor_f32("no-such-model", &[1], &[0.0], 0))
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::UnknownModel);
    let unknown_param = Request::tensor_f32("digits-cnn", &[1, 8, 8], &px, 0).with_param("steps", "3");
    assert!(matches!(
        exec.run(&unknown_param),
        Err(ExecError::InvalidParam { .. })
    ));
}

/// The 32×32 PNG back to the model's 8×8 input: each 4×4 block is one
/// pixel of the DDPM's 8×8 sample (nearest-neighbour upscale, docs/models.md),
/// mapped [0, 255] → [0, 1] like the digits' value/16.
fn png_to_digit(png: &[u8]) -> Vec<f32> {
    let img = decode_png(png).expect("png");
    assert_eq!((img.width, img.height), (32, 32));
    let mut px = Vec::with_capacity(64);
    for y in 0..8 {
        for x in 0..8 {
            let mut sum = 0u32;
            for dy in 0..4 {
                for dx in 0..4 {
                    sum += img.pixels[(y * 4 + dy) * 32 + x * 4 + dx] as u32;
                }
            }
            px.push(sum as f32 / 16.0 / 255.0);
        }
    }
    px
}

#[test]
fn ddpm_draws_a_reproducible_seven_that_the_classifier_reads_as_seven() {
    let exec = executor();
    let req = Request::text("digits-ddpm", "7", 42);
    let a = exec.run(&req).expect("generate");
    let b = exec.run(&req).expect("generate again");
    assert_eq!(a.bytes, b.bytes, "same seed, same PNG bytes");
    assert_eq!(a.commitment.encoding, chimera_packets::OutputEncoding::Png);
    assert!(a.bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
    let spec = &exec.model("digits-ddpm").unwrap().manifest.sketch;
    assert!(agree(spec, &a.sketch, &b.sketch));
    let other_seed = exec.run(&Request::text("digits-ddpm", "7", 43)).unwrap();
    assert_ne!(other_seed.bytes, a.bytes, "another seed, another image");

    let x = png_to_digit(&a.bytes);
    let cls = exec
        .run(&Request::tensor_f32("digits-cnn", &[1, 8, 8], &x, 0))
        .unwrap();
    let Sketch::Classify { label, .. } = cls.sketch else {
        panic!("classify sketch")
    };
    assert_eq!(
        label,
        7,
        "the generated 7 reads as {label}: {:?}",
        f32s(&cls.bytes)
    );
}

#[test]
fn ddpm_classes_mostly_read_back() {
    // Every class once (seed 1): the classifier recognises most of them
    // (docs/models.md reports the per-class sample accuracy).
    let exec = executor();
    let handles: Vec<_> = (0..10)
        .map(|c| {
            exec.submit(&Request::text("digits-ddpm", &c.to_string(), 1), None)
                .unwrap()
        })
        .collect();
    let mut right = 0;
    for (c, h) in handles.into_iter().enumerate() {
        let out = h.wait().unwrap();
        let x = png_to_digit(&out.bytes);
        let cls = exec
            .run(&Request::tensor_f32("digits-cnn", &[1, 8, 8], &x, 0))
            .unwrap();
        if matches!(cls.sketch, Sketch::Classify { label, .. } if label as usize == c) {
            right += 1;
        }
    }
    assert!(right >= 8, "only {right}/10 generated digits read back");
}

#[test]
fn ddpm_refuses_bad_prompts_and_params() {
    let exec = executor();
    for bad in ["x", "-1"] {
        let e = exec.run(&Request::text("digits-ddpm", bad, 0)).unwrap_err();
        assert!(
            matches!(e, ExecError::InvalidInput(_) | ExecError::InputTooLarge { .. }),
            "{bad}: {e}"
        );
    }
    let mut utf = Request::text("digits-ddpm", "7", 0);
    utf.input = vec![0xff];
    assert!(matches!(exec.run(&utf), Err(ExecError::InvalidUtf8)));
    let too_long = Request::text("digits-ddpm", "77", 0);
    assert!(matches!(
        exec.run(&too_long),
        Err(ExecError::InputTooLarge { .. })
    ));
    for (k, v) in [
        ("steps", "0"),
        ("steps", "100000"),
        ("steps", "ten"),
        ("seed", "1"),
    ] {
        let r = Request::text("digits-ddpm", "7", 0).with_param(k, v);
        assert!(
            matches!(exec.run(&r), Err(ExecError::InvalidParam { .. })),
            "{k}={v}"
        );
    }
    // Fewer steps run and still make a PNG.
    let quick = exec
        .run(&Request::text("digits-ddpm", "3", 5).with_param("steps", "10"))
        .unwrap();
    assert!(decode_png(&quick.bytes).is_ok());
}
