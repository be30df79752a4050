//! Payment gateways behind one trait. The built-in test gateway follows the
//! card-token conventions of the big processors' test modes, offline.

use std::future::Future;
use std::pin::Pin;

use crate::domain::{OrderId, Price};

/// Why a charge did not go through.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    /// The card was declined (402).
    #[error("Your card was declined")]
    Declined,
    /// The token is not a card token at all (400).
    #[error("Token must be a card token")]
    InvalidToken,
    /// The gateway could not be reached (503).
    #[error("payment gateway unavailable: {0}")]
    Unavailable(String),
}

/// A charge in flight.
pub type ChargeFuture = Pin<Box<dyn Future<Output = Result<String, PaymentError>> + Send>>;

/// Takes money for an order; returns the gateway's charge id.
pub trait PaymentGateway: Send + Sync + 'static {
    /// Charges `amount` with the card `token` for `order` (the order id is an
    /// idempotency key for gateways that support one).
    fn charge(&self, token: &str, amount: Price, order: OrderId) -> ChargeFuture;
}

/// The default gateway: `tok_chargeDeclined` is declined, any other `tok_`
/// token succeeds, anything else is not a card token.
#[derive(Debug, Default)]
pub struct TestGateway;

impl PaymentGateway for TestGateway {
    fn charge(&self, token: &str, _amount: Price, order: OrderId) -> ChargeFuture {
        let result = if token == "tok_chargeDeclined" {
            Err(PaymentError::Declined)
        } else if token.starts_with("tok_") && token.len() > 4 && token.len() <= 255 {
            Ok(format!("ch_test_{order}"))
        } else {
            Err(PaymentError::InvalidToken)
        };
        Box::pin(std::future::ready(result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn test_tokens_follow_the_processors_conventions() {
        let g = TestGateway;
        let p = Price::from_cents(100).unwrap();
        assert!(g.charge("tok_visa", p, OrderId(1)).await.is_ok());
        assert!(g.charge("tok_mastercard", p, OrderId(1)).await.is_ok());
        assert_eq!(
            g.charge("tok_chargeDeclined", p, OrderId(1)).await,
            Err(PaymentError::Declined)
        );
        assert_eq!(
            g.charge("4242424242424242", p, OrderId(1)).await,
            Err(PaymentError::InvalidToken)
        );
    }
}
