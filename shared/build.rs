//! Reads the services manifest (`services.yaml` at the workspace root) at build time and hands
//! it to the crate as JSON, so the functions parse it with the JSON reader they already link
//! (no YAML parser in a Lambda binary). `src/manifest.rs` checks it.

use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default())
        .join("..")
        .join("services.yaml");
    println!("cargo:rerun-if-changed={}", manifest.display());
    let text = std::fs::read_to_string(&manifest)
        .unwrap_or_else(|e| panic!("{}: {e}", manifest.display()));
    let value: serde_json::Value = serde_norway::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not YAML: {e}", manifest.display()));
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default()).join("services.json");
    std::fs::write(&out, value.to_string()).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
}
