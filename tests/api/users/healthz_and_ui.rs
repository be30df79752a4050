//! The server's two routes outside the API that the accounts' tests have
//! always checked: `/healthz`, and the web UI served at `/`.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_is_200() {
    let app = spawn_app().await;
    app.get("/healthz", Auth::None).await.expect(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_ui_is_served_at_the_root() {
    let app = spawn_app().await;
    let r = app.get("/", Auth::None).await;
    r.expect(200);
    let ct = r.header("content-type").unwrap_or_default();
    assert!(ct.starts_with("text/html"), "GET / content type {ct:?}");
}
