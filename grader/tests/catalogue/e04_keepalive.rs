//! Known-wrong versions of exercise 04, each the reference solution with one mistake.

use crate::util::Mutant;

const EX: &str = "04-keepalive";
const KEEPALIVE: &str = "src/keepalive.rs";
const SERVER: &str = "src/server.rs";
const CLIENT: &str = "src/client.rs";

/// Never turns keepalive on: SO_KEEPALIVE stays off.
#[test]
fn no_keepalive() {
    Mutant {
        name: "no-keepalive",
        exercise: EX,
        mistake: "keepalive never enabled",
        file: KEEPALIVE,
        replace: &[(
            "    SockRef::from(stream).set_tcp_keepalive(&params)",
            "    let _ = params;\n    Ok(())",
        )],
        caught_by: "server-options",
        clause: 0,
    }
    .assert_caught();
}

/// Turns SO_KEEPALIVE on and nothing else: two hours of silence before the first probe.
#[test]
fn system_defaults() {
    Mutant {
        name: "system-defaults",
        exercise: EX,
        mistake: "keepalive on with the system defaults (7200 s idle, 75 s interval, 9 probes)",
        file: KEEPALIVE,
        replace: &[(
            "    SockRef::from(stream).set_tcp_keepalive(&params)",
            "    let _ = params;\n    SockRef::from(stream).set_keepalive(true)",
        )],
        caught_by: "client-detects-vanished-server",
        clause: 0,
    }
    .assert_caught();
}

/// Sets the idle time only: 75 s between probes and 9 probes come from the system.
#[test]
fn idle_only() {
    Mutant {
        name: "idle-only",
        exercise: EX,
        mistake: "keepalive idle time set, interval and probe count left at the system defaults",
        file: KEEPALIVE,
        replace: &[(
            "        .with_time(settings.idle)\n        .with_interval(settings.interval)\n        .with_retries(settings.count);",
            "        .with_time(settings.idle);",
        )],
        caught_by: "server-releases-vanished-client",
        clause: 0,
    }
    .assert_caught();
}

/// Drops clients after a read timeout instead of asking the kernel to probe them.
#[test]
fn read_timeout_instead() {
    Mutant {
        name: "read-timeout-instead",
        exercise: EX,
        mistake: "the server uses a read timeout of idle + interval × count instead of keepalive",
        file: SERVER,
        replace: &[(
            "    keepalive::enable(&stream, settings)?;",
            "    stream.set_read_timeout(Some(settings.idle + settings.interval * settings.count))?;",
        )],
        caught_by: "idle-client-survives",
        clause: 0,
    }
    .assert_caught();
}

/// Turns keepalive on in the server only; the client's connections have none.
#[test]
fn client_without_keepalive() {
    Mutant {
        name: "client-without-keepalive",
        exercise: EX,
        mistake: "the client never enables keepalive",
        file: CLIENT,
        replace: &[("        keepalive::enable(&stream, settings)?;\n", "")],
        caught_by: "client-options",
        clause: 0,
    }
    .assert_caught();
}

/// Opens a new connection for every request.
#[test]
fn connection_per_request() {
    Mutant {
        name: "connection-per-request",
        exercise: EX,
        mistake: "opens a new connection for every request",
        file: CLIENT,
        replace: &[(
            "        let reply = connection.request(request)?;",
            "        connection = Connection::open(addr, &settings)?;\n        let reply = connection.request(request)?;",
        )],
        caught_by: "one-connection",
        clause: 0,
    }
    .assert_caught();
}

/// Gives up when the server closed the connection instead of reconnecting.
#[test]
fn no_reconnect() {
    Mutant {
        name: "no-reconnect",
        exercise: EX,
        mistake: "treats the server's close between requests as fatal",
        file: CLIENT,
        replace: &[(
            "            Err(e) if closed_by_server(&e) => {",
            "            Err(e) if closed_by_server(&e) && request.is_empty() => {",
        )],
        caught_by: "reconnects-after-close",
        clause: 0,
    }
    .assert_caught();
}

/// Reconnects, but moves on to the next request: the unanswered one is lost.
#[test]
fn drops_unanswered() {
    Mutant {
        name: "drops-unanswered",
        exercise: EX,
        mistake: "reconnects but silently drops the request that got no answer",
        file: CLIENT,
        replace: &[(
            "                *self = Connection::open(self.addr, &self.settings)?;",
            "                *self = Connection::open(self.addr, &self.settings)?;\n                if !request.is_empty() {\n                    return Ok(String::new());\n                }",
        )],
        caught_by: "retries-unanswered",
        clause: 0,
    }
    .assert_caught();
}

/// Retries an unanswered request for ever instead of once.
#[test]
fn retries_forever() {
    Mutant {
        name: "retries-forever",
        exercise: EX,
        mistake: "retries an unanswered request without limit",
        file: CLIENT,
        replace: &[(
            "                self.exchange(request).map_err(|e| {",
            "                if !request.is_empty() {\n                    return self.request(request);\n                }\n                self.exchange(request).map_err(|e| {",
        )],
        caught_by: "retries-unanswered",
        clause: 0,
    }
    .assert_caught();
}
