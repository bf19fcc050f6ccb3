//! The SIP edge under abuse: hundreds of malformed messages over UDP and TCP never stop the engine, and known
//! scanners are ignored while ordinary peers are answered.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{TestEngine, options_request};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

const INVITE: &str = "INVITE sip:15551230000@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKfuzz{n}\r\n\
    From: <sip:fuzz@127.0.0.1>;tag={n}\r\nTo: <sip:15551230000@127.0.0.1>\r\nCall-ID: fuzz-{n}\r\nCSeq: 1 INVITE\r\n\
    Max-Forwards: 70\r\nContact: <sip:fuzz@127.0.0.1:5999>\r\nContent-Type: application/sdp\r\nContent-Length: {len}\r\n\r\n{body}";

/// A few hundred malformed messages of every kind, reproducibly.
fn malformed(seed: u64) -> Vec<Vec<u8>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let good_sdp =
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 7000 RTP/AVP 0\r\n";
    let invite = |n: usize, body: &str, len: &str| {
        INVITE
            .replace("{n}", &n.to_string())
            .replace("{len}", len)
            .replace("{body}", body)
    };
    let bad_sdps = [
        "v=0\r\nm=audio x RTP/AVP 0\r\n",
        "c=IN IP4 999.1.1.1\r\nm=audio 1 RTP/AVP 18\r\n",
        "\u{0}\u{1}\u{2}",
        "m=audio 70000 RTP/AVP 0",
    ];
    let mut out = Vec::new();
    for n in 0..60 {
        // Truncated anywhere.
        let full = invite(n, good_sdp, &good_sdp.len().to_string());
        out.push(full.as_bytes()[..rng.random_range(0..full.len())].to_vec());
    }
    for n in 60..100 {
        // Content-Length huge, negative or not a number.
        let len = ["99999999", "-1", "18446744073709551616", "abc", ""][n % 5];
        out.push(invite(n, good_sdp, len).into_bytes());
    }
    for (n, sdp) in (100..140).zip(bad_sdps.iter().cycle()) {
        out.push(invite(n, sdp, &sdp.len().to_string()).into_bytes());
    }
    for n in 140..200 {
        // Garbage header lines spliced into an otherwise valid request.
        let mut msg = invite(n, good_sdp, &good_sdp.len().to_string());
        let garbage: String = (0..rng.random_range(1..80))
            .map(|_| char::from(rng.random_range(0x20u8..0x7f)))
            .collect();
        let at = msg.find("\r\n").unwrap() + 2;
        msg.insert_str(at, &format!("{garbage}\r\n: :\r\nVia:\r\n"));
        out.push(msg.into_bytes());
    }
    for _ in 200..260 {
        // Binary noise.
        out.push((0..rng.random_range(1..1400)).map(|_| rng.random()).collect());
    }
    for line in [
        "SIP/2.0 200 OK\r\n\r\n",
        "SIP/2.0 99999 Huge\r\nVia: SIP/2.0/UDP x;branch=z9hG4bKx\r\n\r\n",
        "INVITE  SIP/2.0\r\n\r\n",
        "BYE sip:x SIP/2.0\r\nCall-ID: nope\r\n\r\n",
        "ACK sip:x SIP/2.0\r\n\r\n",
        "CANCEL sip:x SIP/2.0\r\nVia: SIP/2.0/UDP 1.2.3.4\r\nCSeq: 1 CANCEL\r\n\r\n",
        "REGISTER sip:x SIP/2.0\r\nAuthorization: Digest username=\"alice\", nonce=\r\n\r\n",
        "\r\n\r\n",
        "OPTIONS sip:x SIP/3.0\r\n\r\n",
    ] {
        out.push(line.as_bytes().to_vec());
    }
    out
}

async fn options_answered_over_udp(engine: SocketAddr) -> bool {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let request = options_request(socket.local_addr().unwrap(), "IRISX test");
    socket.send_to(request.as_bytes(), engine).await.unwrap();
    let mut buf = [0u8; 4096];
    match tokio::time::timeout(Duration::from_secs(2), socket.recv_from(&mut buf)).await {
        Ok(Ok((n, _))) => String::from_utf8_lossy(&buf[..n]).starts_with("SIP/2.0 200"),
        _ => false,
    }
}

async fn options_answered_over_tcp(engine: SocketAddr) -> bool {
    let mut stream = TcpStream::connect(engine).await.unwrap();
    let request = options_request(stream.local_addr().unwrap(), "IRISX test").replace("SIP/2.0/UDP", "SIP/2.0/TCP");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    match tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buf)).await {
        Ok(Ok(n)) => String::from_utf8_lossy(&buf[..n]).starts_with("SIP/2.0 200"),
        _ => false,
    }
}

#[tokio::test]
async fn hundreds_of_malformed_messages_over_udp_and_tcp_leave_the_engine_answering_options() {
    let engine = TestEngine::start().await;
    let addr = engine.sip_addr();
    assert!(
        options_answered_over_udp(addr).await,
        "OPTIONS is answered before the abuse"
    );

    let messages = malformed(7);
    assert!(messages.len() >= 250);
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for m in &messages {
        socket.send_to(m, addr).await.unwrap();
    }
    // Over TCP: a few messages per connection, some connections cut in the middle of a body.
    for chunk in messages.chunks(8) {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        for m in chunk {
            if stream.write_all(m).await.is_err() {
                break;
            }
        }
        stream.shutdown().await.ok();
    }

    assert!(
        options_answered_over_udp(addr).await,
        "OPTIONS over UDP is answered after the abuse"
    );
    assert!(
        options_answered_over_tcp(addr).await,
        "OPTIONS over TCP is answered after the abuse"
    );
}

#[tokio::test]
async fn a_scanners_request_is_dropped_unanswered_while_an_ordinary_peer_is_answered() {
    let engine = TestEngine::start().await;
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let me = socket.local_addr().unwrap();
    let mut buf = [0u8; 4096];
    for scanner in [
        "friendly-scanner",
        "sipvicious 0.3.4",
        "sipcli/v1.8",
        "VaxSIPUserAgent/3.1",
    ] {
        socket
            .send_to(options_request(me, scanner).as_bytes(), engine.sip_addr())
            .await
            .unwrap();
    }
    let ordinary = options_request(me, "Linphone/5.2");
    socket.send_to(ordinary.as_bytes(), engine.sip_addr()).await.unwrap();
    let (n, _) = tokio::time::timeout(Duration::from_secs(2), socket.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]).to_string();
    let call_id = ordinary.lines().find(|l| l.starts_with("Call-ID:")).unwrap();
    // The scanners' requests went first: had any been answered, its answer would have come first.
    assert!(
        answer.starts_with("SIP/2.0 200") && answer.contains(call_id),
        "{answer}"
    );
    let more = tokio::time::timeout(Duration::from_millis(300), socket.recv_from(&mut buf)).await;
    assert!(more.is_err(), "a scanner was answered");
}
