//! The web UI and its sign-in.
//!
//! The UI's files (`crates/api/ui/`: `index.html` and `assets/`) are compiled into the
//! binary by `build.rs` and served at `/` and `/assets/<file>` with a strict
//! Content-Security-Policy: the page loads nothing from anywhere but the daemon.
//!
//! Sign-in without pasting tokens: `POST /api/v1/ui/login` (with the token, as `kith ui`
//! does) makes a **one-time link** `/login?code=…`, valid for [`LOGIN_CODE_TTL`]. Opening
//! it sets the session cookie [`SESSION_COOKIE`] (`HttpOnly`, `SameSite=Strict`) and
//! redirects to the page; the API then accepts the cookie wherever it accepts the token.
//!
//! The cookie is `1.<nonce>.<mac>`, where `mac` = HMAC-SHA-256 keyed with the API token
//! over a fixed label and the nonce: nothing is stored, sessions survive daemon restarts,
//! and all of them end when the token changes (delete `api.token` and restart the daemon).
//!
//! Cross-site request forgery: a page of another site cannot send the cookie (it is
//! `SameSite=Strict`), and on top of that every request authenticated by the cookie that can
//! change something (any method but `GET`/`HEAD`) must come from the daemon's own origin:
//! its `Origin` header must name the host the request was sent to, and `Sec-Fetch-Site`,
//! when the browser sends it, must be `same-origin`. Without CORS headers, pages of other
//! origins cannot read any answer either.

use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hmac::{KeyInit as _, Mac as _};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use crate::error::ApiError;
use crate::model::LoginLink;
use crate::routes::AppState;

include!(concat!(env!("OUT_DIR"), "/ui_files.rs"));

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "kith_session";

/// How long a one-time sign-in link stays valid.
pub const LOGIN_CODE_TTL: Duration = Duration::from_secs(10 * 60);

/// Unused sign-in links kept at once; making one more forgets the oldest.
pub const MAX_LOGIN_CODES: usize = 16;

/// How long the browser keeps the session cookie: a year (it ends earlier when the API
/// token changes, or at "sign out").
const SESSION_MAX_AGE_S: u64 = 365 * 24 * 60 * 60;

/// What the session MAC covers besides the nonce, so the token's MAC can mean nothing else.
const SESSION_LABEL: &[u8] = b"kith/ui-session/1\0";

/// The Content-Security-Policy of the UI's page: its own scripts, styles and images (and
/// images the page makes itself, for an avatar preview), its own API, nothing else; no
/// framing, no forms to elsewhere.
const UI_CSP: &str = "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; \
     script-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

type HmacSha256 = hmac::Hmac<Sha256>;

/// Unused one-time sign-in codes, with when each expires. Bounded by [`MAX_LOGIN_CODES`].
#[derive(Default)]
pub(crate) struct LoginCodes {
    codes: Mutex<Vec<([u8; 32], Instant)>>,
}

impl LoginCodes {
    /// A fresh code (hex), valid for [`LOGIN_CODE_TTL`].
    fn issue(&self) -> Result<String, ApiError> {
        let mut code = [0u8; 32];
        getrandom::fill(&mut code)
            .map_err(|e| ApiError::internal(format!("the system random generator failed: {e}")))?;
        let now = Instant::now();
        let mut codes = self.codes.lock().unwrap_or_else(|e| e.into_inner());
        codes.retain(|(_, expires)| *expires > now);
        if codes.len() >= MAX_LOGIN_CODES {
            codes.remove(0);
        }
        codes.push((code, now + LOGIN_CODE_TTL));
        Ok(hex(&code))
    }

    /// Whether `code` was issued, is unexpired and unused; it is used up either way.
    fn redeem(&self, code: &str) -> bool {
        let Some(given) = unhex::<32>(code) else {
            return false;
        };
        let now = Instant::now();
        let mut codes = self.codes.lock().unwrap_or_else(|e| e.into_inner());
        codes.retain(|(_, expires)| *expires > now);
        // Every stored code is compared, in time independent of where a match is.
        let found = codes
            .iter()
            .position(|(stored, _)| crate::routes::same_secret(stored, &given));
        match found {
            Some(index) => {
                codes.remove(index);
                true
            }
            None => false,
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

fn session_mac(token: &str, nonce: &[u8; 16]) -> HmacSha256 {
    // HMAC takes a key of any length.
    let mut mac = HmacSha256::new_from_slice(token.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(SESSION_LABEL);
    mac.update(nonce);
    mac
}

/// A new session cookie value for the API token `token`.
fn new_session(token: &str) -> Result<String, ApiError> {
    let mut nonce = [0u8; 16];
    getrandom::fill(&mut nonce)
        .map_err(|e| ApiError::internal(format!("the system random generator failed: {e}")))?;
    let tag = session_mac(token, &nonce).finalize().into_bytes();
    Ok(format!("1.{}.{}", hex(&nonce), hex(&tag)))
}

/// Whether `value` is a session cookie made with the API token `token` (checked in
/// constant time by the MAC).
fn valid_session(token: &str, value: &str) -> bool {
    let mut parts = value.split('.');
    let (Some("1"), Some(nonce), Some(tag), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let (Some(nonce), Some(tag)) = (unhex::<16>(nonce), unhex::<32>(tag)) else {
        return false;
    };
    session_mac(token, &nonce).verify_slice(&tag).is_ok()
}

/// The value of the session cookie in the request's `Cookie` headers, if any.
fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim())
}

/// How a request authenticated by the session cookie fares.
pub(crate) enum CookieAuth {
    /// No session cookie, or not a valid one.
    Absent,
    /// A valid session from the daemon's own page.
    Accepted,
    /// A valid session, but a request that changes something from another origin.
    CrossOrigin(String),
}

/// Checks the session cookie of a request, and for methods that change something, that the
/// request comes from the daemon's own origin.
pub(crate) fn cookie_auth(token: &str, method: &Method, headers: &HeaderMap) -> CookieAuth {
    let Some(value) = session_cookie(headers) else {
        return CookieAuth::Absent;
    };
    if !valid_session(token, value) {
        return CookieAuth::Absent;
    }
    if method == Method::GET || method == Method::HEAD {
        return CookieAuth::Accepted;
    }
    match same_origin(headers) {
        Ok(()) => CookieAuth::Accepted,
        Err(why) => CookieAuth::CrossOrigin(why),
    }
}

/// Whether a request's `Origin` (required) names the host it was sent to, and its
/// `Sec-Fetch-Site`, if sent, says `same-origin`.
fn same_origin(headers: &HeaderMap) -> Result<(), String> {
    if let Some(site) = headers.get("sec-fetch-site")
        && site.as_bytes() != b"same-origin"
    {
        return Err(format!(
            "the browser says the request comes from a `{}` page",
            site.to_str().unwrap_or("?")
        ));
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .ok_or("the request has no Host header")?;
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .ok_or("the request has no Origin header")?;
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .unwrap_or("");
    if origin_host.eq_ignore_ascii_case(host) {
        Ok(())
    } else {
        Err(format!(
            "it comes from {origin}, not from this daemon's page"
        ))
    }
}

/// `POST /api/v1/ui/login`: a one-time sign-in link for the web UI, on the host the request
/// was sent to.
pub(crate) async fn login_link(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<(StatusCode, axum::Json<LoginLink>), ApiError> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::bad_request(
                "missing_host",
                "the request has no usable Host header; send it to http://IP:PORT of the API",
            )
        })?;
    let code = state.logins.issue()?;
    Ok((
        StatusCode::CREATED,
        axum::Json(LoginLink {
            url: format!("http://{host}/login?code={code}"),
            expires_in_s: LOGIN_CODE_TTL.as_secs(),
        }),
    ))
}

/// The query of `GET /login`.
#[derive(Debug, Deserialize)]
pub(crate) struct LoginQuery {
    #[serde(default)]
    code: String,
}

/// `GET /login?code=…`: spends a one-time code, sets the session cookie and goes to the page.
pub(crate) async fn login(
    State(state): State<AppState>,
    Query(LoginQuery { code }): Query<LoginQuery>,
) -> Response {
    if !state.logins.redeem(&code) {
        return small_page(
            StatusCode::UNAUTHORIZED,
            "Sign-in link not valid",
            "This sign-in link was already used, has expired (links last 10 minutes), or was \
             never made by this daemon. Run <code>kith ui</code> on the machine running the \
             daemon and open the new link it prints.",
        );
    }
    let session = match new_session(state.token()) {
        Ok(session) => session,
        Err(error) => return error.into_response(),
    };
    let cookie = format!(
        "{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Strict; Max-Age={SESSION_MAX_AGE_S}"
    );
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, "/".to_owned()),
            (header::SET_COOKIE, cookie),
            (header::CACHE_CONTROL, "no-store".to_owned()),
            // The code must not leak to anything the page links to.
            (header::REFERRER_POLICY, "no-referrer".to_owned()),
        ],
    )
        .into_response()
}

/// `POST /logout`: forgets the session cookie in this browser.
pub(crate) async fn logout() -> Response {
    (
        StatusCode::NO_CONTENT,
        [(
            header::SET_COOKIE,
            format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
        )],
    )
        .into_response()
}

/// A small HTML page (no scripts, no loads) for the sign-in outcomes. `body` is trusted
/// HTML written here.
fn small_page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · kith</title></head><body><main><h1>{title}</h1><p>{body}</p>\
         </main></body></html>"
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, "default-src 'none'"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}

/// The UI's files with their entity tags (a hash of the contents), made once.
fn files() -> &'static [(&'static str, &'static [u8], String)] {
    static TAGGED: OnceLock<Vec<(&'static str, &'static [u8], String)>> = OnceLock::new();
    TAGGED.get_or_init(|| {
        UI_FILES
            .iter()
            .map(|(name, bytes)| {
                let digest = Sha256::digest(bytes);
                (*name, *bytes, format!("\"{}\"", hex(&digest[..16])))
            })
            .collect()
    })
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, extension)| extension) {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

/// Serves one of the UI's files, or `404 no_route`. Revalidated on every load
/// (`no-cache` with an entity tag): a new daemon version's files are used at once.
fn serve_file(name: &str, headers: &HeaderMap) -> Response {
    let Some((name, bytes, etag)) = files().iter().find(|(file, _, _)| *file == name) else {
        return ApiError::not_found("no_route", "no such file of the web UI").into_response();
    };
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|tag| tag.trim() == etag));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        Response::new(Body::from(*bytes))
    };
    let set = response.headers_mut();
    set.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(name)),
    );
    if let Ok(tag) = HeaderValue::from_str(etag) {
        set.insert(header::ETAG, tag);
    }
    set.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    set.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(UI_CSP),
    );
    set.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    set.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    set.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// `GET /`: the UI's page.
pub(crate) async fn index(headers: HeaderMap) -> Response {
    serve_file("index.html", &headers)
}

/// `GET /assets/{file}`: the UI's scripts, styles and icons.
pub(crate) async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    serve_file(&format!("assets/{file}"), &headers)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const TOKEN: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn sessions_verify_only_under_their_token() {
        let session = new_session(TOKEN).unwrap();
        assert!(valid_session(TOKEN, &session));
        assert!(!valid_session("another token of the right size!", &session));
        // One changed character anywhere, or a missing or extra part, is refused.
        for i in 0..session.len() {
            let mut bytes = session.clone().into_bytes();
            bytes[i] = if bytes[i] == b'0' { b'1' } else { b'0' };
            let changed = String::from_utf8(bytes).unwrap();
            if changed != session {
                assert!(!valid_session(TOKEN, &changed), "{changed}");
            }
        }
        assert!(!valid_session(TOKEN, ""));
        assert!(!valid_session(TOKEN, &format!("{session}.x")));
        assert!(!valid_session(TOKEN, &session.replacen("1.", "2.", 1)));
    }

    #[test]
    fn login_codes_work_once_and_only_when_issued() {
        let codes = LoginCodes::default();
        let code = codes.issue().unwrap();
        assert!(!codes.redeem(&"0".repeat(64)));
        assert!(!codes.redeem("not hex"));
        assert!(codes.redeem(&code));
        assert!(!codes.redeem(&code));
        // Bounded: the oldest unused codes are forgotten first.
        let first = codes.issue().unwrap();
        let mut last = String::new();
        for _ in 0..MAX_LOGIN_CODES {
            last = codes.issue().unwrap();
        }
        assert!(!codes.redeem(&first));
        assert!(codes.redeem(&last));
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; kith_session=xyz"),
        );
        assert_eq!(session_cookie(&headers), Some("xyz"));
        let mut other = HeaderMap::new();
        other.append(header::COOKIE, HeaderValue::from_static("kith_sessionx=1"));
        assert_eq!(session_cookie(&other), None);
    }

    #[test]
    fn changes_need_the_daemons_own_origin() {
        let session = new_session(TOKEN).unwrap();
        let headers = |origin: Option<&str>, site: Option<&str>| {
            let mut h = HeaderMap::new();
            h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:5050"));
            h.insert(
                header::COOKIE,
                HeaderValue::from_str(&format!("{SESSION_COOKIE}={session}")).unwrap(),
            );
            if let Some(origin) = origin {
                h.insert(header::ORIGIN, HeaderValue::from_str(origin).unwrap());
            }
            if let Some(site) = site {
                h.insert("sec-fetch-site", HeaderValue::from_str(site).unwrap());
            }
            h
        };
        let ok = |a: CookieAuth| matches!(a, CookieAuth::Accepted);
        // Reading needs only the cookie.
        assert!(ok(cookie_auth(TOKEN, &Method::GET, &headers(None, None))));
        // Changing needs the same origin.
        assert!(ok(cookie_auth(
            TOKEN,
            &Method::POST,
            &headers(Some("http://127.0.0.1:5050"), Some("same-origin"))
        )));
        for (origin, site) in [
            (None, None),
            (Some("http://evil.example"), None),
            (Some("http://127.0.0.1:5051"), None),
            (Some("http://127.0.0.1:5050"), Some("cross-site")),
            (Some("null"), None),
        ] {
            assert!(
                matches!(
                    cookie_auth(TOKEN, &Method::DELETE, &headers(origin, site)),
                    CookieAuth::CrossOrigin(_)
                ),
                "{origin:?} {site:?}"
            );
        }
        // No cookie: not this path's business.
        assert!(matches!(
            cookie_auth(TOKEN, &Method::GET, &HeaderMap::new()),
            CookieAuth::Absent
        ));
    }

    #[test]
    fn the_page_and_its_assets_are_embedded() {
        assert!(files().iter().any(|(name, _, _)| *name == "index.html"));
        assert!(files().iter().any(|(name, _, _)| name.ends_with(".js")));
        for (name, bytes, _) in files() {
            assert!(!bytes.is_empty(), "{name} is empty");
            assert_ne!(content_type(name), "application/octet-stream", "{name}");
        }
    }
}
