//! SCIM `PATCH` request bodies for User resources (RFC 7644 §3.5.2), in the dialects Okta
//! and Microsoft Entra ID send, reduced to a list of [`Change`]s the caller applies in order.
//!
//! Rules:
//! - `schemas` must list the PatchOp message URN; `Operations` (or `operations`) must be
//!   an array of 1 to 100 operations.
//! - `op` is `add`, `replace` or `remove` in any letter case; `add` and `replace` do the
//!   same thing here.
//! - A `path` names one attribute: `active`, `userName`, `name`, `name.givenName`,
//!   `name.familyName`, `name.formatted`, `displayName`, `externalId`, `emails`,
//!   `emails.value`, `emails[type eq "work"].value` or `emails[primary eq true].value`.
//!   Names ignore letter case and may carry the core User schema URN.
//! - Without a `path`, `value` is an object whose keys are such paths (or `name` /
//!   `emails` holding a complex or multi-valued value). Changes from one such object come
//!   in no particular order.
//! - Enterprise extension attributes, and core attributes Authio keeps no copy of (see
//!   [`UNSTORED_ATTRIBUTES`]), are accepted and ignored. Read-only attributes (`id`,
//!   `meta`, `groups`) are a `mutability` error; any other path is `invalidPath`.
//! - `active` takes a boolean or the string `true` / `false` in any letter case; the
//!   other attributes take strings, and `null` clears an optional one.
//! - `remove` clears an optional attribute. Removing `userName` is a `mutability` error,
//!   removing `active` is `invalidValue`, and `remove` without a `path` is `noTarget`.
//! - An `emails` array sets the address marked primary, else the first of type `work`,
//!   else the first; a path selecting any other address is `noTarget`.
use serde_json::{Map, Value};
use std::fmt;

/// The message schema every PatchOp body must declare.
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// The core User schema URN; attribute paths may carry it followed by `:`.
const CORE_USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The enterprise User extension URN; its attributes are accepted and ignored.
const ENTERPRISE_USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// Most operations one request may carry.
const MAX_OPERATIONS: usize = 100;

/// Core User attributes (lowercase) that Authio does not store. Identity providers map
/// several of them by default, so they are accepted and ignored rather than refused.
pub const UNSTORED_ATTRIBUTES: [&str; 11] = [
    "nickname",
    "profileurl",
    "title",
    "usertype",
    "preferredlanguage",
    "locale",
    "timezone",
    "phonenumbers",
    "addresses",
    "ims",
    "photos",
];
/// Core attributes (lowercase) that clients can never write.
const READ_ONLY_ATTRIBUTES: [&str; 3] = ["id", "meta", "groups"];

const INVALID_SYNTAX: &str = "invalidSyntax";
const INVALID_PATH: &str = "invalidPath";
const INVALID_VALUE: &str = "invalidValue";
const NO_TARGET: &str = "noTarget";
const MUTABILITY: &str = "mutability";

/// One change to a User, in request order; a later change to the same attribute wins.
/// `None` clears an optional attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Active(bool),
    UserName(String),
    GivenName(Option<String>),
    FamilyName(Option<String>),
    Formatted(Option<String>),
    DisplayName(Option<String>),
    ExternalId(Option<String>),
    /// The user's primary (work) email address.
    PrimaryEmail(Option<String>),
}

/// Why a PatchOp body was refused, as a SCIM error: `scim_type` is one of `invalidSyntax`,
/// `invalidPath`, `invalidValue`, `noTarget` or `mutability`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchError {
    pub scim_type: &'static str,
    pub detail: String,
}

impl PatchError {
    fn new(scim_type: &'static str, detail: impl Into<String>) -> Self {
        PatchError { scim_type, detail: detail.into() }
    }

    /// The same error, its detail naming the operation it came from.
    fn in_operation(self, index: usize) -> Self {
        PatchError { detail: format!("Operations[{index}]: {}", self.detail), ..self }
    }
}

impl fmt::Display for PatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.scim_type, self.detail)
    }
}

impl std::error::Error for PatchError {}

/// The changes a PatchOp body makes to a User (see the module docs for the rules).
pub fn user_changes(body: &Value) -> Result<Vec<Change>, PatchError> {
    let mut changes = Vec::new();
    for (index, operation) in operations(body)?.iter().enumerate() {
        apply_operation(operation, &mut changes).map_err(|e| e.in_operation(index))?;
    }
    Ok(changes)
}

/// The operations of a PatchOp body: it declares the PatchOp schema and holds 1 to
/// [`MAX_OPERATIONS`] of them.
fn operations(body: &Value) -> Result<&Vec<Value>, PatchError> {
    let body = body.as_object().ok_or_else(|| PatchError::new(INVALID_SYNTAX, "the body must be a JSON object"))?;
    let declares_patch_op = body.get("schemas").and_then(Value::as_array).is_some_and(|schemas| {
        schemas.iter().any(|schema| schema.as_str().is_some_and(|s| s.eq_ignore_ascii_case(PATCH_OP_SCHEMA)))
    });
    if !declares_patch_op {
        return Err(PatchError::new(INVALID_SYNTAX, format!("`schemas` must list {PATCH_OP_SCHEMA}")));
    }
    let operations = body
        .get("Operations")
        .or_else(|| body.get("operations"))
        .and_then(Value::as_array)
        .filter(|operations| (1..=MAX_OPERATIONS).contains(&operations.len()))
        .ok_or_else(|| {
            PatchError::new(
                INVALID_SYNTAX,
                format!("`Operations` must be an array of 1 to {MAX_OPERATIONS} operations"),
            )
        })?;
    Ok(operations)
}

/// The core Group schema URN; group attribute paths may carry it followed by `:`.
const CORE_GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// One change to a Group, in request order. Members are named by their `value` (the
/// user's SCIM id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupChange {
    DisplayName(String),
    ExternalId(Option<String>),
    AddMembers(Vec<String>),
    RemoveMembers(Vec<String>),
    /// The members are exactly these (`replace` of `members`; `remove` of all is empty).
    SetMembers(Vec<String>),
}

/// The changes a PatchOp body makes to a Group. Paths: `displayName`, `externalId`,
/// `members` and `members[value eq "…"]` (with or without the core Group schema URN);
/// `add` of members adds, `replace` sets them all, `remove` of `members` with a value
/// removes those, without one removes them all (Okta sends the filter form, Entra the
/// value form). Without a path, `value` maps those names to values (`id` and `schemas`
/// in it are ignored, as Okta sends them). `displayName` cannot be removed.
pub fn group_changes(body: &Value) -> Result<Vec<GroupChange>, PatchError> {
    let mut changes = Vec::new();
    for (index, operation) in operations(body)?.iter().enumerate() {
        group_operation(operation, &mut changes).map_err(|e| e.in_operation(index))?;
    }
    Ok(changes)
}

fn group_operation(operation: &Value, changes: &mut Vec<GroupChange>) -> Result<(), PatchError> {
    let operation =
        operation.as_object().ok_or_else(|| PatchError::new(INVALID_SYNTAX, "an operation must be a JSON object"))?;
    let op_name = operation
        .get("op")
        .and_then(Value::as_str)
        .ok_or_else(|| PatchError::new(INVALID_SYNTAX, "an operation needs an `op` string"))?;
    let op = Op::parse(op_name).ok_or_else(|| {
        PatchError::new(INVALID_SYNTAX, format!("unsupported op `{op_name}`: expected add, replace or remove"))
    })?;
    let value = operation.get("value").filter(|v| !v.is_null());
    match operation.get("path") {
        None | Some(Value::Null) => {
            if op == Op::Remove {
                return Err(PatchError::new(NO_TARGET, "remove needs a `path`"));
            }
            let attributes = value.and_then(Value::as_object).ok_or_else(|| {
                PatchError::new(INVALID_VALUE, "without a `path`, `value` must be an object of attributes")
            })?;
            for (key, v) in attributes {
                let key = strip_prefix_ignore_ascii_case(key, CORE_GROUP_SCHEMA)
                    .and_then(|rest| rest.strip_prefix(':'))
                    .unwrap_or(key);
                if key.eq_ignore_ascii_case("id") || key.eq_ignore_ascii_case("schemas") {
                    continue;
                }
                group_path(key, op, Some(v), changes)?;
            }
            Ok(())
        }
        Some(Value::String(path)) => {
            if op != Op::Remove && value.is_none() {
                return Err(PatchError::new(INVALID_VALUE, "add and replace need a `value`"));
            }
            group_path(path, op, value, changes)
        }
        Some(_) => Err(PatchError::new(INVALID_PATH, "`path` must be a string")),
    }
}

fn group_path(path: &str, op: Op, value: Option<&Value>, changes: &mut Vec<GroupChange>) -> Result<(), PatchError> {
    let path = path.trim();
    let attribute =
        strip_prefix_ignore_ascii_case(path, CORE_GROUP_SCHEMA).and_then(|rest| rest.strip_prefix(':')).unwrap_or(path);
    let lower = attribute.to_ascii_lowercase();
    let change = match (lower.as_str(), op) {
        ("displayname", Op::Remove) => {
            return Err(PatchError::new(MUTABILITY, "`displayName` is required and cannot be removed"))
        }
        ("displayname", _) => GroupChange::DisplayName(
            value
                .and_then(Value::as_str)
                .filter(|n| !n.trim().is_empty())
                .ok_or_else(|| PatchError::new(INVALID_VALUE, "`displayName` must be a non-empty string"))?
                .to_string(),
        ),
        ("externalid", Op::Remove) => GroupChange::ExternalId(None),
        ("externalid", _) => match value {
            Some(Value::String(s)) => GroupChange::ExternalId(Some(s.clone())),
            None | Some(Value::Null) => GroupChange::ExternalId(None),
            Some(other) => {
                return Err(PatchError::new(INVALID_VALUE, format!("`externalId` must be a string, not {other}")))
            }
        },
        ("members", Op::Add) => GroupChange::AddMembers(member_values(value)?),
        ("members", Op::Replace) => GroupChange::SetMembers(member_values(value)?),
        ("members", Op::Remove) => match value {
            None => GroupChange::SetMembers(Vec::new()),
            Some(_) => GroupChange::RemoveMembers(member_values(value)?),
        },
        (_, Op::Remove) if lower.starts_with("members[") => GroupChange::RemoveMembers(vec![member_filter(attribute)?]),
        (_, _) if lower.starts_with("members[") => {
            return Err(PatchError::new(INVALID_PATH, "a `members[...]` path is only for remove"))
        }
        ("id" | "meta", _) => return Err(PatchError::new(MUTABILITY, format!("`{attribute}` is read-only"))),
        _ => return Err(PatchError::new(INVALID_PATH, format!("unknown or unsupported path `{path}`"))),
    };
    changes.push(change);
    Ok(())
}

/// The user ids of a members value: an array of `{"value": id}` (or one such object).
pub fn member_values(value: Option<&Value>) -> Result<Vec<String>, PatchError> {
    let one = |v: &Value| -> Result<String, PatchError> {
        v.get("value")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| PatchError::new(INVALID_VALUE, "each member must be an object with a `value` string"))
    };
    match value {
        Some(Value::Array(items)) if items.len() <= 1000 => items.iter().map(one).collect(),
        Some(Value::Array(_)) => Err(PatchError::new(INVALID_VALUE, "at most 1000 members an operation")),
        Some(v @ Value::Object(_)) => Ok(vec![one(v)?]),
        None => Ok(Vec::new()),
        Some(other) => Err(PatchError::new(INVALID_VALUE, format!("`members` must be an array, not {other}"))),
    }
}

/// The user id of `members[value eq "id"]`.
fn member_filter(path: &str) -> Result<String, PatchError> {
    let invalid = || PatchError::new(INVALID_PATH, format!("expected members[value eq \"…\"], not `{path}`"));
    let inner = path.get("members[".len()..).and_then(|r| r.strip_suffix(']')).ok_or_else(invalid)?;
    let (attr, rest) = split_word(inner);
    let (op, literal) = split_word(rest);
    if !attr.eq_ignore_ascii_case("value") || !op.eq_ignore_ascii_case("eq") {
        return Err(invalid());
    }
    serde_json::from_str::<String>(literal).map_err(|_| invalid())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Replace,
    Remove,
}

impl Op {
    fn parse(op: &str) -> Option<Op> {
        [("add", Op::Add), ("replace", Op::Replace), ("remove", Op::Remove)]
            .into_iter()
            .find_map(|(name, op_kind)| name.eq_ignore_ascii_case(op).then_some(op_kind))
    }
}

/// Appends the changes one operation makes.
fn apply_operation(operation: &Value, changes: &mut Vec<Change>) -> Result<(), PatchError> {
    let operation =
        operation.as_object().ok_or_else(|| PatchError::new(INVALID_SYNTAX, "an operation must be a JSON object"))?;
    let op_name = operation
        .get("op")
        .and_then(Value::as_str)
        .ok_or_else(|| PatchError::new(INVALID_SYNTAX, "an operation needs an `op` string"))?;
    let op = Op::parse(op_name).ok_or_else(|| {
        PatchError::new(INVALID_SYNTAX, format!("unsupported op `{op_name}`: expected add, replace or remove"))
    })?;
    let value =
        || operation.get("value").ok_or_else(|| PatchError::new(INVALID_VALUE, "add and replace need a `value`"));
    match (operation.get("path"), op) {
        (None | Some(Value::Null), Op::Remove) => Err(PatchError::new(NO_TARGET, "remove needs a `path`")),
        (None | Some(Value::Null), _) => set_attributes(value()?, op, changes),
        (Some(Value::String(path)), Op::Remove) => Target::resolve(path)?.remove(changes),
        (Some(Value::String(path)), _) => Target::resolve(path)?.set(value()?, op, changes),
        (Some(_), _) => Err(PatchError::new(INVALID_PATH, "`path` must be a string")),
    }
}

/// Appends the changes of a path-less `add` / `replace`, whose value maps paths to values.
fn set_attributes(value: &Value, op: Op, changes: &mut Vec<Change>) -> Result<(), PatchError> {
    let attributes = value
        .as_object()
        .ok_or_else(|| PatchError::new(INVALID_VALUE, "without a `path`, `value` must be an object of attributes"))?;
    for (key, value) in attributes {
        if key.eq_ignore_ascii_case(CORE_USER_SCHEMA) {
            // The core schema URN as a key wraps plain attributes.
            set_attributes(value, op, changes)?;
        } else {
            Target::resolve(key)?.set(value, op, changes)?;
        }
    }
    Ok(())
}

/// What a path refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Active,
    UserName,
    /// The whole `name` complex attribute.
    Name,
    GivenName,
    FamilyName,
    Formatted,
    DisplayName,
    ExternalId,
    /// The whole `emails` multi-valued attribute.
    Emails,
    /// The primary email address itself.
    Email,
    /// An attribute accepted but not stored.
    Ignored,
}

impl Target {
    /// The target of `path`, or the error a client gets for using it.
    fn resolve(path: &str) -> Result<Target, PatchError> {
        let path = path.trim();
        if is_enterprise_path(path) {
            return Ok(Target::Ignored);
        }
        let attribute = strip_prefix_ignore_ascii_case(path, CORE_USER_SCHEMA)
            .and_then(|rest| rest.strip_prefix(':'))
            .unwrap_or(path);
        let lower = attribute.to_ascii_lowercase();
        let target = match lower.as_str() {
            "active" => Target::Active,
            "username" => Target::UserName,
            "name" => Target::Name,
            "name.givenname" => Target::GivenName,
            "name.familyname" => Target::FamilyName,
            "name.formatted" => Target::Formatted,
            "name.middlename" | "name.honorificprefix" | "name.honorificsuffix" => Target::Ignored,
            "displayname" => Target::DisplayName,
            "externalid" => Target::ExternalId,
            "emails" => Target::Emails,
            "emails.value" => Target::Email,
            _ if lower.starts_with("emails[") => return email_filter_target(attribute),
            _ => {
                let head = lower.split(['.', '[']).next().unwrap_or_default();
                if UNSTORED_ATTRIBUTES.contains(&head) {
                    Target::Ignored
                } else if READ_ONLY_ATTRIBUTES.contains(&head) {
                    return Err(PatchError::new(MUTABILITY, format!("`{attribute}` is read-only")));
                } else {
                    return Err(PatchError::new(INVALID_PATH, format!("unknown or unsupported path `{path}`")));
                }
            }
        };
        Ok(target)
    }

    /// The attribute's name, for error messages.
    fn name(self) -> &'static str {
        match self {
            Target::Active => "active",
            Target::UserName => "userName",
            Target::Name => "name",
            Target::GivenName => "name.givenName",
            Target::FamilyName => "name.familyName",
            Target::Formatted => "name.formatted",
            Target::DisplayName => "displayName",
            Target::ExternalId => "externalId",
            Target::Emails => "emails",
            Target::Email => "emails.value",
            Target::Ignored => "ignored attribute",
        }
    }

    /// Appends the changes of an `add` / `replace` of `value` at this target.
    fn set(self, value: &Value, op: Op, changes: &mut Vec<Change>) -> Result<(), PatchError> {
        let change = match self {
            Target::Active => Change::Active(parse_bool(value).ok_or_else(|| {
                PatchError::new(INVALID_VALUE, format!("`active` must be true or false, not {value}"))
            })?),
            Target::UserName => Change::UserName(
                value
                    .as_str()
                    .filter(|name| !name.trim().is_empty())
                    .ok_or_else(|| PatchError::new(INVALID_VALUE, "`userName` must be a non-empty string"))?
                    .to_owned(),
            ),
            Target::GivenName => Change::GivenName(self.optional_string(value)?),
            Target::FamilyName => Change::FamilyName(self.optional_string(value)?),
            Target::Formatted => Change::Formatted(self.optional_string(value)?),
            Target::DisplayName => Change::DisplayName(self.optional_string(value)?),
            Target::ExternalId => Change::ExternalId(self.optional_string(value)?),
            Target::Email => Change::PrimaryEmail(self.optional_string(value)?),
            Target::Name => return set_name(value, op, changes),
            Target::Emails => return set_emails(value, op, changes),
            Target::Ignored => return Ok(()),
        };
        changes.push(change);
        Ok(())
    }

    /// Appends the changes of a `remove` at this target.
    fn remove(self, changes: &mut Vec<Change>) -> Result<(), PatchError> {
        let change = match self {
            Target::Active => {
                return Err(PatchError::new(INVALID_VALUE, "`active` cannot be removed; replace it with true or false"))
            }
            Target::UserName => {
                return Err(PatchError::new(MUTABILITY, "`userName` is required and cannot be removed"))
            }
            Target::Name => {
                changes.extend([Change::GivenName(None), Change::FamilyName(None), Change::Formatted(None)]);
                return Ok(());
            }
            Target::GivenName => Change::GivenName(None),
            Target::FamilyName => Change::FamilyName(None),
            Target::Formatted => Change::Formatted(None),
            Target::DisplayName => Change::DisplayName(None),
            Target::ExternalId => Change::ExternalId(None),
            Target::Emails | Target::Email => Change::PrimaryEmail(None),
            Target::Ignored => return Ok(()),
        };
        changes.push(change);
        Ok(())
    }

    /// A string value, or `None` for `null`.
    fn optional_string(self, value: &Value) -> Result<Option<String>, PatchError> {
        match value {
            Value::String(s) => Ok(Some(s.clone())),
            Value::Null => Ok(None),
            other => Err(PatchError::new(INVALID_VALUE, format!("`{}` must be a string, not {other}", self.name()))),
        }
    }
}

/// Appends the changes of setting `name` to an object of sub-attributes (only those given
/// change) or to `null` (all cleared).
fn set_name(value: &Value, op: Op, changes: &mut Vec<Change>) -> Result<(), PatchError> {
    let parts: &Map<String, Value> = match value {
        Value::Object(parts) => parts,
        Value::Null => return Target::Name.remove(changes),
        other => return Err(PatchError::new(INVALID_VALUE, format!("`name` must be an object, not {other}"))),
    };
    for (key, part) in parts {
        let target = Target::resolve(&format!("name.{key}"))?;
        match target {
            Target::GivenName | Target::FamilyName | Target::Formatted | Target::Ignored => {
                target.set(part, op, changes)?
            }
            _ => return Err(PatchError::new(INVALID_PATH, format!("unknown `name` sub-attribute `{key}`"))),
        }
    }
    Ok(())
}

/// Appends the change of setting `emails` to an array of `{"value", "type", "primary"}`
/// objects: the primary address, else the first work address, else the first address.
/// An empty array (or `null`) clears the address on `replace` and changes nothing on `add`.
fn set_emails(value: &Value, op: Op, changes: &mut Vec<Change>) -> Result<(), PatchError> {
    match (chosen_email(value)?, op) {
        (Some(address), _) => changes.push(Change::PrimaryEmail(Some(address))),
        (None, Op::Replace) => changes.push(Change::PrimaryEmail(None)),
        (None, _) => {}
    }
    Ok(())
}

/// The address a User's `emails` names as theirs: the primary one, else the first work
/// one, else the first (`None` for an empty array or `null`).
pub(crate) fn chosen_email(value: &Value) -> Result<Option<String>, PatchError> {
    let entries = match value {
        Value::Array(entries) => entries.as_slice(),
        Value::Null => &[],
        other => return Err(PatchError::new(INVALID_VALUE, format!("`emails` must be an array, not {other}"))),
    };
    let mut emails = Vec::with_capacity(entries.len());
    for entry in entries {
        let address = entry.get("value").and_then(Value::as_str).ok_or_else(|| {
            PatchError::new(INVALID_VALUE, "each `emails` entry must be an object with a string `value`")
        })?;
        let primary = entry.get("primary").and_then(parse_bool) == Some(true);
        let work = entry.get("type").and_then(Value::as_str).is_some_and(|kind| kind.eq_ignore_ascii_case("work"));
        emails.push((address, primary, work));
    }
    Ok(emails
        .iter()
        .find(|(_, primary, _)| *primary)
        .or_else(|| emails.iter().find(|(_, _, work)| *work))
        .or_else(|| emails.first())
        .map(|(address, _, _)| (*address).to_owned()))
}

/// The target of an `emails[<filter>].value` path. The filter is `type eq "<kind>"` or
/// `primary eq true|false`; only the primary work address is stored, so a filter selecting
/// any other address is `noTarget`.
fn email_filter_target(path: &str) -> Result<Target, PatchError> {
    let malformed = || {
        PatchError::new(
            INVALID_PATH,
            format!(
                r#"unsupported path `{path}`: expected emails[type eq "work"].value or emails[primary eq true].value"#
            ),
        )
    };
    // `path` starts with `emails[` in some letter case, all ASCII.
    let (filter, tail) = path["emails[".len()..].split_once(']').ok_or_else(malformed)?;
    if !tail.eq_ignore_ascii_case(".value") {
        return Err(malformed());
    }
    let (attribute, rest) = split_word(filter);
    let (operator, operand) = split_word(rest);
    if !operator.eq_ignore_ascii_case("eq") {
        return Err(malformed());
    }
    let selects_primary = if attribute.eq_ignore_ascii_case("type") {
        let kind: String = serde_json::from_str(operand).map_err(|_| malformed())?;
        kind.eq_ignore_ascii_case("work")
    } else if attribute.eq_ignore_ascii_case("primary") {
        // Accept `true` and, as some clients send it, `"True"`.
        parse_bool(&Value::String(operand.trim_matches('"').to_owned())).ok_or_else(malformed)?
    } else {
        return Err(malformed());
    };
    if selects_primary {
        Ok(Target::Email)
    } else {
        Err(PatchError::new(NO_TARGET, format!("`{path}` selects an email address Authio does not keep")))
    }
}

/// A JSON boolean, or a string spelling one in any letter case.
pub(crate) fn parse_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// Whether `path` names the enterprise extension or one of its attributes.
fn is_enterprise_path(path: &str) -> bool {
    strip_prefix_ignore_ascii_case(path, ENTERPRISE_USER_SCHEMA)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(':'))
}

/// `s` without `prefix`, if it starts with it in any ASCII letter case.
fn strip_prefix_ignore_ascii_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &s[prefix.len()..])
}

/// The first whitespace-separated word of `s` and the trimmed rest.
fn split_word(s: &str) -> (&str, &str) {
    let s = s.trim();
    s.split_once(char::is_whitespace).map_or((s, ""), |(word, rest)| (word, rest.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(operations: Value) -> Value {
        json!({ "schemas": [PATCH_OP_SCHEMA], "Operations": operations })
    }

    fn changes(operations: Value) -> Vec<Change> {
        user_changes(&body(operations)).unwrap()
    }

    fn failure(body: Value) -> PatchError {
        match user_changes(&body) {
            Err(e) => e,
            Ok(changes) => panic!("accepted with {changes:?}"),
        }
    }

    fn op_failure(operations: Value) -> PatchError {
        failure(body(operations))
    }

    fn some(s: &str) -> Option<String> {
        Some(s.to_owned())
    }

    /// `actual` holds the same changes as `expected`, in any order.
    fn assert_same_changes(actual: &[Change], expected: &[Change]) {
        assert_eq!(actual.len(), expected.len(), "{actual:?} vs {expected:?}");
        for change in expected {
            assert!(actual.contains(change), "{change:?} missing from {actual:?}");
        }
    }

    #[test]
    fn okta_deactivates_without_a_path() {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{ "op": "replace", "value": { "active": false } }]
        });
        assert_eq!(user_changes(&body), Ok(vec![Change::Active(false)]));
    }

    #[test]
    fn okta_reactivates_without_a_path() {
        assert_eq!(changes(json!([{ "op": "replace", "value": { "active": true } }])), [Change::Active(true)]);
    }

    #[test]
    fn entra_deactivates_with_a_string_value() {
        assert_eq!(changes(json!([{ "op": "Replace", "path": "active", "value": "False" }])), [Change::Active(false)]);
    }

    #[test]
    fn active_accepts_booleans_and_their_spellings() {
        for (value, expected) in [
            (json!(true), true),
            (json!(false), false),
            (json!("True"), true),
            (json!("true"), true),
            (json!("false"), false),
            (json!("FALSE"), false),
        ] {
            assert_eq!(
                changes(json!([{ "op": "replace", "path": "active", "value": value }])),
                [Change::Active(expected)]
            );
        }
    }

    #[test]
    fn entra_updates_names_and_work_email() {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                { "op": "Add", "path": "displayName", "value": "Ada Lovelace" },
                { "op": "Replace", "path": "emails[type eq \"work\"].value", "value": "ada@example.com" },
                { "op": "Replace", "path": "name.givenName", "value": "Ada" },
                { "op": "Replace", "path": "name.familyName", "value": "Lovelace" },
                { "op": "Add", "path": "name.formatted", "value": "Ada Lovelace" },
                { "op": "Add", "path": "externalId", "value": "0a1b" },
                { "op": "Replace", "path": "userName", "value": "ada@example.com" },
                {
                    "op": "Replace",
                    "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
                    "value": "Mathematics"
                },
                { "op": "Add", "path": "title", "value": "Countess" }
            ]
        });
        assert_eq!(
            user_changes(&body),
            Ok(vec![
                Change::DisplayName(some("Ada Lovelace")),
                Change::PrimaryEmail(some("ada@example.com")),
                Change::GivenName(some("Ada")),
                Change::FamilyName(some("Lovelace")),
                Change::Formatted(some("Ada Lovelace")),
                Change::ExternalId(some("0a1b")),
                Change::UserName("ada@example.com".to_owned()),
            ])
        );
    }

    #[test]
    fn entra_path_less_object_with_dotted_keys() {
        let actual = changes(json!([{
            "op": "Replace",
            "value": { "name.givenName": "Ada", "name.familyName": "L", "displayName": "Ada L", "active": "True" }
        }]));
        assert_same_changes(
            &actual,
            &[
                Change::GivenName(some("Ada")),
                Change::FamilyName(some("L")),
                Change::DisplayName(some("Ada L")),
                Change::Active(true),
            ],
        );
    }

    #[test]
    fn path_less_name_object_changes_only_given_parts() {
        assert_eq!(
            changes(json!([{ "op": "replace", "value": { "name": { "givenName": "Ada" } } }])),
            [Change::GivenName(some("Ada"))]
        );
        let actual = changes(json!([{
            "op": "add",
            "value": { "name": { "GIVENNAME": "Ada", "familyName": "Lovelace", "middleName": "King" } }
        }]));
        assert_same_changes(&actual, &[Change::GivenName(some("Ada")), Change::FamilyName(some("Lovelace"))]);
    }

    #[test]
    fn name_path_takes_an_object() {
        let actual =
            changes(json!([{ "op": "replace", "path": "name", "value": { "formatted": "A L", "familyName": "L" } }]));
        assert_same_changes(&actual, &[Change::Formatted(some("A L")), Change::FamilyName(some("L"))]);
    }

    #[test]
    fn emails_array_sets_the_primary_address() {
        let set = |emails: Value| changes(json!([{ "op": "replace", "value": { "emails": emails } }]));
        assert_eq!(set(json!([{ "value": "a@x", "primary": true }])), [Change::PrimaryEmail(some("a@x"))]);
        assert_eq!(
            set(json!([
                { "value": "home@x", "type": "home" },
                { "value": "work@x", "type": "work" },
                { "value": "main@x", "type": "other", "primary": "True" }
            ])),
            [Change::PrimaryEmail(some("main@x"))]
        );
        assert_eq!(
            set(json!([{ "value": "home@x", "type": "home" }, { "value": "work@x", "type": "Work" }])),
            [Change::PrimaryEmail(some("work@x"))]
        );
        assert_eq!(
            set(json!([{ "value": "first@x" }, { "value": "second@x", "primary": false }])),
            [Change::PrimaryEmail(some("first@x"))]
        );
    }

    #[test]
    fn empty_emails_clear_on_replace_only() {
        assert_eq!(changes(json!([{ "op": "replace", "path": "emails", "value": [] }])), [Change::PrimaryEmail(None)]);
        assert_eq!(changes(json!([{ "op": "add", "path": "emails", "value": [] }])), []);
    }

    #[test]
    fn email_paths() {
        for path in [
            "emails.value",
            "Emails.Value",
            "emails[type eq \"work\"].value",
            "emails[TYPE EQ \"Work\"].VALUE",
            "emails[ type  eq  \"work\" ].value",
            "emails[primary eq true].value",
            "emails[primary eq \"True\"].value",
            "urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq \"work\"].value",
        ] {
            assert_eq!(
                changes(json!([{ "op": "replace", "path": path, "value": "a@x" }])),
                [Change::PrimaryEmail(some("a@x"))],
                "{path}"
            );
        }
    }

    #[test]
    fn emails_filters_selecting_other_addresses_have_no_target() {
        for path in ["emails[type eq \"home\"].value", "emails[primary eq false].value"] {
            let err = op_failure(json!([{ "op": "replace", "path": path, "value": "a@x" }]));
            assert_eq!(err.scim_type, "noTarget", "{path}");
        }
    }

    #[test]
    fn malformed_emails_filters_are_invalid_paths() {
        for path in [
            "emails[type eq \"work\"]",
            "emails[type eq \"work\"].display",
            "emails[type eq work].value",
            "emails[type co \"work\"].value",
            "emails[value eq \"a@x\"].value",
            "emails[primary eq yes].value",
            "emails[type eq \"work\".value",
        ] {
            let err = op_failure(json!([{ "op": "replace", "path": path, "value": "a@x" }]));
            assert_eq!(err.scim_type, "invalidPath", "{path}");
        }
    }

    #[test]
    fn paths_ignore_case_and_accept_the_core_urn() {
        let actual = changes(json!([
            { "op": "replace", "path": "USERNAME", "value": "ada@x" },
            { "op": "replace", "path": "Name.GivenName", "value": "Ada" },
            { "op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:name.familyName", "value": "L" },
            { "op": "replace", "path": "URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER:externalid", "value": "e1" },
            { "op": "replace", "path": "displayname", "value": "Ada" },
        ]));
        assert_eq!(
            actual,
            [
                Change::UserName("ada@x".to_owned()),
                Change::GivenName(some("Ada")),
                Change::FamilyName(some("L")),
                Change::ExternalId(some("e1")),
                Change::DisplayName(some("Ada")),
            ]
        );
    }

    #[test]
    fn core_urn_key_wraps_attributes() {
        let actual = changes(json!([{
            "op": "replace",
            "value": { "urn:ietf:params:scim:schemas:core:2.0:User": { "active": false, "externalId": "e1" } }
        }]));
        assert_same_changes(&actual, &[Change::Active(false), Change::ExternalId(some("e1"))]);
    }

    #[test]
    fn ops_ignore_case_and_lowercase_operations_key_is_accepted() {
        let body = json!({
            "schemas": [PATCH_OP_SCHEMA],
            "operations": [
                { "op": "ADD", "path": "displayName", "value": "A" },
                { "op": "rePlace", "path": "active", "value": true },
                { "op": "Remove", "path": "displayName" }
            ]
        });
        assert_eq!(
            user_changes(&body),
            Ok(vec![Change::DisplayName(some("A")), Change::Active(true), Change::DisplayName(None)])
        );
    }

    #[test]
    fn remove_clears_optional_attributes() {
        assert_eq!(changes(json!([{ "op": "remove", "path": "externalId" }])), [Change::ExternalId(None)]);
        assert_eq!(
            changes(json!([
                { "op": "Remove", "path": "name.givenName" },
                { "op": "Remove", "path": "name.familyName" },
                { "op": "Remove", "path": "name.formatted" },
                { "op": "Remove", "path": "displayName" },
                { "op": "Remove", "path": "emails[type eq \"work\"].value" },
                { "op": "Remove", "path": "emails" },
            ])),
            [
                Change::GivenName(None),
                Change::FamilyName(None),
                Change::Formatted(None),
                Change::DisplayName(None),
                Change::PrimaryEmail(None),
                Change::PrimaryEmail(None),
            ]
        );
        assert_eq!(
            changes(json!([{ "op": "remove", "path": "name" }])),
            [Change::GivenName(None), Change::FamilyName(None), Change::Formatted(None)]
        );
    }

    #[test]
    fn remove_ignores_any_value() {
        assert_eq!(
            changes(json!([{ "op": "remove", "path": "externalId", "value": "e1" }])),
            [Change::ExternalId(None)]
        );
    }

    #[test]
    fn null_clears_optional_attributes() {
        assert_eq!(
            changes(json!([{ "op": "replace", "path": "displayName", "value": null }])),
            [Change::DisplayName(None)]
        );
        assert_eq!(changes(json!([{ "op": "replace", "value": { "externalId": null } }])), [Change::ExternalId(None)]);
        assert_eq!(
            changes(json!([{ "op": "replace", "path": "name", "value": null }])),
            [Change::GivenName(None), Change::FamilyName(None), Change::Formatted(None)]
        );
    }

    #[test]
    fn enterprise_and_unstored_attributes_are_ignored() {
        let actual = changes(json!([
            { "op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": { "value": "m1" } },
            { "op": "remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department" },
            { "op": "add", "value": { "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": { "employeeNumber": "7" } } },
            { "op": "add", "value": { "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter": "42" } },
            { "op": "replace", "path": "phoneNumbers[type eq \"work\"].value", "value": "+1 555" },
            { "op": "replace", "path": "addresses[type eq \"work\"].streetAddress", "value": "1 Main St" },
            { "op": "replace", "path": "name.middleName", "value": "King" },
            { "op": "replace", "value": { "title": "Countess", "preferredLanguage": "en-GB" } },
        ]));
        assert_eq!(actual, []);
    }

    #[test]
    fn lookalike_enterprise_urns_are_not_ignored() {
        let err = op_failure(json!([{
            "op": "replace",
            "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:UserX",
            "value": "1"
        }]));
        assert_eq!(err.scim_type, "invalidPath");
    }

    #[test]
    fn accepts_exactly_one_hundred_operations() {
        let operations = vec![json!({ "op": "replace", "path": "active", "value": true }); MAX_OPERATIONS];
        assert_eq!(changes(Value::Array(operations)).len(), MAX_OPERATIONS);
    }

    #[test]
    fn rejects_more_than_one_hundred_operations() {
        let operations = vec![json!({ "op": "replace", "path": "active", "value": true }); MAX_OPERATIONS + 1];
        let err = op_failure(Value::Array(operations));
        assert_eq!(err.scim_type, "invalidSyntax");
        assert!(err.detail.contains("1 to 100"), "{}", err.detail);
    }

    #[test]
    fn rejects_missing_or_empty_operations() {
        assert_eq!(op_failure(json!([])).scim_type, "invalidSyntax");
        assert_eq!(op_failure(json!({ "op": "replace" })).scim_type, "invalidSyntax");
        assert_eq!(failure(json!({ "schemas": [PATCH_OP_SCHEMA] })).scim_type, "invalidSyntax");
    }

    #[test]
    fn rejects_missing_or_wrong_schemas() {
        let operations = json!([{ "op": "replace", "path": "active", "value": false }]);
        for body in [
            json!({ "Operations": operations }),
            json!({ "schemas": [], "Operations": operations }),
            json!({ "schemas": PATCH_OP_SCHEMA, "Operations": operations }),
            json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "Operations": operations }),
        ] {
            let err = failure(body);
            assert_eq!(err.scim_type, "invalidSyntax");
            assert!(err.detail.contains("schemas"), "{}", err.detail);
        }
    }

    #[test]
    fn rejects_a_body_that_is_not_an_object() {
        assert_eq!(failure(json!([])).scim_type, "invalidSyntax");
        assert_eq!(failure(json!("patch")).scim_type, "invalidSyntax");
    }

    #[test]
    fn rejects_bad_ops() {
        for operation in [
            json!({ "op": "move", "path": "active", "value": true }),
            json!({ "op": "copy", "path": "active", "value": true }),
            json!({ "path": "active", "value": true }),
            json!({ "op": true, "path": "active", "value": true }),
            json!("replace"),
        ] {
            assert_eq!(op_failure(json!([operation])).scim_type, "invalidSyntax", "{operation}");
        }
        let err = op_failure(json!([{ "op": "move", "path": "active", "value": true }]));
        assert!(err.detail.contains("unsupported op `move`"), "{}", err.detail);
    }

    #[test]
    fn rejects_unknown_paths() {
        for path in ["favoriteColor", "name.nickname", "emailsvalue", "", "urn:ietf:params:scim:schemas:core:2.0:User:"]
        {
            let err = op_failure(json!([{ "op": "replace", "path": path, "value": "x" }]));
            assert_eq!(err.scim_type, "invalidPath", "{path:?}");
        }
        let err = op_failure(json!([{ "op": "replace", "value": { "favoriteColor": "blue" } }]));
        assert_eq!(err.scim_type, "invalidPath");
        assert!(err.detail.contains("favoriteColor"), "{}", err.detail);
        let err = op_failure(json!([{ "op": "replace", "value": { "name": { "nickname": "Ada" } } }]));
        assert_eq!(err.scim_type, "invalidPath");
    }

    #[test]
    fn rejects_a_path_that_is_not_a_string() {
        assert_eq!(op_failure(json!([{ "op": "replace", "path": 7, "value": "x" }])).scim_type, "invalidPath");
    }

    #[test]
    fn rejects_bad_active_values() {
        for value in [json!("yes"), json!(1), json!(null), json!(["true"]), json!({ "value": true })] {
            let err = op_failure(json!([{ "op": "replace", "path": "active", "value": value }]));
            assert_eq!(err.scim_type, "invalidValue", "{value}");
        }
        let err = op_failure(json!([{ "op": "replace", "value": { "active": "disabled" } }]));
        assert_eq!(err.scim_type, "invalidValue");
    }

    #[test]
    fn rejects_non_string_values() {
        for (path, value) in [
            ("displayName", json!(5)),
            ("externalId", json!(true)),
            ("name.givenName", json!(["Ada"])),
            ("emails.value", json!({ "value": "a@x" })),
            ("userName", json!(null)),
            ("userName", json!("  ")),
            ("name", json!("Ada Lovelace")),
            ("emails", json!("a@x")),
            ("emails", json!([{ "type": "work" }])),
            ("emails", json!(["a@x"])),
        ] {
            let err = op_failure(json!([{ "op": "replace", "path": path, "value": value }]));
            assert_eq!(err.scim_type, "invalidValue", "{path} = {value}");
        }
    }

    #[test]
    fn rejects_add_or_replace_without_a_value() {
        assert_eq!(op_failure(json!([{ "op": "replace", "path": "displayName" }])).scim_type, "invalidValue");
        assert_eq!(op_failure(json!([{ "op": "add" }])).scim_type, "invalidValue");
        assert_eq!(op_failure(json!([{ "op": "replace", "value": false }])).scim_type, "invalidValue");
    }

    #[test]
    fn rejects_removing_required_attributes() {
        let err = op_failure(json!([{ "op": "remove", "path": "userName" }]));
        assert_eq!(err.scim_type, "mutability");
        let err = op_failure(json!([{ "op": "Remove", "path": "active" }]));
        assert_eq!(err.scim_type, "invalidValue");
    }

    #[test]
    fn rejects_remove_without_a_path() {
        let err = op_failure(json!([{ "op": "remove", "value": { "externalId": "e1" } }]));
        assert_eq!(err.scim_type, "noTarget");
    }

    #[test]
    fn rejects_writes_to_read_only_attributes() {
        for path in ["id", "meta.lastModified", "groups"] {
            let err = op_failure(json!([{ "op": "replace", "path": path, "value": "x" }]));
            assert_eq!(err.scim_type, "mutability", "{path}");
        }
    }

    #[test]
    fn errors_name_the_failing_operation() {
        let err = op_failure(json!([
            { "op": "replace", "path": "active", "value": true },
            { "op": "replace", "path": "favoriteColor", "value": "blue" }
        ]));
        assert!(err.detail.starts_with("Operations[1]: "), "{}", err.detail);
        assert_eq!(err.to_string(), "invalidPath: Operations[1]: unknown or unsupported path `favoriteColor`");
    }

    #[test]
    fn a_failing_operation_fails_the_whole_request() {
        let err = op_failure(json!([
            { "op": "replace", "path": "displayName", "value": "A" },
            { "op": "remove", "path": "userName" }
        ]));
        assert_eq!(err.scim_type, "mutability");
    }

    #[test]
    fn group_changes_in_okta_and_entra_shapes() {
        let ops = |o: Value| group_changes(&body(o));
        let ids = |v: &[&str]| v.iter().map(|s| (*s).to_string()).collect::<Vec<_>>();
        assert_eq!(
            ops(json!([{"op": "add", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}]}])),
            Ok(vec![GroupChange::AddMembers(ids(&["u1", "u2"]))])
        );
        assert_eq!(
            ops(json!([{"op": "remove", "path": "members[value eq \"u1\"]"}])),
            Ok(vec![GroupChange::RemoveMembers(ids(&["u1"]))])
        );
        assert_eq!(
            ops(json!([{"op": "Remove", "path": "members", "value": [{"value": "u2"}]}])),
            Ok(vec![GroupChange::RemoveMembers(ids(&["u2"]))])
        );
        assert_eq!(ops(json!([{"op": "remove", "path": "members"}])), Ok(vec![GroupChange::SetMembers(vec![])]));
        assert_eq!(
            ops(json!([{"op": "replace", "value": {"id": "g1", "displayName": "Eng", "externalId": null}}])),
            Ok(vec![GroupChange::DisplayName("Eng".into()), GroupChange::ExternalId(None)])
        );
        assert_eq!(
            ops(
                json!([{"op": "Replace", "path": "urn:ietf:params:scim:schemas:core:2.0:Group:displayName", "value": "X"}])
            ),
            Ok(vec![GroupChange::DisplayName("X".into())])
        );
        let kind = |o: Value| ops(o).unwrap_err().scim_type;
        assert_eq!(kind(json!([{"op": "remove", "path": "displayName"}])), MUTABILITY);
        assert_eq!(kind(json!([{"op": "add", "path": "members[value eq \"u1\"]", "value": []}])), INVALID_PATH);
        assert_eq!(kind(json!([{"op": "remove", "path": "members[display eq \"x\"]"}])), INVALID_PATH);
        assert_eq!(kind(json!([{"op": "add", "path": "members", "value": [{"display": "x"}]}])), INVALID_VALUE);
        assert_eq!(kind(json!([{"op": "add", "path": "owner", "value": "x"}])), INVALID_PATH);
        assert_eq!(kind(json!([{"op": "remove"}])), NO_TARGET);
    }
}
