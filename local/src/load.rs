//! `organizer tokens`: access tokens for load tests, one per made-up user, signed by the dev
//! tenant's active key exactly as its implicit grant signs them (so the API verifies them as
//! it verifies a browser's), each for the logical API with both read scopes.

use std::fs;
use std::path::Path;

use jsonwebtoken::get_current_timestamp;
use serde_json::json;

use crate::tenant::Tenant;
use crate::tenant::state::random_hex;

/// Writes `count` tokens to `out`, one per line, for users `auth0|load-0000`…, valid for
/// `lifetime_seconds`. Returns the audience they carry.
pub fn write_tokens(
    tenant: &Tenant,
    count: usize,
    lifetime_seconds: u64,
    out: &Path,
) -> Result<String, String> {
    let api = tenant
        .file
        .logical_api()
        .ok_or("tenant.yaml lists no API in resourceServers")?;
    let scope: Vec<&str> = api.scopes.iter().map(|s| s.value.as_str()).collect();
    let azp = tenant
        .clients
        .iter()
        .find(|c| !c.is_confidential())
        .map_or_else(String::new, |c| c.id.clone());
    let now = get_current_timestamp();
    let mut lines = String::new();
    for i in 0..count {
        let claims = json!({
            "iss": tenant.issuer,
            "sub": format!("auth0|load-{i:04}"),
            "aud": [api.identifier, format!("{}userinfo", tenant.issuer)],
            "iat": now,
            "exp": now + lifetime_seconds,
            "scope": format!("openid {}", scope.join(" ")),
            "azp": azp,
            "jti": random_hex(16),
        });
        let token = tenant.sign(&claims).map_err(|e| e.description)?;
        lines.push_str(&token);
        lines.push('\n');
    }
    fs::write(out, lines).map_err(|e| format!("{}: {e}", out.display()))?;
    Ok(api.identifier.clone())
}
