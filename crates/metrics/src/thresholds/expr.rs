//! Threshold expressions: `p(95) < 500`, `rate<0.01`, `count>=10`.

use std::fmt;

use crate::gofmt::parse_float;
use crate::stat::Stat;

use super::error::ThresholdError;

/// A comparison operator of a threshold expression.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
    /// `===` (same as `==` on numbers)
    StrictEq,
    /// `!=`
    Ne,
}

impl Op {
    /// The operators in the order k6 scans for them: a longer token before
    /// the shorter one it contains.
    const SCAN_ORDER: [Op; 7] = [Op::Le, Op::Lt, Op::Ge, Op::Gt, Op::StrictEq, Op::Eq, Op::Ne];

    /// The operator's token.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Eq => "==",
            Op::StrictEq => "===",
            Op::Ne => "!=",
        }
    }

    /// Compares `lhs` (the observed statistic) with `rhs` (the threshold value).
    pub fn apply(self, lhs: f64, rhs: f64) -> bool {
        match self {
            Op::Lt => lhs < rhs,
            Op::Le => lhs <= rhs,
            Op::Gt => lhs > rhs,
            Op::Ge => lhs >= rhs,
            Op::Eq | Op::StrictEq => lhs == rhs,
            Op::Ne => lhs != rhs,
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed threshold expression.
#[derive(Clone, Debug, PartialEq)]
pub struct ThresholdExpr {
    /// The expression as written (k6 reports thresholds by it).
    pub source: String,
    /// The statistic compared (`avg`, `p(95)`, ...).
    pub stat: Stat,
    /// The comparison.
    pub op: Op,
    /// The value compared against.
    pub value: f64,
}

impl ThresholdExpr {
    /// Parses an expression like k6: the first operator found (in k6's scan
    /// order, and not at the very end) splits it at its first occurrence, both sides are trimmed, the left must be one of
    /// `value count rate avg min med max p(N)` and the right a Go float.
    ///
    /// Unlike k6 (which panics at evaluation), a percentile outside
    /// [0, 100] is rejected here.
    pub fn parse(s: &str) -> Result<Self, ThresholdError> {
        let (lhs, op, rhs) = Op::SCAN_ORDER
            .iter()
            .find_map(|op| {
                // k6 skips an operator that ends the expression: `rate<=`
                // splits on `<`, `rate!=` is malformed.
                s.split_once(op.as_str())
                    .filter(|(_, r)| !r.is_empty())
                    .map(|(l, r)| (l.trim(), *op, r.trim()))
            })
            .ok_or_else(|| ThresholdError::Malformed { expr: s.to_owned() })?;
        let lhs_err = |reason: String| ThresholdError::LeftHandSide {
            expr: s.to_owned(),
            reason,
        };
        let stat = match lhs {
            "value" => Stat::Value,
            "count" => Stat::Count,
            "rate" => Stat::Rate,
            "avg" => Stat::Avg,
            "min" => Stat::Min,
            "med" => Stat::Med,
            "max" => Stat::Max,
            _ => match Stat::parse_percentile(lhs) {
                Some(Ok(p)) if (0.0..=100.0).contains(&p) => Stat::Percentile(p),
                Some(Ok(p)) => {
                    return Err(lhs_err(format!(
                        "percentile value {p} is out of range, provide a number between 0 and 100"
                    )))
                }
                Some(Err(e)) => {
                    return Err(lhs_err(format!("malformed percentile value; reason: {e}")))
                }
                None => return Err(lhs_err("failed parsing method from expression".into())),
            },
        };
        let value = parse_float(rhs).map_err(|e| ThresholdError::RightHandSide {
            expr: s.to_owned(),
            reason: e.message(rhs),
        })?;
        Ok(ThresholdExpr {
            source: s.to_owned(),
            stat,
            op,
            value,
        })
    }

    /// Whether the observed statistic `lhs` satisfies the expression.
    pub fn check(&self, lhs: f64) -> bool {
        self.op.apply(lhs, self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(s: &str) -> ThresholdExpr {
        ThresholdExpr::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn valid_forms() {
        let e = parse("p(95)<500");
        assert_eq!(
            (e.stat, e.op, e.value),
            (Stat::Percentile(95.0), Op::Lt, 500.0)
        );
        assert_eq!(e.source, "p(95)<500");
        assert_eq!(parse("rate<0.01").stat, Stat::Rate);
        assert_eq!(parse("count>=10").op, Op::Ge);
        let e = parse(" avg < 200 ");
        assert_eq!((e.stat, e.op, e.value), (Stat::Avg, Op::Lt, 200.0));
        assert_eq!(e.source, " avg < 200 ");
        assert_eq!(parse("med<=3").op, Op::Le);
        assert_eq!(parse("value==1").op, Op::Eq);
        assert_eq!(parse("value===1").op, Op::StrictEq);
        assert_eq!(parse("min!=1").op, Op::Ne);
        assert_eq!(parse("max>1").op, Op::Gt);
        assert_eq!(parse("p(99.9)<1").stat, Stat::Percentile(99.9));
        assert_eq!(parse("p(1e1)<1").stat, Stat::Percentile(10.0));
        // Go float syntax on the right, as k6 accepts it.
        assert_eq!(parse("rate<.5").value, 0.5);
        assert_eq!(parse("rate<+5").value, 5.0);
        assert_eq!(parse("rate<1_0").value, 10.0);
        assert_eq!(parse("rate<Inf").value, f64::INFINITY);
    }

    #[test]
    fn errors_match_k6_wording() {
        // Each message was produced by k6 v1.1.0 for the same expression.
        let cases = [
            (
                "p(95)<",
                r#"failed parsing threshold expression "p(95)<"; reason: malformed threshold expression"#,
            ),
            (
                "avg=1",
                r#"failed parsing threshold expression "avg=1"; reason: malformed threshold expression"#,
            ),
            (
                "",
                r#"failed parsing threshold expression ""; reason: malformed threshold expression"#,
            ),
            (
                "avg ! = 3",
                r#"failed parsing threshold expression "avg ! = 3"; reason: malformed threshold expression"#,
            ),
            (
                "foo<1",
                r#"failed parsing threshold expression's "foo<1" left hand side; reason: failed parsing method from expression"#,
            ),
            (
                "AVG<1",
                r#"failed parsing threshold expression's "AVG<1" left hand side; reason: failed parsing method from expression"#,
            ),
            (
                "rate!==1",
                r#"failed parsing threshold expression's "rate!==1" left hand side; reason: failed parsing method from expression"#,
            ),
            (
                "p(abc)<1",
                r#"failed parsing threshold expression's "p(abc)<1" left hand side; reason: malformed percentile value; reason: strconv.ParseFloat: parsing "abc": invalid syntax"#,
            ),
            (
                "p( 95 )<1",
                r#"failed parsing threshold expression's "p( 95 )<1" left hand side; reason: malformed percentile value; reason: strconv.ParseFloat: parsing " 95 ": invalid syntax"#,
            ),
            (
                "p()<1",
                r#"failed parsing threshold expression's "p()<1" left hand side; reason: malformed percentile value; reason: strconv.ParseFloat: parsing "": invalid syntax"#,
            ),
            (
                "rate < x",
                r#"failed parsing threshold expresion's "rate < x" right hand side; reason: strconv.ParseFloat: parsing "x": invalid syntax"#,
            ),
            (
                "rate<0x10",
                r#"failed parsing threshold expresion's "rate<0x10" right hand side; reason: strconv.ParseFloat: parsing "0x10": invalid syntax"#,
            ),
            (
                "p(95) <= 1 < 2",
                r#"failed parsing threshold expresion's "p(95) <= 1 < 2" right hand side; reason: strconv.ParseFloat: parsing "1 < 2": invalid syntax"#,
            ),
            (
                "rate<<1",
                r#"failed parsing threshold expresion's "rate<<1" right hand side; reason: strconv.ParseFloat: parsing "<1": invalid syntax"#,
            ),
            (
                "p(95)<1,5",
                r#"failed parsing threshold expresion's "p(95)<1,5" right hand side; reason: strconv.ParseFloat: parsing "1,5": invalid syntax"#,
            ),
        ];
        for (expr, want) in cases {
            let err = ThresholdExpr::parse(expr).expect_err(expr);
            assert_eq!(err.to_string(), want);
        }
    }

    #[test]
    fn out_of_range_percentiles_are_rejected() {
        // k6 v1.1.0 accepts these and then panics evaluating them.
        for expr in ["p(101)<1", "p(-1)<1", "p(NaN)<1"] {
            assert!(matches!(
                ThresholdExpr::parse(expr),
                Err(ThresholdError::LeftHandSide { .. })
            ));
        }
    }

    #[test]
    fn operators_compare() {
        assert!(parse("avg<2").check(1.0));
        assert!(!parse("avg<2").check(2.0));
        assert!(parse("avg<=2").check(2.0));
        assert!(parse("avg>=2").check(2.0));
        assert!(!parse("avg>2").check(2.0));
        assert!(parse("avg==2").check(2.0));
        assert!(parse("avg===2").check(2.0));
        assert!(parse("avg!=2").check(3.0));
    }

    proptest! {
        #[test]
        fn formatted_expressions_parse(
            stat in prop_oneof![
                Just("avg".to_string()), Just("count".to_string()), Just("rate".to_string()),
                (0u32..=1000).prop_map(|p| format!("p({})", f64::from(p) / 10.0)),
            ],
            op in proptest::sample::select(vec!["<", "<=", ">", ">=", "==", "===", "!="]),
            value in -1e9f64..1e9,
            ws1 in "[ \t]{0,2}",
            ws2 in "[ \t]{0,2}",
        ) {
            let src = format!("{ws1}{stat}{ws2}{op}{ws1}{value}{ws2}");
            let e = ThresholdExpr::parse(&src).unwrap();
            prop_assert_eq!(e.op.as_str(), op);
            prop_assert_eq!(e.value, value);
            prop_assert_eq!(e.stat.to_string(), stat);
        }

        #[test]
        fn never_panics(s in "\\PC{0,20}") {
            let _ = ThresholdExpr::parse(&s);
        }
    }
}
