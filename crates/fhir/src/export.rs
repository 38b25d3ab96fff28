//! Bulk export of a unit's data as NDJSON: one file per resource type, one resource per
//! line (the FHIR Bulk Data format). The episodes are read in person order, one person
//! at a time, so memory holds one book and the sets of facility and certificate codes,
//! however large the unit.
//!
//! A unit's data is what the facilities of the unit sent: their Organizations, the
//! episodes they sent (with everything in them) and the Patients those episodes belong
//! to; and the QĐ 831 records that the unit's commune stations keep, with their
//! Patients. Each exported person gets one record in their audit chain.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use book::access::{Basis, Role};
use rayon::prelude::*;
use serde_json::Value;
use store::{AuditEntry, EpisodeRecord, Store, StoreError, StoredRecord};

use crate::map::{self, Context};
use crate::typed::Resource;
use crate::{BOOK_TYPES, Book, each_book_resource};

/// The resource types an export may hold: a book's, and the facilities and health
/// workers it names.
pub const EXPORT_TYPES: &[&str] = crate::ALL_TYPES.split_at(16).0;

/// Audit records are committed this many persons at a time, before their lines are
/// written.
const AUDIT_BATCH: usize = 200;

/// Batches of persons' episodes the scan may read ahead of the books being made
/// (each at most `AUDIT_BATCH` persons): the scan runs on a thread of its own, bounded.
const SCAN_AHEAD: usize = 2;

/// Lines waiting for their persons' audit records.
#[derive(Default)]
struct Batch {
    /// The episodes of each person whose book is to be made: their persons are read
    /// together at emit time.
    pending: Vec<Vec<EpisodeRecord>>,
    /// Books whose resources are still to be made (in parallel, at emit time).
    books: Vec<Book>,
    /// Lines made before the books' (the unit's facilities, referred facilities and
    /// practitioners).
    lines: Lines,
    audits: Vec<AuditEntry>,
    /// What the scan read with the pending episodes: their persons, records and doses.
    facts: Facts,
}

/// The persons of a batch of books, their records and doses, as read beside the
/// episodes.
#[derive(Default)]
struct Facts {
    persons: std::collections::HashMap<i64, store::PersonRecord>,
    records: BTreeMap<i64, StoredRecord>,
    doses: BTreeMap<i64, Vec<store::StoredDose>>,
}

impl Facts {
    fn extend(&mut self, other: Facts) {
        self.persons.extend(other.persons);
        self.records.extend(other.records);
        self.doses.extend(other.doses);
    }
}

/// NDJSON lines of several types in one buffer: each line's type and end.
#[derive(Default)]
struct Lines {
    buf: Vec<u8>,
    ends: Vec<(&'static str, usize)>,
}

impl Lines {
    /// Write `r` as one line, when its type is wanted.
    fn push(&mut self, r: &Resource<'_>, wanted: &BTreeSet<&str>) -> serde_json::Result<()> {
        let ty = r.resource_type();
        if wanted.contains(ty) {
            serde_json::to_writer(&mut self.buf, r)?;
            self.ends.push((ty, self.buf.len()));
        }
        Ok(())
    }

    fn write(&mut self, stats: &mut ExportStats, sink: &mut dyn Sink) -> std::io::Result<()> {
        let mut start = 0;
        for &(ty, end) in &self.ends {
            sink.line(ty, &self.buf[start..end])?;
            start = end;
            match stats.resources.get_mut(ty) {
                Some(n) => *n += 1,
                None => {
                    stats.resources.insert(ty.to_string(), 1);
                }
            }
        }
        self.buf.clear();
        self.ends.clear();
        Ok(())
    }
}

/// Who asks for the export (recorded in every exported person's chain).
#[derive(Clone, Debug)]
pub struct Exporter {
    pub id: String,
    pub name: String,
}

/// What an export wrote.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ExportStats {
    pub persons: u64,
    pub episodes: u64,
    /// Resources written, per type.
    pub resources: BTreeMap<String, u64>,
}

impl ExportStats {
    pub fn total(&self) -> u64 {
        self.resources.values().sum()
    }
}

/// Where the lines go.
pub trait Sink {
    fn line(&mut self, resource_type: &str, json: &[u8]) -> std::io::Result<()>;
    fn finish(&mut self) -> std::io::Result<()>;
    /// Whether the export should stop now (asked between episodes as well as at each
    /// line, so that an export writing little stops soon too).
    fn stopped(&self) -> bool {
        false
    }
}

/// `<dir>/<Type>.ndjson`, opened as the first line of each type comes.
pub struct DirSink {
    dir: PathBuf,
    files: BTreeMap<String, BufWriter<File>>,
}

impl DirSink {
    pub fn new(dir: &Path) -> std::io::Result<DirSink> {
        use std::os::unix::fs::DirBuilderExt;
        // Personal data: the folder and its files are the service's alone.
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        Ok(DirSink {
            dir: dir.to_path_buf(),
            files: BTreeMap::new(),
        })
    }

    /// The files written, with their types.
    pub fn files(&self) -> Vec<(String, PathBuf)> {
        self.files
            .keys()
            .map(|t| (t.clone(), self.dir.join(format!("{t}.ndjson"))))
            .collect()
    }
}

impl Sink for DirSink {
    fn line(&mut self, ty: &str, json: &[u8]) -> std::io::Result<()> {
        if !self.files.contains_key(ty) {
            use std::os::unix::fs::OpenOptionsExt;
            let f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(self.dir.join(format!("{ty}.ndjson")))?;
            self.files
                .insert(ty.to_string(), BufWriter::with_capacity(256 * 1024, f));
        }
        let w = self.files.get_mut(ty).expect("opened above");
        w.write_all(json)?;
        w.write_all(b"\n")
    }

    fn finish(&mut self) -> std::io::Result<()> {
        for w in self.files.values_mut() {
            w.flush()?;
            w.get_ref().sync_all()?;
        }
        Ok(())
    }
}

/// Check and order the types asked for (all when none).
pub fn export_types(asked: Option<&str>) -> Result<Vec<&'static str>, String> {
    let Some(list) = asked.filter(|s| !s.trim().is_empty()) else {
        return Ok(EXPORT_TYPES.to_vec());
    };
    let mut out = Vec::new();
    for t in list.split(',').map(str::trim) {
        let Some(known) = EXPORT_TYPES.iter().find(|k| **k == t) else {
            return Err(t.to_string());
        };
        if !out.contains(known) {
            out.push(*known);
        }
    }
    Ok(out)
}

/// Export the data of `unit` sent (visible) since `since_ms`.
pub fn export_unit(
    store: &dyn Store,
    unit: &str,
    types: &[&str],
    since_ms: i64,
    by: &Exporter,
    sink: &mut dyn Sink,
) -> store::Result<ExportStats> {
    let place = store.place_of_unit(unit)?;
    if place == book::access::Place::default() {
        return Err(StoreError::NotFound(format!("unit {unit}")));
    }
    let all = store.facilities()?;
    let mut mine = Vec::new();
    for f in &all {
        if store
            .place_of_facility(&f.code)?
            .is_some_and(|p| p.within(&place))
        {
            mine.push(f.code.clone());
        }
    }
    let staff = store.staff_list()?;
    let ctx = Context {
        facility_names: all
            .iter()
            .map(|f| (f.code.clone(), f.name.clone()))
            .collect(),
        facilities: all.into_iter().map(|f| (f.code.clone(), f)).collect(),
        practitioners: staff
            .into_iter()
            .filter_map(|s| Some((s.practising_cert?, s.full_name)))
            .collect(),
        now: store::vn_now(),
    };
    let wanted: BTreeSet<&str> = types.iter().copied().collect();
    let mine_set: BTreeSet<String> = mine.iter().cloned().collect();
    let book_types_wanted = BOOK_TYPES.iter().any(|t| wanted.contains(t));
    // The communes of the unit: their stations' records are the unit's.
    let communes: BTreeSet<String> = if book_types_wanted {
        communes_within(&store.units()?, &place)
    } else {
        BTreeSet::new()
    };
    // The records of persons, those the unit's stations keep and changed since `since_ms`.
    let records_of = |pids: &[i64]| -> store::Result<BTreeMap<i64, StoredRecord>> {
        let mut out = BTreeMap::new();
        if communes.is_empty() || pids.is_empty() {
            return Ok(out);
        }
        store.transaction(false, &mut |tx| {
            for &p in pids {
                if let Some(r) = tx.health_record(p)?
                    && r.updated_at >= since_ms
                    && r.commune.as_ref().is_some_and(|c| communes.contains(c))
                {
                    out.insert(p, r);
                }
            }
            Ok(())
        })?;
        Ok(out)
    };
    // The doses of persons: all of them when the unit's stations keep the person's
    // record (`kept`), else those given at the unit's facilities.
    let doses_of = |pids: &[i64],
                    kept: &BTreeSet<i64>|
     -> store::Result<BTreeMap<i64, Vec<store::StoredDose>>> {
        let mut out = BTreeMap::new();
        if !wanted.contains("Immunization") && !wanted.contains("ImmunizationRecommendation") {
            return Ok(out);
        }
        store.transaction(false, &mut |tx| {
            for &p in pids {
                let mut d = tx.immunizations().doses_of(p)?;
                d.retain(|x| {
                    x.counted()
                        && (kept.contains(&p)
                            || x.facility.as_ref().is_some_and(|f| mine_set.contains(f)))
                });
                if !d.is_empty() {
                    out.insert(p, d);
                }
            }
            Ok(())
        })?;
        Ok(out)
    };
    let today = store::vn_now().date();
    let with_doses = |book: &mut Book, doses: Option<Vec<store::StoredDose>>| {
        if let Some(d) = doses {
            let (facts, forecast) = crate::immunization::of_person(&book.person, &d, today);
            book.immunizations = facts
                .into_iter()
                .filter(|f| f.recorded_at >= since_ms)
                .collect();
            book.forecast = forecast;
        }
    };
    let mut stats = ExportStats::default();
    // Lines wait in a batch until the audit records of its persons are committed: no
    // record, no data (at most AUDIT_BATCH books are held).
    let mut batch = Batch::default();
    let audit = |person: i64| AuditEntry {
        person_id: person,
        actor: by.id.clone(),
        role: Role::SystemClient,
        facility: None,
        action: "fhir_export".into(),
        target: Some(format!("unit:{unit}")),
        basis: Basis::System,
        grant_id: None,
        actor_name: Some(by.name.clone()),
        actor_cert: None,
    };
    // A facility's own patient number goes out only with that facility's unit.
    let unit_identifiers = |person: &mut store::PersonRecord| {
        person.identifiers.retain(|i| {
            i.kind != book::IdKind::FacilityPatient
                || mine_set.contains(i.value.split(':').next().unwrap_or(""))
        });
    };
    // Books become lines on every core, each freed where it was made into lines.
    let make_lines = |books: Vec<Book>| {
        books
            .into_par_iter()
            .map(|book| {
                // About 12 KB of lines an episode: room made once, not grown by doubling.
                let mut lines = Lines {
                    buf: Vec::with_capacity(4096 + 12_288 * book.episodes.len()),
                    ends: Vec::with_capacity(4 + 16 * book.episodes.len()),
                };
                let mut failed = None;
                each_book_resource(&book, &ctx, &mut |r| {
                    // Facilities and practitioners are written once, at the end.
                    let ty = r.resource_type();
                    if ty == "Organization" || ty == "Practitioner" || failed.is_some() {
                        return;
                    }
                    if let Err(e) = lines.push(&r, &wanted) {
                        failed = Some(e);
                    }
                });
                match failed {
                    Some(e) => Err(e),
                    None => Ok(lines),
                }
            })
            .collect::<Result<Vec<Lines>, _>>()
    };
    let emit =
        |batch: &mut Batch, stats: &mut ExportStats, sink: &mut dyn Sink| -> store::Result<()> {
            // The persons of the waiting books, their records and doses, as the scan
            // read them (with its batch, which need not end where this one does).
            let facts = &mut batch.facts;
            for mut episodes in batch.pending.drain(..) {
                let Some(pid) = episodes.first().map(|e| e.person_id) else {
                    continue;
                };
                let record = facts.records.remove(&pid);
                let dose_list = facts.doses.remove(&pid);
                let Some(mut person) = facts.persons.remove(&pid) else {
                    continue;
                };
                unit_identifiers(&mut person);
                // Newest first, as a book is read.
                episodes.reverse();
                stats.persons += 1;
                stats.episodes += episodes.len() as u64;
                let mut book = Book {
                    person,
                    episodes,
                    record,
                    summary_only: false,
                    immunizations: Vec::new(),
                    forecast: Vec::new(),
                };
                with_doses(&mut book, dose_list);
                batch.books.push(book);
                batch.audits.push(audit(pid));
            }
            // The batch's books become lines on every core, written straight from typed
            // resources, the order of lines kept, while the batch's audit records are
            // committed on a thread of their own (the commit waits on the disk); the
            // lines are written out only once the records are in. Were the making to fail
            // (a resource that cannot be written as JSON: a defect, not data), the export
            // stops with the batch recorded but not written — recorded beyond what went
            // out, never the reverse.
            let audits = std::mem::take(&mut batch.audits);
            let books = std::mem::take(&mut batch.books);
            let (made, audited) = std::thread::scope(|scope| {
                let audited = scope.spawn(|| {
                    if audits.is_empty() {
                        Ok(())
                    } else {
                        store.append_audits(&audits)
                    }
                });
                let made = make_lines(books);
                let audited = audited.join().unwrap_or_else(|_| {
                    Err(StoreError::Invalid("the export's audit failed".into()))
                });
                (made, audited)
            });
            audited?;
            let made = made.map_err(|e| StoreError::Invalid(e.to_string()))?;
            batch.lines.write(stats, sink)?;
            for mut lines in made {
                lines.write(stats, sink)?;
            }
            Ok(())
        };
    let keep = |r: Value, batch: &mut Batch| -> store::Result<()> {
        batch
            .lines
            .push(&Resource::Json(r), &wanted)
            .map_err(|e| StoreError::Invalid(e.to_string()))
    };
    // The unit's facilities.
    for code in &mine {
        keep(map::organization(code, &ctx), &mut batch)?;
    }
    emit(&mut batch, &mut stats, sink)?;
    let mut referenced_orgs: BTreeSet<String> = BTreeSet::new();
    let mut certs: BTreeSet<String> = BTreeSet::new();
    // The residents whose records the unit's stations keep (9 bytes each): those not
    // exported with their episodes are exported after them.
    let mut residents: Vec<i64> = Vec::new();
    for c in &communes {
        residents.extend(store.residents(c)?.into_iter().map(|r| r.person_id));
    }
    residents.sort_unstable();
    residents.dedup();
    let mut done = vec![false; residents.len()];
    let mut add_book = |eps: &mut Vec<EpisodeRecord>, batch: &mut Batch| -> store::Result<()> {
        let Some(pid) = eps.first().map(|e| e.person_id) else {
            return Ok(());
        };
        if let Ok(i) = residents.binary_search(&pid) {
            done[i] = true;
        }
        for e in eps.iter() {
            referenced_orgs.extend(map::facility_codes(e));
            certs.extend(map::certificates(&e.view));
        }
        // Only what is written of a person is theirs to record.
        if book_types_wanted {
            batch.pending.push(std::mem::take(eps));
        } else {
            eps.clear();
        }
        Ok(())
    };
    // Practitioners and the facilities episodes refer to come from the episodes too.
    let scan =
        book_types_wanted || wanted.contains("Practitioner") || wanted.contains("Organization");
    if scan {
        // The scan reads (and decodes) episodes on a thread of its own while the books
        // of the batch before are made and written here; it hands over the episodes of
        // AUDIT_BATCH persons at a time, at most SCAN_AHEAD batches ahead.
        type Scanned = (Vec<Vec<EpisodeRecord>>, Facts);
        let (tx, rx) = std::sync::mpsc::sync_channel::<Scanned>(SCAN_AHEAD);
        let mine_ref = &mine;
        // The persons of a batch, their records and doses, read on the scan's thread too.
        // Only for books to be made: an export of facilities and practitioners alone
        // reads (and holds) no person.
        let facts_of = |persons: &[Vec<EpisodeRecord>]| -> store::Result<Facts> {
            if !book_types_wanted {
                return Ok(Facts::default());
            }
            let pids: Vec<i64> = persons
                .iter()
                .filter_map(|e| e.first())
                .map(|e| e.person_id)
                .collect();
            let records = records_of(&pids)?;
            let kept: BTreeSet<i64> = records.keys().copied().collect();
            Ok(Facts {
                persons: store.persons(&pids)?,
                doses: doses_of(&pids, &kept)?,
                records,
            })
        };
        std::thread::scope(|scope| -> store::Result<()> {
            let scanner = scope.spawn(move || {
                let mut persons: Vec<Vec<EpisodeRecord>> = Vec::new();
                let mut current: Vec<EpisodeRecord> = Vec::new();
                let mut gone = false;
                let send = |persons: Vec<Vec<EpisodeRecord>>| -> store::Result<bool> {
                    let facts = facts_of(&persons)?;
                    // False when the receiving side stopped (an error, a cancel).
                    Ok(tx.send((persons, facts)).is_ok())
                };
                let scanned = store.scan_episodes(mine_ref, since_ms, &mut |e| {
                    if current.first().is_some_and(|c| c.person_id != e.person_id) {
                        persons.push(std::mem::take(&mut current));
                        if persons.len() >= AUDIT_BATCH && !send(std::mem::take(&mut persons))? {
                            gone = true;
                            return Ok(false);
                        }
                    }
                    current.push(e);
                    Ok(true)
                });
                // After a failed scan the last person's episodes may be a part of them:
                // nothing more is handed over.
                if !gone && scanned.is_ok() {
                    if !current.is_empty() {
                        persons.push(current);
                    }
                    if !persons.is_empty() {
                        send(persons)?;
                    }
                }
                scanned
            });
            let mut outcome = Ok(());
            for (persons, facts) in rx.iter() {
                if sink.stopped() {
                    outcome = Err(StoreError::Invalid("the export was cancelled".into()));
                    break;
                }
                batch.facts.extend(facts);
                for mut eps in persons {
                    outcome = add_book(&mut eps, &mut batch).and_then(|()| {
                        if batch.pending.len() >= AUDIT_BATCH {
                            emit(&mut batch, &mut stats, sink)
                        } else {
                            Ok(())
                        }
                    });
                    if outcome.is_err() {
                        break;
                    }
                }
                if outcome.is_err() {
                    break;
                }
            }
            // Stops the scan at its next batch, when this side stopped first.
            drop(rx);
            let scanned = scanner
                .join()
                .unwrap_or_else(|_| Err(StoreError::Invalid("the export's scan failed".into())));
            outcome?;
            scanned?;
            Ok(())
        })?;
        emit(&mut batch, &mut stats, sink)?;
    }
    // The residents kept by the unit's stations who had no episode to export: their
    // Patient and record, when the record changed since `since_ms`.
    let rest: Vec<i64> = residents
        .iter()
        .zip(&done)
        .filter(|(_, d)| !**d)
        .map(|(p, _)| *p)
        .collect();
    for chunk in rest.chunks(AUDIT_BATCH) {
        if sink.stopped() {
            return Err(StoreError::Invalid("the export was cancelled".into()));
        }
        let mut records = records_of(chunk)?;
        let kept: Vec<i64> = chunk
            .iter()
            .copied()
            .filter(|p| records.contains_key(p))
            .collect();
        let mut persons = store.persons(&kept)?;
        let kept_set: BTreeSet<i64> = kept.iter().copied().collect();
        let mut doses = doses_of(&kept, &kept_set)?;
        for pid in kept {
            let Some(mut person) = persons.remove(&pid) else {
                continue;
            };
            unit_identifiers(&mut person);
            stats.persons += 1;
            let mut book = Book {
                person,
                episodes: Vec::new(),
                record: records.remove(&pid),
                summary_only: false,
                immunizations: Vec::new(),
                forecast: Vec::new(),
            };
            with_doses(&mut book, doses.remove(&pid));
            batch.books.push(book);
            batch.audits.push(audit(pid));
        }
        emit(&mut batch, &mut stats, sink)?;
    }
    // Facilities outside the unit that the episodes refer to (referrals), then the
    // practitioners named.
    for code in referenced_orgs.difference(&mine_set) {
        keep(map::organization(code, &ctx), &mut batch)?;
    }
    for c in &certs {
        keep(map::practitioner(c, &ctx), &mut batch)?;
    }
    emit(&mut batch, &mut stats, sink)?;
    sink.finish()?;
    Ok(stats)
}

/// The communes within `place`, from the unit catalogue (each walked up to its
/// province in its own scheme, as `Store::place_of_unit` does, without a query each).
fn communes_within(units: &[store::Unit], place: &book::access::Place) -> BTreeSet<String> {
    let by_key: BTreeMap<(&str, &str), &store::Unit> = units
        .iter()
        .map(|u| ((u.code.as_str(), u.scheme.as_str()), u))
        .collect();
    let by_code: BTreeMap<&str, &store::Unit> =
        units.iter().map(|u| (u.code.as_str(), u)).collect();
    let mut out = BTreeSet::new();
    for u in units.iter().filter(|u| u.level == "commune") {
        let mut at = book::access::Place::default();
        let mut next = Some(u);
        for _ in 0..4 {
            let Some(x) = next.take() else { break };
            match x.level.as_str() {
                "province" => at.province = Some(x.code.clone()),
                "district" => at.district = Some(x.code.clone()),
                "commune" => at.commune = Some(x.code.clone()),
                _ => {}
            }
            next = x.parent.as_deref().and_then(|p| {
                by_key
                    .get(&(p, u.scheme.as_str()))
                    .or_else(|| by_code.get(p))
                    .copied()
            });
        }
        if at.within(place) {
            out.insert(u.code.clone());
        }
    }
    out
}
