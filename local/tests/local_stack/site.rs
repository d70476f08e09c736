//! The static site: its pages, each site's `config.json` for its own SPA client, the app and
//! auth0-js, and nothing else of the site's folder.

use organizer_local::{StackOptions, StoreChoice, start};
use organizer_shared::manifest::manifest;
use reqwest::StatusCode;
use serde_json::Value;

use crate::common::{edited_tenant_file, free_port, repo, stack};

#[tokio::test]
async fn the_pages_are_served_with_no_referrer_and_a_missing_one_is_a_404() {
    let stack = stack().await;
    for page in ["/", "/callback.html"] {
        let response = reqwest::get(format!("{}{page}", stack.site_url))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{page}");
        assert_eq!(response.headers()["referrer-policy"], "no-referrer");
    }
    assert_eq!(
        reqwest::get(format!("{}/nothing.html", stack.site_url))
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    stack.stop().await;
}

/// Each site serves the config of the SPA client that lists its origin: two ports, two
/// applications of one tenant; a port no client lists gets a 404 that says so.
#[tokio::test]
async fn each_site_serves_the_config_of_its_own_client() {
    let (first, second) = (free_port(), free_port());
    let tenant_file = edited_tenant_file(|yaml| {
        yaml.replace(
            "http://localhost:3000",
            &format!("http://localhost:{first}"),
        )
        .replace(
            "http://localhost:3002",
            &format!("http://localhost:{second}"),
        )
    });
    let state_dir = tenant_file.parent().unwrap().join("state");
    let stack = start(StackOptions {
        tenant_port: 0,
        api_port: 0,
        site_port: first,
        extra_site_ports: vec![second, 0],
        session_check_seconds: 30,
        tenant_file,
        state_dir,
        site_dir: repo().join("site"),
        gateway: crate::common::gateway_options(),
        store: StoreChoice::Memory,
    })
    .await
    .unwrap();
    assert_eq!(stack.site_urls.len(), 3);
    let mut ids = Vec::new();
    for (url, name) in stack.site_urls[..2]
        .iter()
        .zip(["Organizer SPA", "Organizer SPA (second app)"])
    {
        let response = reqwest::get(format!("{url}/config.json")).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["cache-control"], "no-store");
        let csp = response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert!(
            csp.contains(&format!("frame-src {}", stack.tenant_url)),
            "{csp}"
        );
        let config: Value = response.json().await.unwrap();
        let client = stack.tenant.client_by_name(name).unwrap();
        assert_eq!(config["clientID"], client.id.as_str());
        assert_eq!(config["clientName"], name);
        assert_eq!(config["domain"], stack.tenant_url.as_str());
        assert_eq!(config["audience"], "organize");
        // Every scope of every service, from tenant.yaml's API (checked against services.yaml).
        let mut scope: Vec<&str> = config["scope"].as_str().unwrap().split(' ').collect();
        scope.sort_unstable();
        let mut expected = vec!["openid", "profile", "email"];
        expected.extend(manifest().scopes().iter().map(|s| s.name.as_str()));
        expected.sort_unstable();
        assert_eq!(scope, expected);
        // The app's panels, forms and scopes: the manifest's public part, nothing more.
        assert_eq!(config["services"], manifest().public_json());
        for service in config["services"].as_array().unwrap() {
            for private in ["function", "binary", "table", "id_prefix"] {
                assert!(service.get(private).is_none(), "{private} in {service}");
            }
        }
        assert_eq!(config["redirectUri"], format!("{url}/callback.html"));
        assert_eq!(config["apiBaseUrl"], stack.api_url.as_str());
        assert_eq!(config["sessionCheckSeconds"], 30);
        // tenant.yaml's client_metadata.spa_flow: the second application runs the code flow.
        let flow = if name == "Organizer SPA" {
            "implicit"
        } else {
            "code"
        };
        assert_eq!(config["flow"], flow);
        assert_eq!(config["cacheLocation"], "memory");
        assert_eq!(
            config["overrides"]["__token_issuer"],
            format!("{}/", stack.tenant_url)
        );
        assert!(
            !config.to_string().contains(&client.secret) || client.secret.is_empty(),
            "no secret in config.json"
        );
        ids.push(client.id.clone());
    }
    assert_ne!(ids[0], ids[1]);
    let unlisted = reqwest::get(format!("{}/config.json", stack.site_urls[2]))
        .await
        .unwrap();
    assert_eq!(unlisted.status(), StatusCode::NOT_FOUND);
    let body: Value = unlisted.json().await.unwrap();
    assert_eq!(body["error"], "not_configured");
    stack.stop().await;
}

/// With the sites on 127.0.0.1 (another site than the tenant's localhost), each site's config
/// and the API's CORS follow that origin; auth0-spa-js and its worker are served.
#[tokio::test]
async fn sites_on_127_0_0_1_get_their_own_origin() {
    let port = free_port();
    let tenant_file = edited_tenant_file(|yaml| {
        yaml.replace("http://localhost:3000", &format!("http://127.0.0.1:{port}"))
    });
    let state_dir = tenant_file.parent().unwrap().join("state");
    let stack = organizer_local::start_with(
        StackOptions {
            tenant_port: 0,
            api_port: 0,
            site_port: port,
            extra_site_ports: vec![],
            session_check_seconds: 30,
            tenant_file,
            state_dir,
            site_dir: repo().join("site"),
            gateway: crate::common::gateway_options(),
            store: StoreChoice::Memory,
        },
        organizer_local::SiteOptions {
            host: "127.0.0.1".into(),
        },
    )
    .await
    .unwrap();
    let site = format!("http://127.0.0.1:{port}");
    assert_eq!(stack.site_url, site);
    let config: Value = reqwest::get(format!("{site}/config.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(config["redirectUri"], format!("{site}/callback.html"));
    assert!(stack.tenant_url.starts_with("http://localhost:"));
    let preflight = reqwest::Client::new()
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/contacts", stack.api_url),
        )
        .header("origin", &site)
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
    for file in [
        "auth0-spa-js.production.js",
        "auth0-spa-js.worker.production.js",
    ] {
        let response = reqwest::get(format!("{site}/vendor/{file}")).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{file}");
    }
    stack.stop().await;
}

/// `organizer services --json` (what scripts/site-bundle.sh puts in the AWS bundle's
/// config.json) prints exactly the `services` the local sites serve.
#[test]
fn the_services_command_prints_config_json_services() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_organizer"))
        .args(["services", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(printed, manifest().public_json());
}

/// The app's modules and auth0-js (from npm, installed by scripts/site-deps.sh) are served; the
/// modules as JavaScript, or the browser refuses to run them.
#[tokio::test]
async fn the_app_and_auth0_js_are_served() {
    let stack = stack().await;
    let public = repo().join("site/public");
    let mut modules = 0;
    for entry in std::fs::read_dir(&public).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if !name.ends_with(".js") {
            continue;
        }
        let response = reqwest::get(format!("{}/{name}", stack.site_url))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{name}");
        let kind = response.headers()["content-type"].to_str().unwrap();
        assert!(kind.contains("javascript"), "{name}: {kind}");
        modules += 1;
    }
    assert!(modules > 1, "the app is several modules");
    let vendor = reqwest::get(format!("{}/vendor/auth0.min.js", stack.site_url))
        .await
        .unwrap();
    assert_eq!(
        vendor.status(),
        StatusCode::OK,
        "auth0-js is served; if missing run scripts/site-deps.sh"
    );
    stack.stop().await;
}

/// Nothing of the npm folder is reachable; hostile paths are 404s, never 500s.
#[tokio::test]
async fn nothing_else_of_the_site_folder_is_reachable() {
    let stack = stack().await;
    let long_name = format!("/{}", "a".repeat(300));
    let long_path = "/a".repeat(2000);
    for path in [
        "/node_modules/auth0-js/package.json",
        "/package.json",
        "/tests/harness.mjs",
        "/..%2f..%2fCargo.toml",
        "/vendor/../package.json",
        long_name.as_str(),
        long_path.as_str(),
    ] {
        let r = reqwest::get(format!("{}{path}", stack.site_url))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
    stack.stop().await;
}
