//! Responses written as JSON text while they are resolved: an object resolved by
//! [`crate::fast`] hands its parent its JSON text (a "fragment") instead of a map, and the
//! server writes the response around the fragments with [`to_vec`].
//!
//! Why: async-graphql builds the whole response as a tree of [`Value`]s (an `IndexMap` per
//! object, every key hashed with SipHash), which the server then walks again to restore the
//! selection order, serialises and drops. For a nested list (Q2 in docs/PERFORMANCE.md: 50
//! steps, their sequence, creator, updater and tasks) that tree was about a fifth of the
//! request's instructions; the fragments are written once, in selection order, and copied.
//!
//! How a fragment travels: as `Value::Binary`, the one variant no field of the schema
//! produces (no scalar is binary: `no_field_of_the_schema_is_binary` below), so async-graphql
//! passes it through lists, options and containers untouched. Only a request whose response
//! the server writes with [`to_vec`] asks for fragments ([`crate::RequestCtx::raw_json`]);
//! subscriptions and tests that read `Response::data` get plain values. What a client reads
//! does not change: the same bytes, checked for every query of the integration suite against
//! async-graphql's own path (`tests/it/server.rs`).

use std::collections::HashMap;
use std::io::Write;

use async_graphql::parser::types::{Field, FragmentDefinition};
use async_graphql::{BatchResponse, Name, Positioned, Response, Value};

/// The fragments of the executed document, by name (what a selection's spreads refer to).
pub type Fragments = HashMap<Name, Positioned<FragmentDefinition>>;

/// An object's JSON text, carried as a value (see the module documentation).
pub fn fragment(json: Vec<u8>) -> Value {
    Value::Binary(json.into())
}

/// One member of an object's JSON text, `,"key":value` (an object is written as such
/// members, then [`close`]d). A value that is a map (an object async-graphql resolved itself,
/// its fields in completion order) is put in the order of its field's selection first, as the
/// server's [`crate::response_order::restore`] does for the rest of the response.
pub(crate) fn member(
    out: &mut Vec<u8>,
    key: &str,
    value: &mut Value,
    field: &Field,
    fragments: &Fragments,
) {
    out.push(b',');
    self::key(out, key);
    if unordered(value) {
        crate::response_order::restore_field(value, field, fragments);
    }
    write(out, value);
}

/// Makes the [`member`]s written since `start` an object: the first member's comma becomes
/// its `{`; no member (every field failed) is `null`.
pub(crate) fn close(out: &mut Vec<u8>, start: usize) {
    if out.len() == start {
        out.extend_from_slice(b"null");
    } else {
        out[start] = b'{';
        out.push(b'}');
    }
}

/// Whether `value` holds a map whose keys may be out of selection order (one with more than
/// one key); fragments are in order already.
fn unordered(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.len() > 1 || map.values().any(unordered),
        Value::List(items) => items.iter().any(unordered),
        _ => false,
    }
}

/// Writes `value` as serde_json writes it, a fragment as it stands.
pub fn write(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Boolean(true) => out.extend_from_slice(b"true"),
        Value::Boolean(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            // Writing to a vector cannot fail.
            let _ = serde_json::to_writer(&mut *out, n);
        }
        Value::String(s) => string(out, s),
        Value::Enum(name) => string(out, name.as_str()),
        Value::Binary(json) => out.extend_from_slice(json),
        Value::List(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(out, item);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            out.push(b'{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                string(out, key.as_str());
                out.push(b':');
                write(out, item);
            }
            out.push(b'}');
        }
    }
}

/// A JSON string, escaped as serde_json escapes it: control characters, quotes and backslashes
/// (most strings have none of them and are copied as they stand).
fn string(out: &mut Vec<u8>, s: &str) {
    if needs_escape(s.as_bytes()) {
        let _ = serde_json::to_writer(&mut *out, s);
    } else {
        name(out, s);
    }
}

/// A response key: a GraphQL name (`[_A-Za-z][_0-9A-Za-z]*`, as the parser accepts an alias
/// or a field name), which never needs escaping; with its colon.
pub(crate) fn key(out: &mut Vec<u8>, s: &str) {
    name(out, s);
    out.push(b':');
}

/// A string known to need no escaping, quoted.
fn name(out: &mut Vec<u8>, s: &str) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
}

/// Whether `bytes` holds a byte JSON escapes (below 0x20, a quote, a backslash), eight at a time:
/// `(w - 0x0101..01 * n) & !w & 0x8080..80` is non-zero exactly when some byte of `w` is
/// below `n` (n <= 0x80), and a byte equal to `c` is a zero byte of `w ^ (0x0101..01 * c)`.
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below = |w: u64, n: u8| w.wrapping_sub(ONES * u64::from(n)) & !w & HIGH;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let hits = below(w, 0x20)
            | below(w ^ (ONES * u64::from(b'"')), 1)
            | below(w ^ (ONES * u64::from(b'\\')), 1);
        if hits != 0 {
            return true;
        }
    }
    chunks
        .remainder()
        .iter()
        .any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

/// A field's value written as JSON text straight from what its resolver returns, with the
/// bytes [`write`] writes for the [`Value`] async-graphql would make of it (checked for every
/// type by `attribute_text_is_the_text_of_its_value` below): [`crate::fast`] writes an
/// object's attributes this way, without a `Value` (an allocation for every string, id and
/// enum) in between.
pub trait Json {
    fn json(&self, out: &mut Vec<u8>);
}

impl Json for str {
    fn json(&self, out: &mut Vec<u8>) {
        string(out, self);
    }
}

impl Json for String {
    fn json(&self, out: &mut Vec<u8>) {
        string(out, self);
    }
}

/// The text of the `ID` of row `n` (`scalars::id(n)`, its decimal digits as a string),
/// written from the number: no string is made.
pub(crate) fn id(n: i64, out: &mut Vec<u8>) {
    out.push(b'"');
    n.json(out);
    out.push(b'"');
}

impl Json for async_graphql::ID {
    fn json(&self, out: &mut Vec<u8>) {
        string(out, self);
    }
}

impl Json for bool {
    fn json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(if *self { b"true" } else { b"false" });
    }
}

macro_rules! json_numbers {
    ($($ty:ty),*) => {
        $(
            impl Json for $ty {
                fn json(&self, out: &mut Vec<u8>) {
                    // As `write` writes a number: serde_json's digits. Cannot fail on a vector.
                    let _ = serde_json::to_writer(&mut *out, self);
                }
            }
        )*
    };
}
json_numbers!(i32, i64);

impl<T: Json + ?Sized> Json for &T {
    fn json(&self, out: &mut Vec<u8>) {
        (**self).json(out);
    }
}

impl<T: Json> Json for Option<T> {
    fn json(&self, out: &mut Vec<u8>) {
        match self {
            Some(value) => value.json(out),
            None => out.extend_from_slice(b"null"),
        }
    }
}

impl<T: Json> Json for Vec<T> {
    fn json(&self, out: &mut Vec<u8>) {
        out.push(b'[');
        for (i, item) in self.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            item.json(out);
        }
        out.push(b']');
    }
}

/// A custom scalar, through its own `to_value` (one string made, as before).
macro_rules! json_scalars {
    ($($ty:ty),*) => {
        $(
            impl Json for $ty {
                fn json(&self, out: &mut Vec<u8>) {
                    write(out, &async_graphql::ScalarType::to_value(self));
                }
            }
        )*
    };
}
json_scalars!(crate::scalars::Date, crate::scalars::DateTime);

/// An enum of the schema: its GraphQL name, as async-graphql's `enum_value` finds it.
pub fn enum_json<T: async_graphql::resolver_utils::EnumType + PartialEq>(
    value: &T,
    out: &mut Vec<u8>,
) {
    match T::items().iter().find(|item| item.value == *value) {
        Some(item) => string(out, item.name),
        // Every variant is an item of its derived `items()`.
        None => unreachable!("an enum value without its item"),
    }
}

/// The response body: what `serde_json::to_vec(response)` writes, with every fragment copied
/// where it stands.
pub fn to_vec(response: &BatchResponse) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(1024);
    match response {
        BatchResponse::Single(r) => one(&mut out, r)?,
        BatchResponse::Batch(list) => {
            out.push(b'[');
            for (i, r) in list.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                one(&mut out, r)?;
            }
            out.push(b']');
        }
    }
    Ok(out)
}

/// One response, its members in the order (and with the omissions) of async-graphql's
/// `Serialize` for [`Response`]: `data`, then `extensions` and `errors` when not empty.
fn one(out: &mut Vec<u8>, r: &Response) -> serde_json::Result<()> {
    out.extend_from_slice(b"{\"data\":");
    write(out, &r.data);
    if !r.extensions.is_empty() {
        out.extend_from_slice(b",\"extensions\":");
        serde_json::to_writer(&mut *out, &r.extensions)?;
    }
    if !r.errors.is_empty() {
        out.extend_from_slice(b",\"errors\":");
        serde_json::to_writer(&mut *out, &r.errors)?;
    }
    out.write_all(b"}").map_err(serde_json::Error::io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::{ErrorExtensionValues, Pos, ServerError, value};

    fn values() -> Vec<Value> {
        vec![
            value!(null),
            value!(true),
            value!(false),
            value!(0),
            value!(-42),
            value!(1.5),
            value!(1e300),
            value!(u64::MAX),
            value!("plain"),
            value!(""),
            value!("\u{7f} del, \u{1f} unit separator, / slash, \u{2028} line separator"),
            value!("quote \" backslash \\ newline \n tab \t nul \u{0} bell \u{7} é 漢 😀"),
            Value::Enum(Name::new("FINISHED")),
            value!([]),
            value!({}),
            value!([1, "two", [3, { "four": 4 }], null]),
            value!({ "b": 1, "a": { "z": [true, false], "y": "x\"y" } }),
        ]
    }

    /// Without fragments, every value is written byte for byte as serde_json writes it.
    #[test]
    fn values_are_written_as_serde_json_writes_them() {
        for v in values() {
            let mut out = Vec::new();
            write(&mut out, &v);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(&v).unwrap(),
                "{v:?}"
            );
        }
    }

    /// Every byte JSON escapes is found wherever it stands in the string (the scan reads eight
    /// bytes at a time), and no other byte is escaped.
    #[test]
    fn strings_are_escaped_wherever_the_byte_stands() {
        for special in [
            '"', '\\', '\n', '\u{0}', '\u{1f}', ' ', '\u{7f}', 'é', '!', '#', '[', ']',
        ] {
            for at in 0..20 {
                for len in [at + 1, at + 3, 24] {
                    let s: String = (0..len)
                        .map(|i| if i == at { special } else { 'a' })
                        .collect();
                    let mut out = Vec::new();
                    write(&mut out, &Value::String(s.clone()));
                    assert_eq!(
                        String::from_utf8(out).unwrap(),
                        serde_json::to_string(&s).unwrap(),
                        "{s:?}"
                    );
                }
            }
        }
    }

    /// A fragment is copied as it stands, wherever it is.
    #[test]
    fn fragments_are_copied() {
        let v = value!({ "a": [1, 2] });
        let mut map = async_graphql::indexmap::IndexMap::new();
        map.insert(Name::new("x"), fragment(br#"{"k":"v"}"#.to_vec()));
        map.insert(
            Name::new("y"),
            Value::List(vec![fragment(b"{}".to_vec()), Value::Null]),
        );
        map.insert(Name::new("z"), v);
        let mut out = Vec::new();
        write(&mut out, &Value::Object(map));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"x":{"k":"v"},"y":[{},null],"z":{"a":[1,2]}}"#
        );
    }

    fn responses() -> Vec<Response> {
        let mut failed = Response::new(value!({ "a": null }));
        let mut err = ServerError::new("it \"failed\"", Some(Pos { line: 1, column: 3 }));
        err.path = vec![async_graphql::PathSegment::Field("a".into())];
        let mut ext = ErrorExtensionValues::default();
        ext.set("code", "BAD_USER_INPUT");
        err.extensions = Some(ext);
        failed.errors.push(err);
        let with_extension = Response::new(value!({ "b": [1] })).extension("cost", value!(7));
        let only_errors = Response::from_errors(vec![ServerError::new("no", None)]);
        vec![
            Response::new(value!({ "x": { "y": "z" } })),
            failed,
            with_extension,
            only_errors,
        ]
    }

    /// Responses, single and batched, with and without errors and extensions: the body
    /// async-graphql's `Serialize` gives.
    #[test]
    fn responses_are_written_as_serde_json_writes_them() {
        for r in responses() {
            let single = BatchResponse::Single(r);
            assert_eq!(
                String::from_utf8(to_vec(&single).unwrap()).unwrap(),
                serde_json::to_string(&single).unwrap()
            );
        }
        let batch = BatchResponse::Batch(responses());
        assert_eq!(
            String::from_utf8(to_vec(&batch).unwrap()).unwrap(),
            serde_json::to_string(&batch).unwrap()
        );
    }

    /// No field of the schema is of a binary type: `Value::Binary` marks a fragment only. The
    /// schema's own scalars (`scalars.rs`) resolve to strings; a new scalar fails here until
    /// it is checked to resolve to anything but `Value::Binary`.
    #[test]
    fn no_field_of_the_schema_is_binary() {
        let sdl = crate::sdl();
        let scalars: Vec<&str> = sdl
            .lines()
            .filter_map(|line| line.strip_prefix("scalar "))
            .map(str::trim)
            .collect();
        assert_eq!(scalars, ["Date", "DateTime"]);
    }
    /// Every type an attribute answers is written by [`Json`] as [`write`] writes the value
    /// async-graphql makes of it (`OutputType::resolve`: a string for `str`, `String`, `ID`
    /// and the scalars' `to_value`, a number, a boolean, an enum's item name, null for
    /// `None`, a list).
    #[test]
    fn attribute_text_is_the_text_of_its_value() {
        use crate::scalars::*;
        use async_graphql::resolver_utils::{EnumType, enum_value};
        use chrono::Timelike;
        fn same(text: impl Json, value: Value) {
            let mut out = Vec::new();
            text.json(&mut out);
            let mut expected = Vec::new();
            write(&mut expected, &value);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                String::from_utf8(expected).unwrap()
            );
        }
        for v in values() {
            if let Value::String(s) = &v {
                same(s.as_str(), v.clone());
                same(s.clone(), v.clone());
                same(Some(s.as_str()), v.clone());
                same(async_graphql::ID(s.clone()), v.clone());
            }
        }
        same(None::<&str>, Value::Null);
        for n in [0, -1, 7, i32::MIN, i32::MAX] {
            same(n, Value::from(n));
            same(Some(n), Value::from(n));
        }
        for n in [0, -1, i64::MIN, i64::MAX] {
            same(n, Value::from(n));
            let mut out = Vec::new();
            super::id(n, &mut out);
            let mut expected = Vec::new();
            crate::scalars::id(n).json(&mut expected);
            assert_eq!(out, expected, "the id {n}");
        }
        same(true, Value::Boolean(true));
        same(false, Value::Boolean(false));
        let tags = vec!["a".to_string(), "b\"".to_string()];
        same(
            tags.clone(),
            Value::List(tags.iter().map(|t| Value::from(t.as_str())).collect()),
        );
        same(Vec::<String>::new(), Value::List(Vec::new()));
        let instant = chrono::DateTime::parse_from_rfc3339("2026-11-28T09:30:00.123456+02:00")
            .unwrap()
            .with_timezone(&chrono::Utc);
        for t in [instant, instant.with_nanosecond(0).unwrap()] {
            same(
                DateTime(t),
                async_graphql::ScalarType::to_value(&DateTime(t)),
            );
        }
        let day = Date(chrono::NaiveDate::from_ymd_opt(2026, 12, 31).unwrap());
        same(day, async_graphql::ScalarType::to_value(&day));
        same(Some(day), async_graphql::ScalarType::to_value(&day));
        fn every<T: EnumType + Json + Copy + PartialEq>() {
            for item in T::items() {
                same(item.value, enum_value(item.value));
            }
        }
        every::<StepType>();
        every::<Role>();
        every::<TaskState>();
        every::<TaskAction>();
        every::<MailingState>();
        every::<CallOutcome>();
        every::<TaskType>();
    }
}
