//! Row and column transforms of feature matrices.

use ndarray::{Array1, Array2, Axis};

/// Scales every row of `x` (`[N, d]`) to unit L2 norm; all-zero rows stay zero.
pub fn l2_normalize_rows(x: &mut Array2<f32>) {
    for mut row in x.rows_mut() {
        let norm = row
            .iter()
            .map(|&v| f64::from(v) * f64::from(v))
            .sum::<f64>()
            .sqrt();
        if norm > 0.0 {
            let inv = (1.0 / norm) as f32;
            row.mapv_inplace(|v| v * inv);
        }
    }
}

/// Per-column mean and standard deviation (population, in f64) of `x` (`[N, d]`).
///
/// Columns with zero variance get a standard deviation of 1, so standardising leaves them
/// centred instead of producing NaN.
pub fn column_stats(x: &Array2<f32>) -> (Array1<f32>, Array1<f32>) {
    let n = x.nrows().max(1) as f64;
    let mut mean = Array1::<f64>::zeros(x.ncols());
    for row in x.rows() {
        mean.zip_mut_with(&row, |m, &v| *m += f64::from(v));
    }
    mean /= n;
    let mut var = Array1::<f64>::zeros(x.ncols());
    for row in x.rows() {
        ndarray::Zip::from(&mut var)
            .and(&row)
            .and(&mean)
            .for_each(|s, &v, &m| {
                let d = f64::from(v) - m;
                *s += d * d;
            });
    }
    var /= n;
    let std = var.mapv(|v| if v > 0.0 { v.sqrt() as f32 } else { 1.0 });
    (mean.mapv(|m| m as f32), std)
}

/// Standardises `train` and `test` (`[N, d]`) with the train split's column statistics.
pub fn standardize(train: &mut Array2<f32>, test: &mut Array2<f32>) {
    let (mean, std) = column_stats(train);
    for x in [train, test] {
        for mut row in x.axis_iter_mut(Axis(0)) {
            ndarray::Zip::from(&mut row)
                .and(&mean)
                .and(&std)
                .for_each(|v, &m, &s| *v = (*v - m) / s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn l2_rows_have_unit_norm_and_zero_rows_stay_zero() {
        let mut x = array![[3.0f32, 4.0], [0.0, 0.0]];
        l2_normalize_rows(&mut x);
        assert_eq!(x, array![[0.6f32, 0.8], [0.0, 0.0]]);
    }

    #[test]
    fn standardize_uses_train_statistics_only() {
        // Train column 0: mean 2, population std 1; column 1 is constant (std treated as 1).
        let mut train = array![[1.0f32, 5.0], [3.0, 5.0]];
        let mut test = array![[4.0f32, 7.0]];
        standardize(&mut train, &mut test);
        assert_eq!(train, array![[-1.0f32, 0.0], [1.0, 0.0]]);
        assert_eq!(test, array![[2.0f32, 2.0]]);
    }
}
