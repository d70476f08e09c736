//! The dev tenant's paths, shared by the router and the discovery document.

pub const DISCOVERY: &str = "/.well-known/openid-configuration";
pub const JWKS: &str = "/.well-known/jwks.json";
pub const TOKEN: &str = "/oauth/token";
pub const AUTHORIZE: &str = "/authorize";
pub const LOGIN: &str = "/login";
pub const CONSENT: &str = "/consent";
pub const LOGOUT: &str = "/v2/logout";
pub const USERINFO: &str = "/userinfo";
pub const REVOKE: &str = "/oauth/revoke";
