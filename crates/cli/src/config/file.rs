//! The optional TOML file: the same settings as the environment, by key
//! (`listen = "0.0.0.0:8080"`).

use std::collections::HashMap;
use std::path::Path;

use super::{ALL, ConfigError};

pub fn read(path: &Path) -> Result<HashMap<String, String>, ConfigError> {
    let setting = format!("--config {}", path.display());
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::new(&setting, format!("cannot read the file: {e}")))?;
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        ConfigError::new(&setting, format!("not valid TOML: {}", e.message()))
    })?;
    let mut out = HashMap::new();
    for (key, value) in table {
        if !ALL.iter().any(|s| s.key == key) {
            let known: Vec<&str> = ALL.iter().map(|s| s.key).collect();
            return Err(ConfigError::new(
                &setting,
                format!("unknown key '{key}'; the keys are {}", known.join(", ")),
            ));
        }
        let value = match value {
            toml::Value::String(s) => s,
            other => {
                return Err(ConfigError::new(
                    &format!("{key} in {}", path.display()),
                    format!("expected a string, got {}", other.type_str()),
                ));
            }
        };
        out.insert(key, value);
    }
    Ok(out)
}
