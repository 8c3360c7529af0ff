//! The docs stay true: an example a document marks with `<!-- example:NAME -->` right before a
//! ```json block is sent as a real request, or compared with a real answer, by a test; the answer
//! must have exactly the documented shape. `every_marked_example_is_checked_by_a_test` makes sure
//! no marked example is left without one.

use serde_json::Value;

/// One document of `docs/`, with the fields whose documented value must be the real one (not
/// just of the same JSON type).
#[derive(Debug, Clone, Copy)]
pub struct Doc {
    pub name: &'static str,
    pub text: &'static str,
    pub exact: &'static [&'static str],
}

impl Doc {
    /// The names of the marked examples of the document, in order (a marker may carry words
    /// after the name, for the test that reads it).
    pub fn markers(&self) -> Vec<&'static str> {
        self.text
            .lines()
            .filter_map(|line| {
                let inside = line.trim().strip_prefix("<!-- example:")?;
                inside.strip_suffix("-->")?.split_whitespace().next()
            })
            .collect()
    }

    /// The JSON of the ```json block right after `<!-- example:NAME … -->`.
    #[track_caller]
    pub fn example(&self, name: &str) -> Value {
        let marker = format!("<!-- example:{name}");
        let is_marker = |line: &str| {
            line.trim()
                .strip_prefix(&marker)
                .is_some_and(|rest| rest.starts_with(' ') && rest.ends_with("-->"))
        };
        let mut lines = self
            .text
            .lines()
            .skip_while(|line| !is_marker(line))
            .skip(1);
        assert_eq!(
            lines.next().map(str::trim),
            Some("```json"),
            "{} has no `{marker}` right before a ```json block",
            self.name
        );
        let block: Vec<&str> = lines.take_while(|line| line.trim() != "```").collect();
        serde_json::from_str(&block.join("\n"))
            .unwrap_or_else(|error| panic!("{} example {name} is not JSON: {error}", self.name))
    }

    /// A documented request without its placeholder credentials (the test's app sends real ones).
    #[track_caller]
    pub fn request(&self, name: &str) -> Value {
        let mut fields = self.example(name);
        let Some(map) = fields.as_object_mut() else {
            panic!("{} example {name} is not a JSON object", self.name);
        };
        map.remove("app_id");
        map.remove("app_secret");
        fields
    }

    /// Fails unless `real` has the shape of the documented example `name`.
    #[track_caller]
    pub fn assert_same_shape(&self, name: &str, real: &Value) {
        let mut found = Vec::new();
        compare(self.exact, "$", &self.example(name), real, &mut found);
        assert!(
            found.is_empty(),
            "{} example {name} is not what the engine answers:\n{}\nthe real answer: {real}",
            self.name,
            found.join("\n")
        );
    }
}

/// A member name and value that stand for members an example leaves out.
const ELIDED: &str = "…";

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Where `real` does not have the shape of `documented`: the same keys at every level (or at least
/// the documented ones, where the example elides the rest with `"…": "…"`), the same JSON types, and
/// equal values for the `exact` fields that are not objects.
fn compare(exact: &[&str], path: &str, documented: &Value, real: &Value, found: &mut Vec<String>) {
    if kind(documented) != kind(real) {
        found.push(format!(
            "{path}: documented as {}, answered as {} ({real})",
            kind(documented),
            kind(real)
        ));
        return;
    }
    match (documented, real) {
        (Value::Object(doc), Value::Object(answer)) => {
            // `"…": "…"` in a documented object stands for members left out of the example.
            let elided = doc.get(ELIDED).is_some_and(|v| v == ELIDED);
            let doc = doc.iter().filter(|(name, _)| name.as_str() != ELIDED);
            for (name, _) in doc.clone().filter(|(name, _)| !answer.contains_key(*name)) {
                found.push(format!("{path}.{name}: documented but not answered"));
            }
            if !elided {
                let documented: Vec<&String> = doc.clone().map(|(name, _)| name).collect();
                for name in answer.keys().filter(|name| !documented.contains(name)) {
                    found.push(format!("{path}.{name}: answered but not documented"));
                }
            }
            for (name, doc_value) in doc {
                let Some(real_value) = answer.get(name) else {
                    continue;
                };
                let here = format!("{path}.{name}");
                // An object is compared member by member, whatever its name.
                let exactly = exact.contains(&name.as_str()) && !doc_value.is_object();
                if exactly && doc_value != real_value {
                    found.push(format!(
                        "{here}: documented {doc_value}, answered {real_value}"
                    ));
                }
                compare(exact, &here, doc_value, real_value, found);
            }
        }
        (Value::Array(doc), Value::Array(answer)) => {
            if doc.len() == answer.len() {
                for (i, (doc_item, real_item)) in doc.iter().zip(answer).enumerate() {
                    compare(exact, &format!("{path}[{i}]"), doc_item, real_item, found);
                }
            } else {
                found.push(format!(
                    "{path}: {} items documented, {} answered",
                    doc.len(),
                    answer.len()
                ));
            }
        }
        _ => {}
    }
}

/// Every document with marked examples.
const DOCS: [(&str, &str); 8] = [
    (
        "docs/01-getting-started.md",
        include_str!("../../../docs/01-getting-started.md"),
    ),
    (
        "docs/02-otp-authentication.md",
        include_str!("../../../docs/02-otp-authentication.md"),
    ),
    (
        "docs/03-token-management.md",
        include_str!("../../../docs/03-token-management.md"),
    ),
    (
        "docs/04-license-keys.md",
        include_str!("../../../docs/04-license-keys.md"),
    ),
    (
        "docs/05-roles-and-tenants.md",
        include_str!("../../../docs/05-roles-and-tenants.md"),
    ),
    (
        "docs/06-error-reference.md",
        include_str!("../../../docs/06-error-reference.md"),
    ),
    (
        "docs/07-security-checklist.md",
        include_str!("../../../docs/07-security-checklist.md"),
    ),
    ("docs/audit-log.md", AUDIT_LOG.text),
];

/// docs/audit-log.md: what `/audit/events`, `audit export` and `audit archive` write.
pub const AUDIT_LOG: Doc = Doc {
    name: "docs/audit-log.md",
    text: include_str!("../../../docs/audit-log.md"),
    exact: &["event", "outcome"],
};

/// The text of every e2e test source and crate source, read from the tree.
fn test_sources() -> String {
    fn read(dir: &std::path::Path, into: &mut String) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                read(&path, into);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                into.push_str(&std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let mut sources = String::new();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    read(&root.join("tests/e2e"), &mut sources);
    read(&root.join("crates"), &mut sources);
    sources
}

#[test]
fn every_marked_example_is_checked_by_a_test() {
    let sources = test_sources();
    let mut unchecked = Vec::new();
    for (name, text) in DOCS {
        let doc = Doc {
            name,
            text,
            exact: &[],
        };
        for marker in doc.markers() {
            doc.example(marker);
            if !sources.contains(&format!("\"{marker}\"")) {
                unchecked.push(format!("{name}: {marker}"));
            }
        }
    }
    assert!(
        unchecked.is_empty(),
        "marked examples no test names:\n{}",
        unchecked.join("\n")
    );
}
