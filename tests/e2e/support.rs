//! `TestServer`: the real binary on 127.0.0.1, a port chosen by the OS, a temporary data dir.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A running `sextant` process.
pub(crate) struct TestServer {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    data_dir: PathBuf,
    extra_args: Vec<String>,
    envs: Vec<(String, String)>,
    /// Lines the process wrote on stderr (its log), collected in the background.
    pub log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

/// Builder for [`TestServer`].
pub(crate) struct TestServerBuilder {
    data_dir: PathBuf,
    args: Vec<String>,
    embedded_config: bool,
    envs: Vec<(String, String)>,
    wait_ready: bool,
}

impl TestServerBuilder {
    pub(crate) fn arg(mut self, a: impl Into<String>) -> Self {
        self.args.push(a.into());
        self
    }

    /// Sets an environment variable of the process.
    pub(crate) fn env(mut self, k: impl Into<String>, v: impl Into<String>) -> Self {
        self.envs.push((k.into(), v.into()));
        self
    }

    /// Runs on the embedded default configuration (which scrapes Sextant itself and
    /// 127.0.0.1:8008) instead of the empty one tests get unless they pass `--config.file`.
    pub(crate) fn embedded_config(mut self) -> Self {
        self.embedded_config = true;
        self
    }

    /// Returns as soon as the listen address is logged, without polling `/-/ready` over
    /// plain HTTP (for servers with TLS or authentication; the test waits its own way).
    pub(crate) fn no_ready_wait(mut self) -> Self {
        self.wait_ready = false;
        self
    }

    pub(crate) fn start(mut self) -> TestServer {
        if !self.embedded_config && !self.args.iter().any(|a| a.starts_with("--config.file")) {
            // An empty configuration, so no self-scrape adds series a test does not expect.
            static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let cfg = std::env::temp_dir().join(format!("sextant-e2e-{}-{n}.yml", std::process::id()));
            std::fs::write(&cfg, "scrape_configs: []\n").expect("write test config");
            self.args.push(format!("--config.file={}", cfg.display()));
        }
        TestServer::spawn(self.data_dir, self.args, self.envs, self.wait_ready)
    }
}

pub(crate) fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_sextant")
}

impl TestServer {
    pub(crate) fn builder(data_dir: &Path) -> TestServerBuilder {
        TestServerBuilder {
            data_dir: data_dir.to_path_buf(),
            args: Vec::new(),
            embedded_config: false,
            envs: Vec::new(),
            wait_ready: true,
        }
    }

    fn spawn(
        data_dir: PathBuf,
        extra_args: Vec<String>,
        envs: Vec<(String, String)>,
        wait_ready: bool,
    ) -> TestServer {
        let mut child = Command::new(bin())
            .arg("--web.listen-address=127.0.0.1:0")
            .arg("--otlp.grpc-listen-address=127.0.0.1:0")
            .arg(format!("--storage.tsdb.path={}", data_dir.display()))
            .args(&extra_args)
            .env("RUST_LOG", "info")
            // Tracing only when a test asks for it, whatever the environment of the test run.
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .envs(envs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start sextant");
        let stderr = child.stderr.take().expect("stderr");
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let log2 = log.clone();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if !sent {
                    // `Listening on http://ADDR` (or `https://` with TLS).
                    if let Some(i) = line.find("Listening on http") {
                        let addr = line[i + "Listening on ".len()..]
                            .split_whitespace()
                            .next()
                            .unwrap_or("");
                        let _ = tx.send(addr.to_string());
                        sent = true;
                    }
                }
                log2.lock().unwrap().push(line);
            }
        });
        let base = rx.recv_timeout(Duration::from_secs(60)).unwrap_or_else(|_| {
            panic!(
                "sextant did not report its listen address; log: {:?}",
                log.lock().unwrap()
            )
        });
        let server = TestServer {
            child: Some(child),
            base,
            data_dir,
            extra_args,
            envs,
            log,
        };
        if wait_ready {
            server.wait_ready();
        }
        server
    }

    /// Waits until `/-/ready` answers 200.
    pub(crate) fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = http_get(&format!("{}/-/ready", self.base)) {
                if r.0 == 200 {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "sextant never became ready: {:?}",
                self.log.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The process id, while running.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// `kill -9`.
    pub(crate) fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait for a clean exit; returns the exit status code.
    pub(crate) fn terminate(&mut self) -> Option<i32> {
        let mut c = self.child.take()?;
        let _ = Command::new("kill").arg("-TERM").arg(c.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(st)) = c.try_wait() {
                return st.code();
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                let _ = c.wait();
                panic!("sextant did not stop within 30 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts a new process on the same data directory and flags (after a kill or terminate).
    pub(crate) fn restart(&mut self) {
        self.kill9();
        let next = TestServer::spawn(
            self.data_dir.clone(),
            self.extra_args.clone(),
            self.envs.clone(),
            true,
        );
        *self = next;
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Minimal blocking HTTP/1.1 client over std, so tests do not depend on a runtime.
/// Status, lower-cased headers and body.
pub(crate) type HttpResponse = (u16, Vec<(String, String)>, Vec<u8>);

pub(crate) fn http_request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<HttpResponse> {
    use std::io::{Read, Write};
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| std::io::Error::other("only http:// urls"))?;
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let mut s = std::net::TcpStream::connect(hostport)?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {hostport}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    s.write_all(body)?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no header end"))?;
    let head = String::from_utf8_lossy(&buf[..split]).to_string();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other("bad status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| {
            l.split_once(':')
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        })
        .collect();
    let mut body = buf[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"))
    {
        body = dechunk(&body);
    }
    Ok((status, headers, body))
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(i) = b.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&b[..i]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = i + 2;
        out.extend_from_slice(&b[start..start + size]);
        b = &b[start + size + 2..];
    }
    out
}

pub(crate) fn http_get(url: &str) -> std::io::Result<(u16, Vec<u8>)> {
    http_request("GET", url, &[], b"").map(|(s, _, b)| (s, b))
}

/// The value of the `/metrics` sample line starting with `series` (exact labels), 0 if absent.
pub(crate) fn metric(server: &TestServer, series: &str) -> f64 {
    let (s, body) = http_get(&server.url("/metrics")).unwrap();
    assert_eq!(s, 200);
    String::from_utf8_lossy(&body)
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or(0.0)
}

pub(crate) fn get_json(url: &str) -> (u16, serde_json::Value) {
    let (s, b) = http_get(url).expect("GET");
    let v = serde_json::from_slice(&b)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&b)));
    (s, v)
}

/// Percent-encodes a query parameter value.
pub(crate) fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The remote-write messages: the shared message definitions (the implementation under test
/// decodes with its own wire decoder).
#[allow(clippy::single_component_path_imports)]
pub(crate) use prompb;

/// Milliseconds since the epoch, now.
pub(crate) use storage::now_ms;

/// Sends one remote-write v1 request; returns the status code and body.
pub(crate) fn remote_write(server: &TestServer, req: &prompb::WriteRequest) -> (u16, String) {
    use prost::Message;
    let raw = req.encode_to_vec();
    let body = snap::raw::Encoder::new().compress_vec(&raw).expect("snappy");
    let (s, _, b) = http_request(
        "POST",
        &server.url("/api/v1/write"),
        &[
            ("Content-Type", "application/x-protobuf"),
            ("Content-Encoding", "snappy"),
            ("X-Prometheus-Remote-Write-Version", "0.1.0"),
        ],
        &body,
    )
    .expect("remote write");
    (s, String::from_utf8_lossy(&b).to_string())
}

/// A series with the given name and extra labels and `(t, v)` samples.
pub(crate) fn series(name: &str, labels: &[(&str, &str)], samples: &[(i64, f64)]) -> prompb::TimeSeries {
    let mut ls = vec![prompb::Label::new("__name__", name)];
    ls.extend(labels.iter().map(|(n, v)| prompb::Label::new(n, v)));
    ls.sort_by(|a, b| a.name.cmp(&b.name));
    prompb::TimeSeries {
        labels: ls,
        samples: samples
            .iter()
            .map(|&(timestamp, value)| prompb::Sample { value, timestamp })
            .collect(),
        ..Default::default()
    }
}

/// `query_range` result as (labels JSON, [(t_ms, value)]) per series.
pub(crate) fn query_range(
    server: &TestServer,
    q: &str,
    start_s: f64,
    end_s: f64,
    step_s: f64,
) -> Vec<(serde_json::Value, Vec<(i64, f64)>)> {
    let url = server.url(&format!(
        "/api/v1/query_range?query={}&start={start_s}&end={end_s}&step={step_s}",
        enc(q)
    ));
    let (status, v) = get_json(&url);
    assert_eq!(status, 200, "{v}");
    v["data"]["result"]
        .as_array()
        .expect("result array")
        .iter()
        .map(|s| {
            let vals = s["values"]
                .as_array()
                .expect("values")
                .iter()
                .map(|p| {
                    let t = (p[0].as_f64().expect("t") * 1000.0).round() as i64;
                    let v: f64 = p[1].as_str().expect("v").parse().expect("float");
                    (t, v)
                })
                .collect();
            (s["metric"].clone(), vals)
        })
        .collect()
}

/// A free TCP port on loopback (bound once, then released for the caller to use).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process that is killed and reaped when this goes out of scope.
pub(crate) struct KillOnDrop(pub(crate) Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
