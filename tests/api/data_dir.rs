//! The embedded store's data directory belongs to one server at a time
//! (sled's lock): about sled itself, so in the sled target only.

use std::time::Duration;

use serde_json::json;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_server_on_the_same_data_directory_is_refused() {
    let app = spawn_app().await;
    let u = app.signup().await;
    let started = tokio::time::timeout(
        Duration::from_secs(15),
        ticketing::App::start(app.settings.clone()),
    )
    .await
    .expect("a second App::start on a data directory in use hangs");
    match started {
        Ok(second) => {
            let addr = second.addr();
            second.shutdown().await;
            panic!("a second server started on a data directory in use (at {addr})");
        }
        Err(e) => eprintln!("second start refused: {e}"),
    }
    // The first one is unharmed.
    assert_eq!(app.current_user(Auth::Bearer(&u)).await["id"], json!(u.id));
    app.create_ticket(&u, "Still fine", json!(1)).await;
}
