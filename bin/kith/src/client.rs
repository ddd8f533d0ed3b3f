//! The HTTP client of the daemon's API (docs/API.md), used by every client command.
//!
//! Finding the daemon: `--api URL` (or `KITH_API`) if given, else the URL in the data
//! directory's `api` file, which the daemon writes once its API listens and removes when it
//! stops. The token is read from `api.token` in the data directory. Requests go over plain
//! HTTP to loopback; no proxy is ever used.

use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use kith_api::model::ErrorBody;
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::repo::Repo;

/// How long to wait for the TCP connection to the daemon.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to wait for a whole answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Where the daemon's address came from, for messages.
#[derive(Debug, Clone)]
enum Origin {
    /// `--api` or `KITH_API`.
    Given,
    /// The data directory's `api` file.
    ApiFile,
}

/// A connection to a running daemon's API.
pub(crate) struct Client {
    base: String,
    origin: Origin,
    dir: String,
    token: String,
    http: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

impl Client {
    /// Finds the daemon for `repo` (or at `api`, a URL or `HOST:PORT`). Fails with "no daemon
    /// running at …" when there is none to find; does not contact it yet.
    pub(crate) fn find(repo: &Repo, api: Option<&str>) -> Result<Self> {
        let dir = repo.dir().display().to_string();
        let (base, origin) = match api {
            Some(api) => (normalise(api)?, Origin::Given),
            None => match repo.read_api_file()? {
                Some(url) => (normalise(&url)?, Origin::ApiFile),
                None if !repo.is_initialised() => bail!(
                    "no daemon running at {dir} (no kith peer there yet); start one with \
                     `kith daemon`, which creates it, or run `kith init` first (or pass \
                     --data-dir)"
                ),
                None => bail!("no daemon running at {dir}; start one with `kith daemon`"),
            },
        };
        let token = repo.load_token().with_context(|| {
            format!("cannot read the API token of {dir}, which the daemon's API requires")
        })?;
        let http = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .context("cannot set up the HTTP client")?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        Ok(Self {
            base,
            origin,
            dir,
            token,
            http,
            runtime,
        })
    }

    /// The base URL of the API, e.g. `http://127.0.0.1:5050`.
    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    /// `GET path?query`.
    pub(crate) fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T> {
        self.call(Method::GET, path, query, None::<&()>)
    }

    /// `POST path` with a JSON body.
    pub(crate) fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T> {
        self.call(Method::POST, path, &[], Some(body))
    }

    /// `PUT path` with a JSON body.
    pub(crate) fn put<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        self.call(Method::PUT, path, &[], Some(body))
    }

    /// `DELETE path`.
    pub(crate) fn delete<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.call(Method::DELETE, path, &[], None::<&()>)
    }

    /// `POST path` with raw bytes as the body.
    pub(crate) fn post_bytes<T: DeserializeOwned>(&self, path: &str, body: Vec<u8>) -> Result<T> {
        let url = format!("{}{path}", self.base);
        let request = self
            .http
            .post(&url)
            .bearer_auth(&self.token)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(body);
        self.send(request, url)
    }

    fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&B>,
    ) -> Result<T> {
        let url = format!("{}{path}", self.base);
        let mut request = self
            .http
            .request(method, &url)
            .bearer_auth(&self.token)
            .query(query);
        if let Some(body) = body {
            request = request.json(body);
        }
        self.send(request, url)
    }

    /// `GET path` of a text answer (not JSON), e.g. `/metrics`.
    pub(crate) fn get_text(&self, path: &str) -> Result<String> {
        let url = format!("{}{path}", self.base);
        let request = self.http.get(&url).bearer_auth(&self.token);
        let bytes = self.answer(request)?;
        String::from_utf8(bytes)
            .with_context(|| format!("the daemon at {} answered {url} with non-UTF-8", self.base))
    }

    fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        url: String,
    ) -> Result<T> {
        let bytes = self.answer(request)?;
        serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "the daemon at {} answered {url} with unexpected JSON (a different kith \
                 version?)",
                self.base
            )
        })
    }

    /// Sends `request`; the body of a success, or the daemon's refusal as the error.
    fn answer(&self, request: reqwest::RequestBuilder) -> Result<Vec<u8>> {
        self.runtime.block_on(async {
            let response = request
                .send()
                .await
                .map_err(|error| self.unreachable(error))?;
            let status = response.status();
            let bytes = response
                .bytes()
                .await
                .with_context(|| format!("the daemon at {} broke off its answer", self.base))?;
            if status.is_success() {
                Ok(bytes.to_vec())
            } else {
                Err(refusal(status, &bytes))
            }
        })
    }

    /// The error for a daemon that cannot be reached.
    fn unreachable(&self, error: reqwest::Error) -> anyhow::Error {
        if error.is_connect() {
            let message = match self.origin {
                Origin::Given => format!(
                    "no daemon running at {}; start one with `kith daemon`",
                    self.base
                ),
                Origin::ApiFile => format!(
                    "no daemon running at {} (its `api` file names {}, which does not answer: \
                     the daemon stopped without removing it?); start one with `kith daemon`",
                    self.dir, self.base
                ),
            };
            anyhow::Error::new(error).context(message)
        } else if error.is_timeout() {
            anyhow::Error::new(error).context(format!(
                "the daemon at {} did not answer in time; see its log",
                self.base
            ))
        } else {
            anyhow::Error::new(error).context(format!("cannot talk to the daemon at {}", self.base))
        }
    }
}

/// Whether `error` says that no daemon answered at the address (nothing listens there).
pub(crate) fn is_unreachable(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<reqwest::Error>()
            .is_some_and(reqwest::Error::is_connect)
    })
}

/// The error for a non-2xx answer: the API's message first, status and code as the cause.
fn refusal(status: StatusCode, bytes: &[u8]) -> anyhow::Error {
    match serde_json::from_slice::<ErrorBody>(bytes) {
        Ok(body) => anyhow!("HTTP {status}, code {}", body.code).context(body.error),
        Err(_) => anyhow!(
            "the daemon answered HTTP {status}: {}",
            String::from_utf8_lossy(bytes)
                .chars()
                .take(200)
                .collect::<String>()
        ),
    }
}

/// `http://HOST:PORT` (no trailing slash) from a URL or a bare `HOST:PORT`.
fn normalise(api: &str) -> Result<String> {
    let api = api.trim().trim_end_matches('/');
    if api.is_empty() {
        bail!("the API address is empty; give a URL such as http://127.0.0.1:5050");
    }
    if let Some(rest) = api.strip_prefix("https://") {
        bail!("the daemon's API speaks plain HTTP on loopback, not HTTPS; use http://{rest}");
    }
    if api.starts_with("http://") {
        Ok(api.to_owned())
    } else if api.contains("://") {
        bail!("`{api}` is not an http:// URL; give a URL such as http://127.0.0.1:5050")
    } else {
        Ok(format!("http://{api}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_normalised() {
        assert_eq!(
            normalise("127.0.0.1:5050").unwrap(),
            "http://127.0.0.1:5050"
        );
        assert_eq!(
            normalise("http://127.0.0.1:5050/").unwrap(),
            "http://127.0.0.1:5050"
        );
        assert!(normalise("https://x:1").is_err());
        assert!(normalise("ftp://x:1").is_err());
        assert!(normalise(" ").is_err());
    }

    #[test]
    fn refusals_carry_the_message_and_the_code() {
        let error = refusal(
            StatusCode::BAD_REQUEST,
            br#"{"error": "the text is empty", "code": "empty_text"}"#,
        );
        assert_eq!(error.to_string(), "the text is empty");
        assert!(format!("{error:#}").contains("empty_text"));
        let error = refusal(StatusCode::BAD_GATEWAY, b"<html>");
        assert!(error.to_string().contains("502"));
    }
}
