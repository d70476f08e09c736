//! The dev tenant's users (the `Username-Password-Authentication` database connection).
//!
//! Users are local only, in the state folder's `users.json`; passwords are stored as argon2id
//! PHC strings at OWASP's minimum cost (19 MiB, 2 passes, 1 lane) or more.

use std::fs;
use std::path::{Path, PathBuf};

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::state::random_hex;

/// The demo user every fresh dev tenant has, an Editor. For the dev tenant only: never a
/// real account.
pub const DEFAULT_EMAIL: &str = "test@organizer.local";
pub const DEFAULT_PASSWORD: &str = "Organizer-dev-only-1";
/// The second demo user, only a Reader: the SPA shows them read-only panels.
pub const READER_EMAIL: &str = "reader@organizer.local";
pub const READER_PASSWORD: &str = "Organizer-reader-dev-only-1";
/// The roles of `tenant.yaml` the demo users have.
pub const EDITOR_ROLE: &str = "Organizer Editor";
pub const READER_ROLE: &str = "Organizer Reader";

/// OWASP's minimum for argon2id: m = 19 MiB, t = 2, p = 1.
const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;
const LANES: u32 = 1;

#[derive(Debug, Error)]
pub enum UserError {
    #[error("{0}")]
    Invalid(String),
    #[error("a user with email {0} exists already")]
    Exists(String),
    #[error("users file {path}: {problem}")]
    File { path: String, problem: String },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct User {
    /// 24 hex digits, like Auth0's database user ids.
    pub id: String,
    pub email: String,
    pub name: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// RBAC roles, by name (`roles:` in `tenant.yaml`). Users saved before roles existed keep
    /// the access they had: Editor.
    #[serde(default = "legacy_roles")]
    pub roles: Vec<String>,
}

fn legacy_roles() -> Vec<String> {
    vec![EDITOR_ROLE.to_string()]
}

impl User {
    /// The `sub` of this user's tokens.
    pub fn sub(&self) -> String {
        format!("auth0|{}", self.id)
    }

    /// Whether `password` is this user's password (argon2id, parameters from the stored hash).
    pub fn password_matches(&self, password: &str) -> bool {
        let Ok(hash) = PasswordHash::new(&self.password_hash) else {
            return false;
        };
        hasher()
            .map(|a| a.verify_password(password.as_bytes(), &hash).is_ok())
            .unwrap_or(false)
    }
}

fn hasher() -> Result<Argon2<'static>, UserError> {
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None)
        .map_err(|e| UserError::Invalid(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a password with argon2id and a random salt.
pub fn hash_password(password: &str) -> Result<String, UserError> {
    hasher()?
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| UserError::Invalid(format!("cannot hash the password: {e}")))
}

fn check_email(email: &str) -> Result<String, UserError> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && email.matches('@').count() == 1
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(email)
    } else {
        Err(UserError::Invalid(format!(
            "{email:?} is not an email address"
        )))
    }
}

fn check_password(password: &str) -> Result<(), UserError> {
    // Auth0's "fair" policy asks for 8 characters; a cap keeps hashing bounded.
    if password.chars().count() < 8 {
        return Err(UserError::Invalid(
            "passwords need at least 8 characters".into(),
        ));
    }
    if password.len() > 256 {
        return Err(UserError::Invalid("passwords are at most 256 bytes".into()));
    }
    Ok(())
}

/// `users.json` in the state folder.
pub struct UserFile {
    path: PathBuf,
}

impl UserFile {
    pub fn new(state_root: &Path) -> Self {
        Self {
            path: state_root.join("users.json"),
        }
    }

    fn err(&self, problem: impl ToString) -> UserError {
        UserError::File {
            path: self.path.display().to_string(),
            problem: problem.to_string(),
        }
    }

    /// All users; the demo users (an Editor and a Reader) are created when missing.
    pub fn load(&self) -> Result<Vec<User>, UserError> {
        let mut users: Vec<User> = match fs::read_to_string(&self.path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| self.err(e))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(self.err(e)),
        };
        let mut added = false;
        for (email, password, name, role) in [
            (DEFAULT_EMAIL, DEFAULT_PASSWORD, "Test User", EDITOR_ROLE),
            (READER_EMAIL, READER_PASSWORD, "Reader User", READER_ROLE),
        ] {
            if !users.iter().any(|u| u.email == email) {
                users.push(new_user(email, password, name, &[role.to_string()])?);
                added = true;
            }
        }
        if added {
            self.save(&users)?;
        }
        Ok(users)
    }

    fn save(&self, users: &[User]) -> Result<(), UserError> {
        let text = serde_json::to_string_pretty(users).map_err(|e| self.err(e))?;
        super::state::write_private_file(&self.path, &text).map_err(|e| self.err(e))
    }

    /// Adds a user with these roles; the email must be new (compared case-insensitively).
    pub fn add(
        &self,
        email: &str,
        password: &str,
        name: Option<&str>,
        roles: &[String],
    ) -> Result<User, UserError> {
        let mut users = self.load()?;
        let email = check_email(email)?;
        if users.iter().any(|u| u.email == email) {
            return Err(UserError::Exists(email));
        }
        let name = name
            .map(str::to_string)
            .unwrap_or_else(|| email.split('@').next().unwrap_or("").to_string());
        let user = new_user(&email, password, &name, roles)?;
        users.push(user.clone());
        self.save(&users)?;
        Ok(user)
    }
}

fn new_user(email: &str, password: &str, name: &str, roles: &[String]) -> Result<User, UserError> {
    let email = check_email(email)?;
    check_password(password)?;
    Ok(User {
        id: random_hex(12),
        email,
        name: name.trim().to_string(),
        password_hash: hash_password(password)?,
        roles: roles.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_argon2id_at_owasp_minimum_and_verify() {
        let dir = std::env::temp_dir().join(format!("organizer-users-{}", random_hex(8)));
        fs::create_dir_all(&dir).unwrap();
        let file = UserFile::new(&dir);
        let users = file.load().unwrap();
        assert_eq!(users.len(), 2);
        let demo = &users[0];
        assert_eq!(demo.roles, [EDITOR_ROLE]);
        assert_eq!(users[1].email, READER_EMAIL);
        assert_eq!(users[1].roles, [READER_ROLE]);
        assert!(users[1].password_matches(READER_PASSWORD));
        assert_eq!(demo.email, DEFAULT_EMAIL);
        assert!(
            demo.password_hash
                .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            demo.password_hash
        );
        assert!(demo.password_matches(DEFAULT_PASSWORD));
        assert!(!demo.password_matches("organizer-dev-only-1"));
        assert!(demo.sub().starts_with("auth0|") && demo.id.len() == 24);

        let ada = file
            .add("  Ada@Example.COM ", "correct horse", Some("Ada"), &[])
            .unwrap();
        assert_eq!(ada.email, "ada@example.com");
        assert!(matches!(
            file.add("ada@example.com", "another one", None, &[]),
            Err(UserError::Exists(_))
        ));
        assert!(matches!(
            file.add("not-an-email", "long enough", None, &[]),
            Err(UserError::Invalid(_))
        ));
        assert!(matches!(
            file.add("b@example.com", "short", None, &[]),
            Err(UserError::Invalid(_))
        ));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.join("users.json"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let reloaded = file.load().unwrap();
        assert_eq!(reloaded.len(), 3);
        assert!(reloaded[2].password_matches("correct horse"));
        assert!(reloaded[2].roles.is_empty());
        // Hashes are salted: the same password twice gives two hashes.
        assert_ne!(
            hash_password("same password").unwrap(),
            hash_password("same password").unwrap()
        );
        fs::remove_dir_all(dir).unwrap();
    }
}
