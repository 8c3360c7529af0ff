//! JSON parsed strictly: an object that names a key twice is refused, not silently resolved to
//! one of its values (which one a parser keeps differs between parsers, so a request could mean one
//! thing to a proxy that checked it and another to the engine).

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::cell::RefCell;
use std::fmt;

/// The longest key quoted back in a refusal.
const MAX_QUOTED_KEY_CHARS: usize = 64;

/// Why a body is not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// An object names this key more than once.
    DuplicateKey(String),
    /// Not JSON at all, or more than one value.
    Malformed,
}

/// Parses one JSON value, refusing duplicate keys at any depth.
///
/// # Errors
/// [`Refused`] saying why.
pub fn parse(bytes: &[u8]) -> Result<Value, Refused> {
    let duplicate = RefCell::new(None);
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let parsed = Strict {
        duplicate: &duplicate,
    }
    .deserialize(&mut deserializer)
    .and_then(|value| deserializer.end().map(|()| value));
    match (parsed, duplicate.into_inner()) {
        (Ok(value), _) => Ok(value),
        (Err(_), Some(key)) => Err(Refused::DuplicateKey(key)),
        (Err(_), None) => Err(Refused::Malformed),
    }
}

/// Builds a [`Value`], noting the first duplicate key it meets.
#[derive(Clone, Copy)]
struct Strict<'a> {
    duplicate: &'a RefCell<Option<String>>,
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Value, E> {
        Number::from_f64(value)
            .map(Value::Number)
            .ok_or_else(|| E::custom("not a finite number"))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                let quoted = key.chars().take(MAX_QUOTED_KEY_CHARS).collect();
                self.duplicate.borrow_mut().get_or_insert(quoted);
                return Err(de::Error::custom("duplicate key"));
            }
            let value = map.next_value_seed(self)?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duplicate_key_is_refused_at_any_depth() {
        assert_eq!(
            parse(br#"{"app_id":"a","app_id":"b"}"#),
            Err(Refused::DuplicateKey("app_id".into()))
        );
        assert_eq!(
            parse(br#"{"metadata":{"x":[{"k":1,"k":2}]}}"#),
            Err(Refused::DuplicateKey("k".into()))
        );
    }

    #[test]
    fn well_formed_json_reads_as_serde_json_reads_it() {
        let text = br#"{"a":[1,-2,3.5,true,null,"\u00e9"],"b":{"c":"d"},"e":18446744073709551615}"#;
        assert_eq!(
            parse(text).unwrap(),
            serde_json::from_slice::<Value>(text).unwrap()
        );
    }

    #[test]
    fn malformed_or_trailing_input_is_refused() {
        for bad in [&b"{"[..], b"{} {}", b"{\"a\":}", b""] {
            assert_eq!(parse(bad), Err(Refused::Malformed), "{bad:?}");
        }
    }
}
