//! What clients send: the request bodies and the list query, typed. Each
//! derives `Deserialize`, which the handlers parse with, and `ToSchema` (or
//! `IntoParams`), which documents it in the OpenAPI document with the bounds
//! the domain enforces, so the parser and the document share one definition.
//!
//! Fields are read leniently: a value of the wrong JSON type does not fail
//! the whole body with serde's message. `validate` then turns every field
//! into its domain value with the domain's parsers, reporting each invalid
//! field with the contract's message and `field`, all in one 400.
//!
//! The documented bounds are never looser than the server: where the
//! server's rule cannot be said exactly in JSON Schema (passwords counted in
//! bytes, ids refused with 404), the document says so in the description.

mod events;
mod orders;

pub use events::{EventBody, EventPage, EventQuery, RowBody, SeatsQuery, SectionBody};
pub use orders::OrderBody;

use std::borrow::Cow;
use std::str::FromStr;

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use serde_json::Value;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, OneOfBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{IntoParams, ToSchema};

use super::error::ApiError;
use crate::actors::TicketFilter;
use crate::domain::{DomainError, Email, EventDate, OrderId, Password, Price, TicketId, Title};
use crate::views::Id;

/// A string field that never fails the body: absent, `null` or not a
/// string reads as `None`, so the handler answers with the contract's
/// message for that field rather than serde's.
struct Text(Option<String>);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Text(match Option::<Value>::deserialize(d)? {
            Some(Value::String(s)) => Some(s),
            _ => None,
        }))
    }
}

impl Text {
    /// The string, or "" when there was none.
    fn or_empty(&self) -> &str {
        self.0.as_deref().unwrap_or("")
    }

    /// The string when it is not blank.
    fn non_blank(&self) -> Option<&str> {
        self.0.as_deref().filter(|s| !s.trim().is_empty())
    }

    /// The string when it is not empty (spaces count: a password is taken
    /// as written).
    fn non_empty(&self) -> Option<&str> {
        self.0.as_deref().filter(|s| !s.is_empty())
    }
}

/// A price exactly as the client wrote it, a JSON number or a numeric
/// string: its literal text goes to the domain's parser, never through a
/// float (so `12.500000000000000001` is refused, not rounded).
#[derive(Deserialize)]
#[serde(transparent)]
struct PriceInput(Box<RawValue>);

/// The invalid fields of one request, each with the contract's message.
#[derive(Default)]
struct Problems(Vec<(Cow<'static, str>, String)>);

impl Problems {
    /// The value, or `None` with its domain error recorded.
    fn check<T>(&mut self, parsed: Result<T, DomainError>) -> Option<T> {
        self.check_in("", parsed)
    }

    /// As [`Problems::check`] for a value inside the body: the domain's
    /// field is named after `prefix` (`sections[2].`), so its path is
    /// `sections[2].price`.
    fn check_in<T>(&mut self, prefix: &str, parsed: Result<T, DomainError>) -> Option<T> {
        match parsed {
            Ok(v) => Some(v),
            Err(DomainError::Invalid { field, message }) => {
                let path = if prefix.is_empty() {
                    Cow::Borrowed(field)
                } else {
                    Cow::Owned(format!("{prefix}{field}"))
                };
                self.0.push((path, message.to_owned()));
                None
            }
            Err(other) => {
                self.0.push((Cow::Borrowed(""), other.to_string()));
                None
            }
        }
    }

    /// Records that `field` (a name, or a path inside the body) is invalid.
    fn invalid<T>(&mut self, field: impl Into<Cow<'static, str>>, message: &str) -> Option<T> {
        self.0.push((field.into(), message.to_owned()));
        None
    }

    /// A string that must not be blank; `message` when it is.
    fn require<'a>(
        &mut self,
        text: &'a Text,
        field: &'static str,
        message: &str,
    ) -> Option<&'a str> {
        text.non_blank().or_else(|| self.invalid(field, message))
    }

    /// `Ok` when nothing failed, else the 400 listing each failure.
    fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Invalid(self.0))
        }
    }
}

/// `{email, password}` to sign up.
#[derive(Deserialize, ToSchema)]
pub struct SignupBody {
    /// An email address.
    #[schema(schema_with = email_schema)]
    email: Text,
    /// 8 to 72 **bytes** of UTF-8 (bcrypt reads at most 72, so longer ones
    /// are refused, not truncated). `minLength`/`maxLength` count
    /// characters, so for non-ASCII passwords they are only approximate:
    /// 25 `€` are 25 characters but 75 bytes, and refused.
    #[schema(value_type = String, min_length = 8, max_length = 72, example = "correct horse")]
    password: Text,
}

/// An email as `Email::parse` takes it, for signup and signin alike.
fn email_schema() -> impl Into<RefOr<Schema>> {
    // The local part: printable ASCII but `@`. A domain label: the same but
    // `.`, and not `-` at either end.
    const LOCAL: &str = r"[\x21-\x3f\x41-\x7e]";
    const END: &str = r"[\x21-\x2c\x2f-\x3f\x41-\x7e]";
    const MID: &str = r"[\x21-\x2d\x2f-\x3f\x41-\x7e]";
    let label = format!("{END}(?:{MID}*{END})?");
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Email)))
        .max_length(Some(254))
        .pattern(Some(format!("^{LOCAL}{{1,64}}@(?:{label}\\.)+{label}$")))
        .description(Some(
            "An email address, trimmed and compared case-insensitively: at most 64 bytes before the `@`, a domain with a dot whose labels do not start or end with `-`, at most 254 bytes in all. The pattern allows printable ASCII only (the server also takes non-ASCII addresses).",
        ))
        .examples(["ann@example.com"])
}

impl SignupBody {
    /// The email and password, or a 400 naming each invalid field.
    pub fn validate(self) -> Result<(Email, Password), ApiError> {
        let mut p = Problems::default();
        let email = p.check(Email::parse(self.email.or_empty()));
        let password = p.check(Password::parse(self.password.or_empty()));
        p.finish()?;
        Ok((email.expect("checked"), password.expect("checked")))
    }
}

/// `{email, password}` to sign in.
#[derive(Deserialize, ToSchema)]
pub struct SigninBody {
    /// The account's email, as at signup.
    #[schema(schema_with = email_schema)]
    email: Text,
    /// The password, taken as written: any string that is not empty (a
    /// wrong one, blank or over 72 bytes included, is `Invalid credentials`).
    #[schema(value_type = String, min_length = 1, example = "correct horse")]
    password: Text,
}

impl SigninBody {
    /// The email and the password as typed, or a 400 naming each invalid
    /// field.
    pub fn validate(self) -> Result<(Email, String), ApiError> {
        let mut p = Problems::default();
        let email = p.check(Email::parse(self.email.or_empty()));
        // Taken as written, as signup takes it: only a missing or empty one
        // is missing (one of spaces is compared like any other).
        let password = self
            .password
            .non_empty()
            .or_else(|| p.invalid("password", "You must supply a password"));
        p.finish()?;
        Ok((
            email.expect("checked"),
            password.expect("checked").to_owned(),
        ))
    }
}

/// `{title, price, date?}` to sell or edit a ticket.
#[derive(Deserialize, ToSchema)]
pub struct TicketBody {
    /// The event's name: 1 to 200 characters after trimming whitespace and
    /// invisible characters, no control characters (the pattern names the
    /// invisible characters of the Basic Multilingual Plane; the server
    /// also trims the rarer ones beyond it).
    #[schema(
        value_type = String, min_length = 1, max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufffb][^\u0000-\u001f\u007f-\u009f]*$",
        example = "Concert"
    )]
    title: Text,
    /// Major currency units above 0 and at most 1,000,000, with at most two
    /// decimals: a JSON number (exponent notation too) or a numeric
    /// string.
    #[schema(schema_with = price_schema, required = true)]
    price: Option<PriceInput>,
    /// The event's start, RFC 3339; absent or null for none.
    #[schema(value_type = Option<String>, format = DateTime, example = "2026-11-24T18:30:00Z")]
    date: Option<Value>,
}

/// A price as a number or as a string; the string's pattern is the
/// canonical form (the server also takes leading zeros, surrounding spaces
/// and trailing zeros).
fn price_schema() -> impl Into<RefOr<Schema>> {
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Number)
                .exclusive_minimum(Some(0))
                .maximum(Some(1_000_000))
                .multiple_of(Some(0.01)),
        )
        .item(
            ObjectBuilder::new().schema_type(Type::String).pattern(Some(
                r"^(?:[1-9][0-9]{0,5}(?:\.[0-9]{1,2})?|0\.(?:0[1-9]|[1-9][0-9]?)|1000000(?:\.00?)?)$",
            )),
        )
        .description(Some(
            "Major currency units above 0 and at most 1,000,000, with at most two decimals: a JSON number (exponent notation too: `1e3` is 1000) or a numeric string.",
        ))
        .examples([serde_json::json!(12.5), serde_json::json!("12.50")])
}

impl TicketBody {
    /// Title, price and date, or a 400 naming each invalid field.
    pub fn validate(self) -> Result<(Title, Price, EventDate), ApiError> {
        let mut p = Problems::default();
        let title = p.check(Title::parse(self.title.or_empty()));
        let price = match &self.price {
            Some(raw) => p.check(Price::from_json_literal(raw.0.get())),
            None => p.invalid("price", "Price is required"),
        };
        let date = p.check(EventDate::from_json(self.date.as_ref()));
        p.finish()?;
        Ok((
            title.expect("checked"),
            price.expect("checked"),
            date.expect("checked"),
        ))
    }
}

/// `{orderId, token}` to pay for an order.
#[derive(Deserialize, ToSchema)]
pub struct PaymentBody {
    /// The order to pay (an id of another shape is no such order: 404).
    #[serde(rename = "orderId")]
    #[schema(value_type = Id)]
    order_id: Text,
    /// A card token of the built-in test gateway, up to 255 bytes:
    /// `tok_chargeDeclined` is declined (402), any other `tok_` token
    /// succeeds, anything else is refused (400).
    #[schema(value_type = String, min_length = 5, max_length = 255, pattern = "^tok_", example = "tok_visa")]
    token: Text,
}

impl PaymentBody {
    /// The order's id and the card token: 400 when either is missing, 404
    /// when the id cannot be one.
    pub fn validate(self) -> Result<(OrderId, String), ApiError> {
        let mut p = Problems::default();
        let id = p.require(&self.order_id, "orderId", "OrderId must be provided");
        let token = p.require(&self.token, "token", "Token must be provided");
        p.finish()?;
        let id = id
            .expect("checked")
            .trim()
            .parse()
            .map_err(|()| ApiError::NotFound)?;
        Ok((id, token.expect("checked").to_owned()))
    }
}

/// Default and largest page sizes of a list.
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;

/// `?status=&limit=&after=` of `GET /api/tickets`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TicketQuery {
    /// `any` for every ticket; `available` (the default, also when empty)
    /// for those free to reserve.
    #[param(value_type = Option<String>, pattern = "^(available|any)?$", example = "any")]
    status: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000, example = 100)]
    limit: Option<String>,
    /// The page starts after this ticket id (empty: from the first).
    #[param(value_type = Option<Id>)]
    after: Option<String>,
}

/// A validated [`TicketQuery`].
pub struct TicketPage {
    /// Which tickets.
    pub filter: TicketFilter,
    /// Start after this one.
    pub after: Option<TicketId>,
    /// At most this many.
    pub limit: usize,
}

impl TicketQuery {
    /// The page asked for, or a 400 naming each invalid parameter.
    pub fn validate(self) -> Result<TicketPage, ApiError> {
        let mut p = Problems::default();
        let filter = status(&mut p, self.status.as_deref(), TicketFilter::Available);
        let limit = limit(&mut p, self.limit.as_deref());
        let after = after(&mut p, self.after.as_deref(), "After must be a ticket id");
        p.finish()?;
        Ok(TicketPage {
            filter: filter.expect("checked"),
            after: after.expect("checked"),
            limit: limit.expect("checked"),
        })
    }
}

/// `?status=` of a list of tickets: `available` or `any`, `default` when
/// absent or empty.
fn status(p: &mut Problems, raw: Option<&str>, default: TicketFilter) -> Option<TicketFilter> {
    match raw {
        None | Some("") => Some(default),
        Some("available") => Some(TicketFilter::Available),
        Some("any") => Some(TicketFilter::Any),
        Some(_) => p.invalid("status", "Status must be available or any"),
    }
}

/// `?limit=` of a list: 1 to 1000, 100 when absent.
fn limit(p: &mut Problems, raw: Option<&str>) -> Option<usize> {
    match raw.map(str::parse::<usize>) {
        None => Some(DEFAULT_LIMIT),
        Some(Ok(n)) if (1..=MAX_LIMIT).contains(&n) => Some(n),
        Some(_) => p.invalid("limit", "Limit must be 1 to 1000"),
    }
}

/// `?after=` of a list: an id (`message` when it cannot be one); absent or
/// empty, from the first.
fn after<I: FromStr<Err = ()>>(
    p: &mut Problems,
    raw: Option<&str>,
    message: &str,
) -> Option<Option<I>> {
    match raw.filter(|a| !a.is_empty()).map(str::parse::<I>) {
        None => Some(None),
        Some(Ok(id)) => Some(Some(id)),
        Some(Err(())) => p.invalid("after", message),
    }
}
