//! The objects a stack mirrors (`TWENTY_OBJECTS`), and what each one is to the mirror.
//!
//! The lead object is the one the engine pushes local edits for and merges; every other
//! object is read-only here: Twenty's version is stored as it is, versioned by
//! `updatedAt`, and found gone by the reconcile. Notes and note links are such objects,
//! with one twist: a `noteTarget` is stored under the lead it points at, so a query for
//! a lead finds its notes.

use super::ObjectName;

/// What a configured object is to the mirror.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MirrorRole {
    /// The object local edits are made to (`TWENTY_OBJECT`, `leads` by default).
    Leads,
    /// `noteTargets`: links stored under the lead they point at.
    NoteLinks,
    /// Any other object (`notes`, `people`, `companies`, a custom one): stored as sent.
    Records,
}

/// One configured object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirrored {
    pub name: ObjectName,
    pub role: MirrorRole,
}

impl Mirrored {
    /// The `_kind` of its items and the prefix of their keys (`PERSON#<id>`): the
    /// singular in capitals, as the note's `NOTE`. The lead object's items are `LEAD`
    /// whatever its name (the lead store's keys), so no other object may take that.
    pub fn kind(&self) -> String {
        match self.role {
            MirrorRole::Leads => "LEAD".into(),
            _ => self.name.singular().to_ascii_uppercase(),
        }
    }
}

/// Kinds of items that are not records: a configured object may not take them.
const RESERVED_KINDS: [&str; 3] = ["CONFLICT", "GONE", "SYNC"];

/// The default `TWENTY_OBJECTS`, after the lead object.
pub const DEFAULT_RELATED: &str = "notes,noteTargets";

/// Every object one stack mirrors, the lead object first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorSet {
    objects: Vec<Mirrored>,
}

impl MirrorSet {
    /// The lead object with the default related objects (notes and their links).
    pub fn with_defaults(leads: &ObjectName) -> Self {
        // A lead object that is itself one of the defaults (`notes`) is named once.
        let related = DEFAULT_RELATED
            .split(',')
            .filter(|plural| *plural != leads.plural());
        let list: Vec<&str> = std::iter::once(leads.plural()).chain(related).collect();
        // Cannot fail for a valid lead name (the defaults' kinds differ from `LEAD` and
        // from each other); a name TWENTY_OBJECT's check let through is mirrored alone.
        Self::parse(&list.join(","), leads).unwrap_or_else(|_| Self {
            objects: vec![Mirrored {
                name: leads.clone(),
                role: MirrorRole::Leads,
            }],
        })
    }

    /// Parses `TWENTY_OBJECTS`: plural API names separated by commas, each optionally
    /// `plural:singular` where the singular is not the usual English one
    /// (`geese:goose`). It must name the lead object.
    pub fn parse(list: &str, leads: &ObjectName) -> Result<Self, String> {
        let mut objects: Vec<Mirrored> = Vec::new();
        for entry in list.split(',').map(str::trim) {
            if entry.is_empty() {
                return Err(format!(
                    "'{list}' has an empty entry; separate API names by single commas, e.g. leads,notes,noteTargets"
                ));
            }
            let name = match entry.split_once(':') {
                Some((plural, singular)) => ObjectName::new(check(plural)?, check(singular)?),
                None if entry == leads.plural() => leads.clone(),
                None => ObjectName::from_plural(check(entry)?),
            };
            let role = if name.plural() == leads.plural() {
                MirrorRole::Leads
            } else if name.plural() == "noteTargets" {
                MirrorRole::NoteLinks
            } else {
                MirrorRole::Records
            };
            let object = Mirrored { name, role };
            let kind = object.kind();
            if RESERVED_KINDS.contains(&kind.as_str()) {
                return Err(format!(
                    "'{entry}' cannot be mirrored: its items would take the kind {kind}, which the mirror uses itself"
                ));
            }
            if let Some(twin) = objects.iter().find(|o| o.kind() == kind) {
                return Err(format!(
                    "'{entry}' and '{}' would share the key prefix {kind}#; name each object once",
                    twin.name.plural()
                ));
            }
            objects.push(object);
        }
        let Some(at) = objects.iter().position(|o| o.role == MirrorRole::Leads) else {
            return Err(format!(
                "'{list}' does not name the lead object '{}' (TWENTY_OBJECT); add it, e.g. {},{DEFAULT_RELATED}",
                leads.plural(),
                leads.plural()
            ));
        };
        let lead = objects.remove(at);
        objects.insert(0, lead);
        Ok(Self { objects })
    }

    /// Every object, the lead object first.
    pub fn all(&self) -> &[Mirrored] {
        &self.objects
    }

    /// The lead object.
    pub fn leads(&self) -> &Mirrored {
        &self.objects[0]
    }

    /// The objects pulled after the leads, in the configured order.
    pub fn related(&self) -> &[Mirrored] {
        &self.objects[1..]
    }

    /// The object a webhook's `nameSingular` names, if it is mirrored.
    pub fn by_singular(&self, singular: &str) -> Option<&Mirrored> {
        self.objects.iter().find(|o| o.name.singular() == singular)
    }

    /// The object a route's plural names, if it is mirrored.
    pub fn by_plural(&self, plural: &str) -> Option<&Mirrored> {
        self.objects.iter().find(|o| o.name.plural() == plural)
    }

    /// The field by which a note link names a lead (`lead` → `targetLeadId`).
    pub fn lead_link_field(&self) -> String {
        let singular = self.leads().name.singular();
        let mut chars = singular.chars();
        let first = chars.next().map(|c| c.to_ascii_uppercase().to_string());
        format!("target{}{}Id", first.unwrap_or_default(), chars.as_str())
    }

    /// The list as `TWENTY_OBJECTS` would spell it.
    pub fn plurals(&self) -> Vec<&str> {
        self.objects.iter().map(|o| o.name.plural()).collect()
    }
}

/// Twenty's API names are camelCase letters and digits, starting with a letter.
fn check(name: &str) -> Result<&str, String> {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() && chars.all(|c| c.is_ascii_alphanumeric()) => Ok(name),
        _ => Err(format!(
            "'{name}' is not an object's API name (letters and digits, e.g. people or companies)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leads() -> ObjectName {
        ObjectName::new("leads", "lead")
    }

    fn parse(list: &str) -> Result<MirrorSet, String> {
        MirrorSet::parse(list, &leads())
    }

    #[test]
    fn the_five_objects_of_the_issue_parse_with_the_leads_first() {
        let set = parse("notes,noteTargets,leads,people,companies").unwrap();
        assert_eq!(
            set.plurals(),
            ["leads", "notes", "noteTargets", "people", "companies"]
        );
        let roles: Vec<_> = set.all().iter().map(|o| o.role).collect();
        use MirrorRole::*;
        assert_eq!(roles, [Leads, Records, NoteLinks, Records, Records]);
        let kinds: Vec<_> = set.all().iter().map(Mirrored::kind).collect();
        assert_eq!(kinds, ["LEAD", "NOTE", "NOTETARGET", "PERSON", "COMPANY"]);
        assert_eq!(
            set.by_singular("person").map(|o| o.name.plural()),
            Some("people")
        );
        assert_eq!(
            set.by_plural("companies").map(|o| o.kind()),
            Some("COMPANY".into())
        );
        assert!(set.by_singular("opportunity").is_none());
    }

    #[test]
    fn the_defaults_are_leads_notes_and_their_links() {
        assert_eq!(
            MirrorSet::with_defaults(&leads()).plurals(),
            ["leads", "notes", "noteTargets"]
        );
    }

    #[test]
    fn a_link_names_the_lead_object_by_its_singular() {
        assert_eq!(parse("leads").unwrap().lead_link_field(), "targetLeadId");
        let sales = ObjectName::new("salesLeads", "salesLead");
        let set = MirrorSet::parse("salesLeads,notes", &sales).unwrap();
        assert_eq!(set.lead_link_field(), "targetSalesLeadId");
    }

    /// The lead object's items are `LEAD#<id>` whatever its name: a custom object
    /// called `leads` beside another lead object would write into them.
    #[test]
    fn no_object_takes_the_lead_items_key_space() {
        let deals = ObjectName::new("deals", "deal");
        let set = MirrorSet::parse("deals,notes", &deals).unwrap();
        assert_eq!(set.leads().kind(), "LEAD");
        let clash = MirrorSet::parse("deals,leads", &deals).unwrap_err();
        assert!(clash.contains("share the key prefix LEAD#"), "{clash}");
    }

    #[test]
    fn a_lead_object_among_the_defaults_is_named_once() {
        let notes = ObjectName::new("notes", "note");
        assert_eq!(
            MirrorSet::with_defaults(&notes).plurals(),
            ["notes", "noteTargets"]
        );
    }

    #[test]
    fn a_custom_object_may_name_its_singular() {
        let set = parse("leads,geese:goose").unwrap();
        assert_eq!(set.related()[0].name.singular(), "goose");
        assert_eq!(set.related()[0].kind(), "GOOSE");
    }

    #[test]
    fn bad_lists_are_refused_with_the_reason() {
        let cases = [
            ("notes,people", "does not name the lead object 'leads'"),
            ("leads,,notes", "empty entry"),
            ("leads,peo ple", "not an object's API name"),
            ("leads,notes,notes", "share the key prefix NOTE#"),
            ("leads,conflicts", "kind CONFLICT"),
            ("leads,people:", "not an object's API name"),
        ];
        for (list, reason) in cases {
            match parse(list) {
                Err(e) => assert!(e.contains(reason), "{list}: {e}"),
                Ok(set) => panic!("{list} parsed as {:?}", set.plurals()),
            }
        }
    }
}
