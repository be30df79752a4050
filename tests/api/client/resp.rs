//! A decoded response and the assertions tests make on it: the status, a
//! JSON body, the contract's error shape, headers and cookies.

use reqwest::header::HeaderMap;
use serde_json::Value;

/// A decoded response.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    /// The body as JSON; `Value::Null` for an empty body.
    pub body: Value,
    /// What was asked, for failure messages.
    pub what: String,
}

impl Resp {
    /// Asserts the status code, printing the body when it differs.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status, status,
            "{}: expected {status}, got {} with body {}",
            self.what, self.status, self.text
        );
        self
    }

    /// Asserts a JSON body with the expected status and returns the body.
    #[track_caller]
    pub fn json(&self, status: u16) -> Value {
        self.expect(status);
        self.assert_json_content_type();
        self.body.clone()
    }

    #[track_caller]
    pub fn assert_json_content_type(&self) {
        let ct = self
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert!(
            ct.to_ascii_lowercase().starts_with("application/json"),
            "{}: expected a JSON content type, got {ct:?} (status {}, body {})",
            self.what,
            self.status,
            self.text
        );
    }

    /// Asserts the contract's error shape: `{"errors":[{"message":..., "field"?:...}]}`
    /// with a non-empty message in every entry. When `message` is given some
    /// entry carries exactly that message (and `field`, when given, on the same
    /// entry); when only `field` is given some entry carries that field.
    #[track_caller]
    pub fn error(&self, status: u16, message: Option<&str>, field: Option<&str>) -> &Self {
        self.expect(status);
        self.assert_json_content_type();
        let errors = self
            .body
            .get("errors")
            .and_then(|e| e.as_array())
            .unwrap_or_else(|| panic!("{}: no `errors` array in {}", self.what, self.text));
        assert!(
            !errors.is_empty(),
            "{}: empty `errors` in {}",
            self.what,
            self.text
        );
        for e in errors {
            let m = e
                .get("message")
                .and_then(|m| m.as_str())
                .unwrap_or_else(|| {
                    panic!(
                        "{}: error entry without a string message: {}",
                        self.what, self.text
                    )
                });
            assert!(
                !m.trim().is_empty(),
                "{}: empty message in {}",
                self.what,
                self.text
            );
            if let Some(f) = e.get("field") {
                assert!(
                    f.is_string() || f.is_null(),
                    "{}: field not a string: {}",
                    self.what,
                    self.text
                );
            }
        }
        let matches = |e: &Value| {
            message.is_none_or(|m| e.get("message").and_then(|v| v.as_str()) == Some(m))
                && field.is_none_or(|f| e.get("field").and_then(|v| v.as_str()) == Some(f))
        };
        assert!(
            errors.iter().any(matches),
            "{}: expected an error with message {message:?} and field {field:?}, got {}",
            self.what,
            self.text
        );
        self
    }

    /// The `(field, message)` of every error of a 400, in order (the
    /// answer checked to be one first).
    pub fn problems(&self) -> Vec<(String, String)> {
        self.error(400, None, None);
        self.body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let field = e["field"].as_str().unwrap_or("").to_owned();
                (field, e["message"].as_str().unwrap().to_owned())
            })
            .collect()
    }

    /// The fields named in the error entries.
    pub fn error_fields(&self) -> Vec<String> {
        self.body
            .get("errors")
            .and_then(|e| e.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|e| e.get("field").and_then(|f| f.as_str()).map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap_or("<non-ascii>").to_string())
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap_or("").to_string())
            .collect()
    }
}
