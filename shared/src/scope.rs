//! `ScopeCheck`: does a verified token grant what a route needs?
//!
//! Scopes are whole words of the space-separated `scope` claim, compared exactly:
//! `read:contactsX` and `xread:contacts` never grant `read:contacts` (the original sample's
//! substring `includes` did).
//!
//! Only `scope` grants. With RBAC on, Auth0 writes into `scope` what the application asked
//! for, the user consented to *and* the user's roles allow; `permissions` lists everything the
//! user's roles allow, whatever this application was granted. An Editor who let an app only
//! read must not be able to write with that app's token, so `permissions` never grants.

use crate::error::AuthError;
use crate::token::AccessClaims;

/// The scopes one route requires, all of them. Routes declare this as data (the route table,
/// `routes::routes()`, from the manifest); the authorizer builds one from `ROUTE_SCOPES` when
/// that overrides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScopeCheck<'a>(pub &'a [&'a str]);

impl ScopeCheck<'_> {
    /// The required scopes, space-separated (as in a `scope=` challenge).
    pub fn required(&self) -> String {
        self.0.join(" ")
    }

    /// Ok when every required scope is granted, else 403 `insufficient_scope` naming them.
    pub fn check(&self, claims: &AccessClaims) -> Result<(), AuthError> {
        let missing: Vec<&str> = self
            .0
            .iter()
            .copied()
            .filter(|s| !grants(claims, s))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(AuthError::InsufficientScope {
                scope: self.required(),
            })
        }
    }
}

/// Whether the token's `scope` grants `scope` (never its `permissions`: see the module doc).
fn grants(claims: &AccessClaims, scope: &str) -> bool {
    claims.scopes.iter().any(|s| s == scope)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(scope: &str, permissions: &[&str]) -> AccessClaims {
        AccessClaims {
            sub: "auth0|u".into(),
            scopes: scope
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
            permissions: permissions.iter().map(|s| s.to_string()).collect(),
            client_id: None,
            jkt: None,
        }
    }

    #[test]
    fn whole_scopes_only() {
        let check = ScopeCheck(&["read:contacts"]);
        assert!(check.check(&claims("openid read:contacts", &[])).is_ok());
        assert!(
            check
                .check(&claims("read:calendar read:contacts", &[]))
                .is_ok()
        );
        for scope in [
            "read:contactsX",
            "xread:contacts",
            "read:contacts:all",
            "read:calendar",
            "",
            "READ:CONTACTS",
            "read:contacts,read:calendar",
        ] {
            assert_eq!(
                check.check(&claims(scope, &[])),
                Err(AuthError::InsufficientScope {
                    scope: "read:contacts".into()
                }),
                "{scope:?}"
            );
        }
    }

    #[test]
    fn rbac_permissions_never_grant() {
        // An Editor (permissions: all four) whose token this app was granted for reading only.
        let editor_reading = claims(
            "openid read:contacts read:calendar",
            &[
                "read:contacts",
                "read:calendar",
                "write:contacts",
                "write:calendar",
            ],
        );
        assert!(
            ScopeCheck(&["read:contacts"])
                .check(&editor_reading)
                .is_ok()
        );
        for write in [
            ScopeCheck(&["write:contacts"]),
            ScopeCheck(&["write:calendar"]),
        ] {
            assert_eq!(
                write.check(&editor_reading),
                Err(AuthError::InsufficientScope {
                    scope: write.required()
                })
            );
        }
        assert!(
            ScopeCheck(&["read:calendar"])
                .check(&claims("", &["read:calendar"]))
                .is_err()
        );
    }
}
