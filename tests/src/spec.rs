//! Checks the requests an adapter sent against the vendor's own API description (OpenAPI 3 or
//! Swagger 2, YAML, single- or multi-file): each request's method and path must match an
//! operation, and its JSON body must carry the operation's required fields.
//!
//! Vendor descriptions are read from `../shared/specs` when present; they are reference data and
//! are never copied into this repository.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use serde_json::Value;

/// One request as sent: method, raw path (percent-encoded), and body.
#[derive(Debug, Clone)]
pub struct SentRequest {
    /// HTTP method, upper case.
    pub method: String,
    /// The path exactly as sent.
    pub path: String,
    /// The JSON body, if the body was JSON.
    pub body: Option<Value>,
}

#[derive(Debug)]
struct Operation {
    method: String,
    template: Vec<String>,
    /// Required body fields, as paths from the root (`["customer", "external_id"]`).
    required: Vec<Vec<String>>,
}

impl Operation {
    fn literal_segments(&self) -> usize {
        self.template.iter().filter(|s| !is_param(s)).count()
    }

    fn matches(&self, method: &str, segments: &[&str]) -> bool {
        self.method.eq_ignore_ascii_case(method)
            && self.template.len() == segments.len()
            && self
                .template
                .iter()
                .zip(segments)
                .all(|(t, s)| is_param(t) || t == s)
    }
}

fn is_param(segment: &str) -> bool {
    segment.starts_with('{') && segment.ends_with('}')
}

/// A loaded API description.
#[derive(Debug)]
pub struct Spec {
    prefix: String,
    operations: Vec<Operation>,
}

/// The vendor descriptions directory, `../shared/specs` from the workspace root, if present.
pub fn shared_specs_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/specs");
    dir.is_dir().then_some(dir)
}

/// The descriptions' directory, for a test that needs it (and is `#[ignore]`d where the build
/// script did not find it: `cfg(billing_specs)`). Run anyway without it, it fails.
pub fn required_specs_dir() -> PathBuf {
    shared_specs_dir().unwrap_or_else(|| {
        panic!("../shared/specs is not present: the vendors' API descriptions are needed")
    })
}

impl Spec {
    /// Loads a description. `prefix` is the part of request paths the description's `paths`
    /// leave out (for example `/api/v1`).
    ///
    /// # Errors
    /// A message if a file cannot be read or parsed.
    pub fn load(file: &Path, prefix: &str) -> Result<Self, String> {
        let mut loader = Loader::default();
        let root = loader.file(file)?;
        let paths = root
            .get("paths")
            .and_then(Value::as_object)
            .ok_or("the description has no paths")?
            .clone();
        let mut operations = Vec::new();
        for (template, item) in paths {
            let (item, item_file) = loader.resolve(&item, file)?;
            for method in ["get", "post", "put", "delete", "patch"] {
                let Some(op) = item.get(method) else { continue };
                let required = loader.required_body_fields(op, &item_file)?;
                operations.push(Operation {
                    method: method.to_ascii_uppercase(),
                    template: template
                        .trim_matches('/')
                        .split('/')
                        .map(str::to_owned)
                        .collect(),
                    required,
                });
            }
        }
        Ok(Self {
            prefix: prefix.trim_end_matches('/').to_owned(),
            operations,
        })
    }

    /// How many operations the description has.
    pub fn operation_count(&self) -> usize {
        self.operations.len()
    }

    /// Why `request` is not allowed by the description, or `None` if it is.
    pub fn violation(&self, request: &SentRequest) -> Option<String> {
        let Some(rest) = request.path.strip_prefix(&self.prefix) else {
            return Some(format!(
                "{} {}: outside the API prefix {}",
                request.method, request.path, self.prefix
            ));
        };
        let segments: Vec<&str> = rest.trim_matches('/').split('/').collect();
        let op = self
            .operations
            .iter()
            .filter(|op| op.matches(&request.method, &segments))
            .max_by_key(|op| op.literal_segments());
        let Some(op) = op else {
            return Some(format!(
                "{} {}: no such operation in the description",
                request.method, request.path
            ));
        };
        let body = request.body.as_ref();
        let missing: Vec<String> = op
            .required
            .iter()
            .filter(|path| !has_path(body, path))
            .map(|p| p.join("."))
            .collect();
        (!missing.is_empty()).then(|| {
            format!(
                "{} /{}: required body fields missing: {}",
                request.method,
                op.template.join("/"),
                missing.join(", ")
            )
        })
    }
}

/// Whether a violation of Kill Bill's description is one where the description is known to be
/// wrong (`shared/specs/killbill/SOURCE.md`): it declares `planName`, `productName`,
/// `billingPeriod` and `priceList` all required in a Subscription, while the server refuses a
/// body that mixes `planName` with the others.
pub fn killbill_documented_error(violation: &str) -> bool {
    let subscription_body = violation.starts_with("POST /1.0/kb/subscriptions:")
        || violation.starts_with("PUT /1.0/kb/subscriptions/{subscriptionId}:");
    subscription_body
        && violation.split("missing: ").nth(1).is_some_and(|fields| {
            fields
                .split(", ")
                .all(|f| ["productName", "billingPeriod", "priceList"].contains(&f))
        })
}

fn has_path(body: Option<&Value>, path: &[String]) -> bool {
    let mut v = match body {
        Some(v) => v,
        None => return false,
    };
    for key in path {
        match v.get(key) {
            Some(next) if !next.is_null() => v = next,
            _ => return false,
        }
    }
    true
}

#[derive(Default)]
struct Loader {
    files: HashMap<PathBuf, Rc<Value>>,
}

impl Loader {
    fn file(&mut self, path: &Path) -> Result<Rc<Value>, String> {
        let path = normalise(path);
        if let Some(v) = self.files.get(&path) {
            return Ok(v.clone());
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let value: Rc<Value> = Rc::new(
            serde_norway::from_str(&text)
                .map_err(|e| format!("cannot parse {}: {e}", path.display()))?,
        );
        self.files.insert(path, value.clone());
        Ok(value)
    }

    /// Follows `$ref`s (local `#/...` pointers and relative files) until a concrete value.
    fn resolve(&mut self, value: &Value, file: &Path) -> Result<(Value, PathBuf), String> {
        let mut value = value.clone();
        let mut file = file.to_path_buf();
        for _ in 0..32 {
            let Some(reference) = value.get("$ref").and_then(Value::as_str) else {
                return Ok((value, file));
            };
            let (target, pointer) = reference.split_once('#').unwrap_or((reference, ""));
            if !target.is_empty() {
                file = file.parent().unwrap_or(Path::new(".")).join(target);
            }
            let doc = self.file(&file)?;
            value = if pointer.is_empty() {
                Value::clone(&doc)
            } else {
                doc.pointer(pointer)
                    .cloned()
                    .ok_or_else(|| format!("unresolved $ref {reference}"))?
            };
        }
        Err("$ref chain too long".to_owned())
    }

    fn required_body_fields(
        &mut self,
        op: &Value,
        file: &Path,
    ) -> Result<Vec<Vec<String>>, String> {
        // OpenAPI 3: requestBody.content["application/json"].schema
        if let Some(body) = op.get("requestBody") {
            let (body, body_file) = self.resolve(body, file)?;
            if let Some(schema) = body.pointer("/content/application~1json/schema") {
                return self.required_fields(schema, &body_file, 0);
            }
            return Ok(Vec::new());
        }
        // Swagger 2: a parameter with `in: body`.
        let Some(params) = op.get("parameters").and_then(Value::as_array) else {
            return Ok(Vec::new());
        };
        for p in params {
            let (p, p_file) = self.resolve(p, file)?;
            if p.get("in").and_then(Value::as_str) == Some("body")
                && let Some(schema) = p.get("schema")
            {
                return self.required_fields(schema, &p_file, 0);
            }
        }
        Ok(Vec::new())
    }

    fn required_fields(
        &mut self,
        schema: &Value,
        file: &Path,
        depth: usize,
    ) -> Result<Vec<Vec<String>>, String> {
        if depth > 3 {
            return Ok(Vec::new());
        }
        let (schema, file) = self.resolve(schema, file)?;
        let mut out = Vec::new();
        if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
            for part in parts {
                out.extend(self.required_fields(part, &file, depth + 1)?);
            }
        }
        let required = schema
            .get("required")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for name in required.iter().filter_map(Value::as_str) {
            out.push(vec![name.to_owned()]);
            if let Some(prop) = schema.pointer(&format!("/properties/{}", escape(name))) {
                for nested in self.required_fields(prop, &file, depth + 1)? {
                    let mut path = vec![name.to_owned()];
                    path.extend(nested);
                    out.push(path);
                }
            }
        }
        Ok(out)
    }
}

fn escape(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, path: &str, body: Option<Value>) -> SentRequest {
        SentRequest {
            method: method.into(),
            path: path.into(),
            body,
        }
    }

    #[test]
    #[cfg_attr(
        not(billing_specs),
        ignore = "needs the vendors' API descriptions in ../shared/specs"
    )]
    fn lago_description_checks_paths_and_required_fields() {
        let dir = required_specs_dir();
        let spec = Spec::load(&dir.join("lago/openapi.yaml"), "/api/v1").unwrap();
        assert!(spec.operation_count() > 50);
        let ok = request(
            "POST",
            "/api/v1/customers",
            Some(serde_json::json!({"customer": {"external_id": "c1"}})),
        );
        assert_eq!(spec.violation(&ok), None);
        let missing = request(
            "POST",
            "/api/v1/customers",
            Some(serde_json::json!({"customer": {}})),
        );
        assert!(
            spec.violation(&missing)
                .unwrap()
                .contains("customer.external_id")
        );
        assert_eq!(
            spec.violation(&request("GET", "/api/v1/customers/a%2Fb", None)),
            None
        );
        assert!(
            spec.violation(&request("GET", "/api/v1/nope", None))
                .is_some()
        );
        assert!(
            spec.violation(&request("PATCH", "/api/v1/customers", None))
                .is_some()
        );
    }

    #[test]
    #[cfg_attr(
        not(billing_specs),
        ignore = "needs the vendors' API descriptions in ../shared/specs"
    )]
    fn multi_file_and_swagger_descriptions_load() {
        let dir = required_specs_dir();
        let bb = Spec::load(&dir.join("billabear/src/openapi.yaml"), "/api/v1").unwrap();
        assert_eq!(
            bb.violation(&request("GET", "/api/v1/customer/abc", None)),
            None
        );
        let kb = Spec::load(&dir.join("killbill/kbswagger.yaml"), "").unwrap();
        assert_eq!(
            kb.violation(&request("GET", "/1.0/kb/accounts/pagination", None)),
            None
        );
        assert!(kb.operation_count() > 150);
    }
}
