//! Small exact rationals for execution segments (k6 uses `big.Rat`).

use std::cmp::Ordering;
use std::fmt;

/// An exact fraction `num/den`, always reduced with `den > 0`.
///
/// `i128` keeps every value a user can reasonably write exact; operations
/// that would overflow return `None` instead of wrapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ratio {
    num: i128,
    den: i128,
}

fn gcd(mut a: i128, mut b: i128) -> i128 {
    a = a.abs();
    b = b.abs();
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Ratio {
    /// Zero.
    pub const ZERO: Ratio = Ratio { num: 0, den: 1 };
    /// One.
    pub const ONE: Ratio = Ratio { num: 1, den: 1 };

    /// `num/den`, reduced; `None` when `den` is zero.
    pub fn new(num: i128, den: i128) -> Option<Ratio> {
        if den == 0 {
            return None;
        }
        let g = gcd(num, den).max(1);
        let sign = if den < 0 { -1 } else { 1 };
        Some(Ratio {
            num: sign * num / g,
            den: sign * den / g,
        })
    }

    /// A whole number.
    pub fn int(n: i128) -> Ratio {
        Ratio { num: n, den: 1 }
    }

    /// Numerator (sign carrier).
    pub fn num(self) -> i128 {
        self.num
    }

    /// Denominator, always positive.
    pub fn den(self) -> i128 {
        self.den
    }

    /// `self + other`, `None` on overflow.
    pub fn checked_add(self, other: Ratio) -> Option<Ratio> {
        let num = self
            .num
            .checked_mul(other.den)?
            .checked_add(other.num.checked_mul(self.den)?)?;
        Ratio::new(num, self.den.checked_mul(other.den)?)
    }

    /// `self - other`, `None` on overflow.
    pub fn checked_sub(self, other: Ratio) -> Option<Ratio> {
        self.checked_add(Ratio {
            num: -other.num,
            den: other.den,
        })
    }

    /// `self * other`, `None` on overflow.
    pub fn checked_mul(self, other: Ratio) -> Option<Ratio> {
        let g1 = gcd(self.num, other.den).max(1);
        let g2 = gcd(other.num, self.den).max(1);
        let num = (self.num / g1).checked_mul(other.num / g2)?;
        Ratio::new(num, (self.den / g2).checked_mul(other.den / g1)?)
    }

    /// Nearest `f64` (good enough for display).
    pub fn to_f64(self) -> f64 {
        self.num as f64 / self.den as f64
    }

    /// Parses Go `big.Rat.SetString` input: `"3/4"`, `"0.75"`, `"7.5e-1"`,
    /// with an optional sign.
    pub fn parse(s: &str) -> Option<Ratio> {
        if let Some((n, d)) = s.split_once('/') {
            let d: i128 = parse_digits(d)?;
            let n: i128 = parse_signed(n)?;
            return Ratio::new(n, d);
        }
        let (mantissa, exp) = match s.find(['e', 'E']) {
            Some(i) => (&s[..i], parse_signed(&s[i + 1..])?),
            None => (s, 0),
        };
        let (neg, body) = match mantissa.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, mantissa.strip_prefix('+').unwrap_or(mantissa)),
        };
        let (int_part, frac_part) = body.split_once('.').unwrap_or((body, ""));
        if int_part.is_empty() && frac_part.is_empty() {
            return None;
        }
        let digits = format!("{int_part}{frac_part}");
        let mut value = Ratio::int(if digits.is_empty() {
            0
        } else {
            parse_digits(&digits)?
        });
        let exp10 = exp.checked_sub(i128::try_from(frac_part.len()).ok()?)?;
        let pow = 10i128.checked_pow(u32::try_from(exp10.unsigned_abs()).ok()?)?;
        value = if exp10 >= 0 {
            value.checked_mul(Ratio::int(pow))?
        } else {
            value.checked_mul(Ratio::new(1, pow)?)?
        };
        Some(if neg {
            Ratio {
                num: -value.num,
                den: value.den,
            }
        } else {
            value
        })
    }

    /// Go's `RatString`: `"1/2"`, or just `"1"` for whole numbers.
    pub fn rat_string(self) -> String {
        if self.den == 1 {
            self.num.to_string()
        } else {
            format!("{}/{}", self.num, self.den)
        }
    }

    /// Go's `FloatString(2)`: two decimals, halves rounded away from zero.
    pub fn float_string2(self) -> String {
        let scaled = self.num.abs() * 100;
        let (q, r) = (scaled / self.den, scaled % self.den);
        let q = if r * 2 >= self.den { q + 1 } else { q };
        let sign = if self.num < 0 && q != 0 { "-" } else { "" };
        format!("{sign}{}.{:02}", q / 100, q % 100)
    }
}

fn parse_digits(s: &str) -> Option<i128> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_signed(s: &str) -> Option<i128> {
    match s.strip_prefix('-') {
        Some(rest) => parse_digits(rest).map(|v| -v),
        None => parse_digits(s.strip_prefix('+').unwrap_or(s)),
    }
}

impl PartialOrd for Ratio {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ratio {
    fn cmp(&self, other: &Self) -> Ordering {
        // Denominators are positive, so cross-multiplying keeps the order;
        // fall back to floats only if the products overflow.
        match (
            self.num.checked_mul(other.den),
            other.num.checked_mul(self.den),
        ) {
            (Some(a), Some(b)) => a.cmp(&b),
            _ => self.to_f64().total_cmp(&other.to_f64()),
        }
    }
}

impl fmt::Display for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rat_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(n: i128, d: i128) -> Ratio {
        Ratio::new(n, d).unwrap()
    }

    #[test]
    fn parses_fractions_decimals_and_exponents() {
        assert_eq!(Ratio::parse("3/4"), Some(r(3, 4)));
        assert_eq!(Ratio::parse("2/4"), Some(r(1, 2)));
        assert_eq!(Ratio::parse("0.75"), Some(r(3, 4)));
        assert_eq!(Ratio::parse("1.0"), Some(Ratio::ONE));
        assert_eq!(Ratio::parse(".5"), Some(r(1, 2)));
        assert_eq!(Ratio::parse("7.5e-1"), Some(r(3, 4)));
        assert_eq!(Ratio::parse("-0.5"), Some(r(-1, 2)));
        assert_eq!(Ratio::parse("1"), Some(Ratio::ONE));
        for bad in ["", "a", "1a5", "1/0", "1/", "/2", ".", "1.2.3"] {
            assert_eq!(Ratio::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn formats_like_go() {
        assert_eq!(r(1, 2).rat_string(), "1/2");
        assert_eq!(r(2, 1).rat_string(), "2");
        assert_eq!(r(5, 4).float_string2(), "1.25");
        assert_eq!(r(1, 3).float_string2(), "0.33");
        assert_eq!(r(2, 3).float_string2(), "0.67");
        assert_eq!(r(-1, 2).float_string2(), "-0.50");
    }

    #[test]
    fn arithmetic_and_order() {
        assert_eq!(r(1, 3).checked_add(r(1, 6)), Some(r(1, 2)));
        assert_eq!(r(1, 2).checked_sub(r(1, 3)), Some(r(1, 6)));
        assert_eq!(r(2, 3).checked_mul(r(3, 4)), Some(r(1, 2)));
        assert!(r(1, 3) < r(1, 2));
        assert!(r(-1, 2) < Ratio::ZERO);
    }
}
