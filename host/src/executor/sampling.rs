//! Seeded temperature / top-k token sampling (docs/models.md, `lm_pick` in
//! `scripts/models/common.py` is its Python twin) and `verify_tokens`, the
//! re-scoring check that lets validators whose float kernels differ agree
//! on a sampled text. Pure: no libtorch; the model runner feeds it logits.

use super::rng::ChaCha;

/// How tokens are drawn.
#[derive(Clone, Debug, PartialEq)]
pub struct Sampler {
    /// Softmax temperature; `0` is greedy (no draw consumed).
    pub temperature: f64,
    /// Keep the `top_k` largest logits; `0` keeps all.
    pub top_k: usize,
    /// The token ids that may be drawn (others are never candidates).
    pub allowed: Vec<u32>,
}

/// The candidates in canonical order: logit descending, then id ascending.
fn candidates(s: &Sampler, logits: &[f32]) -> Vec<(f32, u32)> {
    let mut cand: Vec<(f32, u32)> = s
        .allowed
        .iter()
        .filter_map(|&i| logits.get(i as usize).map(|&l| (l, i)))
        .collect();
    cand.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    cand
}

impl Sampler {
    /// One token from the last position's f32 logits: greedy at temperature
    /// 0; otherwise the top-k candidates weighted `exp((l - l_max) / T)` in
    /// f64, cumulated in candidate order, and the first whose cumulative
    /// weight exceeds `u × total` for one `u = rng.uniform()` (always drawn
    /// when T > 0, even with one candidate). Logits must be finite.
    pub fn pick(&self, logits: &[f32], rng: &mut ChaCha) -> u32 {
        if self.temperature == 0.0 {
            return candidates(self, logits)[0].1;
        }
        self.draw(logits, rng.uniform())
    }

    /// The sampled token for uniform `u` (T > 0).
    fn draw(&self, logits: &[f32], u: f64) -> u32 {
        let mut cand = candidates(self, logits);
        if self.top_k > 0 {
            cand.truncate(self.top_k);
        }
        let top = cand[0].0 as f64;
        let mut total = 0.0f64;
        let cum: Vec<f64> = cand
            .iter()
            .map(|&(l, _)| {
                total += libm::exp((l as f64 - top) / self.temperature);
                total
            })
            .collect();
        let target = u * total;
        for (&(_, id), &c) in cand.iter().zip(&cum) {
            if c > target {
                return id;
            }
        }
        cand[cand.len() - 1].1
    }

    /// True when `token` is what `pick` could have drawn with uniform `u`
    /// (`None` at temperature 0) had every logit been off by at most `tol`:
    ///
    /// - `tol = 0`: exactly the token `pick` draws;
    /// - it is allowed, and fewer than `top_k` (1 when greedy) candidates
    ///   beat it by more than `2·tol` (so it can be in the kept set);
    /// - greedy: that is all;
    /// - sampled: with `r = exp(2·tol / T)`, `before` the weight of candidates
    ///   that beat it by more than `2·tol`, `near` the weight of the others
    ///   within `2·tol` of it, `w` its own weight and `S` the kept total
    ///   (weights `exp((l - l_max) / T)`),
    ///   `before / S / r ≤ u < min(1, (before + near + w) / S × r)`.
    pub fn consistent(&self, logits: &[f32], token: u32, u: Option<f64>, tol: f64) -> bool {
        let cand = candidates(self, logits);
        let Some(&(lt, _)) = cand.iter().find(|c| c.1 == token) else {
            return false;
        };
        if tol == 0.0 {
            return match (self.temperature == 0.0, u) {
                (true, _) => cand[0].1 == token,
                (false, Some(u)) => self.draw(logits, u) == token,
                (false, None) => false,
            };
        }
        let lt = lt as f64;
        let ahead = cand.iter().filter(|c| c.0 as f64 > lt + 2.0 * tol).count();
        let keep = match (self.temperature == 0.0, self.top_k) {
            (true, _) => 1,
            (false, 0) => cand.len(),
            (false, k) => k,
        };
        if ahead >= keep {
            return false;
        }
        if self.temperature == 0.0 {
            return true;
        }
        let Some(u) = u else { return false };
        let top = cand[0].0 as f64;
        let w = |l: f32| libm::exp((l as f64 - top) / self.temperature);
        let total: f64 = cand[..keep.min(cand.len())].iter().map(|c| w(c.0)).sum();
        let (mut before, mut near) = (0.0, 0.0);
        for c in cand.iter().filter(|c| c.1 != token) {
            if c.0 as f64 > lt + 2.0 * tol {
                before += w(c.0);
            } else if c.0 as f64 >= lt - 2.0 * tol {
                near += w(c.0);
            }
        }
        let r = libm::exp(2.0 * tol / self.temperature);
        let lo = before / total / r;
        let hi = ((before + near + w(lt as f32)) / total * r).min(1.0);
        lo <= u && u < hi
    }
}

/// Why a claimed token sequence fails re-scoring.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("re-scoring gave {rows} logit rows for {tokens} tokens")]
    Length { rows: usize, tokens: usize },
    #[error("token {index} ({token}) is not consistent with the seeded draw within the logit tolerance")]
    Inconsistent { index: usize, token: u32 },
}

/// Teacher-forcing check of a sampled sequence: `rows[i]` are the verifier's
/// own logits for position `i` given the prompt and `tokens[..i]` (one
/// forward over the claimed text gives them all); the draws are replayed
/// from `seed` (one uniform per token when T > 0, none when greedy), and each
/// token must be `Sampler::consistent` with its draw within `tol` logits.
pub fn verify_tokens(
    sampler: &Sampler,
    seed: u64,
    rows: &[Vec<f32>],
    tokens: &[u32],
    tol: f64,
) -> Result<(), VerifyError> {
    if rows.len() != tokens.len() {
        return Err(VerifyError::Length {
            rows: rows.len(),
            tokens: tokens.len(),
        });
    }
    let mut rng = ChaCha::new(seed);
    for (index, (row, &token)) in rows.iter().zip(tokens).enumerate() {
        let u = (sampler.temperature != 0.0).then(|| rng.uniform());
        if !sampler.consistent(row, token, u, tol) {
            return Err(VerifyError::Inconsistent { index, token });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sampler(t: f64, k: usize) -> Sampler {
        Sampler {
            temperature: t,
            top_k: k,
            allowed: (0..8).collect(),
        }
    }

    fn rows(n: usize) -> Vec<Vec<f32>> {
        (0..n)
            .map(|i| (0..8).map(|j| (((i * 7 + j * 3) % 11) as f32) * 0.3).collect())
            .collect()
    }

    #[test]
    fn greedy_takes_the_first_largest_and_draws_nothing() {
        let s = sampler(0.0, 40);
        let mut rng = ChaCha::new(1);
        assert_eq!(s.pick(&[0.0, 2.0, 2.0, 1.0], &mut rng), 1);
        assert_eq!(rng.next_u64(), ChaCha::new(1).next_u64(), "no draw consumed");
    }

    #[test]
    fn disallowed_tokens_are_never_drawn() {
        let s = Sampler {
            temperature: 1.0,
            top_k: 0,
            allowed: vec![2, 3],
        };
        let mut rng = ChaCha::new(5);
        for _ in 0..200 {
            let t = s.pick(&[9.0, 9.0, 0.0, 0.0], &mut rng);
            assert!(t == 2 || t == 3);
        }
    }

    #[test]
    fn top_k_one_is_greedy_but_draws() {
        let s = sampler(0.8, 1);
        let mut rng = ChaCha::new(3);
        assert_eq!(s.pick(&[0.0, 1.0, 5.0, 1.0, 0.0, 0.0, 0.0, 0.0], &mut rng), 2);
        let mut fresh = ChaCha::new(3);
        fresh.next_u64();
        assert_eq!(rng.next_u64(), fresh.next_u64());
    }

    #[test]
    fn verify_accepts_own_samples_and_rejects_others() {
        let s = sampler(0.8, 5);
        let rs = rows(32);
        let mut rng = ChaCha::new(42);
        let toks: Vec<u32> = rs.iter().map(|r| s.pick(r, &mut rng)).collect();
        assert_eq!(verify_tokens(&s, 42, &rs, &toks, 0.0), Ok(()));
        assert_eq!(verify_tokens(&s, 42, &rs, &toks, 1e-3), Ok(()));
        // Jittered logits (another kernel) still verify within tolerance.
        let jittered: Vec<Vec<f32>> = rs.iter().map(|r| r.iter().map(|x| x + 1e-6).collect()).collect();
        assert_eq!(verify_tokens(&s, 42, &jittered, &toks, 1e-3), Ok(()));
        // Another seed's draws do not verify (some token is off).
        assert!(verify_tokens(&s, 43, &rs, &toks, 1e-3).is_err());
        // A forged token does not verify.
        let mut forged = toks.clone();
        forged[10] = (forged[10] + 4) % 8;
        assert!(verify_tokens(&s, 42, &rs, &forged, 1e-3).is_err());
        assert!(matches!(
            verify_tokens(&s, 42, &rs[..3], &toks, 1e-3),
            Err(VerifyError::Length { .. })
        ));
    }

    #[test]
    fn boundary_draw_flip_is_accepted_within_tolerance() {
        // p(0) = e / (e + 1) = 0.7310586; u just below that boundary draws 0.
        let s = Sampler {
            temperature: 1.0,
            top_k: 0,
            allowed: vec![0, 1],
        };
        let logits = [2.0f32, 1.0];
        let u = Some(0.7310);
        assert!(s.consistent(&logits, 0, u, 0.0));
        assert!(!s.consistent(&logits, 1, u, 0.0));
        // Another kernel's logits could have moved the boundary past u.
        assert!(s.consistent(&logits, 1, u, 1e-4));
        // Far from the boundary the other token stays inconsistent.
        assert!(!s.consistent(&logits, 1, Some(0.2), 1e-4));
        assert!(!s.consistent(&logits, 0, Some(0.9), 1e-4));
        // Equal logits may swap order under any tolerance: both tokens fit.
        assert!(s.consistent(&[1.0, 1.0], 1, Some(0.2), 1e-4));
        assert!(!s.consistent(&[1.0, 1.0], 1, Some(0.2), 0.0));
    }

    #[test]
    fn greedy_verify_uses_the_tolerance() {
        let s = sampler(0.0, 0);
        let row = vec![vec![1.0f32, 1.0005, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]];
        assert_eq!(verify_tokens(&s, 0, &row, &[1], 0.0), Ok(()));
        assert!(verify_tokens(&s, 0, &row, &[0], 0.0).is_err());
        assert_eq!(verify_tokens(&s, 0, &row, &[0], 1e-3), Ok(()));
        assert!(verify_tokens(&s, 0, &row, &[2], 1e-3).is_err());
    }
}
