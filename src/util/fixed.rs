//! Fixed-point numbers and exact integer widths (SPEC section 2): the one
//! place that rounds a real to fixed point, checks a coefficient's range,
//! and knows the range of a `bits`-bit integer.

use std::ops::RangeInclusive;

/// The integers of a `bits`-bit two's-complement number (1..=64 bits).
pub fn signed_range(bits: u32) -> RangeInclusive<i64> {
    assert!((1..=64).contains(&bits), "signed_range of {bits} bits");
    let half = 1i128 << (bits - 1);
    (-half) as i64..=(half - 1) as i64
}

/// Smallest two's-complement (if `lo < 0`) or unsigned width holding every
/// integer in `lo..=hi`; at least 1.
pub fn width_for(lo: i128, hi: i128) -> u32 {
    assert!(lo <= hi);
    if lo >= 0 {
        (128 - (hi as u128).leading_zeros()).max(1)
    } else {
        // Needs 2^(w-1) > hi and -2^(w-1) <= lo.
        let mag = (hi.max(-lo - 1)) as u128;
        129 - mag.leading_zeros()
    }
}

/// Real to fixed point with `frac_bits` fractional bits: `value * 2^frac_bits`
/// rounded to nearest, ties away from zero (SPEC section 2).
pub fn to_fixed(value: f64, frac_bits: u32) -> f64 {
    (value * f64::from(frac_bits).exp2()).round()
}

/// Real to fixed point rounded up: `ceil(value * 2^frac_bits)`, for
/// endpoints and thresholds, so that `a >= v` holds for exactly the same
/// fixed-point `a` before and after rounding (SPEC section 2).
pub fn to_fixed_ceil(value: f64, frac_bits: u32) -> f64 {
    (value * f64::from(frac_bits).exp2()).ceil()
}

/// A real scale as a `coef_bits`-bit signed fixed-point integer with
/// `frac_bits` fractional bits; the error says which real interval fits.
/// `what` names the value in the error (a flag or a file field, with the
/// value as given), `format` names the two settings (e.g. `--coef-bits 16
/// and --frac-bits 8`).
pub fn coefficient(what: &str, value: f64, frac_bits: u32, coef_bits: u32, format: &str) -> Result<i64, String> {
    let fixed = to_fixed(value, frac_bits);
    let range = signed_range(coef_bits);
    let (lo, hi) = (*range.start() as f64, *range.end() as f64);
    if (lo..=hi).contains(&fixed) {
        return Ok(fixed as i64);
    }
    let scale = f64::from(frac_bits).exp2();
    Err(format!(
        "{what} does not fit the fixed-point format: with {format} it must round into [{}, {}]",
        lo / scale,
        hi / scale
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_are_the_smallest_that_hold_the_range() {
        // Brute force against the definition for small ranges.
        for lo in -40i128..=40 {
            for hi in lo..=40 {
                let w = width_for(lo, hi);
                let fits = |w: u32| {
                    if lo < 0 { lo >= -(1i128 << (w - 1)) && hi < (1i128 << (w - 1)) } else { hi < (1i128 << w) }
                };
                assert!(fits(w), "{lo}..={hi} does not fit {w}");
                assert!(w == 1 || !fits(w - 1), "{lo}..={hi} fits {} already", w - 1);
            }
        }
    }

    #[test]
    fn fixed_point_rounds_ties_away_from_zero() {
        assert_eq!(to_fixed(0.5 / 256.0, 8), 1.0);
        assert_eq!(to_fixed(-0.5 / 256.0, 8), -1.0);
        assert_eq!(to_fixed(1.5 / 256.0, 8), 2.0);
        assert_eq!(to_fixed(0.7, 8), 179.0); // 179.2
        assert_eq!(to_fixed(-0.7, 0), -1.0);
        assert_eq!(to_fixed_ceil(0.7, 8), 180.0);
        assert_eq!(to_fixed_ceil(-0.7, 0), 0.0);
    }

    #[test]
    fn signed_ranges_and_coefficients() {
        assert_eq!(signed_range(1), -1..=0);
        assert_eq!(signed_range(8), -128..=127);
        assert_eq!(signed_range(64), i64::MIN..=i64::MAX);
        assert_eq!(coefficient("x = 0.5", 0.5, 8, 16, "f"), Ok(128));
        let e = coefficient("--lambda 200", 200.0, 8, 16, "--coef-bits 16 and --frac-bits 8").unwrap_err();
        assert_eq!(
            e,
            "--lambda 200 does not fit the fixed-point format: with --coef-bits 16 and --frac-bits 8 it must \
             round into [-128, 127.99609375]"
        );
    }
}
