//! Typed FHIR resources: the elements of an episode's resources as structs that
//! serialise straight to JSON text, borrowing the episode's own texts, with no
//! `serde_json::Value` tree in between (each `Value` node is an allocation, each object
//! a map; a 200-episode book is some 100,000 of them).
//!
//! Empty values are left out as [`crate::map::prune`] leaves them out of a `Value`: a
//! blank string, a `null`, an array or object that holds nothing else ([`Empty`]); every
//! field of every element below is skipped when empty, and a [`List`] writes only its
//! non-empty items. So a typed resource and the `Value` of the same resource, pruned,
//! are the same JSON (tests in `map.rs` compare both for generated books).

use std::borrow::Cow;

use serde::{Serialize, Serializer};
use serde_json::Value;

/// A text: borrowed from the episode where it is written there, else made.
pub type Text<'a> = Cow<'a, str>;

/// What FHIR forbids and `prune` drops: blank strings, nulls, empty arrays and objects.
pub trait Empty {
    fn is_empty(&self) -> bool;
}

/// Whether a text is empty or only white space (as `str::trim` sees it). Asked of every
/// optional text twice as a resource is written (serde counts the fields, then writes
/// them): a text that starts with a visible ASCII character, as nearly all do, is
/// answered from its first byte.
fn blank(s: &str) -> bool {
    match s.as_bytes().first() {
        None => true,
        Some(&b) if b.is_ascii() && !(b as char).is_whitespace() => false,
        _ => s.trim().is_empty(),
    }
}

impl Empty for str {
    fn is_empty(&self) -> bool {
        blank(self)
    }
}

impl Empty for String {
    fn is_empty(&self) -> bool {
        blank(self)
    }
}

impl Empty for Cow<'_, str> {
    fn is_empty(&self) -> bool {
        blank(self)
    }
}

impl<T: Empty + ?Sized> Empty for &T {
    fn is_empty(&self) -> bool {
        (**self).is_empty()
    }
}

impl<T: Empty> Empty for Option<T> {
    fn is_empty(&self) -> bool {
        self.as_ref().is_none_or(Empty::is_empty)
    }
}

impl Empty for bool {
    fn is_empty(&self) -> bool {
        false
    }
}

impl Empty for usize {
    fn is_empty(&self) -> bool {
        false
    }
}

impl Empty for f64 {
    fn is_empty(&self) -> bool {
        false
    }
}

/// A `Value` is empty as `prune` would find it (for values not pruned yet).
impl Empty for Value {
    fn is_empty(&self) -> bool {
        match self {
            Value::Null => true,
            Value::String(s) => s.trim().is_empty(),
            Value::Array(a) => a.iter().all(Empty::is_empty),
            Value::Object(o) => o.values().all(Empty::is_empty),
            Value::Bool(_) | Value::Number(_) => false,
        }
    }
}

/// An array that writes only its non-empty items (and is empty when all are).
#[derive(Clone, Debug)]
pub struct List<T>(pub Vec<T>);

impl<T> Default for List<T> {
    fn default() -> Self {
        List(Vec::new())
    }
}

impl<T> List<T> {
    pub fn one(x: T) -> List<T> {
        List(vec![x])
    }
}

impl<T: Empty> Empty for List<T> {
    fn is_empty(&self) -> bool {
        self.0.iter().all(Empty::is_empty)
    }
}

impl<T: Empty + Serialize> Serialize for List<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().filter(|x| !x.is_empty()))
    }
}

/// An element: a struct whose fields are each left out when empty, and which is empty
/// when they all are.
macro_rules! element {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $f:ident : $t:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Debug, Default, Serialize)]
        #[serde(rename_all = "camelCase")]
        pub struct $name<'a> {
            $($(#[$fm])* #[serde(skip_serializing_if = "Empty::is_empty")] pub $f: $t,)*
        }
        impl Empty for $name<'_> {
            fn is_empty(&self) -> bool {
                $(Empty::is_empty(&self.$f) &&)* true
            }
        }
    };
}

element!(Coding {
    system: Text<'a>,
    code: Text<'a>,
    display: Option<Text<'a>>,
});

element!(
    /// A CodeableConcept.
    Concept {
        coding: List<Coding<'a>>,
        text: Option<Text<'a>>,
    }
);

element!(Reference { reference: Text<'a> });

element!(Narrative {
    status: Text<'a>,
    div: Text<'a>,
});

element!(Meta {
    last_updated: Text<'a>
});

element!(Period {
    start: Option<Text<'a>>,
    end: Option<Text<'a>>,
});

element!(Identifier {
    #[serde(rename = "use")]
    use_: Text<'a>,
    system: Text<'a>,
    value: Text<'a>,
});

element!(Quantity {
    value: Option<f64>,
    unit: Option<Text<'a>>,
    system: Option<Text<'a>>,
    code: Option<Text<'a>>,
});

element!(Annotation { text: Text<'a> });

element!(Attachment {
    content_type: Text<'a>,
    language: Text<'a>,
    data: Text<'a>,
    title: Text<'a>,
});

element!(Extension {
    url: Text<'a>,
    value_codeable_concept: Concept<'a>,
});

element!(EncounterDiagnosis {
    condition: Reference<'a>,
    #[serde(rename = "use")]
    use_: Concept<'a>,
    rank: usize,
});

element!(Hospitalization {
    discharge_disposition: Option<Concept<'a>>
});

element!(Dosage {
    text: Option<Text<'a>>,
    route: Option<Concept<'a>>,
});

element!(Dispense {
    quantity: Quantity<'a>
});

element!(Performer { actor: Reference<'a> });

element!(Participant {
    actor: Reference<'a>,
    required: Text<'a>,
    status: Text<'a>,
});

element!(Encounter {
    resource_type: &'static str,
    id: Text<'a>,
    meta: Meta<'a>,
    text: Narrative<'a>,
    identifier: List<Identifier<'a>>,
    status: Text<'a>,
    class: Coding<'a>,
    #[serde(rename = "type")]
    type_: List<Concept<'a>>,
    priority: Option<Concept<'a>>,
    subject: Reference<'a>,
    period: Period<'a>,
    reason_code: List<Concept<'a>>,
    diagnosis: List<EncounterDiagnosis<'a>>,
    service_provider: Reference<'a>,
    hospitalization: Option<Hospitalization<'a>>,
    extension: List<Extension<'a>>,
});

element!(Condition {
    resource_type: &'static str,
    id: Text<'a>,
    text: Narrative<'a>,
    clinical_status: Concept<'a>,
    verification_status: Concept<'a>,
    category: List<Concept<'a>>,
    code: Concept<'a>,
    subject: Reference<'a>,
    encounter: Reference<'a>,
    onset_date_time: Option<Text<'a>>,
    abatement_date_time: Option<Text<'a>>,
    recorded_date: Option<Text<'a>>,
});

element!(MedicationRequest {
    resource_type: &'static str,
    id: Text<'a>,
    text: Narrative<'a>,
    status: Text<'a>,
    intent: Text<'a>,
    medication_codeable_concept: Concept<'a>,
    subject: Reference<'a>,
    encounter: Reference<'a>,
    authored_on: Option<Text<'a>>,
    requester: Option<Reference<'a>>,
    dosage_instruction: List<Dosage<'a>>,
    dispense_request: Option<Dispense<'a>>,
});

element!(DiagnosticReport {
    resource_type: &'static str,
    id: Text<'a>,
    text: Narrative<'a>,
    status: Text<'a>,
    category: List<Concept<'a>>,
    code: Concept<'a>,
    subject: Reference<'a>,
    encounter: Reference<'a>,
    effective_date_time: Option<Text<'a>>,
    issued: Option<Text<'a>>,
    conclusion: Option<Text<'a>>,
    presented_form: List<Attachment<'a>>,
});

element!(Observation {
    resource_type: &'static str,
    id: Text<'a>,
    text: Narrative<'a>,
    status: Text<'a>,
    category: List<Concept<'a>>,
    code: Concept<'a>,
    subject: Reference<'a>,
    encounter: Reference<'a>,
    effective_date_time: Option<Text<'a>>,
    value_quantity: Option<Quantity<'a>>,
    value_string: Option<Text<'a>>,
    data_absent_reason: Option<Concept<'a>>,
    interpretation: List<Concept<'a>>,
    note: List<Annotation<'a>>,
});

element!(Procedure {
    resource_type: &'static str,
    id: Text<'a>,
    text: Narrative<'a>,
    status: Text<'a>,
    category: Option<Concept<'a>>,
    code: Concept<'a>,
    subject: Reference<'a>,
    encounter: Reference<'a>,
    performed_date_time: Option<Text<'a>>,
    performer: List<Performer<'a>>,
});

element!(ServiceRequest {
    resource_type: &'static str,
    id: Text<'a>,
    text: Narrative<'a>,
    identifier: List<Identifier<'a>>,
    status: Text<'a>,
    intent: Text<'a>,
    category: List<Concept<'a>>,
    code: Concept<'a>,
    subject: Reference<'a>,
    encounter: Reference<'a>,
    authored_on: Option<Text<'a>>,
    requester: Reference<'a>,
    performer: List<Reference<'a>>,
    reason_code: List<Concept<'a>>,
    patient_instruction: Option<Text<'a>>,
    note: List<Annotation<'a>>,
});

element!(Appointment {
    resource_type: &'static str,
    id: Text<'a>,
    text: Narrative<'a>,
    identifier: List<Identifier<'a>>,
    status: Text<'a>,
    service_category: List<Concept<'a>>,
    reason_code: List<Concept<'a>>,
    description: Text<'a>,
    supporting_information: List<Reference<'a>>,
    created: Option<Text<'a>>,
    requested_period: List<Period<'a>>,
    participant: List<Participant<'a>>,
});

/// One resource, typed, or (for the few made per book: the Patient, its record, its
/// vaccinations, facilities and practitioners) a pruned `Value`.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum Resource<'a> {
    Encounter(Box<Encounter<'a>>),
    Condition(Box<Condition<'a>>),
    MedicationRequest(Box<MedicationRequest<'a>>),
    Observation(Box<Observation<'a>>),
    DiagnosticReport(Box<DiagnosticReport<'a>>),
    Procedure(Box<Procedure<'a>>),
    ServiceRequest(Box<ServiceRequest<'a>>),
    Appointment(Box<Appointment<'a>>),
    Json(Value),
}

impl Resource<'_> {
    /// The resource type (one of [`crate::ALL_TYPES`], else "").
    pub fn resource_type(&self) -> &'static str {
        match self {
            Resource::Encounter(r) => r.resource_type,
            Resource::Condition(r) => r.resource_type,
            Resource::MedicationRequest(r) => r.resource_type,
            Resource::Observation(r) => r.resource_type,
            Resource::DiagnosticReport(r) => r.resource_type,
            Resource::Procedure(r) => r.resource_type,
            Resource::ServiceRequest(r) => r.resource_type,
            Resource::Appointment(r) => r.resource_type,
            Resource::Json(v) => {
                let t = v["resourceType"].as_str().unwrap_or("");
                crate::ALL_TYPES
                    .iter()
                    .find(|k| **k == t)
                    .copied()
                    .unwrap_or("")
            }
        }
    }

    /// The resource id.
    pub fn id(&self) -> &str {
        match self {
            Resource::Encounter(r) => &r.id,
            Resource::Condition(r) => &r.id,
            Resource::MedicationRequest(r) => &r.id,
            Resource::Observation(r) => &r.id,
            Resource::DiagnosticReport(r) => &r.id,
            Resource::Procedure(r) => &r.id,
            Resource::ServiceRequest(r) => &r.id,
            Resource::Appointment(r) => &r.id,
            Resource::Json(v) => v["id"].as_str().unwrap_or(""),
        }
    }

    /// The resource as a `Value` (for search, which reads fields back).
    pub fn into_value(self) -> Value {
        match self {
            Resource::Json(v) => v,
            r => serde_json::to_value(&r).unwrap_or(Value::Null),
        }
    }
}

/// A text made here.
pub fn owned<'a>(s: String) -> Text<'a> {
    Cow::Owned(s)
}

/// A text borrowed.
pub fn text(s: &str) -> Text<'_> {
    Cow::Borrowed(s)
}

/// An optional text borrowed.
pub fn opt(s: &Option<String>) -> Option<Text<'_>> {
    s.as_deref().map(Cow::Borrowed)
}

pub fn coding<'a>(system: &'a str, code: &'a str, display: Option<&'a str>) -> Coding<'a> {
    Coding {
        system: text(system),
        code: text(code),
        display: display.map(text),
    }
}

/// A CodeableConcept of one coding and a text.
pub fn concept<'a>(c: Coding<'a>, text: Option<Text<'a>>) -> Concept<'a> {
    Concept {
        coding: List::one(c),
        text,
    }
}

pub fn reference<'a>(s: &'a str) -> Reference<'a> {
    Reference { reference: text(s) }
}

pub fn narrative<'a>(lines: &[String]) -> Narrative<'a> {
    Narrative {
        status: text("generated"),
        div: owned(
            crate::map::Div {
                paragraphs: lines,
                items: &[],
            }
            .xhtml(),
        ),
    }
}

/// A reference made here.
pub fn reference_owned<'a>(s: String) -> Reference<'a> {
    Reference {
        reference: owned(s),
    }
}

/// A CodeableConcept of text only.
pub fn concept_text(s: &str) -> Concept<'_> {
    Concept {
        coding: List::default(),
        text: Some(text(s)),
    }
}

/// An official identifier.
pub fn official<'a>(system: &'a str, value: &'a str) -> Identifier<'a> {
    Identifier {
        use_: text("official"),
        system: text(system),
        value: text(value),
    }
}

#[cfg(test)]
mod tests {
    use super::blank;

    #[test]
    fn blank_is_what_trim_leaves_empty() {
        for s in [
            "", " ", "  \t", "\n", "\x0b", "\x0c\r", "\u{a0}", "\u{3000}", " \u{a0} ",
        ] {
            assert!(blank(s), "{s:?}");
            assert_eq!(blank(s), s.trim().is_empty());
        }
        for s in ["a", " a", "a ", "ế", " Đ", "\u{a0}x", "0", "-", "\u{200b}"] {
            assert!(!blank(s), "{s:?}");
            assert_eq!(blank(s), s.trim().is_empty());
        }
    }
}
