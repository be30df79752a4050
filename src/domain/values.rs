//! Values parsed at the edge: an `Email`, `Password`, `Title`, `Price` or
//! `EventDate` that exists is valid.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::invisible::{is_format, is_invisible, modifies_previous};
use super::{DomainError, Timestamp};

/// A trimmed, lower-cased email address of a plausible shape.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Email(String);

impl Email {
    /// Trims and lower-cases `raw` (emails compare case-insensitively) and
    /// checks its shape: `local@domain.tld`, at most 254 bytes, and nothing
    /// invisible (no space, control, format or zero-width character, which
    /// would make a lookalike of another account).
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        const BAD: DomainError = DomainError::Invalid {
            field: "email",
            message: "Email must be valid",
        };
        let s = raw.trim().to_lowercase();
        if s.len() > 254 || s.chars().any(|c| is_invisible(c) || is_format(c)) {
            return Err(BAD);
        }
        let (local, domain) = s.split_once('@').ok_or(BAD)?;
        let domain_ok = !domain.contains('@')
            && domain.contains('.')
            && domain
                .split('.')
                .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'));
        if local.is_empty() || local.len() > 64 || !domain_ok {
            return Err(BAD);
        }
        Ok(Email(s))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password of 8 to 72 bytes, not all whitespace, taken as written (never
/// trimmed): bcrypt reads at most 72 bytes, so longer ones are refused
/// rather than silently truncated.
#[derive(Clone)]
pub struct Password(String);

/// The most bytes of a password bcrypt reads.
pub const MAX_PASSWORD_BYTES: usize = 72;

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(..)")
    }
}

impl Password {
    /// Checks the length in bytes, and that something besides whitespace
    /// is there.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        if !(8..=MAX_PASSWORD_BYTES).contains(&raw.len()) {
            return Err(DomainError::Invalid {
                field: "password",
                message: "Password must be between 8 and 72 bytes",
            });
        }
        if raw.chars().all(char::is_whitespace) {
            return Err(DomainError::Invalid {
                field: "password",
                message: "Password must not be blank",
            });
        }
        Ok(Password(raw.to_owned()))
    }

    /// The secret itself, for hashing only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// An event's name: 1 to 200 characters after trimming whitespace and
/// invisible characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Title(String);

impl Title {
    /// Trims whitespace and invisible characters (zero-width, bidi, the
    /// byte-order mark...) at both ends, keeping the variation selectors and
    /// tags that end an emoji, and checks the length in characters.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let t = raw
            .trim_start_matches(is_invisible)
            .trim_end_matches(|c| is_invisible(c) && !modifies_previous(c));
        let n = t.chars().count();
        if n == 0 || n > 200 || t.chars().any(|c| c.is_control()) {
            return Err(DomainError::Invalid {
                field: "title",
                message: "Title is required",
            });
        }
        Ok(Title(t.to_owned()))
    }

    /// The title text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A price in integer cents, above 0 and at most 1,000,000.00.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Price(u64);

/// The largest price accepted, in cents.
pub const MAX_PRICE_CENTS: u64 = 100_000_000;

/// A refused price, with why.
const fn bad_price(message: &'static str) -> DomainError {
    DomainError::Invalid {
        field: "price",
        message,
    }
}

impl Price {
    const NOT_A_NUMBER: DomainError = bad_price("Price must be a number");
    const NOT_POSITIVE: DomainError = bad_price("Price must be greater than 0");
    const TOO_PRECISE: DomainError = bad_price("Price must have at most 2 decimals");
    const TOO_LARGE: DomainError = bad_price("Price must be at most 1,000,000");

    /// From the literal JSON text of a number (`12.50`, `1.5e1`) or of a
    /// string holding one (`"12.50"`, blanks around it allowed). The
    /// literal is read as written, never through a float, so
    /// `12.500000000000000001` is refused and `1e-2` is exactly 1 cent.
    pub fn from_json_literal(raw: &str) -> Result<Self, DomainError> {
        let raw = raw.trim();
        if raw.starts_with('"') {
            let s: String = serde_json::from_str(raw).map_err(|_| Self::NOT_A_NUMBER)?;
            Self::parse_decimal(s.trim())
        } else {
            Self::parse_decimal(raw)
        }
    }

    /// Parses a decimal number exactly (no floats involved): an optional
    /// `-`, digits, optionally `.` and digits, optionally an exponent (`e`
    /// or `E`, a sign, digits): `123`, `12.5`, `99.99`, `1e6`, `15E-1`.
    pub fn parse_decimal(s: &str) -> Result<Self, DomainError> {
        let (negative, s) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (mantissa, exponent) = match s.split_once(['e', 'E']) {
            Some((m, e)) => (m, exponent(e).ok_or(Self::NOT_A_NUMBER)?),
            None => (s, 0),
        };
        let (whole, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !digits(whole) || !digits(frac) {
            return Err(Self::NOT_A_NUMBER);
        }
        // The value is `significant × 10^-scale`, without leading or
        // trailing zeros, so `20.50` has 1 decimal and `100e-2` none.
        let written = format!("{whole}{frac}");
        let significant = written.trim_start_matches('0').trim_end_matches('0');
        if negative || significant.is_empty() {
            return Err(Self::NOT_POSITIVE);
        }
        let trailing_zeros = written.len() - written.trim_end_matches('0').len();
        let scale = frac.len() as i64 - trailing_zeros as i64 - exponent;
        if scale > 2 {
            return Err(Self::TOO_PRECISE);
        }
        // Cents are `significant` followed by `2 - scale` zeros: more than
        // 10 digits is far above the largest price (and than a u64 holds).
        let zeros = (2 - scale) as u64;
        if significant.len() as u64 + zeros > 10 {
            return Err(Self::TOO_LARGE);
        }
        let significant: u64 = significant.parse().map_err(|_| Self::TOO_LARGE)?;
        Self::from_cents(significant * 10u64.pow(zeros as u32))
    }

    /// From cents, checking the range.
    pub fn from_cents(cents: u64) -> Result<Self, DomainError> {
        match cents {
            0 => Err(Self::NOT_POSITIVE),
            c if c > MAX_PRICE_CENTS => Err(Self::TOO_LARGE),
            c => Ok(Price(c)),
        }
    }

    /// A sum of prices (an order's total), which may pass the limit of one
    /// price: ten seats at the most each cost.
    pub fn from_total_cents(cents: u64) -> Self {
        Price(cents)
    }

    /// The price in cents.
    pub fn cents(self) -> u64 {
        self.0
    }

    /// The price as a JSON number of the major unit (`12.5`): the shortest
    /// decimal that round-trips, so `9999` cents prints as `99.99`.
    pub fn to_json(self) -> Value {
        if self.0.is_multiple_of(100) {
            Value::from(self.0 / 100)
        } else {
            Value::from(self.0 as f64 / 100.0)
        }
    }
}

/// The exponent of a number (`6`, `+2`, `-3`), clamped to ±10^9: any
/// larger one makes a price too large or too precise all the same.
fn exponent(s: &str) -> Option<i64> {
    let (sign, digits) = match s.as_bytes().first()? {
        b'-' => (-1, &s[1..]),
        b'+' => (1, &s[1..]),
        _ => (1, s),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Only digits are left, so a failed parse is an overflow.
    let magnitude = digits
        .parse::<i64>()
        .map_or(1_000_000_000, |m| m.min(1_000_000_000));
    Some(sign * magnitude)
}

/// An event's start: absent (`null`) or an RFC 3339 instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventDate(pub Option<Timestamp>);

impl EventDate {
    /// From a JSON value: missing/null, or an RFC 3339 string (an empty
    /// string is neither, and is refused).
    pub fn from_json(v: Option<&Value>) -> Result<Self, DomainError> {
        match v {
            None | Some(Value::Null) => Ok(EventDate(None)),
            Some(Value::String(s)) => Timestamp::parse_rfc3339(s.trim())
                .map(|t| EventDate(Some(t)))
                .ok_or(DomainError::Invalid {
                    field: "date",
                    message: "Date must be an RFC 3339 date-time",
                }),
            Some(_) => Err(DomainError::Invalid {
                field: "date",
                message: "Date must be an RFC 3339 date-time",
            }),
        }
    }

    /// `null` or the RFC 3339 string.
    pub fn to_json(self) -> Value {
        match self.0 {
            Some(t) => Value::String(t.to_rfc3339()),
            None => Value::Null,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn emails_are_trimmed_lowercased_and_checked() {
        assert_eq!(
            Email::parse("  Ann@Example.COM ").unwrap().as_str(),
            "ann@example.com"
        );
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "a b@example.com",
            "a@@example.com",
            "a@.com",
            "ann\u{200b}@example.com",
            "ann@example.com\u{feff}",
            "ann\u{0600}@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords_are_8_to_72_bytes() {
        assert!(Password::parse("1234567").is_err());
        assert!(Password::parse("12345678").is_ok());
        assert!(Password::parse(&"a".repeat(72)).is_ok());
        assert!(Password::parse(&"a".repeat(73)).is_err());
        // 25 three-byte characters are 75 bytes.
        assert!(Password::parse(&"€".repeat(25)).is_err());
        assert!(Password::parse(&" ".repeat(8)).is_err());
        assert!(Password::parse("\u{3000}\u{3000}\u{3000}").is_err());
        assert_eq!(
            Password::parse("  pass word  ").unwrap().expose(),
            "  pass word  "
        );
        assert_eq!(
            format!("{:?}", Password::parse("secret-pass").unwrap()),
            "Password(..)"
        );
    }

    #[test]
    fn titles_are_trimmed_and_bounded() {
        assert_eq!(Title::parse("  Concert ").unwrap().as_str(), "Concert");
        assert!(Title::parse("   ").is_err());
        assert!(Title::parse("\u{200b}\u{feff}").is_err());
        assert_eq!(
            Title::parse("\u{feff}Jazz\u{200b}").unwrap().as_str(),
            "Jazz"
        );
        assert_eq!(
            Title::parse("Love \u{2764}\u{fe0f}\u{200d}")
                .unwrap()
                .as_str(),
            "Love \u{2764}\u{fe0f}"
        );
        assert!(Title::parse(&"x".repeat(200)).is_ok());
        assert!(Title::parse(&"x".repeat(201)).is_err());
    }

    #[test]
    fn prices_are_exact_cents() {
        let p = |raw: &str| Price::from_json_literal(raw).map(Price::cents);
        assert_eq!(p("20"), Ok(2000));
        assert_eq!(p("12.5"), Ok(1250));
        assert_eq!(p("99.99"), Ok(9999));
        assert_eq!(p("\"12.50\""), Ok(1250));
        assert_eq!(p("\" 7 \""), Ok(700));
        assert_eq!(p("20.0"), Ok(2000));
        assert_eq!(p("1000000"), Ok(100_000_000));
        assert_eq!(p("1e6"), Ok(100_000_000));
        assert_eq!(p("1E2"), Ok(10_000));
        assert_eq!(p("1.5e1"), Ok(1500));
        assert_eq!(p("1e-2"), Ok(1));
        assert_eq!(p("12.5E0"), Ok(1250));
        assert_eq!(p("2e000"), Ok(200));
        assert_eq!(p("100e-2"), Ok(100));
        assert_eq!(p("0.000001e8"), Ok(10_000));
        assert_eq!(p("\"1e3\""), Ok(100_000));
        let why = |raw: &str| match p(raw) {
            Err(DomainError::Invalid {
                field: "price",
                message,
            }) => message,
            other => panic!("{raw}: {other:?}"),
        };
        assert_eq!(why("1e-3"), "Price must have at most 2 decimals");
        assert_eq!(
            why("1e-999999999999999999999"),
            "Price must have at most 2 decimals"
        );
        assert_eq!(why("1e7"), "Price must be at most 1,000,000");
        assert_eq!(
            why("1e999999999999999999999"),
            "Price must be at most 1,000,000"
        );
        assert_eq!(
            why("99999999999999999999999"),
            "Price must be at most 1,000,000"
        );
        assert_eq!(why("0e5"), "Price must be greater than 0");
        assert_eq!(why("-1e2"), "Price must be greater than 0");
        assert_eq!(why("\"1e\""), "Price must be a number");
        assert_eq!(why("\"e5\""), "Price must be a number");
        assert_eq!(why("\"1e2.5\""), "Price must be a number");
        for bad in [
            "0",
            "-5",
            "1.005",
            "\"abc\"",
            "1e20",
            "1000000.01",
            "null",
            "true",
            "\"\"",
            "12.500000000000000001",
            "{}",
            "[1]",
        ] {
            assert!(p(bad).is_err(), "{bad}");
        }
        assert_eq!(Price::from_cents(1250).unwrap().to_json(), json!(12.5));
        assert_eq!(Price::from_cents(9999).unwrap().to_json(), json!(99.99));
        assert_eq!(Price::from_cents(2000).unwrap().to_json(), json!(20));
    }

    #[test]
    fn dates_are_optional_rfc3339() {
        assert_eq!(EventDate::from_json(None), Ok(EventDate(None)));
        assert_eq!(
            EventDate::from_json(Some(&json!(null))),
            Ok(EventDate(None))
        );
        let d = EventDate::from_json(Some(&json!("2026-11-24T18:30:00Z"))).unwrap();
        assert_eq!(d.to_json(), json!("2026-11-24T18:30:00Z"));
        assert!(EventDate::from_json(Some(&json!("tomorrow"))).is_err());
        assert!(EventDate::from_json(Some(&json!(12))).is_err());
    }
}
