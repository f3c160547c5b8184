//! [`EpochLoss::Last`] only skips reporting: weights are bit-identical to [`EpochLoss::Every`],
//! the last epoch's loss is the same number, earlier epochs report NaN, and a non-finite logit
//! still stops training.

mod common;

use common::*;
use fpe_model::{
    EpochLoss, EpochReport, Error, KernelPolicy, Mlp, NoHooks, OptimizerConfig, TargetsRef, Trainer,
};

fn train(
    mode: EpochLoss,
    policy: KernelPolicy,
    binary: bool,
    poison: bool,
) -> Result<(Mlp, Vec<EpochReport>), Error> {
    let mut r = rng(3);
    let mlp = random_masked(&[32, 24, 5], 0.5, &mut r);
    let mut x = random_x(300, 32, &mut r);
    if poison {
        x[[17, 3]] = f32::INFINITY;
    }
    let bits = random_bits(300, 5, &mut r);
    let classes = random_classes(300, 5, &mut r);
    let y = if binary {
        TargetsRef::Binary(bits.view())
    } else {
        TargetsRef::Classes(classes.view())
    };
    let mut t = Trainer::new(mlp, OptimizerConfig::default(), policy)?;
    t.set_epoch_loss(mode);
    let reports = t.fit(x.view(), y, 3, 64, &mut r, &mut NoHooks)?;
    Ok((t.into_parts().0, reports))
}

#[test]
fn last_only_changes_nothing_but_the_earlier_reports() {
    for policy in [KernelPolicy::Dense, KernelPolicy::Gathered] {
        for binary in [true, false] {
            let (every, every_reports) = train(EpochLoss::Every, policy, binary, false).unwrap();
            let (last, last_reports) = train(EpochLoss::Last, policy, binary, false).unwrap();
            assert_eq!(every, last, "{policy:?}, binary {binary}: weights differ");
            assert!(every_reports.iter().all(|r| r.train_loss.is_finite()));
            assert!(last_reports[..2].iter().all(|r| r.train_loss.is_nan()));
            assert_eq!(
                last_reports[2].train_loss.to_bits(),
                every_reports[2].train_loss.to_bits()
            );
            assert_eq!(last_reports[2].step, every_reports[2].step);
        }
    }
}

#[test]
fn a_non_finite_logit_still_stops_training() {
    for binary in [true, false] {
        match train(EpochLoss::Last, KernelPolicy::Dense, binary, true) {
            Err(Error::NonFinite { what, epoch, .. }) => {
                assert_eq!((what, epoch), ("loss", 0), "binary {binary}");
            }
            other => panic!(
                "binary {binary}: expected NonFinite, got {:?}",
                other.map(|_| ())
            ),
        }
    }
}
