//! The special functions the likelihoods need: ln Γ (from `libm`), the
//! digamma function ψ (not in `libm`; the crates that have it bring
//! linear-algebra or proc-macro stacks) and the Gauss hypergeometric series
//! ₂F₁ the BG/NBD expectations use.

/// ln Γ(x) for x > 0.
pub fn ln_gamma(x: f64) -> f64 {
    libm::lgamma(x)
}

/// The digamma function ψ(x) = d/dx ln Γ(x), for x > 0: the recurrence
/// ψ(x) = ψ(x + 1) − 1/x up to x ≥ 10, then the asymptotic series (error
/// below 1e-13 there).
pub fn digamma(mut x: f64) -> f64 {
    let mut shift = 0.0;
    while x < 10.0 {
        shift -= 1.0 / x;
        x += 1.0;
    }
    let inv = 1.0 / x;
    let inv2 = inv * inv;
    // Bernoulli-number coefficients B2k / 2k.
    let series = inv2
        * (1.0 / 12.0
            - inv2
                * (1.0 / 120.0
                    - inv2 * (1.0 / 252.0 - inv2 * (1.0 / 240.0 - inv2 * (1.0 / 132.0)))));
    shift + x.ln() - 0.5 * inv - series
}

/// ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b).
pub fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

/// The Gauss hypergeometric function ₂F₁(a, b; c; z) for 0 ≤ z < 1 by its
/// power series, summed until a term no longer changes the sum. With
/// z = t / (α + T + t) (BG/NBD) the series converges geometrically.
pub fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> f64 {
    let mut term = 1.0;
    let mut sum = 1.0;
    for k in 0..100_000 {
        let k = f64::from(k);
        term *= (a + k) * (b + k) / ((c + k) * (k + 1.0)) * z;
        sum += term;
        if term.abs() <= sum.abs() * 1e-15 {
            break;
        }
    }
    sum
}

/// The upper tail of the chi-square distribution with `df` degrees of
/// freedom at `x` (the p-value of a chi-square statistic): the regularised
/// upper incomplete gamma Q(df/2, x/2), by its series below a + 1 and its
/// continued fraction (Lentz) above.
pub fn chi_square_sf(x: f64, df: f64) -> f64 {
    if x <= 0.0 || df <= 0.0 {
        return 1.0;
    }
    let (a, x) = (df / 2.0, x / 2.0);
    let front = (-x + a * x.ln() - ln_gamma(a)).exp();
    if x < a + 1.0 {
        let (mut ap, mut term) = (a, 1.0 / a);
        let mut sum = term;
        for _ in 0..10_000 {
            ap += 1.0;
            term *= x / ap;
            sum += term;
            if term.abs() < sum.abs() * 1e-16 {
                break;
            }
        }
        (1.0 - sum * front).clamp(0.0, 1.0)
    } else {
        let tiny = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..10_000 {
            let i = f64::from(i);
            let an = -i * (i - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < tiny {
                d = tiny;
            }
            c = b + an / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let step = d * c;
            h *= step;
            if (step - 1.0).abs() < 1e-16 {
                break;
            }
        }
        (h * front).clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digamma_matches_known_values() {
        // ψ(1) = −γ; ψ(1/2) = −γ − 2 ln 2; ψ(10) from tables.
        let euler = 0.577_215_664_901_532_9;
        assert!((digamma(1.0) + euler).abs() < 1e-12);
        assert!((digamma(0.5) + euler + 2.0 * 2f64.ln()).abs() < 1e-12);
        assert!((digamma(10.0) - 2.251_752_589_066_721).abs() < 1e-12);
        // The derivative of ln Γ, numerically.
        for x in [0.03, 0.7, 2.5, 41.0, 1234.5] {
            let h = 1e-5 * x;
            let numeric = (ln_gamma(x + h) - ln_gamma(x - h)) / (2.0 * h);
            assert!(
                (digamma(x) - numeric).abs() < 1e-6 * (1.0 + numeric.abs()),
                "{x}"
            );
        }
    }

    #[test]
    fn hyp2f1_matches_closed_forms() {
        // ₂F₁(1, 1; 2; z) = −ln(1 − z)/z; ₂F₁(a, b; b; z) = (1 − z)^−a.
        for z in [0.0_f64, 0.1, 0.5, 0.9] {
            let expected = if z == 0.0 { 1.0 } else { -(1.0 - z).ln() / z };
            assert!((hyp2f1(1.0, 1.0, 2.0, z) - expected).abs() < 1e-12, "{z}");
            assert!((hyp2f1(0.7, 3.0, 3.0, z) - (1.0 - z).powf(-0.7)).abs() < 1e-12);
        }
    }

    #[test]
    fn chi_square_tails_match_tables() {
        // The 5% critical values; with 2 degrees of freedom the tail is e^(−x/2).
        assert!((chi_square_sf(3.841_458_820_694_124, 1.0) - 0.05).abs() < 1e-12);
        assert!((chi_square_sf(11.070_497_693_516_35, 5.0) - 0.05).abs() < 1e-12);
        for x in [0.5_f64, 2.0, 7.0, 40.0] {
            assert!(
                (chi_square_sf(x, 2.0) - (-x / 2.0).exp()).abs() < 1e-14,
                "{x}"
            );
        }
        assert_eq!(chi_square_sf(0.0, 3.0), 1.0);
        assert!(chi_square_sf(500.0, 1.0) < 1e-100);
    }

    #[test]
    fn ln_beta_is_symmetric_and_right() {
        assert!((ln_beta(2.0, 3.0) - (1.0_f64 / 12.0).ln()).abs() < 1e-12);
        assert!((ln_beta(0.3, 4.1) - ln_beta(4.1, 0.3)).abs() < 1e-12);
    }
}
