//! Boolean-code task generator: sampler exactness, read-once formulas, encodings, seeds, errors.

use fpe_datasets::{
    BooleanCodeConfig, ClauseStructure, Dataset, Encoding, Error, OutputKind, Sampling, Split,
};
use proptest::prelude::*;

/// Decodes the Boolean variables of sample `i` from the features (both encodings store `x` in the
/// first `n` columns).
fn bits(split: &Split, s: &ClauseStructure, i: usize) -> Vec<bool> {
    (0..s.n_vars).map(|v| split.x[[i, v]] == 1.0).collect()
}

fn or_labels(split: &Split) -> Vec<bool> {
    split
        .y
        .binary()
        .expect("binary targets")
        .column(0)
        .iter()
        .map(|&v| v == 1.0)
        .collect()
}

fn small(cfg: BooleanCodeConfig) -> BooleanCodeConfig {
    BooleanCodeConfig {
        train_size: 2000,
        test_size: 1001,
        ..cfg
    }
}

#[test]
fn balanced_sampler_is_exactly_half_positive_and_negatives_falsify_every_clause() {
    let data = small(BooleanCodeConfig::default()).generate(0).unwrap();
    let s = data.clauses.as_ref().unwrap();
    for (split, n) in [(&data.train, 2000usize), (&data.test, 1001)] {
        let labels = or_labels(split);
        assert_eq!(labels.len(), n);
        // Exactly ⌊N/2⌋ positives, by construction.
        assert_eq!(labels.iter().filter(|&&l| l).count(), n / 2);
        for (i, &label) in labels.iter().enumerate() {
            let sat = s.satisfied(&bits(split, s, i));
            if label {
                assert!(sat.iter().any(|&b| b), "positive {i} satisfies no clause");
            } else {
                assert!(
                    sat.iter().all(|&b| !b),
                    "negative {i} satisfies a clause: {sat:?}"
                );
            }
        }
    }
}

#[test]
fn uniform_positive_rate_matches_theory_within_two_percent() {
    for (m, k) in [(8usize, 3usize), (4, 2), (16, 4)] {
        let cfg = BooleanCodeConfig {
            n_vars: 64,
            clauses: m,
            literals: k,
            sampling: Sampling::Uniform,
            train_size: 20_000,
            test_size: 10,
            ..Default::default()
        };
        let data = cfg.generate(1).unwrap();
        let rate = or_labels(&data.train).iter().filter(|&&l| l).count() as f64 / 20_000.0;
        let theory = 1.0 - (1.0 - 0.5f64.powi(k as i32)).powi(m as i32);
        assert!(
            (rate - theory).abs() < 0.02,
            "m={m} k={k}: measured {rate}, theory {theory}"
        );
        let recorded: f64 = data.provenance["train_positive_rate"].parse().unwrap();
        assert!((recorded - rate).abs() < 1e-6);
    }
}

#[test]
fn clauses_are_read_once_with_k_literals() {
    for seed in 0..20 {
        let cfg = BooleanCodeConfig {
            n_vars: 24,
            clauses: 8,
            literals: 3,
            ..small(Default::default())
        };
        let data = cfg.generate(seed).unwrap();
        let s = data.clauses.unwrap();
        assert_eq!(s.len(), 8);
        let mut vars: Vec<usize> = s
            .clauses
            .iter()
            .flat_map(|c| c.literals.iter().map(|l| l.var))
            .collect();
        assert!(s.clauses.iter().all(|c| c.literals.len() == 3));
        assert_eq!(vars.len(), 24);
        vars.sort_unstable();
        vars.dedup();
        assert_eq!(vars.len(), 24, "a variable appears in two clauses");
    }
}

#[test]
fn polarity_is_random() {
    let data = BooleanCodeConfig {
        clauses: 20,
        ..small(Default::default())
    }
    .generate(5)
    .unwrap();
    let negated = data
        .clauses
        .unwrap()
        .clauses
        .iter()
        .flat_map(|c| c.literals.clone())
        .filter(|l| l.negated)
        .count();
    // 60 literals, each negated with probability ½: 18..=42 holds with probability > 0.999.
    assert!(
        (18..=42).contains(&negated),
        "{negated} of 60 literals negated"
    );
}

/// In both encodings, a literal's input column (read with its sign) is true exactly when the
/// literal holds.
fn check_structure_matches_encoding(data: &Dataset) {
    let s = data.clauses.as_ref().unwrap();
    assert_eq!(data.d_in(), s.d_in());
    for c in &s.clauses {
        for l in &c.literals {
            match (s.encoding, l.negated) {
                (Encoding::Raw, neg) => {
                    assert_eq!(l.input, l.var);
                    assert_eq!(l.sign, if neg { -1 } else { 1 });
                }
                (Encoding::Literal, false) => assert_eq!((l.input, l.sign), (l.var, 1)),
                (Encoding::Literal, true) => assert_eq!((l.input, l.sign), (s.n_vars + l.var, 1)),
            }
            for i in 0..data.train.len() {
                let col = data.train.x[[i, l.input]];
                let reads_true = if l.sign > 0 { col == 1.0 } else { col == 0.0 };
                assert_eq!(reads_true, l.holds(&bits(&data.train, s, i)));
            }
        }
    }
}

#[test]
fn clause_structure_matches_raw_and_literal_encodings() {
    for encoding in [Encoding::Raw, Encoding::Literal] {
        let data = BooleanCodeConfig {
            encoding,
            ..small(Default::default())
        }
        .generate(2)
        .unwrap();
        check_structure_matches_encoding(&data);
        if encoding == Encoding::Literal {
            assert_eq!(data.d_in(), 128);
            // Second half is the complement of the first.
            for i in 0..50 {
                for v in 0..64 {
                    assert_eq!(data.train.x[[i, v]] + data.train.x[[i, 64 + v]], 1.0);
                }
            }
        }
    }
}

#[test]
fn per_clause_outputs_are_clause_truth_values() {
    let cfg = BooleanCodeConfig {
        output: OutputKind::PerClause,
        ..small(Default::default())
    };
    let data = cfg.generate(3).unwrap();
    let s = data.clauses.as_ref().unwrap();
    let y = data.train.y.binary().unwrap();
    assert_eq!(y.ncols(), 8);
    assert_eq!(data.n_outputs(), 8);
    assert_eq!(data.class_names.len(), 8);
    for i in 0..data.train.len() {
        let sat = s.satisfied(&bits(&data.train, s, i));
        for (c, &b) in sat.iter().enumerate() {
            assert_eq!(y[[i, c]] == 1.0, b);
        }
    }
}

#[test]
fn same_seed_same_dataset_different_seed_different_formula() {
    let cfg = small(BooleanCodeConfig::default());
    let a = cfg.generate(11).unwrap();
    let b = cfg.generate(11).unwrap();
    let c = cfg.generate(12).unwrap();
    assert_eq!(a, b);
    assert_ne!(a.clauses, c.clauses);
    assert_ne!(a.train.x, c.train.x);
}

#[test]
fn train_and_test_streams_are_independent_of_each_other_size() {
    // Changing the test size must not change the formula or the training data.
    let a = small(BooleanCodeConfig::default()).generate(9).unwrap();
    let b = BooleanCodeConfig {
        test_size: 17,
        ..small(Default::default())
    }
    .generate(9)
    .unwrap();
    assert_eq!(a.clauses, b.clauses);
    assert_eq!(a.train, b.train);
}

fn config_error(cfg: BooleanCodeConfig) -> (String, String) {
    match cfg.generate(0) {
        Err(e @ Error::Config { field, .. }) => (field.to_string(), e.to_string()),
        other => panic!("expected a config error, got {other:?}"),
    }
}

#[test]
fn impossible_configs_are_errors_naming_field_and_value() {
    let (field, msg) = config_error(BooleanCodeConfig {
        n_vars: 20,
        clauses: 8,
        literals: 3,
        ..Default::default()
    });
    assert_eq!(field, "n_vars");
    assert!(
        msg.contains("= 8") && msg.contains("= 3") && msg.contains("24") && msg.contains("20"),
        "{msg}"
    );
    assert_eq!(
        config_error(BooleanCodeConfig {
            literals: 0,
            ..Default::default()
        })
        .0,
        "literals"
    );
    assert_eq!(
        config_error(BooleanCodeConfig {
            clauses: 0,
            ..Default::default()
        })
        .0,
        "clauses"
    );
    assert_eq!(
        config_error(BooleanCodeConfig {
            train_size: 0,
            ..Default::default()
        })
        .0,
        "train_size"
    );
    assert_eq!(
        config_error(BooleanCodeConfig {
            test_size: 0,
            ..Default::default()
        })
        .0,
        "test_size"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn labels_are_the_formula_for_any_config(
        seed in any::<u64>(),
        m in 1usize..6,
        k in 1usize..5,
        extra in 0usize..8,
        literal in any::<bool>(),
        uniform in any::<bool>(),
    ) {
        let cfg = BooleanCodeConfig {
            n_vars: m * k + extra,
            clauses: m,
            literals: k,
            train_size: 64,
            test_size: 33,
            encoding: if literal { Encoding::Literal } else { Encoding::Raw },
            sampling: if uniform { Sampling::Uniform } else { Sampling::Balanced },
            output: OutputKind::Or,
        };
        let data = cfg.generate(seed).unwrap();
        let s = data.clauses.as_ref().unwrap();
        for split in [&data.train, &data.test] {
            let labels = or_labels(split);
            for (i, &label) in labels.iter().enumerate() {
                prop_assert_eq!(label, s.satisfied(&bits(split, s, i)).iter().any(|&b| b));
            }
            if !uniform {
                prop_assert_eq!(labels.iter().filter(|&&l| l).count(), split.len() / 2);
            }
        }
    }
}
