//! Twenty 2.21.0's standard `person`, `company` and `opportunity` objects: their fields,
//! and what the database does to the rows pointing at one of them when it is destroyed.
//!
//! Fields are those of `compute-<object>-standard-flat-field-metadata.util.ts` (2.21.0),
//! in that order, a relation's join column (`companyId`, ...) standing where its relation
//! is declared. Relations to many (`noteTargets`, `attachments`, ...) have no column and
//! are not fields here. The fields 2.10 demoted to custom ones (Company `employees`,
//! `annualRecurringRevenue`, `idealCustomerProfile`, `xLink`; Person `xLink`, `city`) are
//! not standard in 2.21.0: a workspace upgraded from before 2.10 still has them.

use super::schema::{Field, FieldType, ObjectKind, system, user};

pub(crate) const OPPORTUNITY_STAGES: &[&str] =
    &["NEW", "SCREENING", "MEETING", "PROPOSAL", "CUSTOMER"];

pub(crate) const PERSON_FIELDS: &[Field] = &[
    system("id", FieldType::Uuid),
    system("createdAt", FieldType::DateTime),
    system("updatedAt", FieldType::DateTime),
    system("deletedAt", FieldType::DateTime),
    user("name", FieldType::FullName),
    user("emails", FieldType::Emails),
    user("linkedinLink", FieldType::Links),
    user("jobTitle", FieldType::Text),
    user("phones", FieldType::Phones),
    user("avatarUrl", FieldType::Text),
    user("avatarFile", FieldType::Files),
    system("position", FieldType::Number),
    system("createdBy", FieldType::Actor),
    system("updatedBy", FieldType::Actor),
    user("companyId", FieldType::Uuid),
    system("searchVector", FieldType::Text),
];

pub(crate) const COMPANY_FIELDS: &[Field] = &[
    system("id", FieldType::Uuid),
    system("createdAt", FieldType::DateTime),
    system("updatedAt", FieldType::DateTime),
    system("deletedAt", FieldType::DateTime),
    user("name", FieldType::Text),
    user("domainName", FieldType::Links),
    user("address", FieldType::Address),
    user("linkedinLink", FieldType::Links),
    user("annualRevenue", FieldType::Currency),
    system("position", FieldType::Number),
    system("createdBy", FieldType::Actor),
    system("updatedBy", FieldType::Actor),
    system("searchVector", FieldType::Text),
    user("accountOwnerId", FieldType::Uuid),
];

pub(crate) const OPPORTUNITY_FIELDS: &[Field] = &[
    system("id", FieldType::Uuid),
    system("createdAt", FieldType::DateTime),
    system("updatedAt", FieldType::DateTime),
    system("deletedAt", FieldType::DateTime),
    user("name", FieldType::Text),
    user("amount", FieldType::Currency),
    user("closeDate", FieldType::DateTime),
    user(
        "stage",
        FieldType::Select {
            options: OPPORTUNITY_STAGES,
            default: "NEW",
        },
    ),
    system("position", FieldType::Number),
    system("createdBy", FieldType::Actor),
    system("updatedBy", FieldType::Actor),
    system("searchVector", FieldType::Text),
    user("pointOfContactId", FieldType::Uuid),
    user("companyId", FieldType::Uuid),
    user("ownerId", FieldType::Uuid),
];

/// What happens to a row whose relation column points at a destroyed record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OnDestroy {
    /// The column is nulled: the row stays, pointing nowhere.
    SetNull,
    /// The row goes too.
    Cascade,
}

/// A relation column: rows of `from` whose `column` holds the id of a `to` record.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reference {
    pub from: ObjectKind,
    pub column: &'static str,
    pub to: ObjectKind,
    pub on_destroy: OnDestroy,
}

const fn reference(
    from: ObjectKind,
    column: &'static str,
    to: ObjectKind,
    on_destroy: OnDestroy,
) -> Reference {
    Reference {
        from,
        column,
        to,
        on_destroy,
    }
}

/// Every relation column the emulator keeps consistent when a record is destroyed,
/// silently (no event, no `updatedAt` change), as the database does.
///
/// The noteTarget links to a person, company or opportunity go with it (2.21.0 declares
/// `onDelete: CASCADE`, and a real 2.21.0 hard-deleted a destroyed person's and a
/// destroyed note's noteTargets without an event); a custom object's (the lead's) are
/// nulled, as captured.
pub(crate) const REFERENCES: &[Reference] = &[
    reference(
        ObjectKind::NoteTarget,
        "noteId",
        ObjectKind::Note,
        OnDestroy::Cascade,
    ),
    reference(
        ObjectKind::NoteTarget,
        "targetLeadId",
        ObjectKind::Lead,
        OnDestroy::SetNull,
    ),
    reference(
        ObjectKind::NoteTarget,
        "targetPersonId",
        ObjectKind::Person,
        OnDestroy::Cascade,
    ),
    reference(
        ObjectKind::NoteTarget,
        "targetCompanyId",
        ObjectKind::Company,
        OnDestroy::Cascade,
    ),
    reference(
        ObjectKind::NoteTarget,
        "targetOpportunityId",
        ObjectKind::Opportunity,
        OnDestroy::Cascade,
    ),
    // 2.21.0: `onDelete: SET_NULL`.
    reference(
        ObjectKind::Person,
        "companyId",
        ObjectKind::Company,
        OnDestroy::SetNull,
    ),
    reference(
        ObjectKind::Opportunity,
        "companyId",
        ObjectKind::Company,
        OnDestroy::SetNull,
    ),
    reference(
        ObjectKind::Opportunity,
        "pointOfContactId",
        ObjectKind::Person,
        OnDestroy::SetNull,
    ),
];
