//! FHIR R4 (4.0.1) of the health book, without HTTP: a person's book mapped to
//! resources ([`map`]: Patient, Encounter, Condition, MedicationRequest, Observation,
//! DiagnosticReport, Procedure, ServiceRequest, Appointment, Organization,
//! Practitioner), the QĐ 831 personal health record ([`record`]: AllergyIntolerance,
//! problem-list Condition, FamilyMemberHistory, vital-sign and social-history
//! Observation, RelatedPerson), vaccinations ([`immunization`]: Immunization,
//! ImmunizationRecommendation), the International Patient Summary ([`ips`]), the
//! identifier and code systems ([`terminology`]), and the bulk export of a unit's data
//! to NDJSON ([`export`]). `server::fhir` serves them over HTTP; `healthbook fhir export` writes
//! them to files.

pub mod export;
pub mod immunization;
pub mod ips;
pub mod map;
pub mod record;
pub mod terminology;
pub mod typed;

#[cfg(test)]
mod legacy;

use std::collections::BTreeSet;

use serde_json::Value;
use store::{EpisodeRecord, PersonRecord, StoredRecord};

use map::Context;
use typed::Resource;

/// Every resource type served: a person's book first, then the facilities and health
/// workers it names, then the code lists. The lists below are its prefixes.
pub const ALL_TYPES: [&str; 18] = [
    "Patient",
    "Encounter",
    "Condition",
    "MedicationRequest",
    "Observation",
    "DiagnosticReport",
    "Procedure",
    "ServiceRequest",
    "Appointment",
    "AllergyIntolerance",
    "FamilyMemberHistory",
    "RelatedPerson",
    "Immunization",
    "ImmunizationRecommendation",
    "Organization",
    "Practitioner",
    "CodeSystem",
    "NamingSystem",
];

/// The resource types served from a person's book.
pub const BOOK_TYPES: &[&str] = ALL_TYPES.split_at(14).0;

/// A person's book as far as the reader may see it.
pub struct Book {
    pub person: PersonRecord,
    pub episodes: Vec<EpisodeRecord>,
    /// The person's QĐ 831 record, when there is one the reader may see.
    pub record: Option<StoredRecord>,
    /// Opened under a summary-only grant: the IPS holds no more than the app's summary.
    pub summary_only: bool,
    /// The person's vaccination doses the reader may see, and their forecast (what is
    /// due, overdue, upcoming) as of `Context::now`.
    pub immunizations: Vec<immunization::DoseFacts>,
    pub forecast: Vec<immunization::ForecastFacts>,
}

/// Every resource of a book: the Patient, its record's, each episode's, then the
/// facilities and practitioners they refer to.
pub fn book_resources(book: &Book, ctx: &Context) -> Vec<Value> {
    let mut out = Vec::new();
    each_book_resource(book, ctx, &mut |r| out.push(r.into_value()));
    out
}

/// Every resource of a book, in the order of [`book_resources`], each handed to `f` as
/// it is made: the episodes' resources typed, borrowing the episodes' texts (written
/// out with no `Value` tree between), the few others as `Value`s.
pub fn each_book_resource(book: &Book, ctx: &Context, f: &mut dyn FnMut(Resource<'_>)) {
    each_book_head(book, f);
    // Oldest first: a book reads forward in time.
    for e in book.episodes.iter().rev() {
        map::each_episode_resource(book.person.id, e, ctx, f);
    }
    each_book_tail(book, ctx, f);
}

/// The first resources of [`each_book_resource`]: the Patient and its record's. The
/// episodes' come next, oldest first ([`map::each_episode_resource`]), then
/// [`each_book_tail`]'s: the three parts may be made apart (on several cores) and
/// joined in this order.
pub fn each_book_head(book: &Book, f: &mut dyn FnMut(Resource<'_>)) {
    let pid = book.person.id;
    f(Resource::Json(map::patient(&book.person)));
    if let Some(r) = &book.record {
        for x in record::record_resources(pid, r) {
            f(Resource::Json(x));
        }
    }
}

/// The last resources of [`each_book_resource`]: vaccinations and what is due, then the
/// facilities and practitioners the episodes refer to.
pub fn each_book_tail(book: &Book, ctx: &Context, f: &mut dyn FnMut(Resource<'_>)) {
    let pid = book.person.id;
    let mut orgs = BTreeSet::new();
    let mut certs = BTreeSet::new();
    for e in &book.episodes {
        orgs.extend(map::facility_codes(e));
        certs.extend(map::certificates(&e.view));
    }
    // Vaccinations, oldest first, and what is due.
    let mut doses: Vec<&immunization::DoseFacts> = book.immunizations.iter().collect();
    doses.sort_by_key(|d| (d.day, d.id));
    for d in doses {
        let named = d
            .facility
            .as_ref()
            .filter(|_| d.facility_name.is_none())
            .and_then(|f| ctx.facility_names.get(f));
        let r = match named {
            Some(n) => {
                let mut d = d.clone();
                d.facility_name = Some(n.clone());
                immunization::immunization(pid, &d)
            }
            None => immunization::immunization(pid, d),
        };
        f(Resource::Json(r));
    }
    if let Some(r) = immunization::recommendation(
        pid,
        &book.forecast,
        ctx.now.date(),
        book.immunizations.iter().map(|d| d.recorded_at).max(),
    ) {
        f(Resource::Json(r));
    }
    for c in &orgs {
        f(Resource::Json(map::organization(c, ctx)));
    }
    for c in &certs {
        f(Resource::Json(map::practitioner(c, ctx)));
    }
}
