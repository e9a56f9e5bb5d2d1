//! A loaded model and what the executor does around its `forward` (the
//! pre/post-processing of docs/models.md; `scripts/models/common.py` is the
//! Python twin): request checks, batching keys, and batched runs.

use std::collections::BTreeMap;
use std::path::Path;

use chimera_packets::{DType, InputEncoding, Params};
use tch::{CModule, Device, Kind, Tensor};

use super::error::ExecError;
use super::manifest::{InputKind, Manifest, Task};
use super::output::{encode_f32, encode_png, PngColor, MAX_PNG_SIDE};
use super::registry::RegistryEntry;
use super::rng::ChaCha;
use super::sampling::{verify_tokens, Sampler, VerifyError};

/// One request, as the executor takes it: the model, the input payload (in
/// the clear), its declared encoding, and the parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub model: String,
    pub input: Vec<u8>,
    pub encoding: InputEncoding,
    pub params: Params,
}

impl Request {
    /// The request of an `inference` packet (or `MsgRunInference`), given its
    /// input bytes in the clear (inline, fetched from the blob store, or
    /// opened from a sealed envelope).
    pub fn from_packet(data: &chimera_packets::InferencePacketData, input: Vec<u8>) -> Self {
        Request {
            model: data.model.clone(),
            input,
            encoding: data.encoding.clone(),
            params: data.params.clone(),
        }
    }

    /// A text request.
    pub fn text(model: &str, text: &str, seed: u64) -> Self {
        Request {
            model: model.into(),
            input: text.as_bytes().to_vec(),
            encoding: InputEncoding::Text,
            params: Params {
                seed,
                extra: BTreeMap::new(),
            },
        }
    }

    /// An f32 tensor request.
    pub fn tensor_f32(model: &str, shape: &[u32], values: &[f32], seed: u64) -> Self {
        Request {
            model: model.into(),
            input: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            encoding: InputEncoding::Tensor {
                dtype: DType::F32,
                shape: shape.to_vec(),
            },
            params: Params {
                seed,
                extra: BTreeMap::new(),
            },
        }
    }

    /// Sets one `params.extra` value.
    pub fn with_param(mut self, key: &str, value: &str) -> Self {
        self.params.extra.insert(key.into(), value.into());
        self
    }
}

/// A checked request, ready to batch.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Prepared {
    Classify {
        x: Vec<f32>,
    },
    Embed {
        ids: Vec<i64>,
        mask: Vec<i64>,
    },
    Diffusion {
        class: i64,
        seed: u64,
        steps: usize,
    },
    Generate {
        tokens: Vec<i64>,
        seed: u64,
        sampler: Sampler,
        max_tokens: usize,
    },
}

impl Prepared {
    /// Requests with equal keys of one model may share a forward.
    pub(crate) fn batch_key(&self, ctx: usize) -> (usize, usize) {
        match self {
            Prepared::Classify { .. } | Prepared::Embed { .. } => (0, 0),
            Prepared::Diffusion { steps, .. } => (*steps, 0),
            Prepared::Generate {
                tokens, max_tokens, ..
            } => (tokens.len().min(ctx), *max_tokens),
        }
    }
}

/// Task constants read from the manifest at load time.
enum Spec {
    Classify {
        shape: Vec<i64>,
        classes: usize,
    },
    Embed {
        tokenizer: Box<tokenizers::Tokenizer>,
        dims: usize,
    },
    Diffusion {
        size: usize,
        timesteps: usize,
        abar: Vec<f64>,
        scale: usize,
        classes: i64,
    },
    Generate {
        context: usize,
        prefix: Vec<u8>,
        allowed: Vec<u32>,
        max_tokens_limit: usize,
    },
}

/// A model ready to run.
pub struct LoadedModel {
    pub manifest: Manifest,
    pub model_hash: [u8; 32],
    pub device: Device,
    module: CModule,
    spec: Spec,
}

fn invalid(m: &Manifest, why: impl std::fmt::Display) -> String {
    format!("model {}: {why}", m.id)
}

impl LoadedModel {
    /// Loads a verified registry entry onto `device`.
    pub fn load(entry: &RegistryEntry, device: Device) -> Result<LoadedModel, String> {
        let m = &entry.manifest;
        let model_hash = m.sha256_bytes().ok_or_else(|| invalid(m, "bad sha256"))?;
        let spec = Self::spec(entry)?;
        let mut module = CModule::load_on_device(&entry.path, device)
            .map_err(|e| invalid(m, format!("load failed: {e}")))?;
        module.f_set_eval().map_err(|e| invalid(m, e))?;
        Ok(LoadedModel {
            manifest: m.clone(),
            model_hash,
            device,
            module,
            spec,
        })
    }

    fn spec(entry: &RegistryEntry) -> Result<Spec, String> {
        let m = &entry.manifest;
        Ok(match m.task {
            Task::Classify => Spec::Classify {
                shape: m.input.shape.iter().flatten().map(|&d| d as i64).collect(),
                classes: out_len(m)?,
            },
            Task::Embed => {
                let path = entry
                    .aux_path("tokenizer")
                    .ok_or_else(|| invalid(m, "extra.tokenizer with extra.tokenizer_sha256 is required"))?;
                Spec::Embed {
                    tokenizer: Box::new(load_tokenizer(m, path)?),
                    dims: out_len(m)?,
                }
            }
            Task::Diffusion => {
                let timesteps: usize = m.extra_parse("timesteps")?;
                let size: usize = m.extra_parse("image_size")?;
                let scale: usize = m
                    .extra_str("png_scale")
                    .map_or(Ok(1), |_| m.extra_parse("png_scale"))?;
                let channels: usize = m
                    .extra_str("channels")
                    .map_or(Ok(1), |_| m.extra_parse("channels"))?;
                let classes: i64 = m
                    .extra_str("classes")
                    .map_or(Ok(10), |_| m.extra_parse("classes"))?;
                let beta_start: f64 = m.extra_parse("beta_start")?;
                let beta_end: f64 = m.extra_parse("beta_end")?;
                if timesteps < 2 || size == 0 || scale == 0 || size * scale > MAX_PNG_SIDE as usize {
                    return Err(invalid(m, "timesteps, image_size or png_scale out of range"));
                }
                if channels != 1 {
                    return Err(invalid(m, "only channels = 1 (gray) is supported"));
                }
                if !(0.0..1.0).contains(&beta_start) || !(0.0..1.0).contains(&beta_end) {
                    return Err(invalid(m, "betas must be in [0, 1)"));
                }
                if !(1..=10_000).contains(&classes) {
                    return Err(invalid(m, "classes out of range"));
                }
                Spec::Diffusion {
                    size,
                    timesteps,
                    abar: ddpm_abar(timesteps, beta_start, beta_end),
                    scale,
                    classes,
                }
            }
            Task::Generate => {
                if m.extra_str("vocab").as_deref() != Some("bytes") {
                    return Err(invalid(m, "extra.vocab must be \"bytes\""));
                }
                let context: usize = m.extra_parse("context")?;
                let prefix = m.extra_str("prefix").unwrap_or_default().into_bytes();
                let max_tokens_limit: usize = m.extra_parse("max_tokens_limit")?;
                let allowed = allowed_bytes(m)?;
                if context == 0 || max_tokens_limit == 0 || max_tokens_limit > 1 << 16 {
                    return Err(invalid(m, "context or max_tokens_limit out of range"));
                }
                Spec::Generate {
                    context,
                    prefix,
                    allowed,
                    max_tokens_limit,
                }
            }
        })
    }

    /// The context window (generate), for batching keys.
    pub(crate) fn context(&self) -> usize {
        match &self.spec {
            Spec::Generate { context, .. } => *context,
            _ => 0,
        }
    }

    /// The effective parameters: the manifest's defaults overlaid with the
    /// request's; a key the manifest does not list is refused.
    fn params(&self, req: &Request) -> Result<BTreeMap<String, String>, ExecError> {
        let mut p = self.manifest.params.clone();
        for (k, v) in &req.params.extra {
            if !p.contains_key(k) {
                return Err(ExecError::InvalidParam {
                    key: k.clone(),
                    reason: format!("model {} takes no such parameter", self.manifest.id),
                });
            }
            p.insert(k.clone(), v.clone());
        }
        Ok(p)
    }

    /// Checks a request against the manifest (encoding, dtype, shape,
    /// length, size, UTF-8, parameters) and prepares its input.
    pub(crate) fn prepare(&self, req: &Request) -> Result<Prepared, ExecError> {
        let m = &self.manifest;
        let size = req.input.len() as u64;
        let params = self.params(req)?;
        match m.input.encoding {
            InputKind::Tensor => {
                let InputEncoding::Tensor { dtype, shape } = &req.encoding else {
                    return Err(wrong_encoding(m, "tensor", &req.encoding));
                };
                let want = m.input_dtype().expect("validated manifest");
                if *dtype != want {
                    return Err(ExecError::WrongDType {
                        model: m.id.clone(),
                        expected: want.name().into(),
                        got: dtype.name().into(),
                    });
                }
                let want_shape = m.input.shape.clone().unwrap_or_default();
                if *shape != want_shape {
                    return Err(ExecError::WrongShape {
                        model: m.id.clone(),
                        expected: want_shape,
                        got: shape.clone(),
                    });
                }
                if size > m.input.max_bytes {
                    return Err(ExecError::InputTooLarge {
                        size,
                        max: m.input.max_bytes,
                    });
                }
                if size != m.input.max_bytes {
                    return Err(ExecError::WrongLength {
                        expected: m.input.max_bytes,
                        got: size,
                    });
                }
            }
            InputKind::Text => {
                if req.encoding != InputEncoding::Text {
                    return Err(wrong_encoding(m, "text", &req.encoding));
                }
                if size > m.input.max_bytes {
                    return Err(ExecError::InputTooLarge {
                        size,
                        max: m.input.max_bytes,
                    });
                }
            }
        }
        match &self.spec {
            Spec::Classify { .. } => {
                let x: Vec<f32> = req
                    .input
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect();
                if x.iter().any(|v| !v.is_finite()) {
                    return Err(ExecError::InvalidInput("tensor holds NaN or an infinity".into()));
                }
                Ok(Prepared::Classify { x })
            }
            Spec::Embed { tokenizer, .. } => {
                let text = utf8(&req.input)?;
                let enc = tokenizer
                    .encode(text, true)
                    .map_err(|e| ExecError::InvalidInput(format!("tokenizer: {e}")))?;
                Ok(Prepared::Embed {
                    ids: enc.get_ids().iter().map(|&i| i as i64).collect(),
                    mask: enc.get_attention_mask().iter().map(|&i| i as i64).collect(),
                })
            }
            Spec::Diffusion {
                timesteps, classes, ..
            } => {
                let text = utf8(&req.input)?;
                let class = text
                    .parse::<i64>()
                    .ok()
                    .filter(|c| (0..*classes).contains(c) && text.bytes().all(|b| b.is_ascii_digit()))
                    .ok_or_else(|| {
                        ExecError::InvalidInput(format!("prompt {text:?} is not a class 0..{classes}"))
                    })?;
                let steps = param_num(&params, "steps", *timesteps as f64, usize_f64)?;
                if steps == 0 {
                    return Err(ExecError::InvalidParam {
                        key: "steps".into(),
                        reason: format!("must be 1..={timesteps}"),
                    });
                }
                Ok(Prepared::Diffusion {
                    class,
                    seed: req.params.seed,
                    steps,
                })
            }
            Spec::Generate {
                prefix,
                allowed,
                max_tokens_limit,
                ..
            } => {
                let text = utf8(&req.input)?;
                let sampler = self.sampler(&params, allowed)?;
                let max_tokens = param_num(&params, "max_tokens", *max_tokens_limit as f64, usize_f64)?;
                if max_tokens == 0 {
                    return Err(ExecError::InvalidParam {
                        key: "max_tokens".into(),
                        reason: format!("must be 1..={max_tokens_limit}"),
                    });
                }
                let tokens = prefix.iter().chain(text.as_bytes()).map(|&b| b as i64).collect();
                Ok(Prepared::Generate {
                    tokens,
                    seed: req.params.seed,
                    sampler,
                    max_tokens,
                })
            }
        }
    }

    fn sampler(&self, params: &BTreeMap<String, String>, allowed: &[u32]) -> Result<Sampler, ExecError> {
        let temperature = param_num(params, "temperature", 100.0, f64_f64)?;
        let top_k = param_num(params, "top_k", 1_000_000.0, usize_f64)?;
        Ok(Sampler {
            temperature,
            top_k,
            allowed: allowed.to_vec(),
        })
    }

    /// Runs requests that share a batch key in one batch. `alive()` turning
    /// false (every job cancelled or past its deadline) stops a long loop
    /// between steps. Per-job results are the exact output bytes.
    pub(crate) fn run_batch(
        &self,
        jobs: &[&Prepared],
        alive: &dyn Fn() -> bool,
    ) -> Result<Vec<Result<Vec<u8>, ExecError>>, ExecError> {
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        match &self.spec {
            Spec::Classify { shape, classes } => self.run_classify(jobs, shape, *classes),
            Spec::Embed { dims, .. } => self.run_embed(jobs, *dims),
            Spec::Diffusion {
                size,
                abar,
                scale,
                timesteps,
                ..
            } => self.run_diffusion(jobs, *size, *timesteps, abar, *scale, alive),
            Spec::Generate { context, .. } => self.run_generate(jobs, *context, alive),
        }
    }

    fn non_finite(&self) -> ExecError {
        ExecError::NonFinite {
            model: self.manifest.id.clone(),
        }
    }

    fn bad_output(&self, what: &str, got: &[i64]) -> ExecError {
        ExecError::Torch(format!(
            "model {} returned {what} of shape {got:?}",
            self.manifest.id
        ))
    }

    fn run_classify(
        &self,
        jobs: &[&Prepared],
        shape: &[i64],
        classes: usize,
    ) -> Result<Vec<Result<Vec<u8>, ExecError>>, ExecError> {
        let n = jobs.len() as i64;
        let mut flat = Vec::new();
        for j in jobs {
            let Prepared::Classify { x } = j else {
                unreachable!("batch of one task")
            };
            flat.extend_from_slice(x);
        }
        let mut dims = vec![n];
        dims.extend_from_slice(shape);
        let x = Tensor::f_from_slice(&flat)?
            .f_view(dims.as_slice())?
            .f_to_device(self.device)?;
        let logits = self.module.forward_ts(&[x])?;
        if logits.size() != [n, classes as i64] || logits.kind() != Kind::Float {
            return Err(self.bad_output("logits", &logits.size()));
        }
        let probs = logits.f_softmax(1, Kind::Float)?;
        let rows = self.rows(&probs, jobs.len(), classes)?;
        Ok(rows
            .into_iter()
            .map(|row| {
                if row.iter().all(|v| v.is_finite()) {
                    Ok(encode_f32(&[classes as u64], &row))
                } else {
                    Err(self.non_finite())
                }
            })
            .collect())
    }

    fn run_embed(
        &self,
        jobs: &[&Prepared],
        dims: usize,
    ) -> Result<Vec<Result<Vec<u8>, ExecError>>, ExecError> {
        let n = jobs.len();
        let longest = jobs
            .iter()
            .map(|j| match j {
                Prepared::Embed { ids, .. } => ids.len(),
                _ => unreachable!("batch of one task"),
            })
            .max()
            .unwrap_or(0);
        // The tokenizer pads to a fixed length (all-MiniLM's tokenizer.json:
        // 128), so every row has one shape; shorter ones are padded here
        // with id 0 and mask 0, which the model ignores.
        let (mut ids, mut mask) = (Vec::with_capacity(n * longest), Vec::with_capacity(n * longest));
        for j in jobs {
            let Prepared::Embed { ids: i, mask: m } = j else {
                unreachable!("batch of one task")
            };
            ids.extend_from_slice(i);
            ids.resize(ids.len() + longest - i.len(), 0);
            mask.extend_from_slice(m);
            mask.resize(mask.len() + longest - m.len(), 0);
        }
        let shape = [n as i64, longest as i64];
        let ids = Tensor::f_from_slice(&ids)?
            .f_view(shape)?
            .f_to_device(self.device)?;
        let mask = Tensor::f_from_slice(&mask)?
            .f_view(shape)?
            .f_to_device(self.device)?;
        let out = self.module.forward_ts(&[ids, mask])?;
        if out.size() != [n as i64, dims as i64] || out.kind() != Kind::Float {
            return Err(self.bad_output("embeddings", &out.size()));
        }
        Ok(self
            .rows(&out, n, dims)?
            .into_iter()
            .map(|row| {
                if row.iter().all(|v| v.is_finite()) {
                    Ok(encode_f32(&[dims as u64], &row))
                } else {
                    Err(self.non_finite())
                }
            })
            .collect())
    }

    #[allow(clippy::too_many_arguments)]
    fn run_diffusion(
        &self,
        jobs: &[&Prepared],
        size: usize,
        timesteps: usize,
        abar: &[f64],
        scale: usize,
        alive: &dyn Fn() -> bool,
    ) -> Result<Vec<Result<Vec<u8>, ExecError>>, ExecError> {
        let n = jobs.len();
        let mut rngs = Vec::with_capacity(n);
        let mut classes = Vec::with_capacity(n);
        let mut steps = 0;
        for j in jobs {
            let Prepared::Diffusion {
                class,
                seed,
                steps: s,
            } = j
            else {
                unreachable!("batch of one task")
            };
            rngs.push(ChaCha::new(*seed));
            classes.push(*class);
            steps = *s;
        }
        let taus = ddpm_timesteps(timesteps, steps);
        let dev = self.device;
        let shape = [n as i64, 1, size as i64, size as i64];
        let noise = |rngs: &mut [ChaCha]| -> Result<Tensor, ExecError> {
            let flat: Vec<f32> = rngs.iter_mut().flat_map(|r| r.normals(size * size)).collect();
            Ok(Tensor::f_from_slice(&flat)?.f_view(shape)?.f_to_device(dev)?)
        };
        let y = Tensor::f_from_slice(&classes)?.f_to_device(dev)?;
        let mut x = noise(&mut rngs)?;
        for i in (0..steps).rev() {
            if !alive() {
                return Err(ExecError::Cancelled);
            }
            let t = taus[i];
            let ab = abar[t];
            let ab_prev = if i > 0 { abar[taus[i - 1]] } else { 1.0 };
            let beta = 1.0 - ab / ab_prev;
            let tt = Tensor::f_from_slice(&vec![t as i64; n])?.f_to_device(dev)?;
            let eps = self.module.forward_ts(&[&x, &tt, &y])?;
            if eps.size() != shape || eps.kind() != Kind::Float {
                return Err(self.bad_output("eps", &eps.size()));
            }
            let ca = f32r(1.0 / ab.sqrt());
            let cb = f32r((1.0 / ab - 1.0).sqrt());
            let x0 = x
                .f_mul_scalar(ca)?
                .f_sub(&eps.f_mul_scalar(cb)?)?
                .f_clamp(-1.0, 1.0)?;
            let c1 = f32r(ab_prev.sqrt() * beta / (1.0 - ab));
            let c2 = f32r((1.0 - beta).sqrt() * (1.0 - ab_prev) / (1.0 - ab));
            let mean = x0.f_mul_scalar(c1)?.f_add(&x.f_mul_scalar(c2)?)?;
            x = if i > 0 {
                let sd = f32r((beta * (1.0 - ab_prev) / (1.0 - ab)).sqrt());
                mean.f_add(&noise(&mut rngs)?.f_mul_scalar(sd)?)?
            } else {
                mean
            };
        }
        let x = x.f_clamp(-1.0, 1.0)?;
        let rows = self.rows(&x, n, size * size)?;
        let side = (size * scale) as u32;
        Ok(rows
            .into_iter()
            .map(|row| {
                if !row.iter().all(|v| v.is_finite()) {
                    return Err(self.non_finite());
                }
                let px: Vec<u8> = row.iter().map(|&v| pixel_u8(v)).collect();
                Ok(encode_png(side, side, PngColor::Gray, &upscale(&px, size, scale)))
            })
            .collect())
    }

    fn run_generate(
        &self,
        jobs: &[&Prepared],
        context: usize,
        alive: &dyn Fn() -> bool,
    ) -> Result<Vec<Result<Vec<u8>, ExecError>>, ExecError> {
        let n = jobs.len();
        let mut seqs: Vec<Vec<i64>> = Vec::with_capacity(n);
        let mut rngs = Vec::with_capacity(n);
        let mut samplers = Vec::with_capacity(n);
        let mut max_tokens = 0;
        for j in jobs {
            let Prepared::Generate {
                tokens,
                seed,
                sampler,
                max_tokens: m,
            } = j
            else {
                unreachable!("batch of one task")
            };
            seqs.push(tokens.clone());
            rngs.push(ChaCha::new(*seed));
            samplers.push(sampler);
            max_tokens = *m;
        }
        let mut out: Vec<Result<Vec<u8>, ExecError>> = (0..n).map(|_| Ok(Vec::new())).collect();
        for _ in 0..max_tokens {
            if !alive() {
                return Err(ExecError::Cancelled);
            }
            let rows = self.last_logits(&seqs, context)?;
            for (k, row) in rows.into_iter().enumerate() {
                let Ok(text) = &mut out[k] else { continue };
                if !row.iter().all(|v| v.is_finite()) {
                    out[k] = Err(self.non_finite());
                    continue;
                }
                let t = samplers[k].pick(&row, &mut rngs[k]);
                text.push(t as u8);
                seqs[k].push(t as i64);
            }
        }
        Ok(out)
    }

    /// The last position's logits of each sequence's window (its last
    /// `context` tokens); the windows must have one length.
    fn last_logits(&self, seqs: &[Vec<i64>], context: usize) -> Result<Vec<Vec<f32>>, ExecError> {
        let n = seqs.len();
        let len = seqs[0].len().min(context);
        let mut flat = Vec::with_capacity(n * len);
        for s in seqs {
            let w = &s[s.len() - s.len().min(context)..];
            debug_assert_eq!(w.len(), len);
            flat.extend_from_slice(w);
        }
        let toks = Tensor::f_from_slice(&flat)?
            .f_view([n as i64, len as i64])?
            .f_to_device(self.device)?;
        let logits = self.module.forward_ts(&[toks])?;
        let size = logits.size();
        if size.len() != 3
            || size[0] != n as i64
            || size[1] != len as i64
            || size[2] < 256
            || logits.kind() != Kind::Float
        {
            return Err(self.bad_output("logits", &size));
        }
        let vocab = size[2] as usize;
        let last = logits.f_select(1, len as i64 - 1)?;
        self.rows(&last, n, vocab)
    }

    /// Copies a `[n, …]` float tensor to the host as n rows of `width`.
    fn rows(&self, t: &Tensor, n: usize, width: usize) -> Result<Vec<Vec<f32>>, ExecError> {
        let flat: Vec<f32> = Vec::<f32>::try_from(t.f_to_device(Device::Cpu)?.f_contiguous()?.f_view([-1])?)?;
        if flat.len() != n * width {
            return Err(self.bad_output("a tensor", &t.size()));
        }
        Ok(flat.chunks_exact(width).map(<[f32]>::to_vec).collect())
    }

    /// Re-scores a claimed generation (teacher forcing) and checks every
    /// token against the seeded draws within `[model.sketch]
    /// logit_tolerance` (`sampling::verify_tokens`): how a validator whose
    /// own sample differs judges the reference output.
    pub fn verify_generation(
        &self,
        req: &Request,
        output: &[u8],
    ) -> Result<Result<(), VerifyError>, ExecError> {
        let Spec::Generate { context, .. } = &self.spec else {
            return Err(ExecError::InvalidInput(format!(
                "model {} does not generate tokens",
                self.manifest.id
            )));
        };
        let Prepared::Generate { tokens, sampler, .. } = self.prepare(req)? else {
            unreachable!("generate spec prepares generate input")
        };
        let mut seq = tokens;
        let mut rows = Vec::with_capacity(output.len());
        for &b in output {
            let row = self.last_logits(std::slice::from_ref(&seq), *context)?.remove(0);
            if !row.iter().all(|v| v.is_finite()) {
                return Err(self.non_finite());
            }
            rows.push(row);
            seq.push(b as i64);
        }
        let claimed: Vec<u32> = output.iter().map(|&b| b as u32).collect();
        Ok(verify_tokens(
            &sampler,
            req.params.seed,
            &rows,
            &claimed,
            self.manifest.sketch.logit_tolerance(),
        ))
    }
}

fn wrong_encoding(m: &Manifest, expected: &str, got: &InputEncoding) -> ExecError {
    let got = match got {
        InputEncoding::Text => "text".to_string(),
        InputEncoding::Json => "json".to_string(),
        InputEncoding::Tensor { dtype, shape } => format!("tensor {} {shape:?}", dtype.name()),
    };
    ExecError::WrongEncoding {
        model: m.id.clone(),
        expected: expected.into(),
        got,
    }
}

fn utf8(bytes: &[u8]) -> Result<&str, ExecError> {
    std::str::from_utf8(bytes).map_err(|_| ExecError::InvalidUtf8)
}

/// A numeric parameter: parsed from its decimal string, finite, in `0..=max`.
fn param_num<T: std::str::FromStr + Copy>(
    params: &BTreeMap<String, String>,
    key: &str,
    max: f64,
    as_f64: fn(T) -> f64,
) -> Result<T, ExecError> {
    let raw = params.get(key).ok_or_else(|| ExecError::InvalidParam {
        key: key.into(),
        reason: "has no value and the manifest no default".into(),
    })?;
    let v: T = raw.trim().parse().map_err(|_| ExecError::InvalidParam {
        key: key.into(),
        reason: format!("{raw:?} is not a number of the right kind"),
    })?;
    let f = as_f64(v);
    if !f.is_finite() || !(0.0..=max).contains(&f) {
        return Err(ExecError::InvalidParam {
            key: key.into(),
            reason: format!("{raw} is not in 0..={max}"),
        });
    }
    Ok(v)
}

fn usize_f64(v: usize) -> f64 {
    v as f64
}

fn f64_f64(v: f64) -> f64 {
    v
}

fn load_tokenizer(m: &Manifest, path: &Path) -> Result<tokenizers::Tokenizer, String> {
    tokenizers::Tokenizer::from_file(path)
        .map_err(|e| invalid(m, format!("tokenizer {}: {e}", path.display())))
}

fn out_len(m: &Manifest) -> Result<usize, String> {
    match m.output.shape.as_deref() {
        Some([d]) if *d > 0 => Ok(*d as usize),
        other => Err(invalid(
            m,
            format!("output.shape {other:?} must be one dimension"),
        )),
    }
}

/// `extra.allowed_bytes`: inclusive `[lo, hi]` ranges of byte tokens the
/// sampler may draw (ASCII only, so the output is always UTF-8); all of
/// `0..=127` when absent.
fn allowed_bytes(m: &Manifest) -> Result<Vec<u32>, String> {
    let Some(v) = m.extra.get("allowed_bytes") else {
        return Ok((0..128).collect());
    };
    let bad = || invalid(m, "extra.allowed_bytes must be [[lo, hi], ...] within 0..=127");
    let mut out = Vec::new();
    for r in v.as_array().ok_or_else(bad)? {
        let pair = r.as_array().ok_or_else(bad)?;
        let (Some(lo), Some(hi)) = (
            pair.first().and_then(|x| x.as_integer()),
            pair.get(1).and_then(|x| x.as_integer()),
        ) else {
            return Err(bad());
        };
        if pair.len() != 2 || lo < 0 || hi > 127 || lo > hi {
            return Err(bad());
        }
        out.extend((lo as u32)..=(hi as u32));
    }
    out.sort_unstable();
    out.dedup();
    if out.is_empty() {
        return Err(bad());
    }
    Ok(out)
}

/// `abar[t] = prod_{s<=t} (1 - beta_s)` with `beta_t = beta_start +
/// (beta_end - beta_start) * t / (T - 1)`, in f64, left to right.
pub(crate) fn ddpm_abar(timesteps: usize, beta_start: f64, beta_end: f64) -> Vec<f64> {
    let mut acc = 1.0f64;
    (0..timesteps)
        .map(|t| {
            let beta = beta_start + (beta_end - beta_start) * t as f64 / (timesteps - 1) as f64;
            acc *= 1.0 - beta;
            acc
        })
        .collect()
}

/// `tau_i = floor(i * T / steps)`, i = 0..steps (ascending).
pub(crate) fn ddpm_timesteps(timesteps: usize, steps: usize) -> Vec<usize> {
    (0..steps).map(|i| i * timesteps / steps).collect()
}

/// An f64 coefficient rounded to f32 (the Python twin's `np.float32(...)`).
fn f32r(v: f64) -> f64 {
    v as f32 as f64
}

/// `[-1, 1] → u8`: `floor((x + 1) * 127.5 + 0.5)` in f64, clamped to 0..=255.
pub(crate) fn pixel_u8(x: f32) -> u8 {
    ((x as f64 + 1.0) * 127.5 + 0.5).floor().clamp(0.0, 255.0) as u8
}

/// Nearest-neighbour upscaling of a `size × size` gray image by `scale`.
pub(crate) fn upscale(px: &[u8], size: usize, scale: usize) -> Vec<u8> {
    let side = size * scale;
    let mut out = Vec::with_capacity(side * side);
    for y in 0..side {
        for x in 0..side {
            out.push(px[(y / scale) * size + x / scale]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ddpm_schedule_matches_the_python_twin() {
        // common.ddpm_schedule(100, 1e-4, 0.2) and ddpm_timesteps(100, 10).
        let abar = ddpm_abar(100, 0.0001, 0.2);
        assert_eq!(abar.len(), 100);
        assert_eq!(abar[0], 1.0 - 0.0001);
        assert!(abar.windows(2).all(|w| w[1] < w[0]));
        assert_eq!(ddpm_timesteps(100, 10), [0, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
        assert_eq!(ddpm_timesteps(100, 100), (0..100).collect::<Vec<_>>());
        assert_eq!(ddpm_timesteps(100, 3), [0, 33, 66]);
    }

    #[test]
    fn request_from_a_golden_packet() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../packets/testdata/packet_text_inline.json"
        );
        let vector: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let bytes = vector["bytes"].as_str().unwrap().as_bytes();
        let data = chimera_packets::InferencePacketData::from_bytes(bytes).unwrap();
        let chimera_packets::Input::Inline(input) = &data.input else {
            panic!("inline")
        };
        let r = Request::from_packet(&data, input.clone());
        assert_eq!(r.model, "tiny-lm");
        assert_eq!(r.input, b"Once upon a time");
        assert_eq!(r.encoding, InputEncoding::Text);
        assert_eq!(r.params.seed, 42);
        assert_eq!(r.params.extra.get("top_k").map(String::as_str), Some("40"));
    }

    #[test]
    fn pixels_and_upscale() {
        assert_eq!(pixel_u8(-1.0), 0);
        assert_eq!(pixel_u8(1.0), 255);
        assert_eq!(pixel_u8(0.0), 128);
        assert_eq!(pixel_u8(-2.0), 0);
        assert_eq!(
            upscale(&[1, 2, 3, 4], 2, 2),
            [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]
        );
    }
}
