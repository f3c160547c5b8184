//! What an experiment name may be: one plain path component (it becomes a directory under
//! `--out`) that no spreadsheet reads as a formula and no terminal as a control sequence (it is a
//! cell of every `results.csv` row).

use std::path::Path;

use crate::error::{Result, invalid};

/// Characters a name may not start with: a spreadsheet reads a CSV cell that starts with one of
/// them as a formula, and a leading `-` reads as a command-line flag.
pub const FORMULA_STARTS: [char; 4] = ['=', '+', '-', '@'];

/// The experiment name becomes a directory under `--out` and a cell of every CSV row: it must be
/// one plain path component that no spreadsheet or terminal reads as anything but text.
///
/// # Errors
/// An empty name, `.` or `..`, a path separator, a control character (NUL, newline, escape…),
/// or a first character in [`FORMULA_STARTS`], naming the field, the value and the rule broken.
pub fn validate_name(name: &str) -> Result<()> {
    let why = if name.is_empty() {
        Some("it is empty".to_string())
    } else if name == "." || name == ".." {
        Some(format!("`{name}` names a directory that already exists"))
    } else if name.contains(['/', '\\']) || Path::new(name).is_absolute() {
        Some("it contains a path separator (`/` or `\\`)".to_string())
    } else if let Some(c) = name.chars().find(|c| c.is_control()) {
        Some(format!("it contains the control character {c:?}"))
    } else if name.starts_with(FORMULA_STARTS) {
        Some(format!(
            "it starts with `{}`, which a spreadsheet reads as a formula in results.csv",
            name.chars().next().unwrap_or_default()
        ))
    } else {
        None
    };
    if let Some(why) = why {
        invalid!(
            "`name` = {name:?}: {why}. The name becomes a directory under --out and a column of \
             results.csv, so it must be one plain name such as \"e1_headline\": not empty, not \
             `.` or `..`, no `/` or `\\`, no control characters, not starting with `=`, `+`, `-` \
             or `@`"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_rule_is_named() {
        assert!(validate_name("e1_headline").is_ok());
        assert!(validate_name("E8 (α=4)").is_ok());
        for (name, why) in [
            ("", "it is empty"),
            ("..", "names a directory"),
            ("a/b", "path separator"),
            ("a\u{7}", "control character"),
            ("=1+1", "starts with `=`"),
            ("-rf", "starts with `-`"),
        ] {
            let e = validate_name(name).unwrap_err().to_string();
            assert!(e.contains(why), "{name:?}: {e}");
        }
    }
}
