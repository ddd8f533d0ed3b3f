//! The web UI over real HTTP: its page and files, the one-time sign-in link, the session
//! cookie accepted like the token, and requests from other origins refused.

// Helpers outside `#[test]` functions panic on purpose: a failed step fails the test.
#![allow(clippy::unwrap_used)]

mod support;

use reqwest::StatusCode;
use reqwest::header;
use serde_json::json;
use support::Server;

/// An HTTP client that shows redirects instead of following them, and keeps no cookies.
fn plain_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Signs in through a fresh one-time link; returns the `Set-Cookie` header and the cookie.
async fn sign_in(server: &Server) -> (String, String) {
    let link = server
        .expect(server.post("/api/v1/ui/login"), StatusCode::CREATED)
        .await;
    let url = link["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with(&server.base), "{url}");
    assert_eq!(link["expires_in_s"], 600);
    let answer = plain_client().get(&url).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert_eq!(answer.headers()[header::LOCATION], "/");
    let set_cookie = answer.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    let cookie = set_cookie.split(';').next().unwrap().trim().to_owned();
    // The same link does not work twice.
    let again = plain_client().get(&url).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
    assert!(again.text().await.unwrap().contains("kith ui"));
    (set_cookie, cookie)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_and_its_files_are_served_with_a_strict_policy() {
    let server = Server::start().await;
    let http = plain_client();
    let page = http.get(server.url("/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let headers = page.headers().clone();
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    for rule in [
        "default-src 'self'",
        "script-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(rule), "{csp}");
    }
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    let html = page.text().await.unwrap();
    assert!(html.contains("/assets/app.js"), "{html}");

    // Every script the page loads is served, as JavaScript, with an entity tag that
    // answers 304 when the browser has it already.
    let script = http.get(server.url("/assets/app.js")).send().await.unwrap();
    assert_eq!(script.status(), StatusCode::OK);
    assert_eq!(
        script.headers()[header::CONTENT_TYPE],
        "text/javascript; charset=utf-8"
    );
    let etag = script.headers()[header::ETAG].clone();
    let cached = http
        .get(server.url("/assets/app.js"))
        .header(header::IF_NONE_MATCH, etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);
    // Nothing else: not the development proxy, not a path outside the assets.
    for path in [
        "/assets/nothing.js",
        "/assets/..%2Findex.html",
        "/assets/dev-server.py",
    ] {
        let missing = http.get(server.url(path)).send().await.unwrap();
        assert_eq!(missing.status(), StatusCode::NOT_FOUND, "{path}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_time_link_signs_the_browser_in_and_the_cookie_works_like_the_token() {
    let server = Server::start().await;
    // Making a link needs the token.
    let refused = plain_client()
        .post(server.url("/api/v1/ui/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let (set_cookie, cookie) = sign_in(&server).await;
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert!(cookie.starts_with("kith_session="), "{cookie}");

    let http = plain_client();
    // Reading with the cookie.
    let identity = http
        .get(server.url("/api/v1/identity"))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(identity.status(), StatusCode::OK);
    // Writing with the cookie, from the daemon's own page.
    let posted = http
        .post(server.url("/api/v1/posts"))
        .header(header::COOKIE, &cookie)
        .header(header::ORIGIN, &server.base)
        .header("sec-fetch-site", "same-origin")
        .json(&json!({ "text": "from the page" }))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), StatusCode::CREATED);
    // The event stream takes the cookie too (EventSource cannot set headers).
    let stream = http
        .get(server.url("/api/v1/events"))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    assert!(
        stream.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    drop(stream);

    // A forged or altered cookie is nobody.
    let forged = cookie.replace("kith_session=1.", "kith_session=1.0");
    for bad in [forged.as_str(), "kith_session=1.00.00", "kith_session="] {
        let answer = http
            .get(server.url("/api/v1/identity"))
            .header(header::COOKIE, bad)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED, "{bad}");
    }
    // A wrong bearer token is refused even with a good cookie.
    let wrong = http
        .get(server.url("/api/v1/identity"))
        .header(header::COOKIE, &cookie)
        .bearer_auth("wrong-token-wrong-token-wrong-token")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    // Signing out clears the cookie.
    let out = http.post(server.url("/logout")).send().await.unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    assert!(
        out.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_of_another_origin_cannot_act_with_the_cookie() {
    let server = Server::start().await;
    let (_, cookie) = sign_in(&server).await;
    let http = plain_client();
    let attempts: [(&str, Option<&str>, Option<&str>); 4] = [
        ("a form of another site", Some("http://evil.example"), None),
        (
            "a fetch marked cross-site",
            Some("http://evil.example"),
            Some("cross-site"),
        ),
        ("no Origin at all", None, None),
        (
            "the right Origin but a cross-site fetch",
            Some(server.base.as_str()),
            Some("cross-site"),
        ),
    ];
    for (what, origin, site) in attempts {
        let mut request = http
            .post(server.url("/api/v1/posts"))
            .header(header::COOKIE, &cookie)
            .json(&json!({ "text": "forged" }));
        if let Some(origin) = origin {
            request = request.header(header::ORIGIN, origin);
        }
        if let Some(site) = site {
            request = request.header("sec-fetch-site", site);
        }
        let answer = request.send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::FORBIDDEN, "{what}");
        let body: serde_json::Value = answer.json().await.unwrap();
        assert_eq!(body["code"], "cross_origin", "{what}: {body}");
    }
    // Nothing was posted.
    let feed = server
        .expect(
            server.get(&format!("/api/v1/feeds/{}", server.did())),
            StatusCode::OK,
        )
        .await;
    assert_eq!(feed["entries"].as_array().unwrap().len(), 0, "{feed}");
    // No CORS: nothing tells a browser to let another origin read an answer.
    let read = http
        .get(server.url("/api/v1/identity"))
        .header(header::COOKIE, &cookie)
        .header(header::ORIGIN, "http://evil.example")
        .send()
        .await
        .unwrap();
    assert!(
        !read
            .headers()
            .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
    );
    server.stop().await;
}
