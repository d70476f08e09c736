//! The dev tenant in process: its router, built from a `tenant.yaml` and a fresh state folder,
//! answers requests sent with `tower::ServiceExt::oneshot` (as axum's examples test), without
//! sockets. For what one request shows (the validation of parameters, answers without a
//! session); flows run over real HTTP (the parent module).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode, header};
use organizer_local::tenant::config::TenantFile;
use organizer_local::tenant::state::StateDir;
use organizer_local::tenant::{Tenant, router};
use serde_json::Value;
use tower::ServiceExt;

use super::oauth::{SPA, authorize_query};

/// The issuer of the in-process tenant (no server listens there).
pub const ISSUER: &str = "http://localhost:4000/";

/// The peer address handlers see (the login form's throttling keys on it).
const PEER: ([u8; 4], u16) = ([127, 0, 0, 1], 40000);

/// The tenant and its router.
pub struct TenantApp {
    pub tenant: Arc<Tenant>,
    router: axum::Router,
}

impl TenantApp {
    /// The repository's `tenant.yaml`.
    pub fn new() -> Self {
        Self::from_file(&super::repo().join("tenant.yaml"))
    }

    pub fn from_file(tenant_file: &Path) -> Self {
        let file = TenantFile::load(tenant_file).expect("tenant.yaml loads");
        let state = StateDir::open(super::fresh_state()).expect("a state folder");
        let tenant = Arc::new(Tenant::load(ISSUER.into(), file, &state).expect("the tenant loads"));
        Self {
            router: router(tenant.clone()),
            tenant,
        }
    }

    /// The client id the tenant assigned to the client named `name` in `tenant.yaml`.
    pub fn client_id(&self, name: &str) -> String {
        self.credentials(name).0
    }

    /// The id and secret the tenant assigned to the client named `name`.
    pub fn credentials(&self, name: &str) -> (String, String) {
        let client = self
            .tenant
            .client_by_name(name)
            .unwrap_or_else(|| panic!("no client {name}"));
        (client.id.clone(), client.secret.clone())
    }

    /// Sends one request to the router, as if from [`PEER`].
    pub async fn send(&self, mut request: Request<Body>) -> Answer {
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(PEER)));
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router answers");
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("the body is read");
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, uri: &str) -> Answer {
        self.get_with(uri, &[]).await
    }

    /// A GET with more headers.
    pub async fn get_with(&self, uri: &str, headers: &[(&str, &str)]) -> Answer {
        let mut request = Request::get(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    /// `GET /authorize` with the SPA's sign-in ([`authorize_query`]) changed by `extra`.
    pub async fn authorize(&self, extra: &[(&str, &str)]) -> Answer {
        let query = authorize_query(&self.client_id(SPA), extra);
        self.get(&format!("/authorize?{query}")).await
    }

    /// A POST with a body of the given content type, and more headers.
    pub async fn post(
        &self,
        uri: &str,
        content_type: &str,
        headers: &[(&str, &str)],
        body: impl Into<Body>,
    ) -> Answer {
        let mut request = Request::post(uri).header(header::CONTENT_TYPE, content_type);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request.body(body.into()).unwrap()).await
    }

    /// A POST of a form (`application/x-www-form-urlencoded`), parameters in this order.
    pub async fn post_form(&self, uri: &str, form: &[(&str, &str)]) -> Answer {
        self.post_form_with(uri, &[], form).await
    }

    /// [`Self::post_form`] with more headers.
    pub async fn post_form_with(
        &self,
        uri: &str,
        headers: &[(&str, &str)],
        form: &[(&str, &str)],
    ) -> Answer {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        self.post(uri, "application/x-www-form-urlencoded", headers, body)
            .await
    }
}

/// A response, read whole.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The `Location` header, if any.
    pub fn location(&self) -> Option<&str> {
        self.headers
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap())
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header"))
            .to_str()
            .unwrap()
    }
}
