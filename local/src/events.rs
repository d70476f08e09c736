//! `organizer events`: ready-to-invoke copies of `events/*.json` with fresh tokens.
//!
//! Tokens come from the dev tenant's own client-credentials grant, for its machine client, so
//! they are exactly what `POST /oauth/token` would return; ids are those of the sample data the
//! local stack seeds for that client.

use std::fs;
use std::path::{Path, PathBuf};

use organizer_shared::store::sample;

use crate::tenant::grants::client_credentials;
use crate::tenant::params::Params;
use crate::tenant::{Client, Tenant};

/// Writes every `*.json` of `templates` into `out` with the placeholders filled in; returns the
/// files written.
pub fn write(tenant: &Tenant, templates: &Path, out: &Path) -> Result<Vec<PathBuf>, String> {
    let machine = tenant
        .clients
        .iter()
        .find(|c| c.is_confidential() && c.allows_grant("client_credentials"))
        .ok_or("tenant.yaml has no machine-to-machine client with client_credentials")?;
    let token = mint(tenant, machine, None)?;
    let contacts_only = mint(tenant, machine, Some("read:contacts"))?;
    let owner = format!("{}@clients", machine.id);
    let contact_id = sample::contacts(&owner)
        .first()
        .map(|c| c.id.clone())
        .unwrap_or_default();
    let event_id = sample::events(&owner)
        .first()
        .map(|e| e.id.clone())
        .unwrap_or_default();
    fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut written = Vec::new();
    let mut entries: Vec<_> = fs::read_dir(templates)
        .map_err(|e| format!("{}: {e}", templates.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    entries.sort();
    for path in entries {
        let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let filled = text
            .replace("__TOKEN_CONTACTS_ONLY__", &contacts_only)
            .replace("__TOKEN__", &token)
            .replace("__CONTACT_ID__", &contact_id)
            .replace("__EVENT_ID__", &event_id);
        let target = out.join(path.file_name().unwrap_or_default());
        fs::write(&target, filled).map_err(|e| format!("{}: {e}", target.display()))?;
        written.push(target);
    }
    Ok(written)
}

fn mint(tenant: &Tenant, client: &Client, scope: Option<&str>) -> Result<String, String> {
    let mut params = Params::new();
    params.insert("grant_type".into(), "client_credentials".into());
    let api = tenant
        .file
        .logical_api()
        .ok_or("tenant.yaml lists no API in resourceServers")?;
    params.insert("audience".into(), api.identifier.clone());
    if let Some(scope) = scope {
        params.insert("scope".into(), scope.into());
    }
    let answer = client_credentials::grant(tenant, client, &params).map_err(|e| e.description)?;
    answer["access_token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| "no access token".to_string())
}
