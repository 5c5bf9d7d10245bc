//! Listing: `order_by`, keyset cursors, `limit`, and the page envelope.
//!
//! Cursors are keyset cursors like Twenty's: base64 of a JSON object holding the
//! order-by values then the id (`{"updatedAt":"...","id":"..."}`), and `starting_after`
//! returns rows strictly after that tuple. A row edited mid-pass therefore moves later
//! in an `updatedAt` ordering and is seen again, never skipped.

use std::cmp::Ordering;

use base64::Engine as _;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::{DecodePaddingMode, general_purpose};
use serde_json::{Map, Value, json};

use super::clock::parse_instant;
use super::errors::ApiError;
use super::filter::Filter;
use super::schema::{FieldPath, ObjectKind, Record, Scalar};
use super::world::World;

pub(crate) const DEFAULT_LIMIT: usize = 60;
pub(crate) const MAX_LIMIT: usize = 200;

/// The list parameters as they came in the query string.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RawListQuery<'a> {
    pub filter: Option<&'a str>,
    pub order_by: Option<&'a str>,
    pub limit: Option<&'a str>,
    pub starting_after: Option<&'a str>,
    pub ending_before: Option<&'a str>,
}

#[derive(Clone, Debug)]
pub(crate) struct OrderKey {
    pub path: FieldPath,
    pub descending: bool,
    pub nulls_first: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct ListParams {
    pub filter: Option<Filter>,
    pub order: Vec<OrderKey>,
    pub limit: usize,
    pub starting_after: Option<Vec<Value>>,
    pub ending_before: Option<Vec<Value>>,
}

#[derive(Clone, Debug)]
pub(crate) struct Page {
    pub records: Vec<Value>,
    pub total: usize,
    pub start_cursor: Option<String>,
    pub end_cursor: Option<String>,
    pub has_next_page: bool,
}

impl ListParams {
    pub(crate) fn parse(kind: ObjectKind, raw: RawListQuery<'_>) -> Result<Self, ApiError> {
        let filter = match raw.filter {
            Some(text) if !text.is_empty() => Some(Filter::parse(kind, text)?),
            _ => None,
        };
        let order = parse_order_by(kind, raw.order_by)?;
        let limit = parse_limit(raw.limit)?;
        let decode = |cursor: Option<&str>| -> Result<Option<Vec<Value>>, ApiError> {
            match cursor {
                Some(c) if !c.is_empty() => decode_cursor(&order, c).map(Some),
                _ => Ok(None),
            }
        };
        let starting_after = decode(raw.starting_after)?;
        let ending_before = decode(raw.ending_before)?;
        if starting_after.is_some() && ending_before.is_some() {
            return Err(ApiError::bad_request(
                "'starting_after' and 'ending_before' cannot be used together",
            ));
        }
        Ok(Self {
            filter,
            order,
            limit,
            starting_after,
            ending_before,
        })
    }

    /// Soft-deleted rows are hidden unless the filter names `deletedAt`.
    fn includes_deleted(&self) -> bool {
        self.filter
            .as_ref()
            .is_some_and(|f| f.mentions("deletedAt"))
    }

    /// Rows matching the filter, deletion rule applied, cursor ignored.
    pub(crate) fn matching<'w>(&self, world: &'w World, kind: ObjectKind) -> Vec<&'w Record> {
        let with_deleted = self.includes_deleted();
        world
            .rows(kind)
            .filter(|r| with_deleted || r["deletedAt"].is_null())
            .filter(|r| self.filter.as_ref().is_none_or(|f| f.matches(r)))
            .collect()
    }
}

/// Like `parseLimitRestRequest`: absent or empty is 60, above 200 is 200, junk is 400.
fn parse_limit(raw: Option<&str>) -> Result<usize, ApiError> {
    let Some(text) = raw.filter(|t| !t.is_empty()) else {
        return Ok(DEFAULT_LIMIT);
    };
    let parsed = text
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite() && *n >= 0.0)
        .ok_or_else(|| {
            ApiError::bad_request(format!("limit '{text}' is invalid. Should be an integer"))
        })?;
    Ok((parsed.floor() as usize).min(MAX_LIMIT))
}

fn parse_order_by(kind: ObjectKind, raw: Option<&str>) -> Result<Vec<OrderKey>, ApiError> {
    let mut keys = Vec::new();
    for item in raw
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|i| !i.is_empty())
    {
        let (field, direction) = match item.split_once('[') {
            Some((field, rest)) if rest.ends_with(']') => (field, &rest[..rest.len() - 1]),
            _ => (item, "AscNullsFirst"),
        };
        let (descending, nulls_first) = match direction {
            "AscNullsFirst" => (false, true),
            "AscNullsLast" => (false, false),
            "DescNullsFirst" => (true, true),
            "DescNullsLast" => (true, false),
            other => {
                return Err(ApiError::bad_request(format!(
                    "'order_by' direction '{other}' invalid. Allowed values are 'AscNullsFirst', 'AscNullsLast', 'DescNullsFirst', 'DescNullsLast'. eg: ?order_by=field_1[AscNullsFirst],field_2[DescNullsLast],field_3"
                )));
            }
        };
        keys.push(OrderKey {
            path: FieldPath::resolve(kind, field)?,
            descending,
            nulls_first,
        });
    }
    // `id` closes every ordering, so the order is total and cursors are exact.
    if !keys.iter().any(|k| k.path == FieldPath::id()) {
        keys.push(OrderKey {
            path: FieldPath::id(),
            descending: false,
            nulls_first: true,
        });
    }
    Ok(keys)
}

fn compare_present(scalar: Scalar, a: &Value, b: &Value) -> Ordering {
    let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
    match scalar {
        Scalar::DateTime => match (
            a.as_str().and_then(parse_instant),
            b.as_str().and_then(parse_instant),
        ) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => text(a).cmp(&text(b)),
        },
        Scalar::Number => match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
            _ => text(a).cmp(&text(b)),
        },
        Scalar::Text | Scalar::Uuid | Scalar::Json => text(a).cmp(&text(b)),
    }
}

fn compare_one(key: &OrderKey, a: &Value, b: &Value) -> Ordering {
    let null_side = if key.nulls_first {
        Ordering::Less
    } else {
        Ordering::Greater
    };
    match (a.is_null(), b.is_null()) {
        (true, true) => Ordering::Equal,
        (true, false) => null_side,
        (false, true) => null_side.reverse(),
        (false, false) => {
            let o = compare_present(key.path.scalar, a, b);
            if key.descending { o.reverse() } else { o }
        }
    }
}

/// Where `record` sorts relative to a cursor tuple (or another record's tuple).
fn compare_to(order: &[OrderKey], record: &Record, tuple: &[Value]) -> Ordering {
    order
        .iter()
        .zip(tuple)
        .map(|(key, value)| compare_one(key, key.path.get(record), value))
        .find(|o| *o != Ordering::Equal)
        .unwrap_or(Ordering::Equal)
}

fn tuple_of(order: &[OrderKey], record: &Record) -> Vec<Value> {
    order.iter().map(|k| k.path.get(record).clone()).collect()
}

/// One top-level member of a cursor: a plain value, or some sub-fields of a composite.
enum CursorMember {
    Plain(Value),
    Composite(Vec<(&'static str, Value)>),
}

/// Standard base64 of `{"<field>":..,"<composite>":{"<sub>":..},"id":..}`, keys in
/// order-by order (written by hand: serde_json's map would sort them).
pub(crate) fn encode_cursor(order: &[OrderKey], record: &Record) -> String {
    let mut members: Vec<(&'static str, CursorMember)> = Vec::new();
    for key in order {
        let value = key.path.get(record).clone();
        match key.path.sub {
            None => members.push((key.path.field, CursorMember::Plain(value))),
            Some(sub) => match members.iter_mut().find(|(f, _)| *f == key.path.field) {
                Some((_, CursorMember::Composite(subs))) => subs.push((sub, value)),
                _ => members.push((key.path.field, CursorMember::Composite(vec![(sub, value)]))),
            },
        }
    }
    let quote = |s: &str| Value::from(s).to_string();
    let members: Vec<String> = members
        .into_iter()
        .map(|(field, member)| match member {
            CursorMember::Plain(v) => format!("{}:{v}", quote(field)),
            CursorMember::Composite(subs) => {
                let inner: Vec<String> = subs
                    .iter()
                    .map(|(s, v)| format!("{}:{v}", quote(s)))
                    .collect();
                format!("{}:{{{}}}", quote(field), inner.join(","))
            }
        })
        .collect();
    STANDARD.encode(format!("{{{}}}", members.join(",")))
}

/// Accepts padded or unpadded base64; anything unreadable is Twenty's `Invalid cursor`.
fn decode_cursor(order: &[OrderKey], raw: &str) -> Result<Vec<Value>, ApiError> {
    let invalid = || ApiError::invalid_cursor(raw);
    let lenient =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    let bytes = GeneralPurpose::new(&base64::alphabet::STANDARD, lenient)
        .decode(raw)
        .or_else(|_| GeneralPurpose::new(&base64::alphabet::URL_SAFE, lenient).decode(raw))
        .or_else(|_| general_purpose::URL_SAFE_NO_PAD.decode(raw))
        .map_err(|_| invalid())?;
    let object: Map<String, Value> = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    order
        .iter()
        .map(|key| {
            let top = object.get(key.path.field).ok_or_else(invalid)?;
            let value = match key.path.sub {
                None => top.clone(),
                Some(sub) => top.get(sub).cloned().ok_or_else(invalid)?,
            };
            let readable = match key.path.scalar {
                Scalar::DateTime => {
                    value.is_null() || value.as_str().and_then(parse_instant).is_some()
                }
                Scalar::Uuid => value.is_null() || value.is_string(),
                _ => true,
            };
            if readable { Ok(value) } else { Err(invalid()) }
        })
        .collect()
}

/// One page of `kind`; `totalCount` counts every matching row whatever the cursor.
pub(crate) fn list(world: &World, kind: ObjectKind, params: &ListParams) -> Page {
    let mut rows = params.matching(world, kind);
    let order = &params.order;
    rows.sort_by(|a, b| compare_to(order, a, &tuple_of(order, b)));
    let total = rows.len();

    if let Some(before) = &params.ending_before {
        // Twenty answers `ending_before` with the rows just before the cursor, in order,
        // but swaps the cursors and reports no further pages either way.
        let end = rows.partition_point(|r| compare_to(order, r, before) == Ordering::Less);
        let start = end.saturating_sub(params.limit);
        let page = &rows[start..end];
        return Page {
            records: page.iter().map(|r| Value::Object((*r).clone())).collect(),
            total,
            start_cursor: page.last().map(|r| encode_cursor(order, r)),
            end_cursor: page.first().map(|r| encode_cursor(order, r)),
            has_next_page: false,
        };
    }

    let start = params.starting_after.as_ref().map_or(0, |after| {
        rows.partition_point(|r| compare_to(order, r, after) != Ordering::Greater)
    });
    let end = (start + params.limit).min(total);
    let page = &rows[start..end];
    Page {
        records: page.iter().map(|r| Value::Object((*r).clone())).collect(),
        total,
        start_cursor: page.first().map(|r| encode_cursor(order, r)),
        end_cursor: page.last().map(|r| encode_cursor(order, r)),
        // Twenty says there is more after a `limit=0` page, whatever is left.
        has_next_page: params.limit == 0 || end < total,
    }
}

pub(crate) fn envelope(kind: ObjectKind, page: Page) -> Value {
    json!({
        "data": { kind.plural(): page.records },
        "totalCount": page.total,
        "pageInfo": {
            "startCursor": page.start_cursor,
            "endCursor": page.end_cursor,
            "hasNextPage": page.has_next_page,
            "hasPreviousPage": false,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::world::Actor;
    use std::collections::HashSet;

    const FIXTURE_CURSOR: &str = "eyJ1cGRhdGVkQXQiOiIyMDI2LTExLTI0VDE3OjEzOjIwLjkwMloiLCJpZCI6IjczYWZmZDZlLTIzMTktNGFkMS04MmQ4LWY4ZWI5MzEyYTIzMiJ9";

    fn raw<'a>(order_by: &'a str, limit: &'a str, after: Option<&'a str>) -> RawListQuery<'a> {
        RawListQuery {
            order_by: Some(order_by),
            limit: Some(limit),
            starting_after: after,
            ..RawListQuery::default()
        }
    }

    fn batch(world: &mut World, n: usize) -> Vec<Value> {
        let inputs: Vec<Record> = (0..n)
            .map(|i| {
                json!({"name": format!("Lead {i}")})
                    .as_object()
                    .cloned()
                    .unwrap_or_default()
            })
            .collect();
        world
            .create(ObjectKind::Lead, &inputs, Actor::Api, false)
            .expect("created")
            .0
    }

    #[test]
    fn fixture_cursor_decodes_and_encodes_byte_for_byte() {
        let order =
            parse_order_by(ObjectKind::Lead, Some("updatedAt[AscNullsFirst]")).expect("order");
        let tuple = decode_cursor(&order, FIXTURE_CURSOR).expect("decodes");
        assert_eq!(
            tuple,
            vec![
                json!("2026-11-24T17:13:20.902Z"),
                json!("73affd6e-2319-4ad1-82d8-f8eb9312a232")
            ]
        );
        let record = json!({"updatedAt": "2026-11-24T17:13:20.902Z", "id": "73affd6e-2319-4ad1-82d8-f8eb9312a232"});
        let record = record.as_object().cloned().unwrap_or_default();
        assert_eq!(encode_cursor(&order, &record), FIXTURE_CURSOR);
        let by_id = parse_order_by(ObjectKind::Lead, None).expect("order");
        assert_eq!(
            encode_cursor(&by_id, &record),
            "eyJpZCI6IjczYWZmZDZlLTIzMTktNGFkMS04MmQ4LWY4ZWI5MzEyYTIzMiJ9"
        );
    }

    #[test]
    fn garbage_cursor_is_a_400() {
        let err = ListParams::parse(ObjectKind::Lead, raw("updatedAt", "2", Some("garbage")))
            .expect_err("400");
        assert_eq!(err.messages, ["Invalid cursor: garbage"]);
    }

    #[test]
    fn keyset_paging_over_500_tied_rows_loses_and_repeats_nothing() {
        let mut world = World::default();
        let created = batch(&mut world, 500);
        assert!(
            created
                .iter()
                .all(|r| r["updatedAt"] == created[0]["updatedAt"])
        );
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let params = ListParams::parse(
                ObjectKind::Lead,
                raw("updatedAt[AscNullsFirst]", "60", cursor.as_deref()),
            )
            .expect("params");
            let page = list(&world, ObjectKind::Lead, &params);
            assert_eq!(page.total, 500);
            seen.extend(
                page.records
                    .iter()
                    .map(|r| r["id"].as_str().unwrap_or_default().to_string()),
            );
            if !page.has_next_page {
                break;
            }
            cursor = page.end_cursor;
        }
        assert_eq!(seen.len(), 500);
        assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 500);
        let mut sorted = seen.clone();
        sorted.sort();
        assert_eq!(seen, sorted, "ties break on id");
    }

    #[test]
    fn a_row_edited_mid_pass_moves_later_and_is_seen_again() {
        let mut world = World::default();
        let created = batch(&mut world, 10);
        let params =
            ListParams::parse(ObjectKind::Lead, raw("updatedAt", "5", None)).expect("params");
        let first = list(&world, ObjectKind::Lead, &params);
        let edited = first.records[0]["id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let patch = json!({"score": 99})
            .as_object()
            .cloned()
            .unwrap_or_default();
        world
            .update(ObjectKind::Lead, &edited, &patch, Actor::Person)
            .expect("updated");
        let params = ListParams::parse(
            ObjectKind::Lead,
            raw("updatedAt", "60", first.end_cursor.as_deref()),
        )
        .expect("params");
        let rest = list(&world, ObjectKind::Lead, &params);
        assert_eq!(rest.records.len(), created.len() - 5 + 1);
        assert_eq!(
            rest.records.last().map(|r| r["id"].clone()),
            Some(json!(edited))
        );
    }

    #[test]
    fn soft_deleted_rows_are_invisible_unless_the_filter_names_deleted_at() {
        let mut world = World::default();
        let created = batch(&mut world, 3);
        let id = created[1]["id"].as_str().unwrap_or_default().to_string();
        world
            .soft_delete(ObjectKind::Lead, &id, Actor::Api)
            .expect("deleted");
        let ids = |filter: Option<&'static str>| -> Vec<String> {
            let params = ListParams::parse(
                ObjectKind::Lead,
                RawListQuery {
                    filter,
                    ..RawListQuery::default()
                },
            )
            .expect("params");
            list(&world, ObjectKind::Lead, &params)
                .records
                .iter()
                .map(|r| r["id"].as_str().unwrap_or_default().to_string())
                .collect()
        };
        assert_eq!(ids(None).len(), 2);
        assert!(!ids(None).contains(&id));
        assert!(!ids(Some("updatedAt[gte]:2000-01-01T00:00:00Z")).contains(&id));
        assert_eq!(ids(Some("deletedAt[is]:NOT_NULL")), vec![id.clone()]);
        assert_eq!(
            ids(Some("or(deletedAt[is]:NULL,deletedAt[is]:NOT_NULL)")).len(),
            3
        );
    }

    #[test]
    fn limits_follow_twenty() {
        assert_eq!(parse_limit(None).expect("ok"), 60);
        assert_eq!(parse_limit(Some("1000")).expect("ok"), 200);
        assert_eq!(parse_limit(Some("0")).expect("ok"), 0);
        let err = parse_limit(Some("ten")).expect_err("400");
        assert_eq!(
            err.messages,
            ["limit 'ten' is invalid. Should be an integer"]
        );
        let mut world = World::default();
        batch(&mut world, 2);
        let params = ListParams::parse(ObjectKind::Lead, raw("", "0", None)).expect("params");
        let page = list(&world, ObjectKind::Lead, &params);
        assert!(page.records.is_empty() && page.has_next_page && page.start_cursor.is_none());
    }

    #[test]
    fn descending_orders_place_nulls_as_asked() {
        let mut world = World::default();
        let inputs: Vec<Record> = [
            json!({"score": 5}),
            json!({"score": null}),
            json!({"score": 9}),
        ]
        .iter()
        .map(|v| v.as_object().cloned().unwrap_or_default())
        .collect();
        world
            .create(ObjectKind::Lead, &inputs, Actor::Api, false)
            .expect("created");
        let scores = |order_by: &str| -> Vec<Value> {
            let params =
                ListParams::parse(ObjectKind::Lead, raw(order_by, "10", None)).expect("params");
            list(&world, ObjectKind::Lead, &params)
                .records
                .iter()
                .map(|r| r["score"].clone())
                .collect()
        };
        assert_eq!(
            scores("score[DescNullsLast]"),
            [json!(9), json!(5), Value::Null]
        );
        assert_eq!(
            scores("score[AscNullsFirst]"),
            [Value::Null, json!(5), json!(9)]
        );
        assert!(ListParams::parse(ObjectKind::Lead, raw("score[Sideways]", "10", None)).is_err());
    }
}
