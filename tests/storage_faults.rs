//! Storage faults: a full disk, and data directories this build must not
//! touch (a newer schema, another program's sled database, garbage). The
//! disk-full test mounts a small tmpfs, so it needs root (CI runs as root);
//! without it the test fails and says why.

#[path = "support/sled.rs"]
mod sled_dir;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};
use sled_dir::{close_sled, open_sled};
use ticketing::config::Settings;
use ticketing::App;

/// A tmpfs of `size` mounted on a fresh directory, unmounted on drop.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("run mount");
        assert!(
            status.success(),
            "mounting a tmpfs failed: this test needs root (CI runs as root)"
        );
        SmallDisk { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills the disk to the last byte.
    fn fill(&self) -> PathBuf {
        let filler = self.path().join("filler");
        let _ = Command::new("dd")
            .args(["if=/dev/zero", "bs=64k"])
            .arg(format!("of={}", filler.display()))
            .stderr(std::process::Stdio::null())
            .status()
            .expect("run dd");
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut rb = client.request(method, url);
    if let Some(t) = token {
        rb = rb.bearer_auth(t);
    }
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let res = rb.send().await.expect("request");
    let status = res.status().as_u16();
    let body = res.json::<Value>().await.unwrap_or(Value::Null);
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_writes_with_503_keeps_reads_and_resumes_by_itself() {
    let disk = SmallDisk::mount("64m");
    let data = disk.path().join("data");
    let settings = Settings::for_tests(&data, 600);
    assert_eq!(settings.storage.min_free_mib, 16, "the default reserve");
    let app = App::start(settings.clone()).await.expect("start");
    let base = format!("http://{}", app.addr());
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let post = reqwest::Method::POST;
    let get = reqwest::Method::GET;
    let (s, user) = call(
        &client,
        post.clone(),
        format!("{base}/api/users/signup"),
        None,
        Some(json!({"email": "full@example.com", "password": "password1"})),
    )
    .await;
    assert_eq!(s, 201);
    let token = user["token"].as_str().unwrap().to_owned();
    let mut acknowledged = Vec::new();
    for i in 0..5 {
        let (s, t) = call(
            &client,
            post.clone(),
            format!("{base}/api/tickets"),
            Some(&token),
            Some(json!({"title": format!("Before {i}"), "price": 5})),
        )
        .await;
        assert_eq!(s, 201);
        acknowledged.push(t["id"].as_str().unwrap().to_owned());
    }
    let held_id = acknowledged[0].clone();

    let filler = disk.fill();
    tokio::time::sleep(Duration::from_millis(150)).await;
    // Writes are refused with the error body; nothing half-written.
    let (s, body) = call(
        &client,
        post.clone(),
        format!("{base}/api/tickets"),
        Some(&token),
        Some(json!({"title": "Refused", "price": 1})),
    )
    .await;
    assert_eq!(s, 503, "{body}");
    assert!(body["errors"][0]["message"].as_str().is_some(), "{body}");
    let (s, body) = call(
        &client,
        post.clone(),
        format!("{base}/api/orders"),
        Some(&token),
        Some(json!({"ticketId": held_id})),
    )
    .await;
    assert_eq!(s, 503, "{body}");
    let (s, _) = call(
        &client,
        post.clone(),
        format!("{base}/api/users/signup"),
        None,
        Some(json!({"email": "late@example.com", "password": "password1"})),
    )
    .await;
    assert_eq!(s, 503);
    // Reads go on; health says the truth.
    let (s, _) = call(&client, get.clone(), format!("{base}/healthz"), None, None).await;
    assert_eq!(s, 503);
    let (s, list) = call(
        &client,
        get.clone(),
        format!("{base}/api/tickets?status=any&limit=1000"),
        None,
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(list.as_array().unwrap().len(), acknowledged.len());
    let (s, ticket) = call(
        &client,
        get.clone(),
        format!("{base}/api/tickets/{held_id}"),
        None,
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(ticket["status"], "available");
    assert_eq!(ticket["version"], 0);

    // Space comes back: writes resume without a restart.
    std::fs::remove_file(filler).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let (s, _) = call(&client, get.clone(), format!("{base}/healthz"), None, None).await;
        if s == 200 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "healthz stayed {s}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (s, body) = call(
        &client,
        post.clone(),
        format!("{base}/api/orders"),
        Some(&token),
        Some(json!({"ticketId": held_id})),
    )
    .await;
    assert_eq!(s, 201, "{body}");

    // (A read-only remount cannot be tested live: the kernel refuses to
    // remount a file system read-only while sled holds files open for
    // writing. The guard checks ST_RDONLY all the same.)
    let (s, t) = call(
        &client,
        post.clone(),
        format!("{base}/api/tickets"),
        Some(&token),
        Some(json!({"title": "After the disk freed up", "price": 1})),
    )
    .await;
    assert_eq!(s, 201, "{t}");
    acknowledged.push(t["id"].as_str().unwrap().to_owned());

    // Everything acknowledged survives a restart; nothing refused appears.
    app.shutdown().await;
    let app = App::start(settings).await.expect("restart");
    let base = format!("http://{}", app.addr());
    let (s, list) = call(
        &client,
        get.clone(),
        format!("{base}/api/tickets?status=any&limit=1000"),
        None,
        None,
    )
    .await;
    assert_eq!(s, 200);
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        acknowledged.iter().map(String::as_str).collect::<Vec<_>>()
    );
    let held = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == held_id.as_str())
        .unwrap();
    assert_eq!(held["status"], "reserved");
    app.shutdown().await;
}

/// Runs the binary on `data` and returns (exit success, stderr).
fn serve_once(data: &Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ticketing"))
        .env("TICKETING_SERVER__ADDR", "127.0.0.1:0")
        .env("TICKETING_STORAGE__PATH", data)
        .env("TICKETING_AUTH__BCRYPT_COST", "4")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run ticketing");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_data_directory_of_a_newer_schema_or_another_program_is_refused_untouched() {
    // Another program's sled database.
    let foreign = tempfile::tempdir().unwrap();
    {
        let db = open_sled(foreign.path());
        db.insert(b"their/key", b"their value".to_vec()).unwrap();
        close_sled(foreign.path(), db);
    }
    // A database written by a newer build of ticketing.
    let newer = tempfile::tempdir().unwrap();
    {
        let db = open_sled(newer.path());
        db.insert(b"meta/format", b"ticketing/99".to_vec()).unwrap();
        close_sled(newer.path(), db);
    }
    // Garbage where sled's files should be.
    let garbage = tempfile::tempdir().unwrap();
    std::fs::write(garbage.path().join("conf"), b"\x00\xffnot a sled config").unwrap();
    std::fs::write(garbage.path().join("db"), vec![0xA5u8; 4096]).unwrap();

    for (dir, expect) in [
        (foreign.path(), "not a ticketing database"),
        (newer.path(), "schema version 99"),
        (garbage.path(), "data directory"),
    ] {
        let (ok, stderr) = serve_once(dir);
        assert!(!ok, "{}: the server started on it", dir.display());
        assert!(
            stderr.contains(expect),
            "{}: stderr does not say {expect:?}:\n{stderr}",
            dir.display()
        );
    }
    // Nothing was wiped or rewritten. (sled itself may grow its files and
    // write a snapshot when opened; the records are what must not change.)
    let db = open_sled(foreign.path());
    assert_eq!(db.len(), 1);
    assert_eq!(&*db.get(b"their/key").unwrap().unwrap(), b"their value");
    drop(db);
    let db = open_sled(newer.path());
    assert_eq!(db.len(), 1);
    assert_eq!(&*db.get(b"meta/format").unwrap().unwrap(), b"ticketing/99");
    drop(db);
    assert_eq!(
        std::fs::read(garbage.path().join("db")).unwrap(),
        vec![0xA5u8; 4096]
    );
}
