//! `GET /api/openapi.json` and `/api/docs/`: the document lists exactly the
//! routes the server answers, real responses match its schemas, the inputs
//! it documents as valid are exactly those the server takes at each bound,
//! and the routes that need a session say how to present one.
//!
//! This module fetches the document; each submodule checks one of those
//! promises against the running server.

mod bounds;
mod routes;
mod schemas;
mod wrong_types;

use serde_json::{json, Value};

use crate::helpers::*;

async fn document(app: &TestApp) -> Value {
    app.get("/api/openapi.json", Auth::None).await.json(200)
}
