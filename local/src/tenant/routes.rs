//! The dev tenant's paths, shared by the router and the discovery document.

pub const DISCOVERY: &str = "/.well-known/openid-configuration";
pub const JWKS: &str = "/.well-known/jwks.json";
pub const TOKEN: &str = "/oauth/token";
