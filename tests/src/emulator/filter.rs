//! The `filter` query parameter: `field[op]:value`, top-level commas meaning AND,
//! `and(...)`, `or(...)`, `not(...)`, and `field.subField` for composite fields.
//!
//! Evaluation is SQL-like: a comparison against NULL is unknown (neither true nor false),
//! so `score[neq]:5` does not match a null score, and neither does `not(score[eq]:5)`.

use std::cmp::Ordering;

use serde_json::Value;

use super::clock::{Millis, parse_instant};
use super::errors::ApiError;
use super::schema::{FieldPath, ObjectKind, Record, Scalar};

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
    Cond(Condition),
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Condition {
    pub path: FieldPath,
    pub op: Op,
    pub operand: Operand,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Neq,
    In,
    ContainsAny,
    Is,
    Gt,
    Gte,
    Lt,
    Lte,
    StartsWith,
    EndsWith,
    Like,
    Ilike,
}

const OPS: &[(&str, Op)] = &[
    ("eq", Op::Eq),
    ("neq", Op::Neq),
    ("in", Op::In),
    ("containsAny", Op::ContainsAny),
    ("is", Op::Is),
    ("gt", Op::Gt),
    ("gte", Op::Gte),
    ("lt", Op::Lt),
    ("lte", Op::Lte),
    ("startsWith", Op::StartsWith),
    ("endsWith", Op::EndsWith),
    ("like", Op::Like),
    ("ilike", Op::Ilike),
];

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Operand {
    One(Literal),
    Many(Vec<Literal>),
    Null,
    NotNull,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Literal {
    Text(String),
    Number(f64),
    Instant(Millis),
}

impl Filter {
    /// Parses a whole `filter` parameter value.
    pub(crate) fn parse(kind: ObjectKind, input: &str) -> Result<Self, ApiError> {
        check_parentheses(input)?;
        let parts = split_top_level(input);
        if parts.len() == 1 {
            parse_single(kind, parts[0])
        } else {
            let children = parts
                .into_iter()
                .map(|p| parse_single(kind, p))
                .collect::<Result<_, _>>()?;
            Ok(Self::And(children))
        }
    }

    /// Whether the filter names `field` anywhere (Twenty then includes soft-deleted rows
    /// when the field is `deletedAt`).
    pub(crate) fn mentions(&self, field: &str) -> bool {
        match self {
            Self::And(children) | Self::Or(children) => children.iter().any(|c| c.mentions(field)),
            Self::Not(child) => child.mentions(field),
            Self::Cond(c) => c.path.field == field,
        }
    }

    pub(crate) fn matches(&self, record: &Record) -> bool {
        self.eval(record) == Some(true)
    }

    /// Three-valued: `None` is SQL's UNKNOWN.
    fn eval(&self, record: &Record) -> Option<bool> {
        match self {
            Self::And(children) => {
                let results: Vec<_> = children.iter().map(|c| c.eval(record)).collect();
                if results.contains(&Some(false)) {
                    Some(false)
                } else if results.contains(&None) {
                    None
                } else {
                    Some(true)
                }
            }
            Self::Or(children) => {
                let results: Vec<_> = children.iter().map(|c| c.eval(record)).collect();
                if results.contains(&Some(true)) {
                    Some(true)
                } else if results.contains(&None) {
                    None
                } else {
                    Some(false)
                }
            }
            Self::Not(child) => child.eval(record).map(|b| !b),
            Self::Cond(c) => c.eval(record),
        }
    }
}

impl Condition {
    fn eval(&self, record: &Record) -> Option<bool> {
        let value = self.path.get(record);
        match (&self.operand, self.op) {
            (Operand::Null, _) => return Some(value.is_null()),
            (Operand::NotNull, _) => return Some(!value.is_null()),
            _ if value.is_null() => return None,
            _ => {}
        }
        let literals: &[Literal] = match &self.operand {
            Operand::One(lit) => std::slice::from_ref(lit),
            Operand::Many(lits) => lits,
            Operand::Null | Operand::NotNull => &[],
        };
        let first = literals.first();
        let cmp = |lit: &Literal| compare(value, lit);
        Some(match self.op {
            Op::Eq => first.is_some_and(|l| cmp(l) == Some(Ordering::Equal)),
            Op::Neq => first.is_some_and(|l| cmp(l).is_some_and(|o| o != Ordering::Equal)),
            Op::Gt => first.is_some_and(|l| cmp(l) == Some(Ordering::Greater)),
            Op::Gte => {
                first.is_some_and(|l| matches!(cmp(l), Some(Ordering::Greater | Ordering::Equal)))
            }
            Op::Lt => first.is_some_and(|l| cmp(l) == Some(Ordering::Less)),
            Op::Lte => {
                first.is_some_and(|l| matches!(cmp(l), Some(Ordering::Less | Ordering::Equal)))
            }
            Op::In | Op::ContainsAny => match value {
                // Array fields: any element among the listed values.
                Value::Array(items) => items.iter().any(|item| {
                    literals
                        .iter()
                        .any(|l| compare(item, l) == Some(Ordering::Equal))
                }),
                _ => literals.iter().any(|l| cmp(l) == Some(Ordering::Equal)),
            },
            Op::StartsWith => first.is_some_and(|l| text_of(value).starts_with(&literal_text(l))),
            Op::EndsWith => first.is_some_and(|l| text_of(value).ends_with(&literal_text(l))),
            Op::Like => first.is_some_and(|l| like(&text_of(value), &literal_text(l))),
            Op::Ilike => first.is_some_and(|l| {
                like(
                    &text_of(value).to_lowercase(),
                    &literal_text(l).to_lowercase(),
                )
            }),
            Op::Is => false,
        })
    }
}

/// Compares a stored value with a filter literal; `None` when they cannot be compared.
fn compare(value: &Value, literal: &Literal) -> Option<Ordering> {
    match literal {
        Literal::Instant(t) => value.as_str().and_then(parse_instant).map(|v| v.cmp(t)),
        Literal::Number(n) => value.as_f64().and_then(|v| v.partial_cmp(n)),
        Literal::Text(s) => Some(text_of(value).as_str().cmp(s.as_str())),
    }
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn literal_text(literal: &Literal) -> String {
    match literal {
        Literal::Text(s) => s.clone(),
        Literal::Number(n) => n.to_string(),
        Literal::Instant(t) => super::clock::format_ms(*t),
    }
}

/// SQL LIKE: `%` is any run of characters, `_` any one character.
fn like(text: &str, pattern: &str) -> bool {
    let t: Vec<char> = text.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    // matches[j] = does t[..i] match p[..j], for the current i.
    let mut matches = vec![false; p.len() + 1];
    matches[0] = true;
    for j in 1..=p.len() {
        matches[j] = matches[j - 1] && p[j - 1] == '%';
    }
    for tc in &t {
        let mut next = vec![false; p.len() + 1];
        for j in 1..=p.len() {
            next[j] = match p[j - 1] {
                '%' => next[j - 1] || matches[j],
                '_' => matches[j - 1],
                pc => matches[j - 1] && pc == *tc,
            };
        }
        matches = next;
    }
    matches[p.len()]
}

/// Twenty counts brackets before parsing and names what is missing.
fn check_parentheses(input: &str) -> Result<(), ApiError> {
    let opened = input.matches('(').count() as i64;
    let closed = input.matches(')').count() as i64;
    let diff = opened - closed;
    if diff == 0 {
        return Ok(());
    }
    let n = diff.abs();
    let which = if diff > 0 { "close" } else { "open" };
    let plural = if n > 1 { "s are" } else { " is" };
    Err(ApiError::bad_request(format!(
        "'filter' invalid. {n} {which} bracket{plural} missing in the query"
    )))
}

/// Splits on commas outside parentheses, square brackets and quotes.
fn split_top_level(input: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut start = 0;
    for (i, c) in input.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '(' | '[') => depth += 1,
            (None, ')' | ']') => depth -= 1,
            (None, ',') if depth == 0 => {
                parts.push(&input[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&input[start..]);
    parts
}

/// `and(...)` / `or(...)` / `not(...)` wrapping the whole of `s`, or one condition.
fn parse_single(kind: ObjectKind, s: &str) -> Result<Filter, ApiError> {
    let s = s.trim();
    for conjunction in ["and", "or", "not"] {
        let Some(inner) = s
            .strip_prefix(conjunction)
            .and_then(|rest| rest.strip_prefix('('))
            .and_then(|rest| rest.strip_suffix(')'))
        else {
            continue;
        };
        // `and(a)or(b)` also starts with `and(` and ends with `)`, but is no group.
        if !balanced(inner) {
            continue;
        }
        let children = split_top_level(inner)
            .into_iter()
            .map(|p| parse_single(kind, p))
            .collect::<Result<Vec<_>, _>>()?;
        return match conjunction {
            "and" => Ok(Filter::And(children)),
            "or" => Ok(Filter::Or(children)),
            _ => {
                let mut children = children;
                if children.len() != 1 {
                    return Err(ApiError::bad_request(
                        "'filter' invalid. 'not' conjunction should contain only 1 condition. eg: not(field[eq]:1)",
                    ));
                }
                Ok(Filter::Not(Box::new(children.remove(0))))
            }
        };
    }
    parse_condition(kind, s).map(Filter::Cond)
}

fn balanced(s: &str) -> bool {
    let mut depth = 0i32;
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        if depth < 0 {
            return false;
        }
    }
    depth == 0
}

/// `field.sub[op]:value`.
fn parse_condition(kind: ObjectKind, s: &str) -> Result<Condition, ApiError> {
    let invalid =
        || ApiError::bad_request(format!("'filter' invalid for '{s}'. eg: price[gte]:10"));
    let (field, rest) = s.split_once('[').ok_or_else(invalid)?;
    let (op_name, rest) = rest.split_once(']').ok_or_else(invalid)?;
    let raw_value = rest.strip_prefix(':').ok_or_else(invalid)?;
    if field.is_empty() || raw_value.is_empty() {
        return Err(invalid());
    }
    let op = OPS
        .iter()
        .find(|(name, _)| *name == op_name)
        .map(|(_, op)| *op)
        .ok_or_else(|| {
            let names: Vec<&str> = OPS.iter().map(|(n, _)| *n).collect();
            ApiError::bad_request(format!(
                "'filter' invalid for '{s}', comparator {op_name} not in {}",
                names.join(", ")
            ))
        })?;
    let path = FieldPath::resolve(kind, field)?;
    let operand = match op {
        Op::Is => match unquote(raw_value) {
            "NULL" => Operand::Null,
            "NOT_NULL" => Operand::NotNull,
            other => {
                return Err(ApiError::bad_request(format!(
                    "'filter' invalid for '{s}'. 'is' expects NULL or NOT_NULL, got '{other}'"
                )));
            }
        },
        Op::In | Op::ContainsAny => {
            let inner = raw_value
                .strip_prefix('[')
                .and_then(|v| v.strip_suffix(']'))
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "'filter' invalid for '{op_name}' operator. Received '{raw_value}' but array value expected eg: 'field[{op_name}]:[value_1,value_2]'"
                    ))
                })?;
            let items = split_top_level(inner)
                .into_iter()
                .filter(|item| !item.trim().is_empty())
                .map(|item| literal(&path, unquote(item.trim())))
                .collect::<Result<_, _>>()?;
            Operand::Many(items)
        }
        // Pattern operators take text whatever the field's type.
        Op::StartsWith | Op::EndsWith | Op::Like | Op::Ilike => {
            Operand::One(Literal::Text(unquote(raw_value).to_string()))
        }
        _ => Operand::One(literal(&path, unquote(raw_value))?),
    };
    Ok(Condition { path, op, operand })
}

fn unquote(raw: &str) -> &str {
    let quoted = raw.len() >= 2
        && ((raw.starts_with('"') && raw.ends_with('"'))
            || (raw.starts_with('\'') && raw.ends_with('\'')));
    if quoted { &raw[1..raw.len() - 1] } else { raw }
}

fn literal(path: &FieldPath, raw: &str) -> Result<Literal, ApiError> {
    match path.scalar {
        Scalar::DateTime => parse_instant(raw).map(Literal::Instant).ok_or_else(|| {
            ApiError::bad_request(format!(
                "Invalid value '{raw}' for date-time field \"{}\". Expected format: 'YYYY-MM-DDTHH:mm:ssZ'",
                path.display()
            ))
        }),
        Scalar::Number => raw.parse::<f64>().map(Literal::Number).map_err(|_| {
            ApiError::bad_request(format!(
                "Invalid value '{raw}' for number field \"{}\"",
                path.display()
            ))
        }),
        // Postgres compares uuids case-insensitively; stored ids are lowercase.
        Scalar::Uuid => Ok(Literal::Text(raw.to_ascii_lowercase())),
        Scalar::Text | Scalar::Json => Ok(Literal::Text(raw.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lead(id: &str, updated_at: &str, score: Value, deleted_at: Value) -> Record {
        json!({
            "id": id,
            "name": "Globex lead",
            "updatedAt": updated_at,
            "deletedAt": deleted_at,
            "score": score,
            "email": {"primaryEmail": "l1@example.com", "additionalEmails": []},
            "phones": {"primaryPhoneNumber": "8563057016", "primaryPhoneCallingCode": "+1"},
        })
        .as_object()
        .cloned()
        .unwrap_or_default()
    }

    /// The three leads of the captures, as they were when lead-filter-*.http ran.
    fn captured_leads() -> Vec<Record> {
        vec![
            lead(
                "bf91e08e-34f1-43a7-9ba8-92963c4fd740",
                "2026-11-24T17:13:20.558Z",
                json!(10),
                Value::Null,
            ),
            lead(
                "73affd6e-2319-4ad1-82d8-f8eb9312a232",
                "2026-11-24T17:13:20.902Z",
                json!(55),
                Value::Null,
            ),
            lead(
                "8d969ae5-8538-4664-85fc-96a6fa79311e",
                "2026-11-24T17:13:21.231Z",
                json!(30),
                Value::Null,
            ),
        ]
    }

    fn matching(filter: &str) -> Vec<String> {
        let filter = Filter::parse(ObjectKind::Lead, filter).expect("parses");
        captured_leads()
            .iter()
            .filter(|r| filter.matches(r))
            .map(|r| r["id"].as_str().unwrap_or_default()[..8].to_string())
            .collect()
    }

    #[test]
    fn fixture_queries_select_what_twenty_selected() {
        // lead-filter-0 .. 5, after URL decoding.
        assert_eq!(
            matching("updatedAt[gt]:2026-11-24T17:13:20.558Z"),
            ["73affd6e", "8d969ae5"]
        );
        assert_eq!(
            matching("updatedAt[gt]:\"2026-11-24T17:13:20.558Z\""),
            ["73affd6e", "8d969ae5"]
        );
        assert_eq!(
            matching("updatedAt[gte]:2026-11-24T17:13:20.902Z"),
            ["73affd6e", "8d969ae5"]
        );
        assert_eq!(
            matching("updatedAt[eq]:2026-11-24T17:13:20.902Z"),
            ["73affd6e"]
        );
        assert_eq!(
            matching("updatedAt[lte]:2026-11-24T17:13:20.902Z"),
            ["bf91e08e", "73affd6e"]
        );
        assert_eq!(
            matching("and(updatedAt[gte]:2026-11-24T17:13:20.000Z,score[gt]:20)"),
            ["73affd6e", "8d969ae5"]
        );
    }

    #[test]
    fn deletion_state_form_matches_live_and_deleted_rows() {
        let text = "and(updatedAt[gte]:\"2026-11-24T17:13:20.000Z\",or(deletedAt[is]:NULL,deletedAt[is]:NOT_NULL))";
        let filter = Filter::parse(ObjectKind::Lead, text).expect("parses");
        assert!(filter.mentions("deletedAt"));
        let live = lead(
            "bf91e08e-34f1-43a7-9ba8-92963c4fd740",
            "2026-11-24T17:13:20.558Z",
            json!(1),
            Value::Null,
        );
        let gone = lead(
            "73affd6e-2319-4ad1-82d8-f8eb9312a232",
            "2026-11-24T17:14:05.755Z",
            json!(1),
            json!("2026-11-24T17:14:05.755Z"),
        );
        let old = lead(
            "8d969ae5-8538-4664-85fc-96a6fa79311e",
            "2026-11-24T17:13:19.999Z",
            json!(1),
            Value::Null,
        );
        assert!(filter.matches(&live));
        assert!(filter.matches(&gone));
        assert!(!filter.matches(&old));
        assert!(
            !Filter::parse(ObjectKind::Lead, "updatedAt[gte]:2026-01-01T00:00:00Z")
                .expect("parses")
                .mentions("deletedAt")
        );
    }

    #[test]
    fn composite_in_or_not_and_patterns() {
        assert_eq!(
            matching("phones.primaryPhoneNumber[eq]:\"8563057016\"").len(),
            3
        );
        assert_eq!(
            matching(
                "id[in]:[\"73affd6e-2319-4ad1-82d8-f8eb9312a232\",\"8D969AE5-8538-4664-85FC-96A6FA79311E\"]"
            ),
            ["73affd6e", "8d969ae5"]
        );
        assert_eq!(matching("not(score[gte]:30)"), ["bf91e08e"]);
        assert_eq!(
            matching("or(score[eq]:10,score[eq]:30)"),
            ["bf91e08e", "8d969ae5"]
        );
        assert_eq!(
            matching("email.primaryEmail[ilike]:\"%L1@EXAMPLE%\"").len(),
            3
        );
        assert_eq!(
            matching("email.primaryEmail[like]:\"l_@example.com\"").len(),
            3
        );
        assert_eq!(matching("name[startsWith]:Glob").len(), 3);
        assert_eq!(matching("score[gt]:20,score[lt]:50"), ["8d969ae5"]);
    }

    #[test]
    fn null_comparisons_are_unknown() {
        let rec = lead(
            "bf91e08e-34f1-43a7-9ba8-92963c4fd740",
            "2026-11-24T17:13:20.558Z",
            Value::Null,
            Value::Null,
        );
        for text in ["score[neq]:5", "not(score[eq]:5)", "score[lt]:5"] {
            assert!(
                !Filter::parse(ObjectKind::Lead, text)
                    .expect("parses")
                    .matches(&rec),
                "{text}"
            );
        }
        assert!(
            Filter::parse(ObjectKind::Lead, "score[is]:NULL")
                .expect("parses")
                .matches(&rec)
        );
    }

    #[test]
    fn bad_filters_are_400s_with_twentys_messages() {
        let err = Filter::parse(ObjectKind::Lead, "updatedAt[gte]:notadate").expect_err("bad date");
        assert_eq!(
            err.messages,
            [
                "Invalid value 'notadate' for date-time field \"updatedAt\". Expected format: 'YYYY-MM-DDTHH:mm:ssZ'"
            ]
        );
        let err = Filter::parse(ObjectKind::Lead, "city[eq]:London").expect_err("unknown field");
        assert_eq!(
            err.messages,
            ["Object lead doesn't have any \"city\" field."]
        );
        assert_eq!(err.status, 400);
        assert!(Filter::parse(ObjectKind::Lead, "score[near]:1").is_err());
        assert!(Filter::parse(ObjectKind::Lead, "and(score[eq]:1").is_err());
        assert!(Filter::parse(ObjectKind::Lead, "not(score[eq]:1,score[eq]:2)").is_err());
        assert!(Filter::parse(ObjectKind::Lead, "phones.extension[eq]:1").is_err());
    }
}
