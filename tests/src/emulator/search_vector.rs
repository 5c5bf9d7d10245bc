//! `searchVector`: the server-derived text Twenty keeps for search, shaped like Postgres'
//! `to_tsvector('simple', ...)` output (`'acme':1 'lead':2`).

use std::collections::BTreeMap;

use super::schema::{ObjectKind, Record};

pub(crate) fn compute(kind: ObjectKind, record: &Record) -> String {
    let text = |key: &str| record.get(key).and_then(|v| v.as_str()).unwrap_or("");
    let sub = |key: &str, sub: &str| {
        record
            .get(key)
            .and_then(|v| v.get(sub))
            .and_then(|v| v.as_str())
            .unwrap_or("")
    };
    let source = match kind {
        ObjectKind::Lead => text("name").to_string(),
        ObjectKind::Note => {
            let markdown = record
                .get("bodyV2")
                .and_then(|b| b.get("markdown"))
                .and_then(|m| m.as_str())
                .unwrap_or("");
            format!("{} {markdown}", text("title"))
        }
        ObjectKind::NoteTarget => text("id").to_string(),
        ObjectKind::Person => [
            sub("name", "firstName"),
            sub("name", "lastName"),
            sub("emails", "primaryEmail"),
            sub("phones", "primaryPhoneNumber"),
            text("jobTitle"),
        ]
        .join(" "),
        ObjectKind::Company => format!("{} {}", text("name"), sub("domainName", "primaryLinkUrl")),
        ObjectKind::Opportunity => text("name").to_string(),
    };
    vector(&source)
}

fn vector(text: &str) -> String {
    let mut positions: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let words = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty());
    for (i, word) in words.enumerate() {
        positions
            .entry(word.to_lowercase())
            .or_default()
            .push(i + 1);
    }
    positions
        .iter()
        .map(|(word, pos)| {
            let pos: Vec<String> = pos.iter().map(ToString::to_string).collect();
            format!("'{}':{}", word.replace('\'', "''"), pos.join(","))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_captured_vectors() {
        assert_eq!(vector("Acme lead"), "'acme':1 'lead':2");
        assert_eq!(vector("Umbrella lead"), "'lead':2 'umbrella':1");
        assert_eq!(
            vector("Called about pricing Asked for a quote on 20 seats."),
            "'20':9 'a':6 'about':2 'asked':4 'called':1 'for':5 'on':8 'pricing':3 'quote':7 'seats':10"
        );
    }
}
