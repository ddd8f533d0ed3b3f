//! The OpenAPI document, `GET /api/openapi.json`: served without the token, it lists every
//! route of the router and nothing else, with the bearer security on `/api/v1`, and every
//! route the web UI (`ui/assets/*.js`) calls. The router's routes are written down in
//! [`ROUTES`], which is checked against the `.route(…)` calls of `src/routes.rs`.

// Helpers outside `#[test]` functions panic on purpose: a failed step fails the test.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use reqwest::StatusCode;
use serde_json::Value;

mod support;

use support::Server;

/// Every route of `routes::router` (crates/api/src/routes.rs): method and path template, as
/// the document writes them. Axum's catch-all `/p/{*link}` is `/p/{link}` in OpenAPI, which
/// has no catch-all. A route added to the router must be added here and to the document
/// (`openapi::ApiDoc`); the test fails while the two differ.
const ROUTES: &[(&str, &str)] = &[
    // Open: no token.
    ("get", "/health"),
    ("get", "/api/openapi.json"),
    ("get", "/feeds/{file}"),
    ("get", "/p/{link}"),
    ("get", "/{user}/{slug}"),
    ("get", "/{slug}"),
    // The web UI (`ui`): its page, files and sign-in.
    ("get", "/"),
    ("get", "/assets/{file}"),
    ("get", "/login"),
    ("post", "/logout"),
    // The event stream: the bearer token or `?access_token=`.
    ("get", "/api/v1/events"),
    // The bearer token.
    ("get", "/api/v1/identity"),
    ("post", "/api/v1/posts"),
    ("get", "/api/v1/entries/{id}"),
    ("delete", "/api/v1/entries/{id}"),
    ("get", "/api/v1/entries/{id}/thread"),
    ("post", "/api/v1/entries/{id}/reactions"),
    ("post", "/api/v1/entries/{id}/reposts"),
    ("post", "/api/v1/entries/{id}/edits"),
    ("get", "/api/v1/entries/{id}/history"),
    ("post", "/api/v1/blobs"),
    ("get", "/api/v1/blobs/{id}"),
    ("post", "/api/v1/profile"),
    ("get", "/api/v1/profiles/{did}"),
    ("get", "/api/v1/notifications"),
    ("post", "/api/v1/names"),
    ("get", "/api/v1/names/{name}"),
    ("delete", "/api/v1/names/{name}"),
    ("get", "/api/v1/resolve"),
    ("get", "/api/v1/tags"),
    ("post", "/api/v1/tags"),
    ("get", "/api/v1/tags/{tag}"),
    ("delete", "/api/v1/tags/{tag}"),
    ("get", "/api/v1/public"),
    ("get", "/api/v1/public/settings"),
    ("put", "/api/v1/public/settings"),
    ("get", "/api/v1/blocks"),
    ("post", "/api/v1/blocks"),
    ("delete", "/api/v1/blocks/{did}"),
    ("get", "/api/v1/mutes"),
    ("post", "/api/v1/mutes"),
    ("delete", "/api/v1/mutes/{did}"),
    ("get", "/api/v1/timelines/home"),
    ("get", "/api/v1/feeds/{did}"),
    ("get", "/api/v1/forks/{did}"),
    ("get", "/api/v1/lists"),
    ("post", "/api/v1/lists"),
    ("delete", "/api/v1/lists/{name}"),
    ("post", "/api/v1/lists/{name}/members"),
    ("delete", "/api/v1/lists/{name}/members/{did}"),
    ("get", "/api/v1/dms"),
    ("post", "/api/v1/dms"),
    ("get", "/api/v1/follows"),
    ("post", "/api/v1/follows"),
    ("delete", "/api/v1/follows/{did}"),
    ("get", "/api/v1/peers"),
    ("get", "/api/v1/denied-peers"),
    ("post", "/api/v1/denied-peers"),
    ("delete", "/api/v1/denied-peers"),
    ("delete", "/api/v1/denied-peers/{peer_id}"),
    ("get", "/api/v1/heads/{did}"),
    ("get", "/api/v1/status"),
    ("get", "/metrics"),
    ("get", "/api/v1/bridges"),
    ("post", "/api/v1/bridges"),
    ("post", "/api/v1/ui/login"),
];

/// The keys of a path item that are operations.
const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Fetches the document without a token.
async fn document(server: &Server) -> Value {
    let response = server
        .http
        .get(server.url("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()[reqwest::header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    serde_json::from_str(&response.text().await.unwrap()).unwrap()
}

/// Every operation of the document: (method, path) → operation.
fn operations(doc: &Value) -> BTreeMap<(String, String), Value> {
    let mut found = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (key, operation) in item.as_object().unwrap() {
            if METHODS.contains(&key.as_str()) {
                found.insert((key.clone(), path.clone()), operation.clone());
            }
        }
    }
    found
}

/// The media types of an operation's answer with `status`.
fn media_types(operation: &Value, status: &str) -> Vec<String> {
    operation["responses"][status]["content"]
        .as_object()
        .map(|content| content.keys().cloned().collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_lists_every_route_and_nothing_else() {
    let server = Server::start().await;
    let doc = document(&server).await;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        doc["openapi"]
    );
    assert_eq!(doc["info"]["title"], "kith daemon API");
    assert_eq!(doc["info"]["version"], kith_api::VERSION);
    assert!(
        doc["info"]["description"]
            .as_str()
            .unwrap()
            .contains("docs/API.md")
    );

    // The routes and the document's operations are the same set.
    let listed: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(method, path)| ((*method).to_owned(), (*path).to_owned()))
        .collect();
    assert_eq!(listed.len(), ROUTES.len(), "a route is listed twice");
    let operations = operations(&doc);
    let documented: BTreeSet<(String, String)> = operations.keys().cloned().collect();
    let missing: Vec<_> = listed.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "routes missing from the document: {missing:?}"
    );
    let unknown: Vec<_> = documented.difference(&listed).collect();
    assert!(
        unknown.is_empty(),
        "the document has operations that are no route (or not in ROUTES): {unknown:?}"
    );

    let mut operation_ids = BTreeSet::new();
    for ((method, path), operation) in &operations {
        let id = operation["operationId"].as_str().unwrap();
        assert!(
            operation_ids.insert(id.to_owned()),
            "operationId {id} twice"
        );
        assert!(
            !operation["summary"].as_str().unwrap_or("").is_empty(),
            "{method} {path} has no summary"
        );
        let tags = operation["tags"].as_array().unwrap();
        assert_eq!(tags.len(), 1, "{method} {path}: {tags:?}");
        // Every `{param}` of the path is declared as a path parameter, and no other.
        let in_template: BTreeSet<&str> = path
            .split('/')
            .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        let declared: BTreeSet<&str> = operation["parameters"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter(|parameter| parameter["in"] == "path")
            .map(|parameter| parameter["name"].as_str().unwrap())
            .collect();
        assert_eq!(in_template, declared, "{method} {path}");
        // A success answer (or a redirect), and every answer with a description.
        let responses = operation["responses"].as_object().unwrap();
        assert!(
            responses
                .keys()
                .any(|status| status.starts_with(['2', '3'])),
            "{method} {path}: {responses:?}"
        );
        for (status, response) in responses {
            assert!(
                !response["description"].as_str().unwrap_or("").is_empty(),
                "{method} {path} {status}"
            );
        }

        // Security: the bearer token on /api/v1 and /metrics (and the query token on the
        // event stream too), none on the open routes.
        let security: Vec<&str> = operation["security"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .flat_map(|requirement| requirement.as_object().unwrap().keys())
            .map(String::as_str)
            .collect();
        if path.starts_with("/api/v1/") || path == "/metrics" {
            assert!(
                security.contains(&"bearer"),
                "{method} {path}: {security:?}"
            );
            assert!(
                responses.contains_key("401"),
                "{method} {path} does not document 401"
            );
            let expected: &[&str] = if path == "/api/v1/events" {
                &["bearer", "access_token"]
            } else {
                &["bearer"]
            };
            assert_eq!(security, expected, "{method} {path}");
            // The web UI's cookie may not change anything from another origin.
            if method != "get" {
                assert!(
                    responses["403"]["description"]
                        .as_str()
                        .unwrap()
                        .contains("`cross_origin`"),
                    "{method} {path}"
                );
            }
        } else {
            assert!(security.is_empty(), "{method} {path}: {security:?}");
        }
    }
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["type"], "http");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert!(
        schemes["bearer"]["description"]
            .as_str()
            .unwrap()
            .contains("kith_session")
    );
    assert_eq!(schemes["access_token"]["type"], "apiKey");
    assert_eq!(schemes["access_token"]["in"], "query");
    assert_eq!(schemes["access_token"]["name"], "access_token");

    // Media types that are not JSON.
    let operation = |method: &str, path: &str| &operations[&(method.to_owned(), path.to_owned())];
    assert_eq!(
        media_types(operation("get", "/api/v1/events"), "200"),
        ["text/event-stream"]
    );
    for path in ["/p/{link}", "/{user}/{slug}", "/{slug}"] {
        assert!(
            media_types(operation("get", path), "200").contains(&"text/html".to_owned()),
            "{path}"
        );
    }
    assert_eq!(
        media_types(operation("get", "/feeds/{file}"), "200"),
        ["application/atom+xml"]
    );
    assert!(
        media_types(operation("get", "/api/v1/blobs/{id}"), "200")
            .contains(&"image/png".to_owned())
    );
    let post = operation("post", "/api/v1/posts");
    assert_eq!(
        post["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/NewPost"
    );
    assert_eq!(
        post["responses"]["201"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/EntryObject"
    );
    assert!(
        post["responses"]["400"]["description"]
            .as_str()
            .unwrap()
            .contains("`empty_text`")
    );
    let home = operation("get", "/api/v1/timelines/home");
    let query: BTreeSet<&str> = home["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|parameter| parameter["in"] == "query")
        .map(|parameter| parameter["name"].as_str().unwrap())
        .collect();
    assert_eq!(query, BTreeSet::from(["limit", "cursor"]));

    // The schemas, with the model's doc comments as descriptions.
    let schemas = &doc["components"]["schemas"];
    for name in [
        "EntryObject",
        "ErrorBody",
        "EntryEvent",
        "NotificationObject",
        "ResetEvent",
        "ProfileObject",
        "BridgeObject",
    ] {
        assert!(schemas[name].is_object(), "no schema {name}");
    }
    let entry = &schemas["EntryObject"];
    assert!(
        entry["description"]
            .as_str()
            .unwrap()
            .contains("One entry of a feed")
    );
    for field in [
        "id",
        "author",
        "seq",
        "kind",
        "text",
        "permalink",
        "reactions",
    ] {
        assert!(
            entry["properties"][field].is_object(),
            "EntryObject.{field}"
        );
    }
    assert!(
        entry["properties"]["id"]["description"]
            .as_str()
            .unwrap()
            .contains("Content id")
    );
    assert!(schemas["ErrorBody"]["properties"]["code"].is_object());

    server.stop().await;
}

/// The routes of the router as `src/routes.rs` writes them: every `.route("PATH", …)` call
/// with the methods of its method router (`get(…)`, `.post(…)`, …). A catch-all `{*name}` is
/// written `{name}`, as in the document.
fn router_routes() -> BTreeSet<(String, String)> {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/routes.rs");
    let source = std::fs::read_to_string(&file).unwrap();
    let mut found = BTreeSet::new();
    for (start, _) in source.match_indices(".route(") {
        let open = start + ".route".len();
        let call = &source[open + 1..skip_balanced(&source, open) - 1];
        let Some(quote) = call.find('"') else {
            continue;
        };
        let (path, after) = literal(call, quote);
        let path = path.replace("{*", "{");
        let handlers = &call[after..];
        let mut methods = 0;
        for method in [
            "get", "post", "put", "delete", "patch", "head", "options", "trace",
        ] {
            for (at, _) in handlers.match_indices(&format!("{method}(")) {
                let before = handlers[..at].chars().next_back().unwrap_or(' ');
                if !(before.is_alphanumeric() || before == '_' || before == ':') {
                    found.insert((method.to_owned(), path.clone()));
                    methods += 1;
                }
            }
        }
        assert!(methods > 0, "no method in `.route({call})`");
    }
    found
}

#[test]
fn the_route_list_is_the_router() {
    let listed: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(method, path)| ((*method).to_owned(), (*path).to_owned()))
        .collect();
    let routed = router_routes();
    assert!(
        routed.len() > 40,
        "the scan of routes.rs found only {routed:?}"
    );
    let missing: Vec<_> = routed.difference(&listed).collect();
    assert!(
        missing.is_empty(),
        "routes of routes.rs missing from ROUTES (and so, maybe, from the document): {missing:?}"
    );
    let gone: Vec<_> = listed.difference(&routed).collect();
    assert!(
        gone.is_empty(),
        "ROUTES lists routes routes.rs no longer has: {gone:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_the_web_ui_calls_is_in_the_document() {
    let server = Server::start().await;
    let doc = document(&server).await;
    server.stop().await;
    let templates: Vec<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();

    let calls = ui_calls();
    let distinct: BTreeSet<&UiPath> = calls.iter().map(|call| &call.path).collect();
    assert!(
        distinct.len() >= 10,
        "found only {} API paths in the UI's scripts (is the scanner broken?): {distinct:?}",
        distinct.len()
    );
    let unmatched = unmatched(&calls, &templates);
    assert!(
        unmatched.is_empty(),
        "the web UI calls routes the OpenAPI document lacks:\n{}",
        unmatched.join("\n")
    );
}

// ---- the scan of the UI's scripts ----

/// One segment of a path the UI calls.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Segment {
    /// Written out in the script.
    Literal(String),
    /// Computed (`${…}`, or a concatenated expression): one path segment.
    Any,
}

/// A path the UI calls, segment by segment (after `/`, without the query).
type UiPath = Vec<Segment>;

/// A path and where the script has it.
#[derive(Debug)]
struct UiCall {
    path: UiPath,
    at: String,
}

/// Stands for an interpolation while a literal is read.
const HOLE: char = '\u{0}';

/// The prefix of the API's paths.
const API_PREFIX: &str = "/api/v1";

/// Every API path in the UI's scripts (`ui/assets/**/*.js`, and `ui/index.html` for inline
/// scripts), read now, so that the UI's current calls are checked.
fn ui_calls() -> Vec<UiCall> {
    let ui = Path::new(env!("CARGO_MANIFEST_DIR")).join("ui");
    let mut files = vec![ui.join("index.html")];
    collect_scripts(&ui.join("assets"), &mut files);
    assert!(files.len() > 1, "no scripts under {}", ui.display());
    let mut calls = Vec::new();
    for file in files {
        let source = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
        let name = file
            .strip_prefix(&ui)
            .unwrap_or(&file)
            .display()
            .to_string();
        for (line, path) in scan(&source) {
            calls.push(UiCall {
                path,
                at: format!("ui/{name}:{line}"),
            });
        }
    }
    calls
}

fn collect_scripts(dir: &Path, files: &mut Vec<PathBuf>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    let mut paths: Vec<PathBuf> = entries.map(|entry| entry.unwrap().path()).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            collect_scripts(&path, files);
        } else if path.extension().is_some_and(|extension| extension == "js") {
            files.push(path);
        }
    }
}

/// The API paths of one script, with their line numbers: every string or template literal
/// that starts with `/api/v1` (`'/api/v1/peers'`, `` `/api/v1/entries/${id}/thread` ``,
/// `'/api/v1/follows/' + encodeURIComponent(did)`), up to its query (`?`). Interpolations and
/// concatenated expressions count as one path segment each; concatenated literals are read on.
fn scan(source: &str) -> Vec<(usize, UiPath)> {
    let mut found = Vec::new();
    let bytes = source.as_bytes();
    let mut at = 0;
    while let Some(offset) = source[at..].find(API_PREFIX) {
        let start = at + offset;
        at = start + API_PREFIX.len();
        // Only the start of a literal: a quote right before, and the prefix whole after.
        let Some(&quote) = start.checked_sub(1).map(|before| &bytes[before]) else {
            continue;
        };
        if !matches!(quote, b'\'' | b'"' | b'`') {
            continue;
        }
        let rest = &source[at..];
        if !(rest.starts_with(['/', '?', '\'', '"', '`']) || rest.starts_with("${")) {
            continue;
        }
        let (mut text, mut end) = literal(source, start - 1);
        // `'/api/v1/follows/' + encodeURIComponent(did)`: read the concatenation on.
        while !text.contains('?') {
            let Some(next) = concatenated(source, end) else {
                break;
            };
            match bytes[next] {
                b'\'' | b'"' | b'`' => {
                    let (more, after) = literal(source, next);
                    text.push_str(&more);
                    end = after;
                }
                _ => {
                    text.push(HOLE);
                    end = skip_expression(source, next);
                }
            }
        }
        let path = text.split(['?', '#']).next().unwrap_or_default();
        let segments = path
            .split('/')
            .skip(1)
            .map(|segment| {
                if segment.contains(HOLE) {
                    Segment::Any
                } else {
                    Segment::Literal(segment.to_owned())
                }
            })
            .collect();
        let line = source[..start].matches('\n').count() + 1;
        found.push((line, segments));
        at = end.max(at);
    }
    found
}

/// The literal whose quote is at `open`: its text (each `${…}` an [`HOLE`]) and the index
/// after its closing quote.
fn literal(source: &str, open: usize) -> (String, usize) {
    let bytes = source.as_bytes();
    let quote = bytes[open];
    let mut text = String::new();
    let mut i = open + 1;
    while i < bytes.len() {
        match bytes[i] {
            b if b == quote => return (text, i + 1),
            b'\\' => {
                let c = source[i + 1..].chars().next().unwrap_or_default();
                text.push(c);
                i += 1 + c.len_utf8();
            }
            b'$' if quote == b'`' && bytes.get(i + 1) == Some(&b'{') => {
                text.push(HOLE);
                i = skip_balanced(source, i + 1);
            }
            b'\n' if quote != b'`' => return (text, i),
            _ => {
                let c = source[i..].chars().next().unwrap_or_default();
                text.push(c);
                i += c.len_utf8();
            }
        }
    }
    (text, i)
}

/// After a literal ending at `end`: the start of what `+` concatenates to it, if anything.
fn concatenated(source: &str, end: usize) -> Option<usize> {
    let rest = &source[end..];
    let after_space = rest.len() - rest.trim_start().len();
    let rest = rest.trim_start().strip_prefix('+')?;
    // `+=` or `++` is not a concatenation of this literal.
    if rest.starts_with(['=', '+']) {
        return None;
    }
    let skipped = rest.len() - rest.trim_start().len();
    let next = end + after_space + 1 + skipped;
    (next < source.len()).then_some(next)
}

/// The index after the bracketed group opening at `open` (`(`, `[` or `{`).
fn skip_balanced(source: &str, open: usize) -> usize {
    let bytes = source.as_bytes();
    let mut depth = 0usize;
    let mut i = open;
    while i < bytes.len() {
        match bytes[i] {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            b'\'' | b'"' | b'`' => {
                i = literal(source, i).1;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    i
}

/// The index after an operand such as `encodeURIComponent(did)` or `entry.id`.
fn skip_expression(source: &str, start: usize) -> usize {
    let bytes = source.as_bytes();
    let mut i = start;
    while i < bytes.len() {
        match bytes[i] {
            b'(' | b'[' => i = skip_balanced(source, i),
            b if b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b == b'.' => i += 1,
            _ => break,
        }
    }
    i
}

/// Whether the path template `template` (`/api/v1/entries/{id}/thread`) covers `path`: the
/// same number of segments, a `{param}` segment matching any segment, a literal one only the
/// same literal (a computed segment of the UI matches only a `{param}`).
fn covers(template: &str, path: &[Segment]) -> bool {
    let segments: Vec<&str> = template.split('/').skip(1).collect();
    segments.len() == path.len()
        && segments
            .iter()
            .zip(path)
            .all(|(template, segment)| match segment {
                _ if template.starts_with('{') && template.ends_with('}') => true,
                Segment::Literal(literal) => literal == template,
                Segment::Any => false,
            })
}

/// The calls no template covers, described for a failure message.
fn unmatched(calls: &[UiCall], templates: &[String]) -> Vec<String> {
    calls
        .iter()
        .filter(|call| {
            !templates
                .iter()
                .any(|template| covers(template, &call.path))
        })
        .map(|call| format!("{}: {}", call.at, show(&call.path)))
        .collect()
}

fn show(path: &[Segment]) -> String {
    path.iter()
        .map(|segment| match segment {
            Segment::Literal(literal) => format!("/{literal}"),
            Segment::Any => "/*".to_owned(),
        })
        .collect()
}

fn shown(source: &str) -> Vec<String> {
    scan(source)
        .into_iter()
        .map(|(line, path)| format!("{line}:{}", show(&path)))
        .collect()
}

#[test]
fn the_scanner_reads_the_forms_the_ui_uses() {
    let source = r#"
// GET /api/v1/identity in a comment is not a call.
export const identity = () => get('/api/v1/identity');
export const thread = (id) => get(`/api/v1/entries/${seg(id)}/thread`);
const url = last ? `/api/v1/events?last_event_id=${encodeURIComponent(last)}` : "/api/v1/events";
export const unfollow = (did) => del('/api/v1/follows/' + encodeURIComponent(did));
export const odd = (a, b) => get('/api/v1/a/' + x[a].y(b) + '/b' + "?q=" + 1);
export const nested = (id) => get(`/api/v1/entries/${ids[`${id}`]}/history`);
const notApi = '/api/v1x/nothing' + '/api/v2/nothing';
"#;
    assert_eq!(
        shown(source),
        [
            "3:/api/v1/identity",
            "4:/api/v1/entries/*/thread",
            "5:/api/v1/events",
            "5:/api/v1/events",
            "6:/api/v1/follows/*",
            "7:/api/v1/a/*/b",
            "8:/api/v1/entries/*/history",
        ]
    );
}

#[test]
fn the_ui_check_fails_on_a_route_the_document_lacks() {
    // The real check, on the UI's scripts as they are, against the routes of `ROUTES`
    // (which the document equals), passes; the same scripts plus one bogus call fail, naming
    // exactly that call.
    let templates: Vec<String> = ROUTES.iter().map(|(_, path)| (*path).to_owned()).collect();
    let mut calls = ui_calls();
    assert!(calls.len() >= 10);
    assert_eq!(unmatched(&calls, &templates), Vec::<String>::new());
    for (line, path) in scan("await fetch(`/api/v1/entries/${id}/bogus`);\nget('/api/v1/bogus');") {
        calls.push(UiCall {
            path,
            at: format!("bogus.js:{line}"),
        });
    }
    assert_eq!(
        unmatched(&calls, &templates),
        [
            "bogus.js:1: /api/v1/entries/*/bogus",
            "bogus.js:2: /api/v1/bogus",
        ]
    );
    // A computed segment where the document has a literal one is no match either.
    assert!(!covers(
        "/api/v1/timelines/home",
        &scan("`/api/v1/timelines/${which}`")[0].1
    ));
    assert!(covers(
        "/api/v1/feeds/{did}",
        &scan("'/api/v1/feeds/' + did")[0].1
    ));
    assert!(covers(
        "/api/v1/feeds/{did}",
        &scan("'/api/v1/feeds/me'")[0].1
    ));
}
