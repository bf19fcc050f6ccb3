//! A moto S3 server for tests (shared by the object store's tests and the server's end-to-end tests, which
//! include this file by path): started on a free port, killed when dropped.
//!
//! Needs Python 3 with `moto[server]` (`pip install -r requirements-test.txt`).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running moto server.
pub struct Moto {
    child: Child,
    /// Its endpoint, `http://127.0.0.1:<port>`.
    pub url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    /// Starts moto and waits until it answers.
    pub async fn start() -> Moto {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server is not installed: run `python3 -m pip install -r requirements-test.txt`");
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while reqwest::get(&url).await.is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "moto_server did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Moto { child, url }
    }

    /// Creates a bucket.
    pub async fn bucket(&self, name: &str) {
        let made = reqwest::Client::new()
            .put(format!("{}/{name}", self.url))
            .send()
            .await
            .unwrap();
        assert!(made.status().is_success(), "creating the bucket: {}", made.status());
    }
}
