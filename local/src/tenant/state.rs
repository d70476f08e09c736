//! The dev tenant's local state folder (default `.state/`, gitignored): signing keys and the
//! client ids and secrets it assigned. Created on first run, so tokens and client ids survive
//! restarts; never committed.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use organizer_shared::signing::SigningKey;
use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StateError {
    #[error("state folder {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("state file {path} is damaged: {problem} (delete it to start afresh)")]
    Damaged { path: String, problem: String },
    #[error(
        "state file {path} exists but cannot be read: {source}; nothing was changed (fix its permissions, or move it away to start afresh)"
    )]
    Unreadable {
        path: String,
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StateError + '_ {
    move |source| StateError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// A state file's text, or `None` when it does not exist yet. Any other failure (permissions,
/// a folder in its place, I/O) stops start-up: generating new keys or secrets over files that
/// exist but cannot be read would silently replace them.
fn read_if_present(path: &Path) -> Result<Option<String>, StateError> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(StateError::Unreadable {
            path: path.display().to_string(),
            source,
        }),
    }
}

/// Writes a file readable by its owner only, from the first byte: a temporary file created
/// with mode 0600, then renamed over the old one (so a reader never sees half a file).
pub fn write_private_file(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = write_private_temp(path, text)?;
    fs::rename(&tmp, path)
}

/// Like [`write_private_file`], but only when `path` does not exist yet; false when another
/// process got there first. Processes starting on an empty state folder at once (`make run`
/// beside `organizer tokens`) thus all keep the first one's key and secrets, and none
/// replaces a file another has already handed out.
pub fn create_private_file(path: &Path, text: &str) -> std::io::Result<bool> {
    let tmp = write_private_temp(path, text)?;
    // A hard link fails if the name exists, and the file appears whole or not at all.
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

fn write_private_temp(path: &Path, text: &str) -> std::io::Result<PathBuf> {
    use std::io::Write;
    let tmp = path.with_extension(format!("tmp-{}", random_hex(4)));
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let result = options
        .open(&tmp)
        .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|_| f.sync_all()));
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(tmp)
}

/// Random URL-safe text with `bytes` bytes of entropy.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    // SystemRandom only fails when the OS has no entropy source; nothing sensible runs then.
    if SystemRandom::new().fill(&mut buf).is_err() {
        panic!("the operating system's random number generator failed");
    }
    URL_SAFE_NO_PAD.encode(buf)
}

/// Random lower-case hex with `bytes` bytes of entropy.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    if SystemRandom::new().fill(&mut buf).is_err() {
        panic!("the operating system's random number generator failed");
    }
    hex::encode(buf)
}

/// A client's credentials as the tenant assigned them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ClientCredentials {
    pub client_id: String,
    pub client_secret: String,
}

/// The signing keys: the first one signs, the others are still published until retired.
pub struct KeyRing {
    pub keys: Vec<SigningKey>,
}

impl KeyRing {
    pub fn active(&self) -> &SigningKey {
        &self.keys[0]
    }
}

#[derive(Serialize, Deserialize, Default)]
struct KeyManifest {
    /// File names under `keys/`, newest (active) first.
    order: Vec<String>,
}

pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, StateError> {
        let root = root.into();
        fs::create_dir_all(root.join("keys")).map_err(io(&root))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for dir in [root.clone(), root.join("keys")] {
                fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).map_err(io(&dir))?;
            }
        }
        Ok(Self { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn write_private(&self, path: &Path, text: &str) -> Result<(), StateError> {
        write_private_file(path, text).map_err(io(path))
    }

    /// The key ring, with a first RSA-2048 key generated when there is none.
    pub fn keys(&self) -> Result<KeyRing, StateError> {
        let manifest_path = self.root.join("keys/manifest.json");
        let manifest = match self.read_manifest(&manifest_path)? {
            Some(manifest) if !manifest.order.is_empty() => manifest,
            Some(mut manifest) => {
                self.add_key(&mut manifest)?;
                manifest
            }
            None => self.create_first_key(&manifest_path)?,
        };
        let mut keys = Vec::new();
        for name in &manifest.order {
            let path = self.root.join("keys").join(name);
            let pem = fs::read_to_string(&path).map_err(io(&path))?;
            let key = SigningKey::from_pkcs8_pem(&pem).map_err(|e| StateError::Damaged {
                path: path.display().to_string(),
                problem: e.to_string(),
            })?;
            keys.push(key);
        }
        Ok(KeyRing { keys })
    }

    fn read_manifest(&self, path: &Path) -> Result<Option<KeyManifest>, StateError> {
        read_if_present(path)?
            .map(|text| {
                serde_json::from_str(&text).map_err(|e| StateError::Damaged {
                    path: path.display().to_string(),
                    problem: e.to_string(),
                })
            })
            .transpose()
    }

    /// The first key of an empty folder. Several processes may get here at once: the first
    /// manifest written wins, and the others drop their key and read the winner's.
    fn create_first_key(&self, manifest_path: &Path) -> Result<KeyManifest, StateError> {
        let key = SigningKey::generate().map_err(|e| StateError::Damaged {
            path: "keys".into(),
            problem: e.to_string(),
        })?;
        let name = format!("{}.pem", key.kid());
        let key_path = self.root.join("keys").join(&name);
        self.write_private(&key_path, &key.to_pkcs8_pem())?;
        let manifest = KeyManifest { order: vec![name] };
        let text = serde_json::to_string_pretty(&manifest).unwrap_or_default();
        if create_private_file(manifest_path, &text).map_err(io(manifest_path))? {
            return Ok(manifest);
        }
        let _ = fs::remove_file(&key_path);
        self.read_manifest(manifest_path)?
            .ok_or_else(|| StateError::Damaged {
                path: manifest_path.display().to_string(),
                problem: "removed while the first key was being made".into(),
            })
    }

    fn add_key(&self, manifest: &mut KeyManifest) -> Result<String, StateError> {
        let key = SigningKey::generate().map_err(|e| StateError::Damaged {
            path: "keys".into(),
            problem: e.to_string(),
        })?;
        let name = format!("{}.pem", key.kid());
        self.write_private(&self.root.join("keys").join(&name), &key.to_pkcs8_pem())?;
        manifest.order.insert(0, name);
        let manifest_path = self.root.join("keys/manifest.json");
        let text = serde_json::to_string_pretty(manifest).unwrap_or_default();
        self.write_private(&manifest_path, &text)?;
        Ok(key.kid().to_string())
    }

    /// Adds a new active key; the previous one stays published (`keep` keys in all).
    /// Returns the new kid and the retired kids.
    pub fn rotate_keys(&self, keep: usize) -> Result<(String, Vec<String>), StateError> {
        self.keys()?; // creates the first key if needed
        let manifest_path = self.root.join("keys/manifest.json");
        let text = fs::read_to_string(&manifest_path).map_err(io(&manifest_path))?;
        let mut manifest: KeyManifest =
            serde_json::from_str(&text).map_err(|e| StateError::Damaged {
                path: manifest_path.display().to_string(),
                problem: e.to_string(),
            })?;
        let kid = self.add_key(&mut manifest)?;
        let mut retired = Vec::new();
        while manifest.order.len() > keep.max(1) {
            if let Some(name) = manifest.order.pop() {
                let _ = fs::remove_file(self.root.join("keys").join(&name));
                retired.push(name.trim_end_matches(".pem").to_string());
            }
        }
        let text = serde_json::to_string_pretty(&manifest).unwrap_or_default();
        self.write_private(&manifest_path, &text)?;
        Ok((kid, retired))
    }

    /// Client ids and secrets by client name, assigning new ones to clients seen first.
    pub fn clients(
        &self,
        names: &[String],
    ) -> Result<BTreeMap<String, ClientCredentials>, StateError> {
        let path = self.root.join("clients.json");
        let read = |text: String| {
            serde_json::from_str::<BTreeMap<String, ClientCredentials>>(&text).map_err(|e| {
                StateError::Damaged {
                    path: path.display().to_string(),
                    problem: e.to_string(),
                }
            })
        };
        let assign = |clients: &mut BTreeMap<String, ClientCredentials>| {
            let mut changed = false;
            for name in names {
                if !clients.contains_key(name) {
                    // Auth0 client ids are 32 characters; secrets are long random strings.
                    clients.insert(
                        name.clone(),
                        ClientCredentials {
                            client_id: random_hex(16),
                            client_secret: random_token(48),
                        },
                    );
                    changed = true;
                }
            }
            changed
        };
        let mut clients = match read_if_present(&path)? {
            Some(text) => read(text)?,
            None => {
                // An empty folder: the first process to write the file wins (see
                // `create_private_file`); the others use what it wrote.
                let mut clients = BTreeMap::new();
                assign(&mut clients);
                let text = serde_json::to_string_pretty(&clients).unwrap_or_default();
                if create_private_file(&path, &text).map_err(io(&path))? {
                    return Ok(clients);
                }
                match read_if_present(&path)? {
                    Some(text) => read(text)?,
                    None => BTreeMap::new(),
                }
            }
        };
        if assign(&mut clients) {
            self.write_private(
                &path,
                &serde_json::to_string_pretty(&clients).unwrap_or_default(),
            )?;
        }
        Ok(clients)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir() -> PathBuf {
        std::env::temp_dir().join(format!("organizer-state-{}", random_hex(8)))
    }

    #[test]
    fn an_unreadable_client_file_stops_start_up_and_is_not_replaced() {
        let root = temp_dir();
        let state = StateDir::open(&root).unwrap();
        // A folder where the file should be: reading fails with something else than
        // "not found", as with wrong permissions (which root, running CI, would ignore).
        fs::create_dir_all(root.join("clients.json")).unwrap();
        let error = state.clients(&["Organizer SPA".into()]).unwrap_err();
        assert!(matches!(error, StateError::Unreadable { .. }), "{error}");
        assert!(error.to_string().contains("clients.json"), "{error}");
        assert!(root.join("clients.json").is_dir(), "left as it was");
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn an_unreadable_key_manifest_stops_start_up_without_a_new_key() {
        let root = temp_dir();
        let state = StateDir::open(&root).unwrap();
        fs::create_dir_all(root.join("keys/manifest.json")).unwrap();
        let error = state.keys().map(|_| ()).unwrap_err();
        assert!(matches!(error, StateError::Unreadable { .. }), "{error}");
        let pems = fs::read_dir(root.join("keys"))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "pem"))
            })
            .count();
        assert_eq!(pems, 0, "no key generated over an unreadable manifest");
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn missing_files_are_created_and_read_back() {
        let root = temp_dir();
        let state = StateDir::open(&root).unwrap();
        let first = state.clients(&["A".into()]).unwrap();
        assert_eq!(state.clients(&["A".into()]).unwrap(), first);
        let kid = state.keys().unwrap().active().kid().to_string();
        assert_eq!(state.keys().unwrap().active().kid(), kid);
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn processes_starting_on_an_empty_folder_agree_on_one_key_and_one_set_of_clients() {
        // `make run` and `organizer tokens` (or two stacks) may start on a fresh folder at
        // once; each must end up with the same signing key and client secrets, or tokens
        // signed by one are refused by the other as signed with an unknown key.
        let root = temp_dir();
        let results: Vec<(String, BTreeMap<String, ClientCredentials>)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..6)
                .map(|_| {
                    let root = root.clone();
                    s.spawn(move || {
                        let state = StateDir::open(&root).unwrap();
                        let kid = state.keys().unwrap().active().kid().to_string();
                        (kid, state.clients(&["A".into(), "B".into()]).unwrap())
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (kid, clients) in &results[1..] {
            assert_eq!(kid, &results[0].0, "one signing key");
            assert_eq!(clients, &results[0].1, "one set of client credentials");
        }
        let state = StateDir::open(&root).unwrap();
        assert_eq!(
            state.keys().unwrap().active().kid(),
            results[0].0,
            "the one on disk"
        );
        assert_eq!(state.keys().unwrap().keys.len(), 1);
        fs::remove_dir_all(root).unwrap();
    }
}
