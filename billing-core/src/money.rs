//! Currencies and amounts of money in minor units.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// An ISO 4217 currency that has minor units (USD, EUR, JPY, KWD, ...).
///
/// Funds and metals without a minor-unit exponent (XAU, XDR, ...) are refused: they cannot be
/// billed in minor units.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency {
    iso: iso_currency::Currency,
    exponent: u8,
}

impl Currency {
    /// US dollar.
    pub const USD: Currency = Currency {
        iso: iso_currency::Currency::USD,
        exponent: 2,
    };
    /// Euro.
    pub const EUR: Currency = Currency {
        iso: iso_currency::Currency::EUR,
        exponent: 2,
    };
    /// Japanese yen (no minor unit).
    pub const JPY: Currency = Currency {
        iso: iso_currency::Currency::JPY,
        exponent: 0,
    };

    /// Parses an ISO 4217 code such as `"USD"` (upper case).
    ///
    /// # Errors
    /// `InvalidInput` for an unknown code or a currency without minor units.
    pub fn from_code(code: &str) -> Result<Self> {
        let iso = iso_currency::Currency::from_code(code)
            .ok_or_else(|| Error::invalid_input(format!("unknown currency code {code:?}")))?;
        let exponent = iso
            .exponent()
            .and_then(|e| u8::try_from(e).ok())
            .ok_or_else(|| {
                Error::invalid_input(format!("currency {code} has no minor unit to bill in"))
            })?;
        Ok(Self { iso, exponent })
    }

    /// The three-letter code.
    pub fn code(&self) -> &'static str {
        self.iso.code()
    }

    /// The number of decimal places of the minor unit (USD 2, JPY 0, KWD 3).
    pub fn exponent(&self) -> u32 {
        u32::from(self.exponent)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl std::str::FromStr for Currency {
    type Err = Error;
    fn from_str(code: &str) -> Result<Self> {
        Self::from_code(code)
    }
}

impl TryFrom<String> for Currency {
    type Error = Error;
    fn try_from(code: String) -> Result<Self> {
        Self::from_code(&code)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> String {
        c.code().to_owned()
    }
}

/// An amount of money: an integer number of minor units of a currency.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// The amount in minor units (cents for USD, yen for JPY, fils for KWD).
    pub minor: i64,
    /// The currency.
    pub currency: Currency,
}

impl Money {
    /// An amount in minor units.
    pub fn from_minor(minor: i64, currency: Currency) -> Self {
        Self { minor, currency }
    }

    /// Converts an amount in major units (`12.34` dollars) to minor units.
    ///
    /// # Errors
    /// `InvalidInput` if the amount has more decimal places than the currency allows (that would
    /// lose precision) or does not fit in an `i64` of minor units.
    pub fn from_major(major: Decimal, currency: Currency) -> Result<Self> {
        let normalized = major.normalize();
        if normalized.scale() > currency.exponent() {
            return Err(Error::invalid_input(format!(
                "{major} {currency} has more than {} decimal places",
                currency.exponent()
            )));
        }
        let minor = normalized
            .checked_mul(Decimal::from(10_i64.pow(currency.exponent())))
            .and_then(|m| i64::try_from(m.trunc()).ok())
            .ok_or_else(|| Error::invalid_input(format!("{major} {currency} is out of range")))?;
        Ok(Self { minor, currency })
    }

    /// Converts an amount in major units, rounding half away from zero to the nearest minor
    /// unit. For computed amounts (price × quantity), never for amounts a user typed.
    ///
    /// # Errors
    /// `InvalidInput` if the result does not fit in an `i64` of minor units.
    pub fn from_major_rounded(major: Decimal, currency: Currency) -> Result<Self> {
        let rounded = major.round_dp_with_strategy(
            currency.exponent(),
            rust_decimal::RoundingStrategy::MidpointAwayFromZero,
        );
        Self::from_major(rounded, currency)
    }

    /// The amount in major units, exactly (`1234` cents is `12.34`).
    pub fn to_major(&self) -> Decimal {
        Decimal::new(self.minor, self.currency.exponent())
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.to_major(), self.currency)
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn exponents_follow_iso_4217() {
        assert_eq!(Currency::from_code("USD").unwrap().exponent(), 2);
        assert_eq!(Currency::from_code("JPY").unwrap().exponent(), 0);
        assert_eq!(Currency::from_code("KWD").unwrap().exponent(), 3);
        assert_eq!(Currency::USD, Currency::from_code("USD").unwrap());
        assert_eq!(Currency::EUR, Currency::from_code("EUR").unwrap());
        assert_eq!(Currency::JPY, Currency::from_code("JPY").unwrap());
    }

    #[test]
    fn rejects_unknown_and_unitless_currencies() {
        for bad in ["usd", "XYZ", "", "US", "XAU"] {
            assert_eq!(
                Currency::from_code(bad).unwrap_err().kind(),
                ErrorKind::InvalidInput,
                "{bad}"
            );
        }
    }

    #[test]
    fn major_minor_round_trip_per_exponent() {
        let usd = Money::from_major(d("12.34"), Currency::USD).unwrap();
        assert_eq!(usd.minor, 1234);
        assert_eq!(usd.to_major(), d("12.34"));
        let jpy = Money::from_major(d("500"), Currency::JPY).unwrap();
        assert_eq!(jpy.minor, 500);
        let kwd = Currency::from_code("KWD").unwrap();
        let k = Money::from_major(d("1.234"), kwd).unwrap();
        assert_eq!(k.minor, 1234);
        assert_eq!(k.to_major(), d("1.234"));
        // trailing zeros are not extra precision
        assert_eq!(
            Money::from_major(d("1.500"), Currency::USD).unwrap().minor,
            150
        );
    }

    #[test]
    fn refuses_to_lose_precision() {
        assert!(Money::from_major(d("0.001"), Currency::USD).is_err());
        assert!(Money::from_major(d("1.5"), Currency::JPY).is_err());
        assert!(Money::from_major(d("99999999999999999999"), Currency::USD).is_err());
        assert_eq!(
            Money::from_major_rounded(d("0.005"), Currency::USD)
                .unwrap()
                .minor,
            1
        );
    }

    #[test]
    fn serde_uses_codes() {
        let m = Money::from_minor(250, Currency::EUR);
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, r#"{"minor":250,"currency":"EUR"}"#);
        assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), m);
        assert!(serde_json::from_str::<Currency>("\"XXX1\"").is_err());
    }
}
