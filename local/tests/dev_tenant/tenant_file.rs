//! `tenant.yaml` is checked when it is loaded: a configuration Auth0 would refuse is an error,
//! not a tenant that behaves differently.

use organizer_local::tenant::config::TenantFile;

use crate::common::edited_tenant_file;

#[test]
fn a_public_client_cannot_be_given_client_credentials() {
    let path = edited_tenant_file(|yaml| {
        yaml.replace(
            "      - implicit\n      - authorization_code\n",
            "      - implicit\n      - authorization_code\n      - client_credentials\n",
        )
    });
    let error = TenantFile::load(&path).unwrap_err().to_string();
    assert!(error.contains("public"), "{error}");
    std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
}

/// `proof_of_possession:` on an API is checked at start-up: a mechanism the dev tenant cannot
/// honour (mTLS, or a typo) stops it with a message naming the field.
#[test]
fn an_unknown_proof_of_possession_setting_stops_start_up() {
    for (settings, expected) in [
        (
            "      mechanism: mtls\n",
            "proof_of_possession.mechanism \"mtls\"",
        ),
        (
            "      mechanism: dpopp\n",
            "proof_of_possession.mechanism \"dpopp\"",
        ),
        (
            "      mechanism: dpop\n      required: true\n      required_for: everyone\n",
            "proof_of_possession.required_for \"everyone\"",
        ),
        (
            "      mechanism: none\n      required: true\n",
            "proof_of_possession.required",
        ),
        ("      required: true\n", "mechanism"),
    ] {
        let path = edited_tenant_file(|yaml| {
            yaml.replacen(
                "    token_dialect: access_token_authz\n",
                &format!(
                    "    token_dialect: access_token_authz\n    proof_of_possession:\n{settings}"
                ),
                1,
            )
        });
        let error = TenantFile::load(&path).unwrap_err().to_string();
        assert!(error.contains(expected), "{settings}: {error}");
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }
    // The repository's own file asks for nothing: DPoP is off by default.
    let file = TenantFile::load(&crate::common::repo().join("tenant.yaml")).unwrap();
    assert!(
        file.resource_servers
            .iter()
            .all(|api| api.proof_of_possession.is_none())
    );
    assert!(file.clients.iter().all(|c| !c.require_proof_of_possession));
}
