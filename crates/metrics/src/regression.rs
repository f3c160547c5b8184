//! Ordinary least squares of `y` on `x`, for the fold-change regression of SPEC §7 (paper
//! Fig. 3c): across settings, `metric(FPE) / metric(dense)` against relative accuracy gain.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Least-squares line `y ≈ slope · x + intercept`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Regression {
    /// Fitted slope.
    pub slope: f64,
    /// Fitted intercept.
    pub intercept: f64,
    /// Coefficient of determination `1 − SS_res / SS_tot`; 1 when all `y` are equal (the
    /// horizontal line fits exactly).
    pub r2: f64,
    /// Number of points.
    pub n: usize,
}

/// Fits `y ≈ slope · x + intercept` by least squares (two-pass, centred sums in f64).
///
/// # Shapes
/// - `x`, `y`: `[n]`
///
/// # Errors
/// [`Error::Shape`] if the lengths differ; [`Error::NonFinite`] for a NaN or infinite value;
/// [`Error::TooFewPoints`] if `n < 2`; [`Error::ZeroVariance`] if all `x` are equal.
pub fn linear_regression(x: &[f64], y: &[f64]) -> Result<Regression> {
    let op = "linear_regression";
    if x.len() != y.len() {
        return Err(Error::Shape {
            op,
            what: "y",
            expected: vec![x.len()],
            got: vec![y.len()],
        });
    }
    for (what, v) in [("x", x), ("y", y)] {
        if let Some((index, &value)) = v.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(Error::NonFinite {
                op,
                what,
                index,
                value,
            });
        }
    }
    let n = x.len();
    if n < 2 {
        return Err(Error::TooFewPoints { op, n });
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / n as f64;
    let (mx, my) = (mean(x), mean(y));
    let (mut sxx, mut sxy, mut syy) = (0.0f64, 0.0f64, 0.0f64);
    for (&xi, &yi) in x.iter().zip(y) {
        let (dx, dy) = (xi - mx, yi - my);
        sxx += dx * dx;
        sxy += dx * dy;
        syy += dy * dy;
    }
    if sxx == 0.0 {
        return Err(Error::ZeroVariance { op, n, x: x[0] });
    }
    let slope = sxy / sxx;
    let intercept = my - slope * mx;
    let ss_res: f64 = x
        .iter()
        .zip(y)
        .map(|(&xi, &yi)| (yi - slope * xi - intercept).powi(2))
        .sum();
    let r2 = if syy == 0.0 {
        1.0
    } else {
        (1.0 - ss_res / syy).clamp(0.0, 1.0)
    };
    Ok(Regression {
        slope,
        intercept,
        r2,
        n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;

    #[test]
    fn perfect_line() {
        // y = 2x + 1 exactly: slope 2, intercept 1, no residual → R² = 1.
        let r = linear_regression(&[0.0, 1.0, 2.0, 3.0], &[1.0, 3.0, 5.0, 7.0]).unwrap();
        assert_abs_diff_eq!(r.slope, 2.0, epsilon = 1e-12);
        assert_abs_diff_eq!(r.intercept, 1.0, epsilon = 1e-12);
        assert_abs_diff_eq!(r.r2, 1.0, epsilon = 1e-12);
        assert_eq!(r.n, 4);
    }

    #[test]
    fn noisy_fit_by_hand() {
        // x = (0, 1, 2), y = (0, 2, 1): means 1, 1; Sxy = (-1)(-1) + 0 + (1)(0) = 1, Sxx = 2,
        // slope 1/2, intercept 1 − 1/2 = 1/2; fitted (0.5, 1, 1.5), residuals (-0.5, 1, -0.5),
        // SS_res = 1.5, SS_tot = 2 → R² = 1/4.
        let r = linear_regression(&[0.0, 1.0, 2.0], &[0.0, 2.0, 1.0]).unwrap();
        assert_abs_diff_eq!(r.slope, 0.5, epsilon = 1e-12);
        assert_abs_diff_eq!(r.intercept, 0.5, epsilon = 1e-12);
        assert_abs_diff_eq!(r.r2, 0.25, epsilon = 1e-12);
        // Constant y: slope 0 and a perfect fit.
        let c = linear_regression(&[1.0, 2.0], &[3.0, 3.0]).unwrap();
        assert_eq!((c.slope, c.intercept, c.r2), (0.0, 3.0, 1.0));
    }

    #[test]
    fn errors() {
        assert_eq!(
            linear_regression(&[1.0], &[2.0]).unwrap_err(),
            Error::TooFewPoints {
                op: "linear_regression",
                n: 1
            }
        );
        assert!(matches!(
            linear_regression(&[2.0, 2.0, 2.0], &[1.0, 2.0, 3.0]),
            Err(Error::ZeroVariance { n: 3, .. })
        ));
        assert!(matches!(
            linear_regression(&[1.0, 2.0], &[1.0]),
            Err(Error::Shape { .. })
        ));
        assert!(matches!(
            linear_regression(&[1.0, f64::NAN], &[1.0, 2.0]),
            Err(Error::NonFinite {
                what: "x",
                index: 1,
                ..
            })
        ));
    }
}
