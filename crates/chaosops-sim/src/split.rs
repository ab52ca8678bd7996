//! Held-out splits (docs/behaviour.md §16): a deterministic partition of scenarios into a
//! training side and a test side, by whole incident families and by seed.
//!
//! A family is held out when the FNV-1a hash of its name is 0 modulo
//! [`FAMILY_MODULUS`]; a seed is held out when it is [`SEED_RESIDUE`] modulo
//! [`SEED_MODULUS`]. A scenario is on the test side when its family or its seed is held
//! out. Lists (evaluations, the curriculum) and seeded environments map their k-th draw
//! to the k-th scenario of the side asked for, in constant time.

use chaosops_model::Split;

use crate::failure::FailureInjector;
use crate::variation::fnv1a;

/// A family is held out when its hash is 0 modulo this.
pub const FAMILY_MODULUS: u64 = 5;
/// Seeds are split modulo this.
pub const SEED_MODULUS: u64 = 5;
/// The held-out residue of seeds.
pub const SEED_RESIDUE: u64 = 4;
/// Largest seed offset a split list takes: below it, a list's seeds never wrap around
/// 2^64, so [`nth`] finds the k-th seed of a side by arithmetic.
pub const MAX_SPLIT_SEED_OFFSET: u64 = 1 << 62;

/// True when the family `name` belongs wholly to the test side.
pub fn held_out_family(name: &str) -> bool {
    fnv1a(name).is_multiple_of(FAMILY_MODULUS)
}

/// True when `failure`'s family is held out; for a compound incident, when any part's is
/// (so a held-out family never reaches the training side through a compound).
pub fn held_out(failure: &dyn FailureInjector) -> bool {
    match failure.parts() {
        [] => held_out_family(failure.family()),
        parts => parts.iter().any(|p| held_out_family(p.family())),
    }
}

/// The side of the scenario of `failure` with `seed`.
pub fn side(failure: &dyn FailureInjector, seed: u64) -> Split {
    if held_out(failure) || seed % SEED_MODULUS == SEED_RESIDUE {
        Split::Test
    } else {
        Split::Train
    }
}

/// True when `failure` has scenarios on `split`'s side (every type has test scenarios; a
/// held-out family has no training ones).
pub fn has_side(failure: &dyn FailureInjector, split: Split) -> bool {
    split != Split::Train || !held_out(failure)
}

/// The `k`-th value `r` (from 0) of `0, 1, 2, ...` such that `base + step * r` is a seed on
/// `split`'s side for `failure`; `step` must not be a multiple of [`SEED_MODULUS`]. For
/// [`Split::All`], `k` itself.
pub fn nth(failure: &dyn FailureInjector, split: Split, base: u64, step: u64, k: u64) -> u64 {
    if split == Split::All {
        return k;
    }
    let held_family = held_out(failure);
    // The residue c of r for which base + step * r is a held-out seed.
    let m = SEED_MODULUS;
    let inverse = (1..m)
        .find(|x| (step % m) * x % m == 1)
        .expect("the step is invertible modulo SEED_MODULUS");
    let c = ((SEED_RESIDUE + m - base % m) % m) * inverse % m;
    match split {
        Split::All => k,
        Split::Test if held_family => k,
        // Wrapping: for k beyond 2^62 (seeds past the documented range) no panic.
        Split::Test => m.wrapping_mul(k).wrapping_add(c),
        // The k-th r whose residue is not c: four of every five.
        Split::Train => {
            let within = k % (m - 1);
            m.wrapping_mul(k / (m - 1))
                .wrapping_add(if within < c { within } else { within + 1 })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::TestFailure;

    #[test]
    fn the_sides_partition_every_list_in_order() {
        // "test_outage" is its own family, not held out; "x" is held out.
        assert!(!held_out_family("test_outage") && held_out_family("autoscaling"));
        let f = TestFailure::new("test_outage");
        for base in [0u64, 1, 7, 1000, 123_457] {
            for step in [1u64, 31, 97, 128] {
                let f = &f;
                let seeds = |split| {
                    (0..40)
                        .map(|k| base + step * nth(f, split, base, step, k))
                        .collect::<Vec<u64>>()
                };
                let train = seeds(Split::Train);
                let test = seeds(Split::Test);
                assert!(train.iter().all(|s| side(f, *s) == Split::Train));
                assert!(test.iter().all(|s| side(f, *s) == Split::Test));
                // Together, in order, they are the first seeds of the whole list.
                let mut both: Vec<u64> = train.iter().chain(&test).copied().collect();
                both.sort();
                let all: Vec<u64> = (0..both.len() as u64).map(|r| base + step * r).collect();
                assert_eq!(both[..40], all[..40], "base {base} step {step}");
                assert!(train.windows(2).all(|w| w[0] < w[1]));
            }
        }
        // A held-out family: everything is test, nothing is train.
        let held = TestFailure::new("autoscaling");
        assert_eq!(side(&held, 0), Split::Test);
        assert!(!has_side(&held, Split::Train) && has_side(&held, Split::Test));
        assert_eq!(nth(&held, Split::Test, 3, 31, 7), 7);
    }
}
