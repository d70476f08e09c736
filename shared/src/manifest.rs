//! The services manifest: what each service behind the logical API is — its name and routes,
//! its read and write scopes, its table, quota and fields — read from `services.yaml` (built
//! into the crate by `build.rs`) and checked once, at first use.
//!
//! This is the one place the functions, the authorizer and the local stack learn the services
//! from; `template.yaml`, `tenant.yaml`, the scripts and the SPA are checked against it by
//! tests that name the file and what is missing.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// The manifest, as built into this crate.
const MANIFEST_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/services.json"));

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub services: Vec<ServiceSpec>,
}

/// One service.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    /// The first path segment of its routes (`contacts`), the cursor namespace, the panel id.
    pub name: String,
    /// How a person calls it (`Contacts`).
    pub title: String,
    /// One item, in messages (`contact`).
    pub one: String,
    /// Several items, in messages (`contacts`).
    pub many: String,
    /// The function's logical id in `template.yaml` (`ContactsFunction`).
    pub function: String,
    /// The crate under `functions/` and its binary (`contacts`).
    pub binary: String,
    /// The prefix of the ids it makes (`c` → `c-0a1b…`).
    pub id_prefix: String,
    /// How many items one user may hold.
    pub quota: u32,
    pub scopes: Scopes,
    pub table: TableSpec,
    pub fields: Vec<FieldSpec>,
    pub list: ListSpec,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Scopes {
    pub read: ScopeSpec,
    pub write: ScopeSpec,
}

/// A scope of the logical API and what the consent page says of it.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ScopeSpec {
    pub name: String,
    pub description: String,
}

/// The service's DynamoDB table.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TableSpec {
    /// Its logical id in `template.yaml` (`ContactsTable`).
    pub resource: String,
    /// The function's environment variable with its name (`CONTACTS_TABLE`).
    pub variable: String,
    /// Its name when the variable is not set (`organizer-contacts`).
    pub default: String,
    /// The local secondary index the listing reads (`by-name`).
    pub index: String,
    /// The index's sort key attribute (`name_key`).
    pub index_key: String,
}

/// A field of the service's items.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    pub name: String,
    /// The label the SPA shows, and the name error messages use.
    pub label: String,
    #[serde(rename = "type")]
    pub kind: FieldKind,
    #[serde(default)]
    pub required: bool,
    /// Characters (text, multiline), or addresses (emails).
    #[serde(default)]
    pub max: Option<usize>,
    /// For the SPA's form: the HTML `autocomplete` token (`name`, `email`, `tel`, …), which
    /// also picks a `tel` input for phone numbers.
    #[serde(default)]
    pub autocomplete: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FieldKind {
    Text,
    Multiline,
    Email,
    Emails,
    Time,
    Date,
    Boolean,
}

impl FieldKind {
    /// The most characters (or items) a field of this kind takes when the manifest says none.
    pub fn default_max(self) -> usize {
        match self {
            Self::Text => 200,
            Self::Multiline => 2000,
            Self::Email => 254,
            Self::Emails => 50,
            Self::Time | Self::Date | Self::Boolean => 0,
        }
    }
}

/// How the list route orders and filters.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ListSpec {
    /// The order, in words (`by name`).
    pub order: String,
    /// The query parameters that narrow the listing.
    #[serde(default)]
    pub filters: Vec<FilterSpec>,
    /// What the SPA says when the list is empty (else "No <many> yet.").
    #[serde(default)]
    pub empty: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FilterSpec {
    pub name: String,
    /// `time` (an RFC 3339 time), `choice` (one of `values`) or `search` (words to look for).
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub values: Vec<String>,
    /// What the API uses when the parameter is absent.
    #[serde(default)]
    pub default: Option<String>,
    /// What the SPA asks with until the user picks a value: for a `time` filter, `today` is
    /// the start of the current day (UTC). The API does not know it.
    #[serde(default)]
    pub app_default: Option<String>,
    pub description: String,
}

/// Item attributes the stores own: a field may not be called any of these.
pub const RESERVED_FIELDS: &[&str] = &[
    "id",
    "user_id",
    "version",
    "created_at",
    "updated_at",
    "expires_at",
    "item_count",
];

impl Manifest {
    /// Reads and checks a manifest (`services.yaml` as JSON).
    pub fn parse(json: &str) -> Result<Self, String> {
        let manifest: Manifest =
            serde_json::from_str(json).map_err(|e| format!("services.yaml: {e}"))?;
        manifest.check()?;
        Ok(manifest)
    }

    /// What the manifest must say for the services to work.
    pub fn check(&self) -> Result<(), String> {
        type Of = fn(&ServiceSpec) -> &str;
        let categories: [(&str, Of); 7] = [
            ("name", |s| &s.name),
            ("function", |s| &s.function),
            ("binary", |s| &s.binary),
            ("table resource", |s| &s.table.resource),
            ("table variable", |s| &s.table.variable),
            ("read scope", |s| &s.scopes.read.name),
            ("write scope", |s| &s.scopes.write.name),
        ];
        for (what, of) in categories {
            for (i, s) in self.services.iter().enumerate() {
                if self.services[..i].iter().any(|t| of(t) == of(s)) {
                    return Err(format!("services.yaml: the {what} {} is used twice", of(s)));
                }
            }
        }
        for s in &self.services {
            let at = |what: &str| format!("services.yaml: service {}: {what}", s.name);
            let plain = |v: &str| {
                !v.is_empty()
                    && v.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            };
            if !plain(&s.name) || !plain(&s.binary) || !plain(&s.id_prefix) {
                return Err(at(
                    "name, binary and id_prefix are lower-case letters, digits and '-'",
                ));
            }
            if s.scopes.read.name == s.scopes.write.name {
                return Err(at("the read and write scopes are the same"));
            }
            if s.quota == 0 {
                return Err(at("quota must be at least 1"));
            }
            if s.fields.is_empty() {
                return Err(at("it has no fields"));
            }
            for (i, f) in s.fields.iter().enumerate() {
                if RESERVED_FIELDS.contains(&f.name.as_str()) || f.name == s.table.index_key {
                    return Err(at(&format!("field {} is a name the store uses", f.name)));
                }
                if s.fields[..i].iter().any(|g| g.name == f.name) {
                    return Err(at(&format!("field {} is listed twice", f.name)));
                }
            }
            for filter in &s.list.filters {
                match filter.kind.as_str() {
                    "time" | "search" => {}
                    "choice" if !filter.values.is_empty() => {}
                    _ => {
                        return Err(at(&format!(
                            "filter {}: type is time, search, or choice with values",
                            filter.name
                        )));
                    }
                }
            }
        }
        Ok(())
    }

    pub fn service(&self, name: &str) -> Option<&ServiceSpec> {
        self.services.iter().find(|s| s.name == name)
    }

    /// What the SPA gets of the services: `config.json`'s `services`, built here only (the local
    /// stack serves it, `organizer services --json` prints it for `scripts/site-bundle.sh`).
    /// Each service's entry without what only the deploy and the functions need (`function`,
    /// `binary`, `table`, `id_prefix`), and each field's `max` as the API applies it (its
    /// kind's default when the manifest says none), so that the app holds no limit of its own.
    pub fn public_json(&self) -> serde_json::Value {
        let services = self.services.iter().map(|s| {
            let mut entry = serde_json::to_value(s).unwrap_or_default();
            if let Some(object) = entry.as_object_mut() {
                for private in ["function", "binary", "table", "id_prefix"] {
                    object.remove(private);
                }
            }
            if let Some(fields) = entry["fields"].as_array_mut() {
                for (field, spec) in fields.iter_mut().zip(&s.fields) {
                    let max = spec.max();
                    field["max"] = if max > 0 {
                        max.into()
                    } else {
                        serde_json::Value::Null
                    };
                }
            }
            entry
        });
        serde_json::Value::Array(services.collect())
    }

    /// Every scope of the API, reads first, in manifest order.
    pub fn scopes(&self) -> Vec<&ScopeSpec> {
        let mut out: Vec<&ScopeSpec> = self.services.iter().map(|s| &s.scopes.read).collect();
        out.extend(self.services.iter().map(|s| &s.scopes.write));
        out
    }
}

impl ServiceSpec {
    pub fn field(&self, name: &str) -> Option<&FieldSpec> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The field names a write body may carry.
    pub fn field_names(&self) -> Vec<&str> {
        self.fields.iter().map(|f| f.name.as_str()).collect()
    }
}

impl FieldSpec {
    /// The most characters (or items) it takes.
    pub fn max(&self) -> usize {
        self.max.unwrap_or_else(|| self.kind.default_max())
    }
}

/// The manifest built into this crate. It was checked when the crate was tested; a broken one
/// would stop every function at its first request, so it is checked again at first use.
pub fn manifest() -> &'static Manifest {
    static MANIFEST: OnceLock<Manifest> = OnceLock::new();
    MANIFEST.get_or_init(|| match Manifest::parse(MANIFEST_JSON) {
        Ok(manifest) => manifest,
        // `services.yaml` is part of the build: a test of this crate fails on the same error.
        Err(error) => panic!("{error}"),
    })
}

/// The service named `name` in the built-in manifest.
pub fn service(name: &str) -> Option<&'static ServiceSpec> {
    manifest().service(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_manifest_is_valid() {
        let m = Manifest::parse(MANIFEST_JSON).unwrap();
        assert!(m.service("contacts").is_some());
        assert_eq!(manifest(), &m);
    }

    #[test]
    fn the_public_json_is_each_service_but_what_only_the_deploy_needs() {
        let m = manifest();
        let public = m.public_json();
        let services = public.as_array().unwrap();
        assert_eq!(services.len(), m.services.len());
        for (entry, spec) in services.iter().zip(&m.services) {
            let mut whole = serde_json::to_value(spec).unwrap();
            let whole = whole.as_object_mut().unwrap();
            for private in ["function", "binary", "table", "id_prefix"] {
                assert!(whole.remove(private).is_some(), "{private}");
            }
            let keys: Vec<&String> = entry.as_object().unwrap().keys().collect();
            assert_eq!(keys, whole.keys().collect::<Vec<_>>(), "{}", spec.name);
            for key in ["name", "title", "one", "many", "quota", "scopes", "list"] {
                assert_eq!(entry[key], whole[key], "{}: {key}", spec.name);
            }
            // The limits the API applies, the kinds' defaults included; none for the others.
            for (field, f) in entry["fields"].as_array().unwrap().iter().zip(&spec.fields) {
                assert_eq!(field["name"], f.name.as_str());
                assert_eq!(field["type"], serde_json::to_value(f.kind).unwrap());
                match f.kind {
                    FieldKind::Time | FieldKind::Date | FieldKind::Boolean => {
                        assert!(field["max"].is_null(), "{}.{}", spec.name, f.name)
                    }
                    _ => assert_eq!(field["max"], f.max(), "{}.{}", spec.name, f.name),
                }
            }
        }
        let contacts = &services[0];
        assert_eq!(contacts["scopes"]["read"]["name"], "read:contacts");
        let email = &contacts["fields"][1];
        assert_eq!(
            (&email["name"], &email["max"]),
            (&"email".into(), &254.into())
        );
    }

    #[test]
    fn mistakes_are_named() {
        let good: serde_json::Value = serde_json::from_str(MANIFEST_JSON).unwrap();
        let broken = |edit: &dyn Fn(&mut serde_json::Value)| {
            let mut m = good.clone();
            edit(&mut m);
            Manifest::parse(&m.to_string()).unwrap_err()
        };
        assert!(
            broken(&|m| m["services"][0]["fields"][0]["name"] = "id".into())
                .contains("field id is a name the store uses")
        );
        assert!(
            broken(&|m| m["services"][1]["name"] = "contacts".into())
                .contains("contacts is used twice")
        );
        assert!(broken(&|m| m["services"][0]["quota"] = 0.into()).contains("quota"));
        assert!(
            broken(&|m| m["services"][0]["fields"][0]["type"] = "number".into())
                .contains("unknown variant")
        );
        assert!(broken(&|m| m["services"][0]["color"] = "red".into()).contains("unknown field"));
    }
}
