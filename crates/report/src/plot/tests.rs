//! Chart drawing on small synthetic series.

use super::*;

#[test]
fn ticks_and_ranges() {
    assert_eq!(tick(0.25, false), "0.25");
    assert_eq!(tick(2.0, false), "2");
    assert_eq!(tick(-3.0, true), "1e-3");
    assert_eq!(tick(2f64.log10(), true), "2");
    assert_eq!(tick(64f64.log10(), true), "64");
    assert_eq!(padded(&[1.0, 1.0], 0.1), (0.9, 1.1));
    assert_eq!(padded(&[], 0.1), (0.0, 1.0));
}

#[test]
fn empty_chart_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let c = Chart {
        title: "t".into(),
        log_y: true,
        series: vec![Series::line("a", palette(0), vec![(1.0, 0.0, None)])],
        ..Default::default()
    };
    assert_eq!(c.save(dir.path(), "x").unwrap(), None);
    assert!(!dir.path().join("x.svg").exists());
}
