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

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut file, text.as_bytes()).unwrap();
        file
    }

    #[test]
    fn reads_the_same_keys_as_the_environment() {
        let f = file("listen = \"0.0.0.0:9000\"\ndefault_region = \"AU\"\n");
        let settings = read(f.path()).unwrap();
        assert_eq!(settings["listen"], "0.0.0.0:9000");
        assert_eq!(settings["default_region"], "AU");
    }

    #[test]
    fn the_email_settings_have_keys_too() {
        let f =
            file("smtp_url = \"smtp://127.0.0.1:2525\"\nemail_from = \"noreply@clinic.example\"\n");
        let settings = read(f.path()).unwrap();
        assert_eq!(settings["smtp_url"], "smtp://127.0.0.1:2525");
        assert_eq!(settings["email_from"], "noreply@clinic.example");
    }

    #[test]
    fn the_outbox_timings_have_keys_too() {
        let f = file("outbox_lease = \"90s\"\nunknown_grace = \"10m\"\n");
        let settings = read(f.path()).unwrap();
        assert_eq!(settings["outbox_lease"], "90s");
        assert_eq!(settings["unknown_grace"], "10m");
    }

    #[test]
    fn unknown_keys_and_non_strings_are_refused() {
        let error = read(file("lisen = \"x\"").path()).unwrap_err().to_string();
        assert!(error.contains("unknown key 'lisen'"), "{error}");
        let error = read(file("listen = 8080").path()).unwrap_err().to_string();
        assert!(
            error.starts_with("listen in ") && error.contains("expected a string"),
            "{error}"
        );
        let error = read(file("listen = ").path()).unwrap_err().to_string();
        assert!(error.contains("not valid TOML"), "{error}");
        let error = read(Path::new("/nonexistent/careloop.toml"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("cannot read the file"), "{error}");
    }
}
