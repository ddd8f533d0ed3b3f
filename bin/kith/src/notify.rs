//! The systemd readiness protocol (`sd_notify`): with `Type=notify`, systemd sets
//! `NOTIFY_SOCKET` and waits for `READY=1` before it counts the service as started. The
//! daemon sends it once every listener is bound and `DIR/api` is written, `STOPPING=1` when
//! it begins a clean shutdown, and a `STATUS=` line people see in `systemctl status`.
//! Without `NOTIFY_SOCKET` (not under systemd) nothing is sent.

use std::io;

/// Sends `state` (newline-separated `KEY=value` assignments) to systemd, if it listens.
pub(crate) fn notify(state: &str) -> io::Result<()> {
    let Some(socket) = std::env::var_os("NOTIFY_SOCKET") else {
        return Ok(());
    };
    send(&socket, state)
}

#[cfg(unix)]
fn send(socket: &std::ffi::OsStr, state: &str) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::net::UnixDatagram;

    let datagram = UnixDatagram::unbound()?;
    let bytes = socket.as_bytes();
    match bytes.first() {
        // An abstract socket (Linux): `@name`.
        #[cfg(target_os = "linux")]
        Some(b'@') => {
            use std::os::linux::net::SocketAddrExt;
            let address = std::os::unix::net::SocketAddr::from_abstract_name(&bytes[1..])?;
            datagram.send_to_addr(state.as_bytes(), &address)?;
        }
        Some(b'/') => {
            datagram.send_to(state.as_bytes(), std::path::Path::new(socket))?;
        }
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "NOTIFY_SOCKET is neither a path nor an abstract socket",
            ));
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn send(_socket: &std::ffi::OsStr, _state: &str) -> io::Result<()> {
    Ok(())
}
