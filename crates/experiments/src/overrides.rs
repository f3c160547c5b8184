//! Overrides of config fields before validation: a dotted path (`train.warmup_epochs`) set in a
//! TOML table, as `--quick` tables and command-line flags apply them.

use crate::error::{Error, Result};

/// Sets `value` at the dotted `path` of `table` (`"train.warmup_epochs"`), creating tables.
///
/// # Errors
/// If an intermediate key holds a non-table value.
pub fn set_path(table: &mut toml::Table, path: &str, value: toml::Value) -> Result<()> {
    let mut parts: Vec<&str> = path.split('.').collect();
    let last = parts
        .pop()
        .ok_or_else(|| Error::Invalid("empty override path".into()))?;
    let mut cur = table;
    for p in parts {
        cur = cur
            .entry(p.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .ok_or_else(|| Error::Invalid(format!("`{path}`: `{p}` is not a table")))?;
    }
    cur.insert(last.to_string(), value);
    Ok(())
}

/// Applies `overrides` (dotted path → value) to `table`.
///
/// # Errors
/// As [`set_path`].
///
/// A `grid` entry holding a table is merged into the grid key by key (so `[quick.grid]` can
/// shorten one axis and keep the others).
pub fn apply_overrides(table: &mut toml::Table, overrides: &toml::Table) -> Result<()> {
    for (k, v) in overrides {
        match (k.as_str(), v) {
            ("grid", toml::Value::Table(axes)) => {
                for (axis, values) in axes {
                    let grid = table
                        .entry("grid")
                        .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                        .as_table_mut()
                        .ok_or_else(|| Error::Invalid("`grid` is not a table".into()))?;
                    grid.insert(axis.clone(), values.clone());
                }
            }
            _ => set_path(table, k, v.clone())?,
        }
    }
    Ok(())
}
