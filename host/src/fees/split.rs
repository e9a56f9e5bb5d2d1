//! How one paid fee is divided: pure integer arithmetic, so every validator
//! computes the same micro-units and none is ever lost.
//!
//! Rules (docs/tokenomics.md "Rounding"):
//! - the executor pool is `floor(amount × executor_bps / 10000)`, shared
//!   equally by the `n` executors whose results agreed; what does not
//!   divide by `n` (fewer than `n` units) is burned;
//! - the burn part is `floor(amount × burn_bps / 10000)` plus that dust;
//! - the community part is everything left, so the basis-point rounding
//!   lands there;
//! - with no agreeing executor (`n = 0`) the whole pool is burned.

/// Basis points in one whole.
pub const BPS: u32 = 10_000;

/// The shares of a fee, in basis points (they add up to [`BPS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shares {
    pub executor_bps: u32,
    pub burn_bps: u32,
    pub community_bps: u32,
}

impl Shares {
    /// Whether the shares add up to one whole.
    pub fn is_whole(&self) -> bool {
        self.executor_bps as u64 + self.burn_bps as u64 + self.community_bps as u64 == BPS as u64
    }
}

/// One fee, divided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split {
    /// What each agreeing executor receives.
    pub per_executor: u128,
    /// Executors paid (`n`).
    pub executors: u32,
    /// Burned (on this chain for the native denom, else sent to the burn
    /// address).
    pub burn: u128,
    /// For the community.
    pub community: u128,
}

impl Split {
    /// Everything the split hands out: always the fee itself.
    pub fn total(&self) -> u128 {
        self.per_executor * self.executors as u128 + self.burn + self.community
    }
}

/// `amount × bps / 10000`, rounded down, without overflow for any `u128`.
fn part(amount: u128, bps: u32) -> u128 {
    let bps = bps as u128;
    let whole = BPS as u128;
    (amount / whole) * bps + (amount % whole) * bps / whole
}

/// Divides `amount` among `executors` agreeing executors, the burn and the
/// community. `shares` must be whole ([`Shares::is_whole`]).
pub fn split(amount: u128, shares: Shares, executors: u32) -> Split {
    debug_assert!(shares.is_whole());
    let pool = part(amount, shares.executor_bps);
    let burn_share = part(amount, shares.burn_bps);
    let (per_executor, dust) = match executors {
        0 => (0, pool),
        n => (pool / n as u128, pool % n as u128),
    };
    Split {
        per_executor,
        executors,
        burn: burn_share + dust,
        community: amount - pool - burn_share,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DEFAULT: Shares = Shares {
        executor_bps: 7000,
        burn_bps: 2000,
        community_bps: 1000,
    };

    #[test]
    fn a_round_fee_splits_exactly() {
        let s = split(1_000_000, DEFAULT, 4);
        assert_eq!(s.per_executor, 175_000);
        assert_eq!(s.burn, 200_000);
        assert_eq!(s.community, 100_000);
    }

    #[test]
    fn dust_is_burned_and_rounding_goes_to_the_community() {
        // pool = floor(1001 × 0.7) = 700; 700 / 3 = 233 rest 1 (burned);
        // burn = floor(200.2) = 200; community = 1001 − 700 − 200 = 101.
        let s = split(1001, DEFAULT, 3);
        assert_eq!((s.per_executor, s.burn, s.community), (233, 201, 101));
        assert_eq!(s.total(), 1001);
    }

    #[test]
    fn with_no_executor_the_pool_is_burned() {
        let s = split(1000, DEFAULT, 0);
        assert_eq!((s.per_executor, s.burn, s.community), (0, 900, 100));
    }

    #[test]
    fn the_largest_amount_does_not_overflow() {
        let s = split(u128::MAX, DEFAULT, 7);
        assert_eq!(s.total(), u128::MAX);
    }

    fn shares() -> impl Strategy<Value = Shares> {
        (0..=BPS, 0..=BPS).prop_map(|(a, b)| {
            let (lo, hi) = (a.min(b), a.max(b));
            Shares {
                executor_bps: lo,
                burn_bps: hi - lo,
                community_bps: BPS - hi,
            }
        })
    }

    proptest! {
        /// Nothing is lost or made: the parts add up to the fee, each
        /// executor's part never exceeds its exact share, and the burn
        /// and community parts are within one unit (plus executor dust) of
        /// their exact shares.
        #[test]
        fn parts_add_up_to_the_fee(amount in any::<u128>(), s in shares(), n in 0u32..200) {
            let out = split(amount, s, n);
            prop_assert_eq!(out.total(), amount);
            let exact = |bps: u32| amount as f64 * bps as f64 / BPS as f64;
            if n > 0 && amount < (1u128 << 50) {
                prop_assert!(out.per_executor as f64 <= exact(s.executor_bps) / n as f64 + 1.0);
                prop_assert!(out.burn as f64 + 1.0 >= exact(s.burn_bps));
                prop_assert!((out.burn as f64) < exact(s.burn_bps) + n as f64 + 1.0);
                prop_assert!(out.community as f64 + 1.0 >= exact(s.community_bps));
                prop_assert!((out.community as f64) <= exact(s.community_bps) + 2.0);
            }
        }
    }
}
