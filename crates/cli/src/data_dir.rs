//! The data directory and the secrets kept in it on a zero-configuration start: the
//! master key and the API token, each in a file only its owner can read.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use careloop_store::MasterKey;
use secrecy::{ExposeSecret, SecretString};

use crate::config::{Config, DATA_DIR, MASTER_KEY};

const MASTER_KEY_FILE: &str = "master.key";
const API_TOKEN_FILE: &str = "api-token";
/// Owner-only: the files hold the keys to every patient's data.
const SECRET_MODE: u32 = 0o600;
const DIR_MODE: u32 = 0o700;

/// Where the API token comes from, to tell the operator.
pub enum TokenSource {
    Environment,
    File(PathBuf),
}

pub fn ensure(config: &Config) -> anyhow::Result<()> {
    if !config.data_dir.exists() {
        fs::create_dir_all(&config.data_dir).with_context(|| {
            format!(
                "{}: cannot create {}",
                DATA_DIR.env,
                config.data_dir.display()
            )
        })?;
        fs::set_permissions(&config.data_dir, fs::Permissions::from_mode(DIR_MODE)).with_context(
            || {
                format!(
                    "{}: cannot restrict {}",
                    DATA_DIR.env,
                    config.data_dir.display()
                )
            },
        )?;
    }
    Ok(())
}

pub fn master_key(config: &Config) -> anyhow::Result<MasterKey> {
    if let Some(key) = &config.master_key {
        return Ok(key.clone());
    }
    let path = config.data_dir.join(MASTER_KEY_FILE);
    let text = read_or_create(&path, || Ok(MasterKey::generate()?.to_base64()))?;
    MasterKey::from_base64(&text).map_err(|e| {
        anyhow::anyhow!(
            "{}: {} is not a valid key ({e}); set {} or restore the file",
            MASTER_KEY.env,
            path.display(),
            MASTER_KEY.env
        )
    })
}

pub fn api_token(config: &Config) -> anyhow::Result<(SecretString, TokenSource)> {
    if let Some(token) = &config.api_token {
        return Ok((token.clone(), TokenSource::Environment));
    }
    let path = config.data_dir.join(API_TOKEN_FILE);
    let token = read_or_create(&path, || {
        let mut bytes = [0u8; 32];
        getrandom::getrandom(&mut bytes)?;
        Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
    })?;
    Ok((SecretString::from(token), TokenSource::File(path)))
}

/// Reads a secret file, or creates it (owner-only) with `make` if it does not exist.
fn read_or_create(
    path: &Path,
    make: impl FnOnce() -> anyhow::Result<String>,
) -> anyhow::Result<String> {
    match fs::read_to_string(path) {
        Ok(text) => {
            warn_if_readable_by_others(path);
            return Ok(text.trim().to_owned());
        }
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            return Err(error).with_context(|| format!("cannot read {}", path.display()));
        }
        Err(_) => {}
    }
    let secret = SecretString::from(make()?);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(SECRET_MODE)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    writeln!(file, "{}", secret.expose_secret())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(secret.expose_secret().to_owned())
}

fn warn_if_readable_by_others(path: &Path) {
    if let Ok(meta) = fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(file = %path.display(), "secret file is readable by other users; chmod 600 it");
    }
}
