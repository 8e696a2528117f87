//! Reading an [`Aggregate`] from its tagged object (`{"type": "trend", ...}`)
//! without buffering it first.
//!
//! serde's derived form of an internally tagged enum cannot know where the
//! tag is, so it copies every object into an intermediate tree (histogram
//! strings included) before reading the variant from it. A controller reads
//! every worker's snapshot every second (issue 15: 100 workers × 500
//! series), so this reads the tag and, when it comes first — as every
//! writer puts it — the rest of the object straight into the variant's
//! type. An object whose tag comes later is buffered, as before; both
//! accept the same objects.

use std::fmt;

use std::marker::PhantomData;

use serde::de::value::{
    BorrowedStrDeserializer, MapAccessDeserializer, SeqAccessDeserializer, StrDeserializer,
};
use serde::de::{DeserializeSeed, Error, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use super::{Aggregate, CounterAgg, GaugeAgg, RateAgg, TrendAgg};
use crate::kind::MetricType;

/// The tag's key.
const TAG: &str = "type";

impl<'de> Deserialize<'de> for Aggregate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(AggregateVisitor)
    }
}

impl Aggregate {
    /// The variant of `kind`, read from `fields` (the object without its tag).
    fn read<'de, D: Deserializer<'de>>(kind: MetricType, fields: D) -> Result<Self, D::Error> {
        Ok(match kind {
            MetricType::Counter => Aggregate::Counter(CounterAgg::deserialize(fields)?),
            MetricType::Gauge => Aggregate::Gauge(GaugeAgg::deserialize(fields)?),
            MetricType::Rate => Aggregate::Rate(RateAgg::deserialize(fields)?),
            MetricType::Trend => Aggregate::Trend(TrendAgg::deserialize(fields)?),
        })
    }
}

struct AggregateVisitor;

impl<'de> Visitor<'de> for AggregateVisitor {
    type Value = Aggregate;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an aggregate: an object with a \"type\"")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Aggregate, A::Error> {
        let mut before = Map::new();
        while let Some(key) = map.next_key_seed(KeyOrTag(PhantomData::<String>))? {
            let Some(key) = key else {
                let kind: MetricType = map.next_value()?;
                if before.is_empty() {
                    return Aggregate::read(kind, MapAccessDeserializer::new(NoSecondTag(map)));
                }
                while let Some(key) = map.next_key_seed(KeyOrTag(PhantomData::<String>))? {
                    let key = key.ok_or_else(|| A::Error::duplicate_field(TAG))?;
                    before.insert(key, map.next_value()?);
                }
                return Aggregate::read(kind, Value::Object(before)).map_err(A::Error::custom);
            };
            before.insert(key, map.next_value()?);
        }
        Err(A::Error::missing_field(TAG))
    }

    /// The derived form's other shape: `[tag, fields...]`.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Aggregate, A::Error> {
        let kind: MetricType = seq
            .next_element()?
            .ok_or_else(|| A::Error::invalid_length(0, &self))?;
        Aggregate::read(kind, SeqAccessDeserializer::new(seq))
    }
}

/// Reads a key with the seed it wraps, or `None` when it is the tag
/// (compared without allocating).
struct KeyOrTag<K>(K);

impl<'de, K: DeserializeSeed<'de>> DeserializeSeed<'de> for KeyOrTag<K> {
    type Value = Option<K::Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de, K: DeserializeSeed<'de>> Visitor<'de> for KeyOrTag<K> {
    type Value = Option<K::Value>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_borrowed_str<E: Error>(self, v: &'de str) -> Result<Self::Value, E> {
        if v == TAG {
            return Ok(None);
        }
        self.0
            .deserialize(BorrowedStrDeserializer::new(v))
            .map(Some)
    }

    fn visit_str<E: Error>(self, v: &str) -> Result<Self::Value, E> {
        if v == TAG {
            return Ok(None);
        }
        self.0.deserialize(StrDeserializer::new(v)).map(Some)
    }
}

/// The rest of an object after its tag, rejecting a second tag as the
/// derived form did (`duplicate field`).
struct NoSecondTag<A>(A);

impl<'de, A: MapAccess<'de>> MapAccess<'de> for NoSecondTag<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        match self.0.next_key_seed(KeyOrTag(seed))? {
            None => Ok(None),
            Some(None) => Err(A::Error::duplicate_field(TAG)),
            Some(Some(key)) => Ok(Some(key)),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.0.next_value_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// serde's derived form, which `Aggregate` had: the reference.
    #[derive(Deserialize)]
    #[serde(tag = "type", rename_all = "lowercase")]
    enum Derived {
        Counter(CounterAgg),
        Gauge(GaugeAgg),
        Rate(RateAgg),
        Trend(TrendAgg),
    }

    impl From<Derived> for Aggregate {
        fn from(d: Derived) -> Aggregate {
            match d {
                Derived::Counter(c) => Aggregate::Counter(c),
                Derived::Gauge(g) => Aggregate::Gauge(g),
                Derived::Rate(r) => Aggregate::Rate(r),
                Derived::Trend(t) => Aggregate::Trend(t),
            }
        }
    }

    fn trend_json() -> String {
        let mut t = Aggregate::new(MetricType::Trend);
        for v in [1.5, 250.0, -3.0, 0.001] {
            t.add(v, 0);
        }
        serde_json::to_string(&t).unwrap()
    }

    #[test]
    fn reads_what_the_derived_form_reads() {
        let trend = trend_json();
        let body = trend.strip_prefix(r#"{"type":"trend","#).unwrap();
        let cases = [
            r#"{"type":"counter","sum":3.5,"samples":2}"#.to_string(),
            r#"{"sum":3.5,"type":"counter","samples":2}"#.into(),
            r#"{"sum":3.5,"samples":2,"type":"counter"}"#.into(),
            r#"{"sum":3.5,"samples":2,"extra":[1,{"a":null}],"type":"counter"}"#.into(),
            r#"{"type":"counter","extra":"x","sum":3.5,"samples":2}"#.into(),
            r#"{"type":"rate","passes":1,"total":4}"#.into(),
            r#"{"type":"gauge","value":2,"time_ns":7,"min":1,"max":3,"samples":2}"#.into(),
            r#"{"t\u0079pe":"rate","passes":1,"total":4}"#.into(),
            trend.clone(),
            format!(r#"{{{body}"#).replace('}', r#","type":"trend"}"#),
            r#"["counter",3.5,2]"#.into(),
            r#"["rate",1,4]"#.into(),
            // Bad: no tag, unknown tag, a second tag, a wrong field, not an object.
            r#"{"sum":3.5,"samples":2}"#.into(),
            r#"{"type":"histogram","sum":1}"#.into(),
            r#"{"type":"counter","sum":3.5,"type":"counter","samples":2}"#.into(),
            r#"{"sum":3.5,"type":"counter","samples":2,"type":"rate"}"#.into(),
            r#"{"type":"counter","sum":"3.5","samples":2}"#.into(),
            r#"{"type":"counter","sum":3.5}"#.into(),
            r#"{"type":7}"#.into(),
            r#"{}"#.into(),
            r#"[]"#.into(),
            r#"["counter",3.5]"#.into(),
            r#""counter""#.into(),
            trend.replace(r#""count":4"#, r#""count":5"#),
        ];
        let mut ok = 0;
        for json in &cases {
            let ours = serde_json::from_str::<Aggregate>(json);
            let derived = serde_json::from_str::<Derived>(json).map(Aggregate::from);
            match (ours, derived) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(a, b, "{json}");
                    ok += 1;
                }
                (Err(_), Err(_)) => {}
                (a, b) => panic!("{json}: ours {a:?}, derived {b:?}"),
            }
        }
        assert_eq!(ok, 12, "the first twelve cases are valid");
    }

    #[test]
    fn errors_name_the_problem() {
        let err = |json: &str| {
            serde_json::from_str::<Aggregate>(json)
                .unwrap_err()
                .to_string()
        };
        assert!(err(r#"{"sum":1,"samples":1}"#).contains("missing field `type`"));
        assert!(err(r#"{"type":"x"}"#).contains("unknown variant `x`"));
        assert!(err(r#"{"type":"rate","type":"rate"}"#).contains("duplicate field `type`"));
        assert!(err(r#"{"type":"rate","passes":1}"#).contains("missing field `total`"));
    }
}
