//! Strict string fields for request bodies.
//!
//! poem-openapi's `String` quietly accepts JSON numbers and booleans (`5` becomes `"5"`). A
//! password sent as a number is a client bug that should be named, not hashed, so request
//! bodies use these types, which accept only JSON strings (decision 10). [`SecretText`] also
//! keeps its value out of `Debug` and wipes it on drop.

use std::borrow::Cow;

use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type};
use serde_json::Value;
use zeroize::Zeroize;

/// Accepts only JSON strings.
fn only_strings(value: &Value) -> Option<String> {
    value.as_str().map(str::to_owned)
}

/// Accepts strings, booleans and numbers as their text, as TREK stores settings.
fn setting_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A string newtype for request bodies: `accept` decides which JSON values it takes.
macro_rules! string_type {
    ($(#[$doc:meta])* $name:ident, $description:expr, $accept:path) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Default)]
        pub struct $name(pub String);

        impl $name {
            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Type for $name {
            const IS_REQUIRED: bool = true;
            type RawValueType = Self;
            type RawElementValueType = Self;

            fn name() -> Cow<'static, str> {
                "string".into()
            }

            fn schema_ref() -> MetaSchemaRef {
                let mut schema = MetaSchema::new("string");
                schema.description = $description;
                MetaSchemaRef::Inline(Box::new(schema))
            }

            fn as_raw_value(&self) -> Option<&Self::RawValueType> {
                Some(self)
            }

            fn raw_element_iter<'a>(
                &'a self,
            ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
                Box::new(self.as_raw_value().into_iter())
            }
        }

        impl ParseFromJSON for $name {
            fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
                let value = value.unwrap_or_default();
                match $accept(&value) {
                    Some(s) => Ok(Self(s)),
                    None => Err(ParseError::expected_type(value)),
                }
            }
        }

        impl ToJSON for $name {
            fn to_json(&self) -> Option<Value> {
                Some(Value::String(self.0.clone()))
            }
        }
    };
}

string_type!(
    /// A JSON string and nothing else.
    Text,
    None,
    only_strings
);

string_type!(
    /// A JSON string holding a credential: never shown by `Debug`, wiped on drop.
    SecretText,
    None,
    only_strings
);

impl std::fmt::Debug for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Debug for SecretText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"[REDACTED]\"")
    }
}

impl Drop for SecretText {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_json_strings_parse() {
        assert_eq!(
            Text::parse_from_json(Some(json!("a"))).ok(),
            Some(Text("a".into()))
        );
        for bad in [json!(5), json!(true), json!(null), json!([]), json!({})] {
            assert!(Text::parse_from_json(Some(bad.clone())).is_err(), "{bad}");
            assert!(SecretText::parse_from_json(Some(bad)).is_err());
        }
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let shown = format!("{:?}", SecretText("hunter2".into()));
        assert!(!shown.contains("hunter2"));
    }
}

string_type!(
    /// An app-setting value as TREK stores it: JSON booleans, strings and numbers become their
    /// text (`true` → `"true"`); anything else is refused rather than stored as `"null"` or
    /// `"[object Object]"`.
    SettingValue,
    Some("a string, or a boolean stored as \"true\"/\"false\""),
    setting_text
);

impl std::fmt::Debug for SettingValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}
