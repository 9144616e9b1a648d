//! The UDP ceiling probe of the crowd ladder (#15): how many datagrams per
//! second this machine's loopback carries at all, with nothing but a plain
//! `sendmmsg`/`recvmmsg` loop on each side, the sender pinned to one core
//! and the receiver to another (the world's and the swarm's in
//! `benches/load/crowd.sh`). The ladder divides the snapshots the world
//! delivered by this ceiling.
//!
//! ```text
//! cargo run --release -p gsp-benches --bin udp-ceiling -- [SECS=3] [BYTES=1100] [SEND_CORE=0] [RECV_CORE=1]
//! ```
//!
//! Prints one JSON line: datagrams sent and received per second, the
//! datagram size, and the share lost.

use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Datagrams per `sendmmsg`/`recvmmsg` call.
const BATCH: usize = 64;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: u64| -> u64 {
        args.get(i)
            .map(|a| {
                a.parse()
                    .unwrap_or_else(|_| panic!("argument {} is a number", i + 1))
            })
            .unwrap_or(default)
    };
    let secs = arg(0, 3);
    let bytes = arg(1, 1100) as usize;
    let (send_core, recv_core) = (arg(2, 0) as usize, arg(3, 1) as usize);
    let receiver = UdpSocket::bind("127.0.0.1:0").expect("binding the receiver");
    receiver
        .set_read_timeout(Some(Duration::from_millis(100)))
        .expect("a read timeout");
    let to = receiver.local_addr().expect("the receiver's address");
    let sender = UdpSocket::bind("127.0.0.1:0").expect("binding the sender");
    sender.connect(to).expect("connecting the sender");
    let stop = Arc::new(AtomicBool::new(false));
    let receiving = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            pin(recv_core);
            receive(&receiver, bytes, &stop)
        })
    };
    let sending = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            pin(send_core);
            send(&sender, bytes, &stop)
        })
    };
    std::thread::sleep(Duration::from_secs(secs));
    stop.store(true, Ordering::Relaxed);
    let (sent, send_secs) = sending.join().expect("the sender");
    let (received, recv_secs) = receiving.join().expect("the receiver");
    println!(
        "{{\"bytes\":{bytes},\"sent_per_sec\":{:.0},\"received_per_sec\":{:.0},\"lost_share\":{:.4}}}",
        sent as f64 / send_secs,
        received as f64 / recv_secs,
        1.0 - received as f64 / sent.max(1) as f64
    );
}

/// Pins the calling thread to `core` (where there is such a core).
fn pin(core: usize) {
    // SAFETY: a zeroed cpu_set_t is the empty set; CPU_SET and
    // sched_setaffinity only read and write the set we own.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(core, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// Sends batches of `bytes`-byte datagrams until `stop`; returns how many
/// were sent and over how long.
fn send(socket: &UdpSocket, bytes: usize, stop: &AtomicBool) -> (u64, f64) {
    let payload = vec![0x5au8; bytes];
    let mut iovs: Vec<libc::iovec> = (0..BATCH)
        .map(|_| libc::iovec {
            iov_base: payload.as_ptr() as *mut libc::c_void,
            iov_len: bytes,
        })
        .collect();
    let mut msgs = headers(&mut iovs);
    let start = Instant::now();
    let mut sent = 0u64;
    while !stop.load(Ordering::Relaxed) {
        // SAFETY: `msgs` holds BATCH headers pointing at live iovecs over
        // `payload`, which outlives the call; the socket is open.
        let n = unsafe { libc::sendmmsg(socket.as_raw_fd(), msgs.as_mut_ptr(), BATCH as u32, 0) };
        if n > 0 {
            sent += n as u64;
        }
    }
    (sent, start.elapsed().as_secs_f64())
}

/// Receives batches until `stop`; returns how many datagrams came and over
/// how long.
fn receive(socket: &UdpSocket, bytes: usize, stop: &AtomicBool) -> (u64, f64) {
    let mut buffers = vec![vec![0u8; bytes + 64]; BATCH];
    let mut iovs: Vec<libc::iovec> = buffers
        .iter_mut()
        .map(|b| libc::iovec {
            iov_base: b.as_mut_ptr() as *mut libc::c_void,
            iov_len: b.len(),
        })
        .collect();
    let mut msgs = headers(&mut iovs);
    let mut received = 0u64;
    let mut start = None;
    while !stop.load(Ordering::Relaxed) {
        // SAFETY: as in `send`, over `buffers`, which outlive the call;
        // the timeout is the socket's read timeout.
        let n = unsafe {
            libc::recvmmsg(
                socket.as_raw_fd(),
                msgs.as_mut_ptr(),
                BATCH as u32,
                0,
                std::ptr::null_mut(),
            )
        };
        if n > 0 {
            start.get_or_insert_with(Instant::now);
            received += n as u64;
        }
    }
    let secs = start.map_or(1.0, |s: Instant| s.elapsed().as_secs_f64());
    (received, secs)
}

/// One message header per iovec.
fn headers(iovs: &mut [libc::iovec]) -> Vec<libc::mmsghdr> {
    iovs.iter_mut()
        .map(|iov| {
            // SAFETY: an all-zero msghdr is valid (no name, no control).
            let mut h: libc::mmsghdr = unsafe { std::mem::zeroed() };
            h.msg_hdr.msg_iov = iov;
            h.msg_hdr.msg_iovlen = 1;
            h
        })
        .collect()
}
