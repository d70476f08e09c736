//! The logical API's scopes as tenant.yaml defines them, in its order (the order tokens and the
//! consent page keep): what a token carries is checked against these, so adding a service
//! changes no test here (local/tests/manifest.rs checks tenant.yaml against services.yaml).

use organizer_local::tenant::config::TenantFile;

/// Every scope of the API, in tenant.yaml's order.
pub fn all() -> Vec<String> {
    let file = TenantFile::load(&super::repo().join("tenant.yaml")).unwrap();
    let api = file.logical_api().expect("tenant.yaml defines the API");
    api.scopes.iter().map(|s| s.value.clone()).collect()
}

/// The read scopes, in order.
pub fn reads() -> Vec<String> {
    all()
        .into_iter()
        .filter(|s| s.starts_with("read:"))
        .collect()
}

/// The write scopes, in order.
pub fn writes() -> Vec<String> {
    all()
        .into_iter()
        .filter(|s| s.starts_with("write:"))
        .collect()
}

/// `words` space-separated, after `prefix` when it is not empty (`"openid profile email"`).
pub fn joined(prefix: &str, words: &[String]) -> String {
    let mut all: Vec<&str> = prefix.split(' ').filter(|w| !w.is_empty()).collect();
    all.extend(words.iter().map(String::as_str));
    all.join(" ")
}
