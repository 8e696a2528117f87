//! Number formatting as k6's JavaScript runtime (goja) and Go do it.
//!
//! k6 renders its summary in JavaScript, so the text depends on
//! `Number.prototype.toString` and `toFixed`; the JSON output writes floats
//! with Go's `strconv.FormatFloat(v, 'g', -1, 64)`.

/// The shortest decimal digits of a finite, positive `x` and its decimal
/// exponent `n`, such that `x = 0.d1d2...dk × 10^n` (ECMAScript's notation).
fn shortest_digits(x: f64) -> (String, i32) {
    // `{:e}` prints the shortest representation that round-trips.
    let s = format!("{x:e}");
    let (mantissa, exp) = s.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("{:e} exponent is an integer");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    (digits, exp + 1)
}

/// `String(x)` in JavaScript (`Number.prototype.toString()`).
pub fn js_string(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x == 0.0 {
        return "0".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let sign = if x < 0.0 { "-" } else { "" };
    let (digits, n) = shortest_digits(x.abs());
    let k = digits.len() as i32;
    let body = if k <= n && n <= 21 {
        format!("{digits}{}", "0".repeat((n - k) as usize))
    } else if 0 < n && n <= 21 {
        let (int, frac) = digits.split_at(n as usize);
        format!("{int}.{frac}")
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat((-n) as usize))
    } else {
        let e = n - 1;
        let esign = if e < 0 { '-' } else { '+' };
        let (first, rest) = digits.split_at(1);
        if rest.is_empty() {
            format!("{first}e{esign}{}", e.abs())
        } else {
            format!("{first}.{rest}e{esign}{}", e.abs())
        }
    };
    format!("{sign}{body}")
}

/// `x.toFixed(digits)` in JavaScript: the exact value rounded half up
/// (away from zero) to `digits` decimals; `String(x)` from 1e21 on.
pub fn to_fixed(x: f64, digits: usize) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.abs() >= 1e21 || x.is_infinite() {
        return js_string(x);
    }
    let sign = if x < 0.0 { "-" } else { "" };
    // The exact decimal expansion of a double ends within 1074 fractional
    // digits, so this string is exact and ties can be seen as such.
    let exact = format!("{:.1100}", x.abs());
    let (int, frac) = exact.split_once('.').expect("formatted with a fraction");
    let mut kept: Vec<u8> = int.bytes().chain(frac.bytes().take(digits)).collect();
    if frac.as_bytes()[digits] >= b'5' {
        // Round up, carrying through nines.
        let mut i = kept.len();
        loop {
            if i == 0 {
                kept.insert(0, b'1');
                break;
            }
            i -= 1;
            if kept[i] == b'9' {
                kept[i] = b'0';
            } else {
                kept[i] += 1;
                break;
            }
        }
    }
    let split = kept.len() - digits;
    let (int, frac) = kept.split_at(split);
    let int = std::str::from_utf8(int).expect("ascii digits");
    let frac = std::str::from_utf8(frac).expect("ascii digits");
    if digits == 0 {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    }
}

/// `parseFloat(x.toFixed(digits)).toString()`: rounded, without trailing zeros.
pub fn to_fixed_no_trailing_zeros(x: f64, digits: usize) -> String {
    let fixed = to_fixed(x, digits);
    match fixed.parse::<f64>() {
        Ok(v) => js_string(v),
        Err(_) => fixed,
    }
}

/// Go's `strconv.FormatFloat(v, 'g', -1, 64)`: shortest digits, exponent
/// form (at least two exponent digits) below 1e-4 and from 1e6 on.
pub fn go_g(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let sign = if x < 0.0 { "-" } else { "" };
    let (digits, n) = shortest_digits(x.abs());
    let exp = n - 1;
    let body = if !(-4..6).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let esign = if exp < 0 { '-' } else { '+' };
        if rest.is_empty() {
            format!("{first}e{esign}{:02}", exp.abs())
        } else {
            format!("{first}.{rest}e{esign}{:02}", exp.abs())
        }
    } else if n <= 0 {
        format!("0.{}{digits}", "0".repeat((-n) as usize))
    } else if n as usize >= digits.len() {
        format!("{digits}{}", "0".repeat(n as usize - digits.len()))
    } else {
        let (int, frac) = digits.split_at(n as usize);
        format!("{int}.{frac}")
    };
    format!("{sign}{body}")
}

/// Go's `fmt.Sprintf("%f", v)` (six decimals, exactly rounded, ties to even).
pub fn go_f6(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    format!("{x:.6}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn shortest_forms_round_trip(bits in any::<u64>()) {
            let x = f64::from_bits(bits);
            prop_assume!(x.is_finite());
            prop_assert_eq!(js_string(x).parse::<f64>().unwrap(), x);
            prop_assert_eq!(go_g(x).parse::<f64>().unwrap(), x);
        }

        #[test]
        fn to_fixed_rounds_to_nearest(x in -1e12f64..1e12, digits in 0usize..9) {
            let s = to_fixed(x, digits);
            let frac = s.split_once('.').map_or(0, |(_, f)| f.len());
            prop_assert_eq!(frac, digits);
            let v: f64 = s.parse().unwrap();
            let half = 0.5 * 10f64.powi(-(digits as i32));
            prop_assert!((v - x).abs() <= half * (1.0 + 1e-9) + x.abs() * 1e-15, "{} -> {}", x, s);
        }
    }

    #[test]
    fn js_string_matches_goja() {
        // k6 v1.1.0: console.log(String(x)) for each.
        let cases = [
            (1e21, "1e+21"),
            (1e-7, "1e-7"),
            (123e-20, "1.23e-18"),
            (0.000001, "0.000001"),
            (1.5e300, "1.5e+300"),
            (-0.0, "0"),
            (100.0, "100"),
            (1.0 / 3.0, "0.3333333333333333"),
            (38.067131, "38.067131"),
            (12.3456, "12.3456"),
            (-2.5, "-2.5"),
            (123456789012345680000.0, "123456789012345680000"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Infinity"),
        ];
        for (x, want) in cases {
            assert_eq!(js_string(x), want, "{x:e}");
        }
    }

    #[test]
    fn to_fixed_matches_goja() {
        // k6 v1.1.0: (2.5).toFixed(0), (1.125).toFixed(2), (0.5).toFixed(0),
        // (1e21).toFixed(2), (-0.0001).toFixed(2), (123.456).toFixed(1), (1.005).toFixed(2)
        let cases = [
            (2.5, 0, "3"),
            (1.125, 2, "1.13"),
            (0.5, 0, "1"),
            (1e21, 2, "1e+21"),
            (-0.0001, 2, "-0.00"),
            (123.456, 1, "123.5"),
            (1.005, 2, "1.00"),
            (9.999, 2, "10.00"),
            (0.0, 2, "0.00"),
            (-0.0, 2, "0.00"),
            (99.5, 0, "100"),
        ];
        for (x, d, want) in cases {
            assert_eq!(to_fixed(x, d), want, "{x}.toFixed({d})");
        }
        assert_eq!(to_fixed_no_trailing_zeros(-0.0001, 2), "0");
        assert_eq!(to_fixed_no_trailing_zeros(38.0671312, 6), "38.067131");
        assert_eq!(to_fixed_no_trailing_zeros(12.0, 6), "12");
    }

    #[test]
    fn go_g_matches_k6_json_output() {
        // k6 v1.1.0 `--out json` values.
        let cases = [
            (1e-7, "1e-07"),
            (1e21, "1e+21"),
            (123456789.123, "1.23456789123e+08"),
            (-0.5, "-0.5"),
            (1.5e-7, "1.5e-07"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1.0, "1"),
            (0.0, "0"),
            (1436.0, "1436"),
            (4639.875512786214, "4639.875512786214"),
            (100000.0, "100000"),
            (1000000.0, "1e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
        ];
        for (x, want) in cases {
            assert_eq!(go_g(x), want, "{x:e}");
        }
    }

    #[test]
    fn go_f6_matches_k6_csv_output() {
        assert_eq!(go_f6(1e21), "1000000000000000000000.000000");
        assert_eq!(go_f6(123456789.123), "123456789.123000");
        assert_eq!(go_f6(1e-7), "0.000000");
        assert_eq!(go_f6(0.1 + 0.2), "0.300000");
        assert_eq!(go_f6(-0.5), "-0.500000");
    }
}
