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
