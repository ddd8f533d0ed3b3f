//! The API test harness: a node on loopback with a temporary store, and its API served over
//! real HTTP. Shared by the API's test files.

// Each test file uses a different subset.
#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use kith_node::{Node, NodeConfig, Profile};
use kith_proto::Keypair;
use kith_store::{Store, StoreConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub(crate) const TOKEN: &str = "0123456789abcdef0123456789abcdef";
/// How long any awaited condition may take.
pub(crate) const DEADLINE: Duration = Duration::from_secs(30);

/// Waits until `check` holds, polling every 50 ms; fails the test after [`DEADLINE`].
pub(crate) async fn wait_for<F: std::future::Future<Output = bool>>(
    what: &str,
    mut check: impl FnMut() -> F,
) {
    let started = std::time::Instant::now();
    while !check().await {
        assert!(started.elapsed() < DEADLINE, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A node and the API serving it.
pub(crate) struct Server {
    /// The base URL of the API.
    pub(crate) base: String,
    /// The HTTP client.
    pub(crate) http: reqwest::Client,
    /// The node behind the API.
    pub(crate) node: Node,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    /// The data directory (removed when the server is dropped).
    pub(crate) dir: tempfile::TempDir,
}

impl Server {
    pub(crate) async fn start() -> Self {
        Self::start_with(Vec::new()).await
    }

    /// A server whose node joins the network through `bootstrap` (full multiaddrs).
    pub(crate) async fn start_with(bootstrap: Vec<String>) -> Self {
        Self::start_configured(bootstrap, |_, _| {}).await
    }

    /// A server whose node config `configure` adjusts (given the data directory).
    pub(crate) async fn start_configured(
        bootstrap: Vec<String>,
        configure: impl FnOnce(&mut NodeConfig, &Path),
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("kith.redb"), StoreConfig::default()).unwrap();
        let mut config = NodeConfig {
            listen: vec!["/ip4/127.0.0.1/tcp/0".to_owned()],
            bootstrap,
            profile: Profile::Test,
            ..NodeConfig::default()
        };
        configure(&mut config, dir.path());
        let node_key = *Keypair::generate().seed();
        let node = Node::start(config, store, Keypair::generate(), node_key)
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(kith_api::serve(
            listener,
            node.clone(),
            TOKEN.to_owned(),
            async move {
                let _ = stopped.await;
            },
        ));
        // reqwest has rustls without a default crypto provider (see bin/kith's main).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        Self {
            base,
            http,
            node,
            stop: Some(stop),
            task: Some(task),
            dir,
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub(crate) fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.get(self.url(path)).bearer_auth(TOKEN)
    }

    pub(crate) fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.post(self.url(path)).bearer_auth(TOKEN)
    }

    pub(crate) fn delete(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.delete(self.url(path)).bearer_auth(TOKEN)
    }

    /// Sends, expects `status`, returns the JSON body.
    pub(crate) async fn expect(
        &self,
        request: reqwest::RequestBuilder,
        status: StatusCode,
    ) -> Value {
        let response = request.send().await.unwrap();
        let got = response.status();
        let body = response.text().await.unwrap();
        assert_eq!(got, status, "body: {body}");
        serde_json::from_str(&body).unwrap_or_else(|_| panic!("not JSON: {body}"))
    }

    /// Sends, expects an error with `status` and `code`; returns the message.
    pub(crate) async fn expect_error(
        &self,
        request: reqwest::RequestBuilder,
        status: StatusCode,
        code: &str,
    ) -> String {
        let body = self.expect(request, status).await;
        assert_eq!(body["code"], code, "{body}");
        let message = body["error"].as_str().unwrap().to_owned();
        assert!(!message.is_empty());
        message
    }

    /// Claims `name` for this server's identity, retrying while the network is still too
    /// small for a write quorum (right after the peers start).
    pub(crate) async fn claim_name(&self, name: &str) {
        let started = std::time::Instant::now();
        loop {
            let response = self
                .post("/api/v1/names")
                .json(&json!({ "name": name }))
                .send()
                .await
                .unwrap();
            if response.status() == StatusCode::CREATED {
                return;
            }
            let body = response.text().await.unwrap();
            assert!(body.contains("name_quorum_unreachable"), "{body}");
            assert!(started.elapsed() < DEADLINE, "no quorum: {body}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub(crate) async fn publish(&self, text: &str) -> Value {
        self.expect(
            self.post("/api/v1/posts").json(&json!({ "text": text })),
            StatusCode::CREATED,
        )
        .await
    }

    pub(crate) fn did(&self) -> String {
        self.node.author().to_did()
    }

    /// Stops the API (it must return), then the node, and closes the store.
    pub(crate) async fn stop(self) {
        let Server {
            node,
            stop,
            task,
            dir: _dir,
            ..
        } = self;
        let _ = stop.unwrap().send(());
        tokio::time::timeout(DEADLINE, task.unwrap())
            .await
            .expect("the API did not stop")
            .unwrap()
            .unwrap();
        let store = node.store().clone();
        tokio::time::timeout(DEADLINE, node.shutdown())
            .await
            .expect("the node did not stop")
            .unwrap();
        store.close().unwrap();
    }
}
