//! The documented shapes of the CLI's `--json` documents and a checker for them.
//!
//! The shapes are the fenced `json shape:<name>` blocks of `docs/cli-json.md`, read from the
//! page itself, so the page users read is the one the tests hold the binary to. A document
//! fails on a missing field, an undocumented field, a wrong type, a felt that is not canonical
//! (`0x` + lowercase hex, no leading zeros, below the field prime), an amount that is not a
//! decimal string, or a `null` where the page allows none.
//!
//! Test-only: the integration tests include it through `common`, and the binary's unit tests
//! through `#[path]` (for the benchmark reports, which the suite cannot afford to produce).
#![allow(dead_code)] // each includer uses its own subset

use std::collections::BTreeMap;
use std::process::Output;
use std::sync::OnceLock;

use serde_json::Value;
use zkthread_client::Felt;

/// The page the shapes come from (this file is `harness/zkthread/tests/common/shape.rs`).
const PAGE: &str = include_str!("../../../../docs/cli-json.md");
const FENCE: &str = "```json shape:";

/// The leaf types of a shape (see the page's table).
const TAGS: [&str; 7] = ["felt", "decimal", "integer", "seconds", "number", "string", "bool"];

/// Every shape of the page by name: commands (`deploy`, `tx submit`, ...) and shared shapes
/// (`$thread`, `$error`, ...).
pub struct Shapes {
    by_name: BTreeMap<String, Value>,
}

/// The page's shapes, parsed and linted once per test binary.
pub fn shapes() -> &'static Shapes {
    static SHAPES: OnceLock<Shapes> = OnceLock::new();
    SHAPES.get_or_init(|| Shapes::parse(PAGE).unwrap_or_else(|e| panic!("docs/cli-json.md: {e}")))
}

/// Panics, listing every problem, unless `doc` is a `command` document as documented.
pub fn check(command: &str, doc: &Value) {
    let problems = shapes().problems(command, doc);
    assert!(
        problems.is_empty(),
        "`{command} --json` does not match docs/cli-json.md:\n  {}\ndocument: {doc:#}",
        problems.join("\n  ")
    );
}

/// The stdout document of a run that must fail with exit `code`: checked against `$error`,
/// and (exit 1) the same line on stderr. Returns the error line.
pub fn check_error(command: &str, out: &Output, code: i32) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "`{command}`: stdout {stdout}\nstderr {stderr}");
    let doc: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("`{command}`: stdout is not one JSON document ({e}): {stdout:?}"));
    check(&format!("{command} (error)"), &doc);
    let line = doc["error"].as_str().unwrap_or_default().to_owned();
    if code == 1 {
        assert_eq!(stderr.trim_end(), format!("error: {line}"), "`{command}`: stderr");
    }
    line
}

impl Shapes {
    /// The shapes of a markdown page: each ```` ```json shape:<name> ```` block up to its
    /// closing fence. Fails on a duplicate name, bad JSON, an unknown type or a dangling `$ref`.
    pub fn parse(markdown: &str) -> Result<Shapes, String> {
        let mut by_name = BTreeMap::new();
        let mut lines = markdown.lines();
        while let Some(line) = lines.next() {
            let Some(name) = line.trim().strip_prefix(FENCE) else {
                continue;
            };
            let name = name.trim().to_owned();
            let body: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
            let shape: Value = serde_json::from_str(&body.join("\n"))
                .map_err(|e| format!("shape {name:?} is not JSON: {e}"))?;
            if by_name.insert(name.clone(), shape).is_some() {
                return Err(format!("shape {name:?} is defined twice"));
            }
        }
        let shapes = Shapes { by_name };
        for (name, shape) in &shapes.by_name {
            shapes.lint(shape).map_err(|e| format!("shape {name:?}: {e}"))?;
        }
        Ok(shapes)
    }

    /// The command names (shared shapes, `$...`, left out).
    pub fn commands(&self) -> Vec<&str> {
        self.by_name.keys().filter(|n| !n.starts_with('$')).map(String::as_str).collect()
    }

    /// What is wrong with `doc` as a `name` document (a `(error)` suffix checks `$error`).
    pub fn problems(&self, name: &str, doc: &Value) -> Vec<String> {
        let shape = if name.ends_with("(error)") { self.by_name.get("$error") } else { self.by_name.get(name) };
        let Some(shape) = shape else {
            return vec![format!("no shape {name:?} in docs/cli-json.md")];
        };
        let mut problems = Vec::new();
        self.walk(shape, doc, "$", &mut problems);
        problems
    }

    fn lint(&self, shape: &Value) -> Result<(), String> {
        match shape {
            Value::String(tag) => {
                let tag = tag.strip_suffix('?').unwrap_or(tag);
                if tag.starts_with('$') {
                    return self.by_name.contains_key(tag).then_some(()).ok_or(format!("no shape {tag:?}"));
                }
                if let Some(values) = tag.strip_prefix("enum:") {
                    return (!values.is_empty()).then_some(()).ok_or("an empty enum".into());
                }
                TAGS.contains(&tag).then_some(()).ok_or(format!("unknown type {tag:?}"))
            }
            Value::Array(items) if items.len() == 1 => self.lint(&items[0]),
            Value::Array(_) => Err("an array shape holds exactly one element shape".into()),
            Value::Object(fields) => match (fields.get("$nullable"), fields.get("$one_of")) {
                (Some(inner), None) if fields.len() == 1 => self.lint(inner),
                (None, Some(Value::Array(alternatives))) if fields.len() == 1 && alternatives.len() >= 2 => {
                    alternatives.iter().try_for_each(|a| self.lint(a))
                }
                (None, None) => fields.values().try_for_each(|f| self.lint(f)),
                _ => Err("`$nullable` / `$one_of` stand alone ($one_of: two or more alternatives)".into()),
            },
            other => Err(format!("{other} is not a shape")),
        }
    }

    fn walk(&self, shape: &Value, value: &Value, path: &str, problems: &mut Vec<String>) {
        match shape {
            Value::String(tag) => {
                let (tag, nullable) = match tag.strip_suffix('?') {
                    Some(tag) => (tag, true),
                    None => (tag.as_str(), false),
                };
                if value.is_null() {
                    if !nullable {
                        problems.push(format!("{path}: null, expected {tag}"));
                    }
                    return;
                }
                if tag.starts_with('$') {
                    return self.walk(&self.by_name[tag], value, path, problems);
                }
                if let Err(why) = leaf(tag, value) {
                    problems.push(format!("{path}: {value} {why}"));
                }
            }
            Value::Array(items) => match value.as_array() {
                Some(values) => {
                    for (i, v) in values.iter().enumerate() {
                        self.walk(&items[0], v, &format!("{path}[{i}]"), problems);
                    }
                }
                None => problems.push(format!("{path}: {value} is not an array")),
            },
            Value::Object(fields) => {
                if let Some(inner) = fields.get("$nullable") {
                    if !value.is_null() {
                        self.walk(inner, value, path, problems);
                    }
                    return;
                }
                if let Some(Value::Array(alternatives)) = fields.get("$one_of") {
                    let mut why = Vec::new();
                    for (i, alternative) in alternatives.iter().enumerate() {
                        let mut own = Vec::new();
                        self.walk(alternative, value, path, &mut own);
                        if own.is_empty() {
                            return;
                        }
                        why.push(format!("alternative {i}: {}", own.join("; ")));
                    }
                    problems.push(format!("{path}: matches none of the documents ({})", why.join(" | ")));
                    return;
                }
                let Some(object) = value.as_object() else {
                    problems.push(format!("{path}: {value} is not an object"));
                    return;
                };
                if let (Some(each), 1) = (fields.get("*"), fields.len()) {
                    for (key, v) in object {
                        self.walk(each, v, &format!("{path}.{key}"), problems);
                    }
                    return;
                }
                for (key, field) in fields {
                    match object.get(key) {
                        Some(v) => self.walk(field, v, &format!("{path}.{key}"), problems),
                        None => problems.push(format!("{path}.{key}: missing")),
                    }
                }
                for key in object.keys().filter(|k| !fields.contains_key(*k)) {
                    problems.push(format!("{path}.{key}: not documented"));
                }
            }
            // `parse` lints every shape, so nothing else reaches here.
            other => problems.push(format!("{path}: bad shape {other}")),
        }
    }
}

/// Whether `value` (not null) is a `tag`; why not.
fn leaf(tag: &str, value: &Value) -> Result<(), String> {
    if let Some(values) = tag.strip_prefix("enum:") {
        return match value.as_str() {
            Some(s) if values.split('|').any(|v| v == s) => Ok(()),
            _ => Err(format!("is not one of {values}")),
        };
    }
    let ok = match tag {
        "felt" => return value.as_str().ok_or("is not a string".to_owned()).and_then(canonical_felt),
        "decimal" => {
            return match value.as_str() {
                Some(s) if s == "0" || (!s.starts_with('0') && s.parse::<u128>().is_ok() && s.bytes().all(|b| b.is_ascii_digit())) => Ok(()),
                Some(_) => Err("is not a decimal string (digits, no sign, no leading zero, below 2^128)".into()),
                None => Err("is not a string (amounts are decimal strings)".into()),
            }
        }
        "integer" => value.is_u64(),
        "seconds" => value.as_f64().is_some_and(|s| s.is_finite() && s >= 0.0),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "bool" => value.is_boolean(),
        _ => return Err(format!("has an unknown type {tag}")),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("is not {}", match tag {
            "integer" => "a non-negative integer number",
            "seconds" => "a number of seconds",
            other => other,
        }))
    }
}

/// `0x` + lowercase hex, no leading zeros, below the field prime: what `format!("{:#x}")` of a
/// felt prints.
fn canonical_felt(text: &str) -> Result<(), String> {
    let digits = text.strip_prefix("0x").ok_or("is not 0x-hex")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err("is not 0x + lowercase hex".into());
    }
    if digits.len() > 1 && digits.starts_with('0') {
        return Err("has leading zeros".into());
    }
    // Above the prime, parsing fails or wraps around: either way the text does not come back.
    match Felt::from_hex(text) {
        Ok(felt) if format!("{felt:#x}") == text => Ok(()),
        _ => Err("is not below the field prime".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SAMPLE: &str = r#"
text
```json shape:$item
{ "id": "integer", "amount": "decimal" }
```
```json shape:thing
{
  "address": "felt",
  "fee_fri": "decimal?",
  "took": "seconds",
  "ok": "bool",
  "note": "string",
  "items": ["$item"],
  "status": "enum:built|settled",
  "extra": { "$nullable": { "ratio": "number" } },
  "timings": { "*": "seconds" }
}
```
```json shape:either
{ "$one_of": ["$item", { "error": "string" }] }
```
"#;

    fn sample() -> Shapes {
        Shapes::parse(SAMPLE).expect("the sample parses")
    }

    fn valid() -> Value {
        json!({
            "address": "0x49d36570d4e46f48e99674bd3fcc84644ddd6b96f7c741b1562b82f9e004dc7",
            "fee_fri": "1000",
            "took": 1.5,
            "ok": true,
            "note": "fine",
            "items": [{ "id": 1, "amount": "0" }],
            "status": "settled",
            "extra": null,
            "timings": { "a": 0.1, "b": 2 },
        })
    }

    /// `valid()` with `change` applied must fail, naming `needle`.
    fn rejects(change: impl FnOnce(&mut Value), needle: &str) {
        let mut doc = valid();
        change(&mut doc);
        let problems = sample().problems("thing", &doc);
        assert!(problems.iter().any(|p| p.contains(needle)), "{needle:?} not in {problems:?} for {doc}");
    }

    #[test]
    fn a_documented_document_passes() {
        assert_eq!(sample().problems("thing", &valid()), Vec::<String>::new());
        let mut doc = valid();
        doc["fee_fri"] = Value::Null;
        doc["extra"] = json!({ "ratio": -0.5 });
        doc["address"] = json!("0x0");
        assert_eq!(sample().problems("thing", &doc), Vec::<String>::new());
        assert!(sample().problems("either", &json!({ "error": "no" })).is_empty());
        assert!(sample().problems("either", &json!({ "id": 3, "amount": "7" })).is_empty());
    }

    #[test]
    fn missing_extra_and_mistyped_fields_are_refused() {
        rejects(|d| drop(d.as_object_mut().unwrap().remove("note")), "$.note: missing");
        rejects(|d| d["surprise"] = json!(1), "$.surprise: not documented");
        rejects(|d| d["items"][0]["memo"] = json!("x"), "$.items[0].memo: not documented");
        rejects(|d| d["ok"] = json!("true"), "$.ok");
        rejects(|d| d["note"] = Value::Null, "$.note: null");
        rejects(|d| d["items"] = json!({}), "is not an array");
        rejects(|d| d["items"][0]["id"] = json!(-1), "non-negative integer");
        rejects(|d| d["items"][0]["id"] = json!(1.5), "non-negative integer");
        rejects(|d| d["took"] = json!("1.5"), "number of seconds");
        rejects(|d| d["status"] = json!("lost"), "not one of built|settled");
        rejects(|d| d["extra"] = json!({ "ratio": "1" }), "$.extra.ratio");
        rejects(|d| d["timings"]["c"] = json!("slow"), "$.timings.c");
    }

    #[test]
    fn felts_must_be_canonical_hex() {
        for felt in [
            "0X1f",
            "0x1F",
            "1f",
            "0x",
            "0x01f",
            "0x00",
            "0xg",
            // The field prime itself, and 2^256 - 1.
            "0x800000000000011000000000000000000000000000000000000000000000001",
            "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        ] {
            rejects(|d| d["address"] = json!(felt), "$.address");
        }
        rejects(|d| d["address"] = json!(31), "is not a string");
    }

    #[test]
    fn amounts_must_be_decimal_strings() {
        for amount in [json!(1000), json!("0x3e8"), json!("-1"), json!("+1"), json!("01"), json!("1.0"), json!(""), json!("1e3")] {
            rejects(|d| d["fee_fri"] = amount.clone(), "$.fee_fri");
        }
        // Past u128.
        rejects(|d| d["fee_fri"] = json!("340282366920938463463374607431768211456"), "$.fee_fri");
    }

    #[test]
    fn a_document_matching_no_alternative_is_refused() {
        let problems = sample().problems("either", &json!({ "id": 3 }));
        assert!(problems.len() == 1 && problems[0].contains("matches none"), "{problems:?}");
        assert!(!sample().problems("nothing", &json!({})).is_empty(), "an undocumented command");
    }

    #[test]
    fn bad_shapes_are_refused_when_the_page_is_read() {
        for (page, needle) in [
            ("```json shape:a\n{ \"x\": \"float\" }\n```", "unknown type"),
            ("```json shape:a\n{ \"x\": \"$b\" }\n```", "no shape \"$b\""),
            ("```json shape:a\n{ \"x\": }\n```", "not JSON"),
            ("```json shape:a\n\"string\"\n```\n```json shape:a\n\"bool\"\n```", "twice"),
            ("```json shape:a\n[\"felt\", \"bool\"]\n```", "exactly one"),
            ("```json shape:a\n{ \"$one_of\": [\"felt\"] }\n```", "$one_of"),
        ] {
            let error = Shapes::parse(page).err().unwrap_or_default();
            assert!(error.contains(needle), "{needle:?} not in {error:?}");
        }
    }

    /// The page itself: it parses, and documents exactly the commands that print JSON.
    #[test]
    fn the_page_documents_every_json_command() {
        let mut documented = shapes().commands();
        documented.sort_unstable();
        let mut expected = vec![
            "batch", "bench serve", "bench settle", "bench verify", "book deploy", "book settle", "book show", "demo", "demo --program orderbook", "deploy", "devnet",
            "key new", "key register", "key show", "order cancel", "order place", "prove", "serve", "settle", "status",
            "sub-block show", "thread create", "thread show", "tx resend", "tx submit",
        ];
        expected.sort_unstable();
        assert_eq!(documented, expected);
        assert!(shapes().by_name.contains_key("$error"));
    }
}
