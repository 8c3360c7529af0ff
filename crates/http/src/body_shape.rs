//! The JSON Schema of a request body, recorded by running the endpoint's own reading function on
//! nothing: every field it asks for is written down with the limits it would enforce.

use serde_json::{Map, Value, json};

use crate::body::Fields;

/// The fields an endpoint reads, as a JSON Schema object.
#[derive(Debug, Default)]
pub(crate) struct BodyShape {
    properties: Map<String, Value>,
    required: Vec<String>,
    rules: Vec<String>,
}

impl BodyShape {
    /// The shape `read` gives a request body.
    pub(crate) fn of(read: impl FnOnce(&mut BodyShape)) -> Value {
        let mut shape = Self::default();
        read(&mut shape);
        shape.schema()
    }

    fn field(&mut self, name: &str, schema: Value) {
        self.properties.insert(name.to_owned(), schema);
    }

    fn schema(self) -> Value {
        let mut schema = json!({
            "type": "object",
            "properties": self.properties,
            "required": self.required,
        });
        // With nothing present, the reading functions name the rules that join fields together
        // ("give exactly one of phone or email"): they are the body's description.
        if !self.rules.is_empty() {
            schema["description"] = json!(self.rules.join("\n"));
        }
        schema
    }
}

/// Absent, or `null`: the reading functions treat both the same.
fn nullable(kind: &str) -> Value {
    json!([kind, "null"])
}

impl Fields for BodyShape {
    fn problem(&mut self, name: &str, problem: impl Into<String>) {
        self.rules.push(format!("`{name}`: {}", problem.into()));
    }

    fn optional_str(&mut self, name: &str, max_chars: usize) -> Option<String> {
        self.field(
            name,
            json!({ "type": nullable("string"), "maxLength": max_chars }),
        );
        None
    }

    fn required_str(&mut self, name: &str, max_chars: usize) -> Option<String> {
        self.field(
            name,
            json!({ "type": "string", "minLength": 1, "maxLength": max_chars }),
        );
        self.required.push(name.to_owned());
        None
    }

    fn optional_u32(&mut self, name: &str, min: u32, max: u32) -> Option<u32> {
        self.field(
            name,
            json!({ "type": nullable("integer"), "minimum": min, "maximum": max }),
        );
        None
    }

    fn optional_object(&mut self, name: &str, max_bytes: usize) -> Option<Value> {
        self.field(
            name,
            json!({
                "type": nullable("object"),
                "description": format!("at most {max_bytes} bytes once serialized"),
            }),
        );
        None
    }

    fn optional_bool(&mut self, name: &str) -> Option<bool> {
        self.field(name, json!({ "type": nullable("boolean") }));
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_example(body: &mut BodyShape) {
        body.required_str("key", 64);
        let id = body.optional_str("license_id", 100);
        if body.parsed("license_id", id, |_| Ok(())).is_none() {
            body.problem("key", "give exactly one of key or license_id");
        }
        body.optional_u32("limit", 1, 200);
        body.optional_bool("all_sessions");
        body.optional_object("metadata", 4096);
    }

    #[test]
    fn records_every_field_with_the_limits_the_reader_enforces() {
        let schema = BodyShape::of(read_example);
        assert_eq!(schema["required"], json!(["key"]));
        assert_eq!(
            schema["properties"]["key"],
            json!({ "type": "string", "minLength": 1, "maxLength": 64 })
        );
        assert_eq!(
            schema["properties"]["license_id"],
            json!({ "type": ["string", "null"], "maxLength": 100 })
        );
        assert_eq!(
            schema["properties"]["limit"],
            json!({ "type": ["integer", "null"], "minimum": 1, "maximum": 200 })
        );
        assert_eq!(
            schema["properties"]["all_sessions"]["type"],
            json!(["boolean", "null"])
        );
        assert_eq!(
            schema["properties"]["metadata"]["type"],
            json!(["object", "null"])
        );
        assert_eq!(
            schema["description"],
            json!("`key`: give exactly one of key or license_id")
        );
    }
}
