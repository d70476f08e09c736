//! `ScopeCheck`: does a verified token grant what a route needs?
//!
//! Scopes are whole words of the space-separated `scope` claim, compared exactly:
//! `read:contactsX` and `xread:contacts` never grant `read:contacts` (the original sample's
//! substring `includes` did). Auth0's RBAC `permissions` array counts the same way.

use crate::error::AuthError;
use crate::token::AccessClaims;

/// The scopes one route requires, all of them. Routes declare this as data (the route table,
/// `routes::ROUTES`); the authorizer builds one from `ROUTE_SCOPES` when that overrides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScopeCheck<'a>(pub &'a [&'a str]);

impl ScopeCheck<'static> {
    pub const READ_CONTACTS: ScopeCheck<'static> = ScopeCheck(&["read:contacts"]);
    pub const READ_CALENDAR: ScopeCheck<'static> = ScopeCheck(&["read:calendar"]);
}

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

/// Whether the token grants `scope`, through `scope` or through `permissions`.
fn grants(claims: &AccessClaims, scope: &str) -> bool {
    claims.scopes.iter().any(|s| s == scope) || claims.permissions.iter().any(|p| p == scope)
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
        }
    }

    #[test]
    fn whole_scopes_only() {
        let check = ScopeCheck::READ_CONTACTS;
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
    fn rbac_permissions_count() {
        assert!(
            ScopeCheck::READ_CALENDAR
                .check(&claims("", &["read:calendar"]))
                .is_ok()
        );
        assert!(
            ScopeCheck::READ_CALENDAR
                .check(&claims("", &["read:calendarX"]))
                .is_err()
        );
    }
}
