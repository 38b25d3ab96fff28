//! Who may do what. The one place access is decided: every handler describes what
//! it is about to do as an [`Action`] and asks [`authorize`]; nothing else grants.
//!
//! Least privilege: a role may do only what its work needs, within its own unit or
//! facility. A clinician reads a person's book only under a live grant made from the
//! person's share code, a valid referral to the clinician's facility, or break-glass;
//! officers and administrators never read books.

use serde::{Deserialize, Serialize};

/// The roles of healthbook. Every staff account has one, scoped to a unit or facility.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the system: units, facilities, accounts; verifies the audit log.
    SystemAdmin,
    /// Provincial health department (Sở Y tế): facilities and accounts of the province.
    ProvincialOfficer,
    /// District health office: follows the district's facilities.
    DistrictOfficer,
    /// Administers one facility: its clinicians and submitters, break-glass review.
    FacilityAdmin,
    /// Treats patients at one facility (practising-certificate number).
    Clinician,
    /// The facility's gateway account that sends dossiers.
    Submitter,
    /// Commune health station staff: activation codes, guardianships.
    CommuneStaff,
    /// Social-insurance (BHXH) officer: reports of the province.
    InsuranceOfficer,
    /// A person, in their own book.
    Citizen,
    /// A person who opens the books of the persons they represent.
    Guardian,
    /// A registered system (FHIR client) reading a unit's data under SMART-style scopes.
    SystemClient,
}

impl Role {
    pub const ALL: [Role; 11] = [
        Role::SystemAdmin,
        Role::ProvincialOfficer,
        Role::DistrictOfficer,
        Role::FacilityAdmin,
        Role::Clinician,
        Role::Submitter,
        Role::CommuneStaff,
        Role::InsuranceOfficer,
        Role::Citizen,
        Role::Guardian,
        Role::SystemClient,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Role::SystemAdmin => "system_admin",
            Role::ProvincialOfficer => "provincial_officer",
            Role::DistrictOfficer => "district_officer",
            Role::FacilityAdmin => "facility_admin",
            Role::Clinician => "clinician",
            Role::Submitter => "submitter",
            Role::CommuneStaff => "commune_staff",
            Role::InsuranceOfficer => "insurance_officer",
            Role::Citizen => "citizen",
            Role::Guardian => "guardian",
            Role::SystemClient => "system_client",
        }
    }

    pub fn from_code(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.code() == s)
    }

    /// The Vietnamese name shown to people (in the citizen's access log, say).
    pub fn label(self) -> &'static str {
        match self {
            Role::SystemAdmin => "Quản trị hệ thống",
            Role::ProvincialOfficer => "Cán bộ Sở Y tế",
            Role::DistrictOfficer => "Cán bộ y tế huyện",
            Role::FacilityAdmin => "Quản trị cơ sở y tế",
            Role::Clinician => "Người hành nghề khám bệnh, chữa bệnh",
            Role::Submitter => "Tài khoản gửi hồ sơ của cơ sở",
            Role::CommuneStaff => "Cán bộ trạm y tế xã",
            Role::InsuranceOfficer => "Cán bộ Bảo hiểm xã hội",
            Role::Citizen => "Người dân",
            Role::Guardian => "Người giám hộ",
            Role::SystemClient => "Hệ thống kết nối được cấp phép (FHIR)",
        }
    }

    /// Roles held by staff accounts (the others are persons).
    pub fn is_staff(self) -> bool {
        !matches!(self, Role::Citizen | Role::Guardian | Role::SystemClient)
    }

    /// What a staff account of this role must be scoped to.
    pub fn scope_needed(self) -> ScopeNeeded {
        match self {
            Role::SystemAdmin | Role::Citizen | Role::Guardian | Role::SystemClient => {
                ScopeNeeded::Nothing
            }
            Role::ProvincialOfficer | Role::InsuranceOfficer => ScopeNeeded::Province,
            Role::DistrictOfficer => ScopeNeeded::District,
            Role::CommuneStaff => ScopeNeeded::Commune,
            Role::FacilityAdmin | Role::Clinician | Role::Submitter => ScopeNeeded::Facility,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScopeNeeded {
    Nothing,
    Province,
    District,
    Commune,
    Facility,
}

/// Where something is: a facility and the administrative units above it. A staff
/// account's scope is a place too; the most specific part it names is its extent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    pub province: Option<String>,
    pub district: Option<String>,
    pub commune: Option<String>,
    pub facility: Option<String>,
}

impl Place {
    /// Whether `self` lies within the scope `scope`. An empty scope contains nothing
    /// (the system administrator is allowed by role, never by scope).
    pub fn within(&self, scope: &Place) -> bool {
        let same = |a: &Option<String>, b: &Option<String>| a.is_some() && a == b;
        if scope.facility.is_some() {
            same(&self.facility, &scope.facility)
        } else if scope.commune.is_some() {
            same(&self.commune, &scope.commune)
        } else if scope.district.is_some() {
            same(&self.district, &scope.district)
        } else if scope.province.is_some() {
            same(&self.province, &scope.province)
        } else {
            false
        }
    }
}

/// Who is asking.
#[derive(Clone, Debug)]
pub enum Principal {
    /// A signed-in person, with the persons they are the active guardian of.
    Person { id: i64, wards: Vec<i64> },
    /// A signed-in member of staff.
    Staff {
        username: String,
        role: Role,
        scope: Place,
    },
    /// A registered system client, with the scopes of its token and the unit it serves.
    System {
        client: String,
        scopes: SmartScopes,
        scope: Place,
    },
}

impl Principal {
    pub fn role(&self) -> Role {
        match self {
            Principal::Person { .. } => Role::Citizen,
            Principal::Staff { role, .. } => *role,
            Principal::System { .. } => Role::SystemClient,
        }
    }
}

/// How much of a book a grant opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Every episode.
    Full,
    /// The summary only: problems, recent medicines and abnormal results, appointments, referral.
    Summary,
}

impl Scope {
    pub fn code(self) -> &'static str {
        match self {
            Scope::Full => "full",
            Scope::Summary => "summary",
        }
    }

    pub fn from_code(s: &str) -> Option<Scope> {
        match s {
            "full" => Some(Scope::Full),
            "summary" => Some(Scope::Summary),
            _ => None,
        }
    }
}

/// What a grant rests on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// The person's share code.
    Consent,
    /// A referral letter to the clinician's facility.
    Referral,
    /// An emergency, with a written reason, reviewed afterwards.
    BreakGlass,
    /// Enrolment by staff: an activation code handed out, a guardianship recorded.
    Enrolment,
    /// A registered system client reading its unit's data under a scoped token.
    System,
    /// A guardian reading their ward's book (a guardianship recorded by staff).
    Guardianship,
    /// A printed document the person handed over, checked by staff.
    Document,
    /// The commune station where the person lives keeps their health record (QĐ 831).
    Residence,
    /// A facility's reception looked up the person's BHYT card (and its visit history).
    Reception,
}

impl Basis {
    pub fn code(self) -> &'static str {
        match self {
            Basis::Consent => "consent",
            Basis::Referral => "referral",
            Basis::BreakGlass => "break_glass",
            Basis::Enrolment => "enrolment",
            Basis::System => "system",
            Basis::Guardianship => "guardianship",
            Basis::Document => "document",
            Basis::Residence => "residence",
            Basis::Reception => "reception",
        }
    }

    pub fn from_code(s: &str) -> Option<Basis> {
        match s {
            "consent" => Some(Basis::Consent),
            "referral" => Some(Basis::Referral),
            "break_glass" => Some(Basis::BreakGlass),
            "enrolment" => Some(Basis::Enrolment),
            "system" => Some(Basis::System),
            "guardianship" => Some(Basis::Guardianship),
            "document" => Some(Basis::Document),
            "residence" => Some(Basis::Residence),
            "reception" => Some(Basis::Reception),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Basis::Consent => "Theo mã chia sẻ của bạn",
            Basis::Referral => "Theo giấy chuyển tuyến",
            Basis::BreakGlass => "Truy cập khẩn cấp",
            Basis::Enrolment => "Đăng ký tài khoản, giám hộ",
            Basis::System => "Kết nối hệ thống được cấp phép (dữ liệu của đơn vị)",
            Basis::Guardianship => "Người giám hộ đã được ghi nhận",
            Basis::Document => "Bản in (PDF) bạn đưa cho nhân viên y tế",
            Basis::Residence => "Trạm y tế nơi bạn cư trú quản lý hồ sơ sức khỏe của bạn",
            Basis::Reception => "Cơ sở khám chữa bệnh tra cứu thẻ BHYT khi tiếp đón bạn",
        }
    }
}

/// A grant as the rule needs it.
#[derive(Clone, Debug)]
pub struct GrantFacts {
    pub person: i64,
    pub username: String,
    pub scope: Scope,
    pub expires_at: i64,
    pub revoked: bool,
}

impl GrantFacts {
    pub fn live(&self, now: i64) -> bool {
        !self.revoked && now < self.expires_at
    }
}

/// Break-glass: the shortest written reason accepted, and how long the window lasts.
pub const BREAK_GLASS_MIN_REASON: usize = 15;
pub const BREAK_GLASS_MS: i64 = 60 * 60 * 1000;

/// What is about to be done.
#[derive(Clone, Debug)]
pub enum Action<'a> {
    /// Read a person's book through the citizen API (own or ward's).
    ReadOwnBook { owner: i64 },
    /// Make, list or revoke share codes; read "who opened my book".
    ManageSharing { owner: i64 },
    /// Enter a share code (or scan its QR).
    UseShareCode,
    /// Check that a printed visit (PDF) the person handed over was issued here: staff
    /// who receive patients' papers.
    VerifyDocument,
    /// Open a book in an emergency (needs a written reason).
    BreakGlass { reason: &'a str },
    /// Open the book of a person referred to `destination` with the referral's number.
    OpenReferral { destination: &'a str },
    /// Read a patient through the clinician API, under the caller's live grant.
    ReadPatient {
        person: i64,
        grant: Option<&'a GrantFacts>,
        /// An episode (needs a full grant) rather than the summary.
        full: bool,
        now: i64,
    },
    /// List the administrative units.
    ListUnits,
    /// Create or change administrative units.
    ManageUnits,
    /// List facilities at all (each is then filtered by [`Action::SeeFacility`]).
    ListFacilities,
    /// See a facility's record.
    SeeFacility { place: &'a Place },
    /// Create or change a facility.
    ManageFacility { place: &'a Place },
    /// List staff accounts at all (each is then filtered by [`Action::ManageStaff`]).
    ListStaff,
    /// See, create or change a staff account of `role` scoped at `place`.
    ManageStaff { role: Role, place: &'a Place },
    /// Review the break-glass accesses of a facility.
    ReviewBreakGlass { facility: &'a str },
    /// Hand a person a one-time activation code, or record a guardianship, for a person
    /// known at `places` (where they live, were treated or were referred).
    EnrolPersons { places: &'a [Place] },
    /// Read or keep (edit, add examinations to) the QĐ 831 record of a person whose
    /// managing commune is `place`: the station of that commune.
    KeepRecord { place: &'a Place },
    /// Look up a BHYT card and its visit history at `facility`'s reception (the
    /// facility's gateway account).
    LookupCard { facility: &'a str },
    /// Import records or apply registry deltas for the unit at `place`.
    ManageRegistry { place: &'a Place },
    /// Verify the audit chains.
    VerifyAudit,
    /// Send dossiers for a facility (the gateway).
    SubmitDossier { facility: &'a str },
    /// Read aggregate reports of a place.
    ViewReports { place: &'a Place },
    /// Submit the monthly unit report (Phụ lục 1) of the unit at `place`.
    SubmitUnitReport { place: &'a Place },
    /// Read resources of `resource_type` (FHIR) made from data sent by a facility at
    /// `place`: system clients only, within their unit and scopes.
    ReadUnitData {
        resource_type: &'a str,
        place: &'a Place,
    },
    /// Write a resource of `resource_type` (FHIR) about something done at `place` (a
    /// dose given at a facility, or to a person whose record a station there keeps):
    /// system clients only, within their unit and write scopes.
    WriteUnitData {
        resource_type: &'a str,
        place: &'a Place,
    },
    /// Export the resources of `resource_types` of the unit at `place` in bulk.
    ExportUnit {
        resource_types: &'a [&'a str],
        place: &'a Place,
    },
}

/// Why something was refused, for the program and for the person.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Denied {
    pub code: &'static str,
    pub message: &'static str,
}

const NOT_YOURS: Denied = Denied {
    code: "forbidden",
    message: "Bạn không có quyền thực hiện thao tác này",
};

fn deny(code: &'static str, message: &'static str) -> Result<(), Denied> {
    Err(Denied { code, message })
}

/// The first day of the 2025 administrative units (QĐ 19/2025/QĐ-TTg): provinces and
/// communes; districts abolished.
pub const REFORM_DAY: &str = "2025-07-01";
/// The last day of the units before the reform (province → district → commune).
pub const LAST_PRE_REFORM_DAY: &str = "2025-06-30";

/// Whether an account of `role` may be scoped to a unit of `level` whose last day in
/// force is `valid_to` (`None`: in force today). A district officer exists only for
/// the periods before the reform: their unit is a pre-2025 district.
pub fn scope_unit(role: Role, level: &str, valid_to: Option<&str>) -> Result<(), Denied> {
    let pre_reform = valid_to.is_some_and(|d| d <= LAST_PRE_REFORM_DAY);
    if role == Role::DistrictOfficer && !(level == "district" && pre_reform) {
        return deny(
            "district_after_reform",
            "Cấp huyện đã bãi bỏ từ ngày 01/07/2025: tài khoản cán bộ y tế huyện chỉ gắn \
             với một huyện trước ngày 01/07/2025, không với đơn vị hành chính sau sắp xếp",
        );
    }
    Ok(())
}

/// Whether `role` may see reports of a period ending on `to` (`yyyy-mm-dd`): a
/// district officer only for periods ending by 2025-06-30.
pub fn report_period(role: Role, to: &str) -> Result<(), Denied> {
    if role == Role::DistrictOfficer && to > LAST_PRE_REFORM_DAY {
        return deny(
            "district_after_reform",
            "Cấp huyện đã bãi bỏ từ ngày 01/07/2025: cán bộ y tế huyện chỉ xem báo cáo các \
             kỳ kết thúc trước hoặc vào ngày 30/06/2025",
        );
    }
    Ok(())
}

fn allow_if(ok: bool) -> Result<(), Denied> {
    if ok { Ok(()) } else { Err(NOT_YOURS) }
}

/// The decision. Allowed, or the reason it is not.
pub fn authorize(who: &Principal, what: &Action<'_>) -> Result<(), Denied> {
    match who {
        Principal::Person { id, wards } => match what {
            Action::ReadOwnBook { owner } | Action::ManageSharing { owner } => {
                allow_if(may_open_book(*id, *owner, wards))
            }
            _ => Err(NOT_YOURS),
        },
        Principal::Staff {
            username,
            role,
            scope,
        } => staff(username, *role, scope, what),
        Principal::System { scopes, scope, .. } => match what {
            Action::ReadUnitData {
                resource_type,
                place,
            } => allow_if(scopes.allows(resource_type) && place.within(scope)),
            Action::ExportUnit {
                resource_types,
                place,
            } => allow_if(
                place.within(scope)
                    && !resource_types.is_empty()
                    && resource_types.iter().all(|t| scopes.allows(t)),
            ),
            Action::ManageRegistry { place } => {
                allow_if(scopes.allows_registry() && place.within(scope))
            }
            Action::WriteUnitData {
                resource_type,
                place,
            } => allow_if(scopes.allows_write(resource_type) && place.within(scope)),
            _ => Err(NOT_YOURS),
        },
    }
}

/// The scope that lets a system client send registry deltas for its unit.
pub const REGISTRY_WRITE: &str = "system/registry.write";
/// The scope that lets a system client record vaccination doses (FHIR `Immunization`)
/// given at its unit's facilities or to the residents its unit's stations keep.
pub const IMMUNIZATION_WRITE: &str = "system/Immunization.write";

/// SMART-on-FHIR style scopes of a system client: `system/*.read`, `system/Patient.read`,
/// and the v2 forms `system/*.rs`, `system/Observation.rs`. Only reading exists here:
/// a write scope is never granted, and an unknown scope grants nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmartScopes(Vec<String>);

impl SmartScopes {
    /// Parse a space-separated scope string; refuses a scope that is not a system read.
    pub fn parse(s: &str) -> Result<SmartScopes, String> {
        let mut out = Vec::new();
        for scope in s.split_whitespace() {
            // The writes: registry deltas (births, deaths, moves, cards) of the unit, and
            // vaccination doses (FHIR Immunization) given in the unit.
            if scope == REGISTRY_WRITE || scope == IMMUNIZATION_WRITE {
                out.push(scope.to_string());
                continue;
            }
            let Some((ctx, rest)) = scope.split_once('/') else {
                return Err(scope.to_string());
            };
            let Some((ty, perm)) = rest.split_once('.') else {
                return Err(scope.to_string());
            };
            let ty_ok = ty == "*"
                || (!ty.is_empty()
                    && ty.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                    && ty.chars().all(|c| c.is_ascii_alphanumeric()));
            if ctx != "system" || !ty_ok || !matches!(perm, "read" | "rs" | "r" | "s") {
                return Err(scope.to_string());
            }
            out.push(format!("system/{ty}.read"));
        }
        out.sort();
        out.dedup();
        if out.is_empty() {
            return Err(String::new());
        }
        Ok(SmartScopes(out))
    }

    /// The scopes in their canonical form (`system/<Type>.read`), space-separated.
    pub fn to_scope_string(&self) -> String {
        self.0.join(" ")
    }

    /// The scopes among `self` that `requested` also names (all of `self` when none asked).
    pub fn narrowed_to(&self, requested: Option<&str>) -> Result<SmartScopes, String> {
        let Some(r) = requested.filter(|r| !r.trim().is_empty()) else {
            return Ok(self.clone());
        };
        let asked = SmartScopes::parse(r)?;
        let kept: Vec<String> = asked
            .0
            .into_iter()
            .filter(|a| {
                // A write scope only as the client holds it.
                if self.0.contains(a) {
                    return true;
                }
                let Some(ty) = a
                    .strip_prefix("system/")
                    .and_then(|t| t.strip_suffix(".read"))
                else {
                    return false;
                };
                ty == "*" && self.0.iter().any(|s| s == "system/*.read") || self.allows(ty)
            })
            .collect();
        if kept.is_empty() {
            return Err(r.to_string());
        }
        Ok(SmartScopes(kept))
    }

    /// Whether a resource type may be read.
    pub fn allows(&self, resource_type: &str) -> bool {
        self.0
            .iter()
            .any(|s| s == "system/*.read" || *s == format!("system/{resource_type}.read"))
    }

    /// Whether the client may send registry deltas ([`REGISTRY_WRITE`]).
    pub fn allows_registry(&self) -> bool {
        self.0.iter().any(|s| s == REGISTRY_WRITE)
    }

    /// Whether the client may write resources of `resource_type` (only
    /// [`IMMUNIZATION_WRITE`] exists).
    pub fn allows_write(&self, resource_type: &str) -> bool {
        resource_type == "Immunization" && self.0.iter().any(|s| s == IMMUNIZATION_WRITE)
    }
}

fn staff(username: &str, role: Role, scope: &Place, what: &Action<'_>) -> Result<(), Denied> {
    use Role::*;
    match what {
        // Officers and administrators never read books; staff read through grants.
        Action::ReadOwnBook { .. }
        | Action::ManageSharing { .. }
        | Action::ReadUnitData { .. }
        | Action::WriteUnitData { .. }
        | Action::ExportUnit { .. } => Err(NOT_YOURS),
        Action::UseShareCode => allow_if(role == Clinician),
        Action::VerifyDocument => {
            allow_if(matches!(role, Clinician | FacilityAdmin | CommuneStaff))
        }
        Action::BreakGlass { reason } => {
            if role != Clinician {
                return Err(NOT_YOURS);
            }
            if reason.trim().chars().count() < BREAK_GLASS_MIN_REASON {
                return deny(
                    "reason_required",
                    "Truy cập khẩn cấp cần ghi rõ lý do (ít nhất 15 ký tự)",
                );
            }
            Ok(())
        }
        Action::OpenReferral { destination } => {
            allow_if(role == Clinician && scope.facility.as_deref() == Some(*destination))
        }
        Action::ReadPatient {
            person,
            grant,
            full,
            now,
        } => {
            if role != Clinician {
                return Err(NOT_YOURS);
            }
            let Some(g) = grant else {
                return deny(
                    "no_consent",
                    "Chưa có sự đồng ý của người bệnh (mã chia sẻ), giấy chuyển tuyến hoặc truy cập khẩn cấp",
                );
            };
            if g.person != *person || g.username != username {
                return Err(NOT_YOURS);
            }
            if !g.live(*now) {
                return deny(
                    "consent_ended",
                    "Quyền xem đã hết hạn hoặc đã bị người bệnh thu hồi",
                );
            }
            if *full && g.scope != Scope::Full {
                return deny(
                    "summary_only",
                    "Người bệnh chỉ chia sẻ phần tóm tắt sức khỏe",
                );
            }
            Ok(())
        }
        Action::ListUnits => allow_if(matches!(
            role,
            SystemAdmin | ProvincialOfficer | DistrictOfficer | InsuranceOfficer
        )),
        Action::ManageUnits | Action::VerifyAudit => allow_if(role == SystemAdmin),
        Action::ListFacilities => allow_if(matches!(
            role,
            SystemAdmin | ProvincialOfficer | DistrictOfficer | InsuranceOfficer | FacilityAdmin
        )),
        Action::ListStaff => allow_if(matches!(
            role,
            SystemAdmin | ProvincialOfficer | FacilityAdmin
        )),
        Action::SeeFacility { place } => allow_if(match role {
            SystemAdmin => true,
            ProvincialOfficer | DistrictOfficer | InsuranceOfficer | FacilityAdmin => {
                place.within(scope)
            }
            _ => false,
        }),
        Action::ManageFacility { place } => allow_if(match role {
            SystemAdmin => true,
            ProvincialOfficer => place.within(scope),
            _ => false,
        }),
        Action::ManageStaff {
            role: target,
            place,
        } => allow_if(match role {
            SystemAdmin => target.is_staff(),
            ProvincialOfficer => {
                matches!(
                    target,
                    DistrictOfficer | FacilityAdmin | CommuneStaff | InsuranceOfficer
                ) && place.within(scope)
            }
            FacilityAdmin => matches!(target, Clinician | Submitter) && place.within(scope),
            _ => false,
        }),
        Action::ReviewBreakGlass { facility } => {
            allow_if(role == FacilityAdmin && scope.facility.as_deref() == Some(*facility))
        }
        Action::EnrolPersons { places } => allow_if(
            matches!(role, CommuneStaff | FacilityAdmin) && places.iter().any(|p| p.within(scope)),
        ),
        Action::SubmitDossier { facility } => {
            allow_if(role == Submitter && scope.facility.as_deref() == Some(*facility))
        }
        Action::KeepRecord { place } => allow_if(role == CommuneStaff && place.within(scope)),
        Action::LookupCard { facility } => {
            allow_if(role == Submitter && scope.facility.as_deref() == Some(*facility))
        }
        Action::ManageRegistry { place } => allow_if(match role {
            SystemAdmin => true,
            CommuneStaff | ProvincialOfficer => place.within(scope),
            _ => false,
        }),
        Action::SubmitUnitReport { place } => allow_if(
            matches!(role, CommuneStaff | DistrictOfficer | ProvincialOfficer)
                && place.within(scope),
        ),
        Action::ViewReports { place } => allow_if(match role {
            SystemAdmin => true,
            ProvincialOfficer | DistrictOfficer | InsuranceOfficer => place.within(scope),
            _ => false,
        }),
    }
}

/// A person opens their own book and the books of the persons they are guardian of.
pub fn may_open_book(viewer: i64, owner: i64, active_wards: &[i64]) -> bool {
    viewer == owner || active_wards.contains(&owner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(p: &str, d: &str, c: &str, f: &str) -> Place {
        let s = |x: &str| (!x.is_empty()).then(|| x.to_string());
        Place {
            province: s(p),
            district: s(d),
            commune: s(c),
            facility: s(f),
        }
    }

    fn staff(role: Role, scope: Place) -> Principal {
        Principal::Staff {
            username: "u".into(),
            role,
            scope,
        }
    }

    #[test]
    fn own_book_and_wards_only() {
        assert!(may_open_book(1, 1, &[]));
        assert!(may_open_book(1, 2, &[2, 3]));
        assert!(!may_open_book(1, 4, &[2, 3]));
        assert!(!may_open_book(2, 1, &[]));
    }

    #[test]
    fn scopes_nest() {
        let f = place("01", "001", "00001", "01001");
        assert!(f.within(&place("01", "", "", "")));
        assert!(f.within(&place("01", "001", "", "")));
        assert!(f.within(&place("", "", "", "01001")));
        assert!(!f.within(&place("79", "", "", "")));
        assert!(!f.within(&place("01", "002", "", "")));
        assert!(!f.within(&Place::default()));
        assert!(!Place::default().within(&place("01", "", "", "")));
    }

    #[test]
    fn a_clinician_reads_only_under_a_live_grant_of_their_own() {
        let c = staff(Role::Clinician, place("01", "", "", "01001"));
        let g = GrantFacts {
            person: 7,
            username: "u".into(),
            scope: Scope::Summary,
            expires_at: 100,
            revoked: false,
        };
        let read = |grant, full, now| Action::ReadPatient {
            person: 7,
            grant,
            full,
            now,
        };
        assert!(authorize(&c, &read(Some(&g), false, 50)).is_ok());
        assert_eq!(
            authorize(&c, &read(Some(&g), true, 50)).unwrap_err().code,
            "summary_only"
        );
        assert_eq!(
            authorize(&c, &read(Some(&g), false, 100)).unwrap_err().code,
            "consent_ended"
        );
        assert_eq!(
            authorize(&c, &read(None, false, 50)).unwrap_err().code,
            "no_consent"
        );
        let revoked = GrantFacts {
            revoked: true,
            ..g.clone()
        };
        assert!(authorize(&c, &read(Some(&revoked), false, 50)).is_err());
        let someone_elses = GrantFacts {
            username: "v".into(),
            ..g.clone()
        };
        assert!(authorize(&c, &read(Some(&someone_elses), false, 50)).is_err());
        // No other role reads a book, whatever grant it shows.
        for r in Role::ALL
            .into_iter()
            .filter(|r| r.is_staff() && *r != Role::Clinician)
        {
            assert!(
                authorize(
                    &staff(r, place("01", "", "", "01001")),
                    &read(Some(&g), false, 50)
                )
                .is_err()
            );
        }
    }

    #[test]
    fn system_clients_read_their_unit_within_their_scopes() {
        let scopes = SmartScopes::parse("system/Patient.read system/Encounter.rs").unwrap();
        assert_eq!(
            scopes.to_scope_string(),
            "system/Encounter.read system/Patient.read"
        );
        let sys = Principal::System {
            client: "c".into(),
            scopes: scopes.clone(),
            scope: place("01", "", "", ""),
        };
        let here = place("01", "001", "00001", "01001");
        let there = place("79", "760", "", "79001");
        let read = |t, p| Action::ReadUnitData {
            resource_type: t,
            place: p,
        };
        assert!(authorize(&sys, &read("Patient", &here)).is_ok());
        assert!(authorize(&sys, &read("Observation", &here)).is_err());
        assert!(authorize(&sys, &read("Patient", &there)).is_err());
        let export = |t: &'static [&'static str]| Action::ExportUnit {
            resource_types: t,
            place: &here,
        };
        assert!(authorize(&sys, &export(&["Patient", "Encounter"])).is_ok());
        assert!(authorize(&sys, &export(&["Patient", "Condition"])).is_err());
        assert!(authorize(&sys, &export(&[])).is_err());
        // Nothing else: not a book, not a report.
        assert!(authorize(&sys, &Action::ReadOwnBook { owner: 1 }).is_err());
        assert!(authorize(&sys, &Action::ViewReports { place: &here }).is_err());
        // No staff role reads unit data, the system administrator included.
        for r in Role::ALL.into_iter().filter(|r| r.is_staff()) {
            assert!(
                authorize(&staff(r, place("01", "", "", "")), &read("Patient", &here)).is_err()
            );
        }
        // Write scopes, user and patient scopes are refused; narrowing keeps only what was granted.
        for bad in [
            "system/Patient.write",
            "user/*.read",
            "patient/*.read",
            "system/patient.read",
            "openid",
        ] {
            assert!(SmartScopes::parse(bad).is_err(), "{bad}");
        }
        let all = SmartScopes::parse("system/*.read").unwrap();
        assert!(all.allows("Condition"));
        assert_eq!(
            all.narrowed_to(Some("system/Condition.read"))
                .unwrap()
                .to_scope_string(),
            "system/Condition.read"
        );
        assert!(scopes.narrowed_to(Some("system/*.read")).is_err());
        assert!(scopes.narrowed_to(Some("system/Condition.read")).is_err());
    }

    #[test]
    fn system_clients_write_immunizations_of_their_unit_only_with_the_write_scope() {
        let with = SmartScopes::parse("system/Patient.read system/Immunization.write").unwrap();
        let without = SmartScopes::parse("system/*.read").unwrap();
        let here = place("01", "001", "00001", "01001");
        let there = place("79", "760", "", "79001");
        let write = |t, p| Action::WriteUnitData {
            resource_type: t,
            place: p,
        };
        let sys = |scopes: &SmartScopes| Principal::System {
            client: "c".into(),
            scopes: scopes.clone(),
            scope: place("01", "", "", ""),
        };
        assert!(authorize(&sys(&with), &write("Immunization", &here)).is_ok());
        assert!(authorize(&sys(&with), &write("Immunization", &there)).is_err());
        assert!(authorize(&sys(&with), &write("Patient", &here)).is_err());
        assert!(authorize(&sys(&without), &write("Immunization", &here)).is_err());
        // Writing grants no read, and narrowing keeps a write scope the client holds.
        assert!(!with.allows("Immunization"));
        assert_eq!(
            with.narrowed_to(Some("system/Immunization.write"))
                .unwrap()
                .to_scope_string(),
            IMMUNIZATION_WRITE
        );
        assert!(without.narrowed_to(Some(IMMUNIZATION_WRITE)).is_err());
        assert!(
            authorize(
                &staff(Role::SystemAdmin, Place::default()),
                &write("Immunization", &here)
            )
            .is_err()
        );
    }

    #[test]
    fn break_glass_needs_a_reason() {
        let c = staff(Role::Clinician, place("01", "", "", "01001"));
        assert_eq!(
            authorize(
                &c,
                &Action::BreakGlass {
                    reason: "cấp cứu"
                }
            )
            .unwrap_err()
            .code,
            "reason_required"
        );
        assert!(
            authorize(
                &c,
                &Action::BreakGlass {
                    reason: "Bệnh nhân hôn mê, cần tiền sử dị ứng thuốc"
                }
            )
            .is_ok()
        );
    }

    #[test]
    fn officers_manage_within_their_province_only() {
        let officer = staff(Role::ProvincialOfficer, place("01", "", "", ""));
        let here = place("01", "001", "00001", "01001");
        let there = place("79", "760", "26734", "79001");
        assert!(authorize(&officer, &Action::ManageFacility { place: &here }).is_ok());
        assert!(authorize(&officer, &Action::ManageFacility { place: &there }).is_err());
        assert!(
            authorize(
                &officer,
                &Action::ManageStaff {
                    role: Role::FacilityAdmin,
                    place: &here
                }
            )
            .is_ok()
        );
        // Nobody below the system administrator makes officers or administrators.
        assert!(
            authorize(
                &officer,
                &Action::ManageStaff {
                    role: Role::ProvincialOfficer,
                    place: &here
                }
            )
            .is_err()
        );
        let admin = staff(Role::FacilityAdmin, place("01", "", "", "01001"));
        assert!(
            authorize(
                &admin,
                &Action::ManageStaff {
                    role: Role::Clinician,
                    place: &here
                }
            )
            .is_ok()
        );
        assert!(
            authorize(
                &admin,
                &Action::ManageStaff {
                    role: Role::FacilityAdmin,
                    place: &here
                }
            )
            .is_err()
        );
    }
}
