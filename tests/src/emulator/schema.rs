//! The objects the emulated workspace has, their fields, and how client input is checked
//! and merged into a record. Field order is the order Twenty returns them in.

use serde_json::{Map, Value, json};

use super::errors::ApiError;
use super::standard_objects::{COMPANY_FIELDS, OPPORTUNITY_FIELDS, PERSON_FIELDS};

pub(crate) type Record = Map<String, Value>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum ObjectKind {
    Lead,
    Note,
    NoteTarget,
    Person,
    Company,
    Opportunity,
}

impl ObjectKind {
    pub(crate) const ALL: [ObjectKind; 6] = [
        Self::Lead,
        Self::Note,
        Self::NoteTarget,
        Self::Person,
        Self::Company,
        Self::Opportunity,
    ];

    /// Accepts the plural (as in URLs) and, for test helpers, the singular.
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.plural() == name || k.singular() == name)
    }

    pub(crate) fn from_plural(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.plural() == name)
    }

    pub(crate) fn plural(self) -> &'static str {
        match self {
            Self::Lead => "leads",
            Self::Note => "notes",
            Self::NoteTarget => "noteTargets",
            Self::Person => "people",
            Self::Company => "companies",
            Self::Opportunity => "opportunities",
        }
    }

    pub(crate) fn singular(self) -> &'static str {
        match self {
            Self::Lead => "lead",
            Self::Note => "note",
            Self::NoteTarget => "noteTarget",
            Self::Person => "person",
            Self::Company => "company",
            Self::Opportunity => "opportunity",
        }
    }

    /// `Lead`, as in the `createLead` / `updateLead` response keys.
    pub(crate) fn singular_title(self) -> &'static str {
        match self {
            Self::Lead => "Lead",
            Self::Note => "Note",
            Self::NoteTarget => "NoteTarget",
            Self::Person => "Person",
            Self::Company => "Company",
            Self::Opportunity => "Opportunity",
        }
    }

    /// `Leads`, as in the `createLeads` / `restoreLeads` response keys.
    pub(crate) fn plural_title(self) -> &'static str {
        match self {
            Self::Lead => "Leads",
            Self::Note => "Notes",
            Self::NoteTarget => "NoteTargets",
            Self::Person => "People",
            Self::Company => "Companies",
            Self::Opportunity => "Opportunities",
        }
    }

    /// `objectMetadata.id` in webhook bodies: stable per object (the captured values for
    /// leads, notes and noteTargets; made up for the others, which vary by workspace).
    pub(crate) fn metadata_id(self) -> &'static str {
        match self {
            Self::Lead => "17714a70-29e7-4dda-819c-789b7c8a9fb5",
            Self::Note => "e0301bef-a280-4bf3-b35c-fe49898a7be6",
            Self::NoteTarget => "19d83859-53d3-41e9-a939-0bf2266f1747",
            Self::Person => "5c1f3a7e-8d2b-4e6f-9a41-0b7c2d9e6f13",
            Self::Company => "a84e2c6d-1f3b-4a97-8e5c-7d2f0b4a9c61",
            Self::Opportunity => "3e9b7f25-6c4d-4b18-a0f3-9d8e1c2b7a54",
        }
    }

    /// Every field, system ones included, in the order Twenty serialises them.
    pub(crate) fn fields(self) -> &'static [Field] {
        match self {
            Self::Lead => LEAD_FIELDS,
            Self::Note => NOTE_FIELDS,
            Self::NoteTarget => NOTE_TARGET_FIELDS,
            Self::Person => PERSON_FIELDS,
            Self::Company => COMPANY_FIELDS,
            Self::Opportunity => OPPORTUNITY_FIELDS,
        }
    }

    pub(crate) fn field(self, name: &str) -> Option<&'static Field> {
        self.fields().iter().find(|f| f.name == name)
    }

    pub(crate) fn field_order(self) -> Vec<&'static str> {
        self.fields().iter().map(|f| f.name).collect()
    }
}

#[derive(Debug)]
pub(crate) struct Field {
    pub name: &'static str,
    pub ty: FieldType,
    /// Set by the server; silently ignored in client input (except `id` on create).
    pub system: bool,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum FieldType {
    Uuid,
    DateTime,
    Number,
    Text,
    Select {
        options: &'static [&'static str],
        default: &'static str,
    },
    Emails,
    Phones,
    Currency,
    RichText,
    Actor,
    FullName,
    Links,
    Address,
    /// FILES: an array of `{fileId, label, ...}`, or null (an empty array is stored as null).
    Files,
}

/// How a value compares in filters and sorts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scalar {
    Text,
    Number,
    DateTime,
    Uuid,
    /// Arrays and free-form JSON: compared by their JSON text.
    Json,
}

const LEAD_STATUSES: &[&str] = &["NEW", "QUALIFIED", "LOST"];

pub(crate) const fn system(name: &'static str, ty: FieldType) -> Field {
    Field {
        name,
        ty,
        system: true,
    }
}

pub(crate) const fn user(name: &'static str, ty: FieldType) -> Field {
    Field {
        name,
        ty,
        system: false,
    }
}

const LEAD_FIELDS: &[Field] = &[
    user("name", FieldType::Text),
    system("id", FieldType::Uuid),
    system("createdAt", FieldType::DateTime),
    system("createdBy", FieldType::Actor),
    system("deletedAt", FieldType::DateTime),
    system("position", FieldType::Number),
    system("updatedAt", FieldType::DateTime),
    system("updatedBy", FieldType::Actor),
    system("searchVector", FieldType::Text),
    user("email", FieldType::Emails),
    user(
        "status",
        FieldType::Select {
            options: LEAD_STATUSES,
            default: "NEW",
        },
    ),
    user("score", FieldType::Number),
    user("source", FieldType::Text),
    user("phones", FieldType::Phones),
    // A custom composite field the sync code knows nothing about: it must round-trip.
    user("budget", FieldType::Currency),
];

const NOTE_FIELDS: &[Field] = &[
    system("id", FieldType::Uuid),
    system("createdAt", FieldType::DateTime),
    system("updatedAt", FieldType::DateTime),
    system("deletedAt", FieldType::DateTime),
    system("position", FieldType::Number),
    user("title", FieldType::Text),
    user("bodyV2", FieldType::RichText),
    system("createdBy", FieldType::Actor),
    system("updatedBy", FieldType::Actor),
    system("searchVector", FieldType::Text),
];

const NOTE_TARGET_FIELDS: &[Field] = &[
    system("id", FieldType::Uuid),
    system("createdAt", FieldType::DateTime),
    system("updatedAt", FieldType::DateTime),
    system("deletedAt", FieldType::DateTime),
    system("createdBy", FieldType::Actor),
    system("updatedBy", FieldType::Actor),
    system("position", FieldType::Number),
    system("searchVector", FieldType::Text),
    user("targetCompanyId", FieldType::Uuid),
    user("noteId", FieldType::Uuid),
    user("targetPersonId", FieldType::Uuid),
    user("targetOpportunityId", FieldType::Uuid),
    user("targetLeadId", FieldType::Uuid),
];

impl FieldType {
    /// Sub-fields of a composite type, in Twenty's order.
    pub(crate) fn sub_fields(self) -> &'static [(&'static str, Scalar)] {
        match self {
            Self::Emails => &[
                ("primaryEmail", Scalar::Text),
                ("additionalEmails", Scalar::Json),
            ],
            Self::Phones => &[
                ("primaryPhoneNumber", Scalar::Text),
                ("primaryPhoneCountryCode", Scalar::Text),
                ("primaryPhoneCallingCode", Scalar::Text),
                ("additionalPhones", Scalar::Json),
            ],
            Self::Currency => &[
                ("amountMicros", Scalar::Number),
                ("currencyCode", Scalar::Text),
            ],
            Self::RichText => &[("blocknote", Scalar::Text), ("markdown", Scalar::Text)],
            Self::Actor => &[
                ("source", Scalar::Text),
                ("workspaceMemberId", Scalar::Uuid),
                ("name", Scalar::Text),
                ("context", Scalar::Json),
            ],
            Self::FullName => &[("firstName", Scalar::Text), ("lastName", Scalar::Text)],
            Self::Links => &[
                ("primaryLinkLabel", Scalar::Text),
                ("primaryLinkUrl", Scalar::Text),
                ("secondaryLinks", Scalar::Json),
            ],
            Self::Address => &[
                ("addressStreet1", Scalar::Text),
                ("addressStreet2", Scalar::Text),
                ("addressCity", Scalar::Text),
                ("addressPostcode", Scalar::Text),
                ("addressState", Scalar::Text),
                ("addressCountry", Scalar::Text),
                ("addressLat", Scalar::Number),
                ("addressLng", Scalar::Number),
            ],
            _ => &[],
        }
    }

    pub(crate) fn is_composite(self) -> bool {
        !self.sub_fields().is_empty()
    }

    /// The scalar kind of a non-composite field.
    pub(crate) fn scalar(self) -> Scalar {
        match self {
            Self::Uuid => Scalar::Uuid,
            Self::DateTime => Scalar::DateTime,
            Self::Number => Scalar::Number,
            Self::Text | Self::Select { .. } => Scalar::Text,
            _ => Scalar::Json,
        }
    }

    /// The value an unset field has: every field is present on every record.
    pub(crate) fn default_value(self) -> Value {
        match self {
            Self::Uuid | Self::DateTime | Self::Number | Self::Actor | Self::Files => Value::Null,
            Self::Text => json!(""),
            Self::Select { default, .. } => json!(default),
            Self::Emails => json!({"primaryEmail": "", "additionalEmails": []}),
            Self::Phones => json!({
                "primaryPhoneNumber": "",
                "primaryPhoneCountryCode": "",
                "primaryPhoneCallingCode": "",
                "additionalPhones": [],
            }),
            Self::Currency => json!({"amountMicros": null, "currencyCode": ""}),
            Self::RichText => json!({"blocknote": "", "markdown": ""}),
            Self::FullName => json!({"firstName": "", "lastName": ""}),
            Self::Links => {
                json!({"primaryLinkLabel": "", "primaryLinkUrl": "", "secondaryLinks": []})
            }
            Self::Address => json!({
                "addressStreet1": "",
                "addressStreet2": "",
                "addressCity": "",
                "addressPostcode": "",
                "addressState": "",
                "addressCountry": "",
                "addressLat": null,
                "addressLng": null,
            }),
        }
    }
}

/// A field, or a composite's sub-field, named in a filter or an order_by.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct FieldPath {
    pub field: &'static str,
    pub sub: Option<&'static str>,
    pub scalar: Scalar,
}

impl FieldPath {
    /// Resolves `field` or `field.subField`; an unknown name is the 400 Twenty gives.
    pub(crate) fn resolve(kind: ObjectKind, raw: &str) -> Result<Self, ApiError> {
        let (name, sub) = match raw.split_once('.') {
            Some((name, sub)) => (name, Some(sub)),
            None => (raw, None),
        };
        let field = kind
            .field(name)
            .ok_or_else(|| ApiError::unknown_field(kind, raw))?;
        match sub {
            None => Ok(Self {
                field: field.name,
                sub: None,
                scalar: field.ty.scalar(),
            }),
            Some(sub) => {
                let (sub_name, scalar) = field
                    .ty
                    .sub_fields()
                    .iter()
                    .find(|(n, _)| *n == sub)
                    .ok_or_else(|| ApiError::unknown_field(kind, raw))?;
                Ok(Self {
                    field: field.name,
                    sub: Some(sub_name),
                    scalar: *scalar,
                })
            }
        }
    }

    pub(crate) fn id() -> Self {
        Self {
            field: "id",
            sub: None,
            scalar: Scalar::Uuid,
        }
    }

    pub(crate) fn get<'a>(&self, record: &'a Record) -> &'a Value {
        let top = record.get(self.field).unwrap_or(&Value::Null);
        match self.sub {
            None => top,
            Some(sub) => top.get(sub).unwrap_or(&Value::Null),
        }
    }

    pub(crate) fn display(&self) -> String {
        match self.sub {
            None => self.field.to_string(),
            Some(sub) => format!("{}.{sub}", self.field),
        }
    }
}

/// A fresh record of `kind` with every user field at its default.
pub(crate) fn blank_record(kind: ObjectKind) -> Record {
    kind.fields()
        .iter()
        .map(|f| (f.name.to_string(), f.ty.default_value()))
        .collect()
}

/// Checks `input` against the schema and merges it into `target`: plain fields are
/// replaced, composite fields merge sub-field by sub-field. System fields are ignored.
/// `target` is only written when the whole input is valid.
pub(crate) fn merge_input(
    kind: ObjectKind,
    target: &mut Record,
    input: &Record,
) -> Result<(), ApiError> {
    let mut staged = target.clone();
    for (name, value) in input {
        let field = kind
            .field(name)
            .ok_or_else(|| ApiError::unknown_field(kind, name))?;
        if field.system {
            continue;
        }
        let merged = match field.ty {
            ty if ty.is_composite() => merge_composite(kind, field, staged.get(name), value)?,
            ty => check_plain(field.name, ty, value)?,
        };
        staged.insert(name.clone(), merged);
    }
    *target = staged;
    Ok(())
}

fn check_plain(name: &str, ty: FieldType, value: &Value) -> Result<Value, ApiError> {
    let ok = match (ty, value) {
        (_, Value::Null) => true,
        (FieldType::Text, Value::String(_)) | (FieldType::Number, Value::Number(_)) => true,
        (FieldType::Uuid, Value::String(s)) => is_valid_uuid(s),
        (FieldType::DateTime, Value::String(s)) => super::clock::parse_instant(s).is_some(),
        (FieldType::Files, Value::Array(items)) => items.iter().all(Value::is_object),
        (FieldType::Select { options, .. }, other) => {
            if other.as_str().is_some_and(|s| options.contains(&s)) {
                true
            } else {
                let shown = other
                    .as_str()
                    .map_or_else(|| other.to_string(), str::to_string);
                return Err(ApiError::bad_request(format!(
                    "Invalid value \"{shown}\" for field \"{name}\". Valid values are: {}",
                    options.join(", ")
                )));
            }
        }
        _ => false,
    };
    if !ok {
        return Err(ApiError::bad_request(format!(
            "Invalid value {value} for field \"{name}\""
        )));
    }
    Ok(match (ty, value) {
        (FieldType::Uuid, Value::String(s)) => Value::String(s.to_ascii_lowercase()),
        (FieldType::Files, Value::Array(items)) if items.is_empty() => Value::Null,
        _ => value.clone(),
    })
}

fn merge_composite(
    kind: ObjectKind,
    field: &Field,
    current: Option<&Value>,
    value: &Value,
) -> Result<Value, ApiError> {
    let mut merged = match current {
        Some(Value::Object(m)) => m.clone(),
        _ => match field.ty.default_value() {
            Value::Object(m) => m,
            _ => Map::new(),
        },
    };
    let input = match value {
        // Null resets the composite to its empty value.
        Value::Null => return Ok(field.ty.default_value()),
        Value::Object(m) => m,
        other => {
            return Err(ApiError::bad_request(format!(
                "Invalid value {other} for field \"{}\"",
                field.name
            )));
        }
    };
    for (sub, sub_value) in input {
        let (_, scalar) = field
            .ty
            .sub_fields()
            .iter()
            .find(|(n, _)| n == sub)
            .ok_or_else(|| ApiError::unknown_field(kind, &format!("{}.{sub}", field.name)))?;
        let checked = match (scalar, sub_value) {
            (_, Value::Null) => Value::Null,
            (Scalar::Text | Scalar::Uuid, Value::String(_)) => sub_value.clone(),
            (Scalar::Number, Value::Number(_)) => sub_value.clone(),
            // Twenty's amountMicros is a BigFloat: numeric strings are accepted.
            (Scalar::Number, Value::String(s)) if s.parse::<f64>().is_ok() => s
                .parse::<i64>()
                .map_or_else(|_| sub_value.clone(), Value::from),
            (Scalar::Json, _) => sub_value.clone(),
            _ => {
                return Err(ApiError::bad_request(format!(
                    "Invalid value {sub_value} for field \"{}.{sub}\"",
                    field.name
                )));
            }
        };
        merged.insert(sub.clone(), checked);
    }
    Ok(Value::Object(merged))
}

/// Twenty validates ids as RFC 4122 UUIDs: the nil UUID is refused (lead-patch-missing.http).
pub(crate) fn is_valid_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 36 {
        return false;
    }
    let hex_ok = b.iter().enumerate().all(|(i, c)| match i {
        8 | 13 | 18 | 23 => *c == b'-',
        _ => c.is_ascii_hexdigit(),
    });
    hex_ok
        && (b'1'..=b'8').contains(&b[14])
        && matches!(b[19].to_ascii_lowercase(), b'8' | b'9' | b'a' | b'b')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_validation_matches_twenty() {
        assert!(is_valid_uuid("73affd6e-2319-4ad1-82d8-f8eb9312a232"));
        assert!(is_valid_uuid("20202020-b000-4485-94de-70c2a98daef2"));
        assert!(!is_valid_uuid("00000000-0000-0000-0000-000000000000"));
        assert!(!is_valid_uuid("not-a-uuid"));
    }

    #[test]
    fn composite_fields_merge_by_sub_field() {
        let mut rec = blank_record(ObjectKind::Lead);
        let input = json!({"phones": {"primaryPhoneNumber": "8563057016"}});
        merge_input(
            ObjectKind::Lead,
            &mut rec,
            input.as_object().expect("object"),
        )
        .expect("valid");
        let input = json!({"phones": {"primaryPhoneCallingCode": "+1"}});
        merge_input(
            ObjectKind::Lead,
            &mut rec,
            input.as_object().expect("object"),
        )
        .expect("valid");
        assert_eq!(rec["phones"]["primaryPhoneNumber"], "8563057016");
        assert_eq!(rec["phones"]["primaryPhoneCallingCode"], "+1");
        assert_eq!(rec["phones"]["additionalPhones"], json!([]));
    }

    #[test]
    fn unknown_field_and_bad_select_are_refused_with_twentys_messages() {
        let mut rec = blank_record(ObjectKind::Lead);
        let err = merge_input(
            ObjectKind::Lead,
            &mut rec,
            json!({"city": "x"}).as_object().expect("object"),
        )
        .expect_err("unknown");
        assert_eq!(
            err.messages,
            vec!["Object lead doesn't have any \"city\" field."]
        );
        let err = merge_input(
            ObjectKind::Lead,
            &mut rec,
            json!({"status": "BOGUS"}).as_object().expect("object"),
        )
        .expect_err("bad select");
        assert_eq!(
            err.messages,
            vec![
                "Invalid value \"BOGUS\" for field \"status\". Valid values are: NEW, QUALIFIED, LOST"
            ]
        );
    }
}
