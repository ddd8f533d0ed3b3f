//! Home peers behind real NATs, in Linux network namespaces: a public `server` peer P, and two
//! `home` peers H1 and H2, each behind its own router that masquerades (iptables) and lets
//! nothing in that the home peer did not ask for. The home peers join through P, learn that
//! no one can dial them (AutoNAT), take relay reservations on P, find each other through the
//! DHT, exchange posts through the relay, and then:
//! - behind port-preserving NATs (Linux MASQUERADE keeps the source port when it is free,
//!   as most home routers do) hole punching turns the relayed connection into a direct one;
//! - behind symmetric NATs (`MASQUERADE --random-fully`: a new port for every connection) it
//!   cannot, and the connection stays relayed while posts still flow.
//!
//! Needs root, `ip` (iproute2) and `iptables`; skipped with a message where any is missing,
//! failed instead when `KITH_REQUIRE_NETNS_TESTS=1` (`.ci/run` sets it where they work).
//! Addresses: the "internet" uses documentation ranges (203.0.113.0/24, 198.51.100.0/24),
//! which kith treats as public; the homes are 192.168.1.0/24 and 192.168.2.0/24.

// Test helpers outside #[test] functions unwrap freely.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use support::{Daemon, Sandbox, wait_for};

/// AutoNAT probes every 5 s, relays are checked every 5 s, DCUtR waits for identify; CI
/// machines are slow.
const DEADLINE: Duration = Duration::from_secs(120);

/// Why this machine cannot run the test, if it cannot.
fn missing_requirements() -> Option<String> {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0");
    if !root {
        return Some("not running as root".into());
    }
    for tool in ["ip", "iptables"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|out| out.status.success());
        if !found {
            return Some(format!("`{tool}` is not installed"));
        }
    }
    // One probe per test: the tests run in parallel.
    static PROBES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = PROBES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let probe = format!("kithprobe{}-{n}", std::process::id());
    let created = Command::new("ip")
        .args(["netns", "add", &probe])
        .output()
        .is_ok_and(|out| out.status.success());
    if !created {
        return Some("`ip netns add` failed (no permission for network namespaces?)".into());
    }
    let masquerade = Command::new("ip")
        .args(["netns", "exec", &probe, "iptables", "-t", "nat", "-A"])
        .args(["POSTROUTING", "-j", "MASQUERADE"])
        .output()
        .is_ok_and(|out| out.status.success());
    let _ = Command::new("ip").args(["netns", "del", &probe]).status();
    if !masquerade {
        return Some("iptables cannot MASQUERADE in a network namespace".into());
    }
    None
}

/// `true` when the test may run; prints why not, or fails if it is required.
fn can_run() -> bool {
    match missing_requirements() {
        None => true,
        Some(why) => {
            let message = format!(
                "skipped: the network-namespace NAT test needs root, ip and iptables ({why})"
            );
            assert!(
                std::env::var("KITH_REQUIRE_NETNS_TESTS").as_deref() != Ok("1"),
                "{message}, and KITH_REQUIRE_NETNS_TESTS=1"
            );
            eprintln!("{message}");
            false
        }
    }
}

/// Runs a command that must succeed.
fn run(args: &[&str]) {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `args` inside the namespace `ns`.
fn run_in(ns: &str, args: &[&str]) {
    run(&[&["ip", "netns", "exec", ns][..], args].concat());
}

/// The namespaces of one test, deleted when it ends (also when it fails). Daemons must be
/// stopped first: declare them after the topology so they drop before it.
struct Topology {
    prefix: String,
    namespaces: Vec<String>,
}

impl Topology {
    /// The public namespace and two homes, each a router (WAN + LAN) and a host. `symmetric`:
    /// the routers pick a random port for every connection.
    fn build(tag: &str, symmetric: bool) -> Self {
        let prefix = format!("k{}{tag}", std::process::id() % 100_000);
        let mut topology = Self {
            prefix: prefix.clone(),
            namespaces: Vec::new(),
        };
        let public = topology.add("pub");
        run_in(&public, &["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
        for (home, wan_net) in [(1, "203.0.113"), (2, "198.51.100")] {
            let router = topology.add(&format!("r{home}"));
            let host = topology.add(&format!("h{home}"));
            // Internet side: P has .1, the router's WAN .2.
            let (p_end, wan) = (format!("{prefix}p{home}"), format!("{prefix}w{home}"));
            topology.veth(&public, &p_end, &format!("{wan_net}.1/24"), &router, &wan);
            run(&[
                "ip",
                "-n",
                &router,
                "addr",
                "add",
                &format!("{wan_net}.2/24"),
                "dev",
                &wan,
            ]);
            run(&["ip", "-n", &router, "link", "set", &wan, "up"]);
            run(&[
                "ip",
                "-n",
                &router,
                "route",
                "add",
                "default",
                "via",
                &format!("{wan_net}.1"),
            ]);
            // Home side: the router has .1, the host .2.
            let (lan, eth) = (format!("{prefix}l{home}"), format!("{prefix}e{home}"));
            let lan_net = format!("192.168.{home}");
            topology.veth(&router, &lan, &format!("{lan_net}.1/24"), &host, &eth);
            run(&[
                "ip",
                "-n",
                &host,
                "addr",
                "add",
                &format!("{lan_net}.2/24"),
                "dev",
                &eth,
            ]);
            run(&["ip", "-n", &host, "link", "set", &eth, "up"]);
            run(&[
                "ip",
                "-n",
                &host,
                "route",
                "add",
                "default",
                "via",
                &format!("{lan_net}.1"),
            ]);
            // The NAT: outgoing connections masquerade; in comes only what answers them.
            run_in(&router, &["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
            let mut masquerade = vec![
                "iptables",
                "-t",
                "nat",
                "-A",
                "POSTROUTING",
                "-o",
                &wan,
                "-j",
                "MASQUERADE",
            ];
            if symmetric {
                masquerade.push("--random-fully");
            }
            run_in(&router, &masquerade);
            // A home router's firewall: from the WAN, only what answers an outgoing
            // connection, to the homes and to the router itself; the rest is dropped
            // without a reply (a reset would end a hole punch whose other half arrives a
            // moment later).
            for chain in ["FORWARD", "INPUT"] {
                let established = "ESTABLISHED,RELATED";
                run_in(
                    &router,
                    &["iptables", "-A", chain, "-i", &wan, "-m", "conntrack"]
                        .into_iter()
                        .chain(["--ctstate", established, "-j", "ACCEPT"])
                        .collect::<Vec<_>>(),
                );
                run_in(
                    &router,
                    &["iptables", "-A", chain, "-i", &wan, "-j", "DROP"],
                );
            }
        }
        topology
    }

    fn add(&mut self, name: &str) -> String {
        let ns = format!("{}{name}", self.prefix);
        run(&["ip", "netns", "add", &ns]);
        self.namespaces.push(ns.clone());
        run(&["ip", "-n", &ns, "link", "set", "lo", "up"]);
        ns
    }

    /// A veth pair from `a` (its end `a_end` gets `a_addr`) to `b` (its end `b_end`, left
    /// for the caller to address).
    fn veth(&self, a: &str, a_end: &str, a_addr: &str, b: &str, b_end: &str) {
        run(&[
            "ip", "link", "add", a_end, "netns", a, "type", "veth", "peer", "name", b_end, "netns",
            b,
        ]);
        run(&["ip", "-n", a, "addr", "add", a_addr, "dev", a_end]);
        run(&["ip", "-n", a, "link", "set", a_end, "up"]);
    }

    fn ns(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        for ns in self.namespaces.iter().rev() {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// A kith peer in a namespace.
struct NsPeer {
    sandbox: Sandbox,
    daemon: Daemon,
    did: String,
    peer_id: String,
}

impl NsPeer {
    fn start(ns: &str, profile: &str, bootstrap: Option<&str>) -> Self {
        let sandbox = Sandbox::in_netns(ns);
        let did = sandbox.json(&["init", "--profile", profile])["did"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut args = vec!["--listen", "/ip4/0.0.0.0/tcp/4001"];
        if let Some(bootstrap) = bootstrap {
            args.extend(["--bootstrap", bootstrap]);
        }
        let daemon = sandbox.daemon(&args);
        let peer_id = sandbox.json(&["id"])["peer_id"]
            .as_str()
            .unwrap()
            .to_owned();
        Self {
            sandbox,
            daemon,
            did,
            peer_id,
        }
    }

    fn status(&self) -> Value {
        self.sandbox.json(&["status"])
    }

    fn peers(&self) -> Vec<Value> {
        self.sandbox.list(&["peers"])
    }

    /// The connection to `other`, if any.
    fn peer(&self, other: &NsPeer) -> Option<Value> {
        self.peers()
            .into_iter()
            .find(|p| p["peer_id"] == other.peer_id.as_str())
    }

    fn has_entry(&self, author: &NsPeer, id: &str) -> bool {
        self.sandbox
            .list(&["feed", &author.did])
            .iter()
            .any(|entry| entry["id"] == id)
    }

    fn log(&self) -> String {
        self.daemon.log()
    }
}

/// What the two homes saw of each other: `true` when hole punching made the connection
/// direct.
fn through_the_nats(symmetric: bool) -> Option<bool> {
    if !can_run() {
        return None;
    }
    let topology = Topology::build(if symmetric { "s" } else { "m" }, symmetric);
    let p = NsPeer::start(&topology.ns("pub"), "server", None);
    let p_addr = format!("/ip4/203.0.113.1/tcp/4001/p2p/{}", p.peer_id);
    let p_addr_2 = format!("/ip4/198.51.100.1/tcp/4001/p2p/{}", p.peer_id);
    let h1 = NsPeer::start(&topology.ns("h1"), "home", Some(&p_addr));
    let h2 = NsPeer::start(&topology.ns("h2"), "home", Some(&p_addr_2));

    // P sees each home at its router's WAN address, never at the home's own.
    wait_for("P to see both homes", DEADLINE, || {
        p.peer(&h1).is_some() && p.peer(&h2).is_some()
    });
    for (home, wan) in [(&h1, "/ip4/203.0.113.2/"), (&h2, "/ip4/198.51.100.2/")] {
        let seen = p.peer(home).unwrap();
        let addrs: Vec<&str> = seen["addrs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert!(addrs.iter().all(|a| a.starts_with(wan)), "{seen}");
    }
    let p_status = p.status();
    assert_eq!(p_status["reachability"]["relay_server"], true, "{p_status}");
    assert_eq!(p_status["reachability"]["dht_server"], true, "{p_status}");
    // Public by configuration, at the public addresses it listens on.
    assert_eq!(p_status["reachability"]["status"], "public", "{p_status}");
    let external = p_status["reachability"]["external_addrs"].to_string();
    assert!(
        external.contains("/ip4/203.0.113.1/tcp/4001")
            && external.contains("/ip4/198.51.100.1/tcp/4001"),
        "{p_status}"
    );

    // Nobody can dial the homes: AutoNAT says so, and each takes a reservation on P.
    for home in [&h1, &h2] {
        wait_for(
            "a home to learn it is private and reserve on P",
            DEADLINE,
            || {
                let reach = &home.status()["reachability"];
                reach["status"] == "private"
                    && reach["relay_addrs"]
                        .as_array()
                        .is_some_and(|addrs| !addrs.is_empty())
            },
        );
        let status = home.status();
        let reach = &status["reachability"];
        assert_eq!(reach["dht_server"], false, "{status}");
        assert!(
            reach["relay_addrs"][0]
                .as_str()
                .unwrap()
                .contains(&format!("/p2p/{}/p2p-circuit/p2p/", p.peer_id)),
            "{status}"
        );
    }

    // H2 follows H1 by its DID alone: it finds H1's relayed address on the DHT (at P).
    let first = h1.sandbox.json(&["post", "through two NATs"])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    h2.sandbox.ok(&["follow", &h1.did]);
    wait_for("H1's first post on H2", DEADLINE, || {
        h2.has_entry(&h1, &first)
    });

    // Hole punching, where the NATs allow it. Either way the next post arrives.
    let punched = if symmetric {
        false
    } else {
        let started = std::time::Instant::now();
        while !h2.peer(&h1).is_some_and(|c| c["relayed"] == false) {
            assert!(
                started.elapsed() < DEADLINE,
                "no direct connection between the homes after {DEADLINE:?}\nH1 {}\nH2 {}\nH1's log:\n{}\nH2's log:\n{}",
                h1.status()["reachability"],
                h2.status()["reachability"],
                h1.log(),
                h2.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        true
    };
    let second = h1.sandbox.json(&["post", "and again"])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    wait_for("H1's second post on H2", DEADLINE, || {
        h2.has_entry(&h1, &second)
    });
    let connection = h2.peer(&h1);
    eprintln!(
        "{} NAT: H2's connection to H1: {connection:?}\nH1: {}\nH2: {}",
        if symmetric {
            "symmetric"
        } else {
            "port-preserving"
        },
        h1.status()["reachability"],
        h2.status()["reachability"]
    );
    if symmetric {
        let connection = connection.unwrap_or_else(|| panic!("H2 lost H1:\n{}", h2.log()));
        assert_eq!(connection["relayed"], true, "{connection}");
        assert!(
            h1.status()["reachability"]["hole_punches"] == 0
                && h2.status()["reachability"]["hole_punches"] == 0,
            "a hole was punched through a symmetric NAT"
        );
    }
    drop((h1, h2, p));
    drop(topology);
    Some(punched)
}

#[test]
fn home_peers_behind_port_preserving_nats_meet_through_a_relay_and_punch_a_hole() {
    if let Some(punched) = through_the_nats(false) {
        assert!(punched);
    }
}

#[test]
fn home_peers_behind_symmetric_nats_stay_relayed_and_still_exchange_posts() {
    through_the_nats(true);
}
