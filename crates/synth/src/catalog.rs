//! Reference data for the synthetic generator: names, places, diagnoses and what a
//! clinician would plausibly order for them. Every entry is fictitious or public
//! catalogue knowledge; no real person appears here.
//!
//! Amounts are whole đồng (`u32`); numeric ranges are decimal strings parsed by the
//! generator, so no binary float ever enters a dossier.

/// A province: the 2-digit administrative code (`MATINH_CU_TRU`, BHYT card chars 4–5,
/// facility-code prefix) and its name. The CCCD birth-registration code is "0" + `code`.
#[derive(Debug, PartialEq, Eq)]
pub struct Province {
    pub code: &'static str,
    pub name: &'static str,
    /// A few district codes (3 digits, QĐ 124/2004 style) with names.
    pub districts: &'static [District],
}

#[derive(Debug, PartialEq, Eq)]
pub struct District {
    pub code: &'static str,
    pub name: &'static str,
    /// Commune codes (5 digits) with names.
    pub communes: &'static [(&'static str, &'static str)],
}

/// A drug line template (XML2).
#[derive(Debug, PartialEq, Eq)]
pub struct Drug {
    /// DMDC active-ingredient code, e.g. "40.17" (oxygen) or "05C.123"-like.
    pub code: &'static str,
    /// TEN_THUOC: trade or generic name as registered.
    pub name: &'static str,
    /// HAM_LUONG, e.g. "500mg".
    pub strength: &'static str,
    /// DANG_BAO_CHE, e.g. "Viên nén bao phim".
    pub form: &'static str,
    /// DUONG_DUNG route code (DMDC list, ≤ 4 chars): "1.01" oral, "2.15" IV injection, …
    pub route: &'static str,
    /// Human-readable route for the health book, e.g. "Uống", "Tiêm tĩnh mạch".
    pub route_name: &'static str,
    /// DON_VI_TINH, e.g. "Viên", "Ống", "Chai".
    pub unit: &'static str,
    /// Units per administration and administrations per day (for LIEU_DUNG).
    pub per_dose: u32,
    pub doses_per_day: u32,
    /// DON_GIA in đồng.
    pub unit_price: u32,
    /// SO_DANG_KY, e.g. "VD-12345-10" or "VN-20110-16".
    pub registration: &'static str,
}

/// One measured indicator of a lab test (XML4 row).
#[derive(Debug, PartialEq, Eq)]
pub struct Indicator {
    /// MA_CHI_SO.
    pub code: &'static str,
    /// TEN_CHI_SO in Vietnamese.
    pub name: &'static str,
    /// DON_VI_DO (UCUM-compatible where possible: "mmol/L", "g/L", "G/L", "T/L", "%", "U/L", "µmol/L").
    pub unit: &'static str,
    /// Reference range as decimal strings, e.g. ("3.9", "6.4").
    pub low: &'static str,
    pub high: &'static str,
    /// Decimals to print.
    pub decimals: u32,
}

/// A paraclinical service (XML3 line, MA_NHOM 1/2/3) and, for labs, its indicators (XML4).
#[derive(Debug, PartialEq, Eq)]
pub struct Paraclinical {
    /// MA_DICH_VU (DMDC-like "23.0075.1494").
    pub code: &'static str,
    /// TEN_DICH_VU.
    pub name: &'static str,
    /// "1" lab, "2" imaging, "3" functional test.
    pub group: &'static str,
    /// DON_GIA_BV = DON_GIA_BH, đồng.
    pub price: u32,
    /// Lab indicators; empty for imaging and functional tests.
    pub indicators: &'static [Indicator],
    /// Imaging / functional tests: a normal and an abnormal (MO_TA, KET_LUAN) pair.
    pub normal: (&'static str, &'static str),
    pub abnormal: (&'static str, &'static str),
}

/// A procedure or surgery (XML3 line, MA_NHOM 8 surgery or 18 procedure).
#[derive(Debug, PartialEq, Eq)]
pub struct Procedure {
    pub code: &'static str,
    pub name: &'static str,
    /// "8" surgery, "18" procedure.
    pub group: &'static str,
    /// ICD-9 CM code(s) for MA_PTTT_QT, e.g. "47.09".
    pub icd9: &'static str,
    pub price: u32,
    /// PP_VO_CAM: "1".."4", or "" when no anaesthesia.
    pub anaesthesia: &'static str,
}

/// A diagnosis and the care that plausibly follows it.
#[derive(Debug, PartialEq, Eq)]
pub struct Diagnosis {
    /// ICD-10 with the dot, e.g. "J02.9".
    pub icd10: &'static str,
    /// Vietnamese name as in the MOH ICD-10 list.
    pub name: &'static str,
    /// Care types it suits ("01" exam, "02" outpatient treatment, "03" inpatient, "05" chronic…).
    pub care_types: &'static [&'static str],
    /// Presenting complaint (LY_DO_VV), e.g. "Sốt, đau họng 2 ngày".
    pub complaint: &'static str,
    /// Indices into DRUGS.
    pub drugs: &'static [usize],
    /// Indices into PARACLINICALS.
    pub tests: &'static [usize],
    /// Indices into PROCEDURES (inpatient/surgical cases); may be empty.
    pub procedures: &'static [usize],
    /// Typical secondary diagnoses (ICD-10), may be empty.
    pub secondary: &'static [&'static str],
    /// Plausible ages in years (inclusive).
    pub min_age: u32,
    pub max_age: u32,
    /// Restricted to one sex: "1" male, "2" female, "" any.
    pub sex: &'static str,
}

/// An examination (MA_NHOM 13) or bed-day (MA_NHOM 15) service.
#[derive(Debug, PartialEq, Eq)]
pub struct BasicService {
    pub code: &'static str,
    pub name: &'static str,
    pub unit: &'static str,
    pub price: u32,
}

/// A department (MA_KHOA) with its Vietnamese name.
#[derive(Debug, PartialEq, Eq)]
pub struct Department {
    pub code: &'static str,
    pub name: &'static str,
}

/// A fictitious facility.
#[derive(Debug, PartialEq, Eq)]
pub struct FacilityRef {
    /// 5 digits, province code first.
    pub code: &'static str,
    pub name: &'static str,
    pub address: &'static str,
}

// ---------------------------------------------------------------------------
// People
// ---------------------------------------------------------------------------

/// Family names, most common first (the generator weights toward the front).
pub static SURNAMES: &[&str] = &[
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ",
    "Hồ", "Ngô", "Dương", "Lý", "Trương", "Đinh", "Đào", "Mai", "Trịnh", "Lương", "Cao", "Lâm",
    "Hà", "Tạ", "Tô", "Chu",
];

/// Middle names usual for men.
pub static MIDDLE_MALE: &[&str] = &[
    "Văn", "Đức", "Minh", "Hữu", "Quang", "Công", "Thành", "Xuân", "Tiến", "Mạnh", "Gia", "Hoàng",
];

/// Middle names usual for women.
pub static MIDDLE_FEMALE: &[&str] = &[
    "Thị", "Ngọc", "Thu", "Thanh", "Mai", "Thùy", "Phương", "Hồng", "Kim", "Bích", "Minh", "Khánh",
];

/// Given names usual for men.
pub static GIVEN_MALE: &[&str] = &[
    "Anh", "Bình", "Cường", "Dũng", "Đức", "Hải", "Hùng", "Khánh", "Long", "Nam", "Phúc", "Quân",
    "Sơn", "Thắng", "Tuấn", "Việt", "Bảo", "Công", "Đạt", "Định", "Đông", "Giang", "Hậu", "Hiếu",
    "Hoàng", "Huy", "Hưng", "Khoa", "Kiên", "Lâm", "Lộc", "Mạnh", "Nghĩa", "Nhân", "Phong",
    "Quang", "Tài", "Thành", "Thịnh", "Toàn", "Trung", "Tùng", "Vinh", "Vũ",
];

/// Given names usual for women.
pub static GIVEN_FEMALE: &[&str] = &[
    "An", "Chi", "Dung", "Hà", "Hạnh", "Hoa", "Hương", "Lan", "Linh", "Mai", "Nga", "Ngọc",
    "Nhung", "Phương", "Quỳnh", "Thảo", "Trang", "Tuyết", "Vân", "Yến", "Anh", "Bích", "Diệp",
    "Giang", "Hằng", "Hiền", "Hồng", "Huyền", "Lệ", "Liên", "Loan", "Ly", "My", "Ngân", "Nhi",
    "Oanh", "Thủy", "Thư", "Trâm", "Uyên", "Vy", "Xuân",
];

/// Street and village names without a house number (the generator prepends "Số n").
pub static STREETS: &[&str] = &[
    "phố Hàng Bông",
    "phố Quán Thánh",
    "phố Hàng Gai",
    "đường Lê Lợi",
    "đường Trần Hưng Đạo",
    "đường Nguyễn Trãi",
    "đường Hai Bà Trưng",
    "đường Lý Thường Kiệt",
    "đường Hùng Vương",
    "đường Quang Trung",
    "đường Phan Đình Phùng",
    "đường Võ Thị Sáu",
    "đường Nguyễn Văn Cừ",
    "đường Trần Phú",
    "thôn Đông Hội",
    "thôn Trung",
    "thôn Thượng",
    "xóm Bãi",
    "xóm Mới",
    "ấp Tân Thành",
    "ấp Bình Hòa",
    "tổ dân phố Bắc Sơn",
    "khu phố Tân Lập",
    "buôn Ea Nao",
];

/// Occupations (`MA_NGHE_NGHIEP`, 5 digits in the style of QĐ 34/2020/QĐ-TTg). The first
/// entry is used for minors.
pub static JOBS: &[(&str, &str)] = &[
    ("00000", "Không nghề nghiệp"),
    ("22110", "Bác sĩ"),
    ("22210", "Điều dưỡng viên"),
    ("23410", "Giáo viên tiểu học"),
    ("24110", "Kế toán viên"),
    ("33220", "Nhân viên kinh doanh"),
    ("51200", "Đầu bếp"),
    ("52230", "Nhân viên bán hàng"),
    ("61110", "Nông dân trồng lúa, hoa màu"),
    ("71150", "Thợ mộc"),
    ("72310", "Thợ sửa chữa ô tô"),
    ("75310", "Thợ may"),
    ("83220", "Lái xe ô tô con, taxi"),
    ("91120", "Nhân viên vệ sinh"),
    ("93290", "Lao động giản đơn trong công nghiệp chế biến"),
];

/// Ethnic groups (`MA_DANTOC`, QĐ 121-TCTK numbering). Kinh first: the generator weights it
/// heavily.
pub static ETHNICITIES: &[(&str, &str)] = &[
    ("01", "Kinh"),
    ("02", "Tày"),
    ("03", "Thái"),
    ("04", "Hoa"),
    ("05", "Khơ-me"),
    ("06", "Mường"),
    ("07", "Nùng"),
    ("08", "Hmông"),
    ("09", "Dao"),
    ("10", "Gia-rai"),
    ("11", "Ngái"),
    ("12", "Ê-đê"),
    ("13", "Ba-na"),
    ("14", "Xơ-đăng"),
    ("15", "Sán Chay"),
    ("16", "Cơ-ho"),
    ("17", "Chăm"),
    ("18", "Sán Dìu"),
    ("19", "Hrê"),
    ("20", "Mnông"),
];

// ---------------------------------------------------------------------------
// Places
// ---------------------------------------------------------------------------

/// Provinces of the 63-province list in force before 2025, with a few districts (QĐ
/// 124/2004/QĐ-TTg codes) and communes each. Codes are unique across the whole list.
pub static PROVINCES: &[Province] = &[
    Province {
        code: "01",
        name: "Hà Nội",
        districts: &[
            District {
                code: "001",
                name: "Quận Ba Đình",
                communes: &[
                    ("00001", "Phường Phúc Xá"),
                    ("00004", "Phường Trúc Bạch"),
                    ("00013", "Phường Quán Thánh"),
                ],
            },
            District {
                code: "002",
                name: "Quận Hoàn Kiếm",
                communes: &[
                    ("00040", "Phường Đồng Xuân"),
                    ("00064", "Phường Hàng Gai"),
                    ("00076", "Phường Hàng Bông"),
                ],
            },
            District {
                code: "005",
                name: "Quận Cầu Giấy",
                communes: &[
                    ("00154", "Phường Nghĩa Đô"),
                    ("00160", "Phường Dịch Vọng"),
                    ("00175", "Phường Trung Hòa"),
                ],
            },
        ],
    },
    Province {
        code: "79",
        name: "Thành phố Hồ Chí Minh",
        districts: &[
            District {
                code: "760",
                name: "Quận 1",
                communes: &[
                    ("26734", "Phường Tân Định"),
                    ("26740", "Phường Bến Nghé"),
                    ("26743", "Phường Bến Thành"),
                ],
            },
            District {
                code: "765",
                name: "Quận Bình Thạnh",
                communes: &[
                    ("26905", "Phường 25"),
                    ("26908", "Phường 26"),
                    ("26911", "Phường 27"),
                ],
            },
            District {
                code: "785",
                name: "Huyện Bình Chánh",
                communes: &[
                    ("27595", "Thị trấn Tân Túc"),
                    ("27601", "Xã Vĩnh Lộc A"),
                    ("27640", "Xã Tân Kiên"),
                ],
            },
        ],
    },
    Province {
        code: "48",
        name: "Đà Nẵng",
        districts: &[
            District {
                code: "492",
                name: "Quận Hải Châu",
                communes: &[
                    ("20227", "Phường Thanh Bình"),
                    ("20236", "Phường Hải Châu I"),
                    ("20242", "Phường Phước Ninh"),
                ],
            },
            District {
                code: "497",
                name: "Huyện Hòa Vang",
                communes: &[
                    ("20317", "Xã Hòa Sơn"),
                    ("20329", "Xã Hòa Châu"),
                    ("20335", "Xã Hòa Phước"),
                ],
            },
        ],
    },
    Province {
        code: "31",
        name: "Hải Phòng",
        districts: &[
            District {
                code: "303",
                name: "Quận Hồng Bàng",
                communes: &[
                    ("11296", "Phường Quán Toan"),
                    ("11305", "Phường Thượng Lý"),
                    ("11320", "Phường Hoàng Văn Thụ"),
                ],
            },
            District {
                code: "316",
                name: "Huyện Vĩnh Bảo",
                communes: &[
                    ("12736", "Xã Dũng Tiến"),
                    ("12742", "Xã Giang Biên"),
                    ("12751", "Xã Tam Cường"),
                ],
            },
        ],
    },
    Province {
        code: "92",
        name: "Cần Thơ",
        districts: &[
            District {
                code: "916",
                name: "Quận Ninh Kiều",
                communes: &[
                    ("31117", "Phường Cái Khế"),
                    ("31120", "Phường An Hòa"),
                    ("31144", "Phường Xuân Khánh"),
                ],
            },
            District {
                code: "926",
                name: "Huyện Phong Điền",
                communes: &[
                    ("31258", "Xã Nhơn Ái"),
                    ("31261", "Xã Giai Xuân"),
                    ("31264", "Xã Tân Thới"),
                ],
            },
        ],
    },
    Province {
        code: "38",
        name: "Thanh Hóa",
        districts: &[
            District {
                code: "380",
                name: "Thành phố Thanh Hóa",
                communes: &[
                    ("14758", "Phường Đông Thọ"),
                    ("14761", "Phường Nam Ngạn"),
                    ("14764", "Phường Trường Thi"),
                ],
            },
            District {
                code: "399",
                name: "Huyện Hoằng Hóa",
                communes: &[
                    ("15991", "Thị trấn Bút Sơn"),
                    ("16012", "Xã Hoằng Lộc"),
                    ("16078", "Xã Hoằng Châu"),
                ],
            },
        ],
    },
    Province {
        code: "40",
        name: "Nghệ An",
        districts: &[
            District {
                code: "412",
                name: "Thành phố Vinh",
                communes: &[
                    ("16669", "Phường Lê Lợi"),
                    ("16672", "Phường Hưng Bình"),
                    ("16690", "Phường Trường Thi"),
                ],
            },
            District {
                code: "425",
                name: "Huyện Diễn Châu",
                communes: &[
                    ("17197", "Xã Diễn Hồng"),
                    ("17206", "Xã Diễn Kỷ"),
                    ("17236", "Xã Diễn Thành"),
                ],
            },
        ],
    },
    Province {
        code: "46",
        name: "Thừa Thiên Huế",
        districts: &[
            District {
                code: "474",
                name: "Thành phố Huế",
                communes: &[
                    ("19753", "Phường Phú Hội"),
                    ("19756", "Phường Phú Nhuận"),
                    ("19768", "Phường Vĩnh Ninh"),
                ],
            },
            District {
                code: "478",
                name: "Huyện Phú Vang",
                communes: &[
                    ("19909", "Xã Phú Thượng"),
                    ("19918", "Xã Phú Mỹ"),
                    ("19927", "Xã Phú An"),
                ],
            },
        ],
    },
    Province {
        code: "56",
        name: "Khánh Hòa",
        districts: &[
            District {
                code: "568",
                name: "Thành phố Nha Trang",
                communes: &[
                    ("22333", "Phường Vĩnh Hải"),
                    ("22345", "Phường Vạn Thạnh"),
                    ("22366", "Phường Lộc Thọ"),
                ],
            },
            District {
                code: "574",
                name: "Huyện Diên Khánh",
                communes: &[
                    ("22591", "Thị trấn Diên Khánh"),
                    ("22594", "Xã Diên An"),
                    ("22612", "Xã Diên Phú"),
                ],
            },
        ],
    },
    Province {
        code: "66",
        name: "Đắk Lắk",
        districts: &[
            District {
                code: "643",
                name: "Thành phố Buôn Ma Thuột",
                communes: &[
                    ("24121", "Phường Tân Lập"),
                    ("24124", "Phường Tân Hòa"),
                    ("24133", "Phường Thắng Lợi"),
                ],
            },
            District {
                code: "648",
                name: "Huyện Cư M'gar",
                communes: &[
                    ("24364", "Xã Ea Kiết"),
                    ("24367", "Xã Ea Tul"),
                    ("24385", "Xã Quảng Tiến"),
                ],
            },
        ],
    },
    Province {
        code: "89",
        name: "An Giang",
        districts: &[
            District {
                code: "883",
                name: "Thành phố Long Xuyên",
                communes: &[
                    ("30280", "Phường Mỹ Bình"),
                    ("30283", "Phường Mỹ Long"),
                    ("30292", "Phường Mỹ Xuyên"),
                ],
            },
            District {
                code: "893",
                name: "Huyện Chợ Mới",
                communes: &[
                    ("30583", "Xã Kiến An"),
                    ("30589", "Xã Mỹ Hội Đông"),
                    ("30601", "Xã Long Điền A"),
                ],
            },
        ],
    },
    Province {
        code: "27",
        name: "Bắc Ninh",
        districts: &[
            District {
                code: "256",
                name: "Thành phố Bắc Ninh",
                communes: &[
                    ("09178", "Phường Kinh Bắc"),
                    ("09181", "Phường Vệ An"),
                    ("09190", "Phường Ninh Xá"),
                ],
            },
            District {
                code: "260",
                name: "Huyện Tiên Du",
                communes: &[
                    ("09367", "Thị trấn Lim"),
                    ("09370", "Xã Phú Lâm"),
                    ("09373", "Xã Nội Duệ"),
                ],
            },
        ],
    },
    Province {
        code: "22",
        name: "Quảng Ninh",
        districts: &[
            District {
                code: "193",
                name: "Thành phố Hạ Long",
                communes: &[
                    ("06676", "Phường Bãi Cháy"),
                    ("06691", "Phường Hồng Hải"),
                    ("06694", "Phường Hồng Gai"),
                ],
            },
            District {
                code: "196",
                name: "Thành phố Uông Bí",
                communes: &[
                    ("06811", "Phường Quang Trung"),
                    ("06814", "Phường Thanh Sơn"),
                    ("06820", "Phường Yên Thanh"),
                ],
            },
        ],
    },
    Province {
        code: "75",
        name: "Đồng Nai",
        districts: &[
            District {
                code: "731",
                name: "Thành phố Biên Hòa",
                communes: &[
                    ("25993", "Phường Trảng Dài"),
                    ("26002", "Phường Hố Nai"),
                    ("26017", "Phường Tam Hiệp"),
                ],
            },
            District {
                code: "737",
                name: "Huyện Trảng Bom",
                communes: &[
                    ("26206", "Thị trấn Trảng Bom"),
                    ("26209", "Xã Thanh Bình"),
                    ("26245", "Xã Bắc Sơn"),
                ],
            },
        ],
    },
];

/// Fictitious facilities: 5-digit code = province code + 3 digits. The first entry is
/// the facility of the shared sample (01001, Hà Nội).
pub static FACILITIES: &[FacilityRef] = &[
    FacilityRef {
        code: "01001",
        name: "Bệnh viện Đa khoa An Bình Hà Nội",
        address: "Số 25 phố Quán Thánh, Phường Quán Thánh, Quận Ba Đình, Hà Nội",
    },
    FacilityRef {
        code: "01015",
        name: "Trung tâm Y tế quận Cầu Giấy",
        address: "Số 40 đường Nghĩa Tân, Phường Nghĩa Đô, Quận Cầu Giấy, Hà Nội",
    },
    FacilityRef {
        code: "01929",
        name: "Phòng khám Đa khoa Tâm Đức Hoàn Kiếm",
        address: "Số 9 phố Hàng Bông, Phường Hàng Bông, Quận Hoàn Kiếm, Hà Nội",
    },
    FacilityRef {
        code: "79560",
        name: "Bệnh viện Đa khoa Phúc An Sài Gòn",
        address: "Số 120 đường Nguyễn Trãi, Phường Bến Thành, Quận 1, Thành phố Hồ Chí Minh",
    },
    FacilityRef {
        code: "79023",
        name: "Trung tâm Y tế quận Bình Thạnh",
        address: "Số 18 đường Nơ Trang Long, Phường 25, Quận Bình Thạnh, Thành phố Hồ Chí Minh",
    },
    FacilityRef {
        code: "79471",
        name: "Trạm Y tế xã Vĩnh Lộc A",
        address: "Ấp 3, Xã Vĩnh Lộc A, Huyện Bình Chánh, Thành phố Hồ Chí Minh",
    },
    FacilityRef {
        code: "48195",
        name: "Bệnh viện Đa khoa Hải Châu Tâm An",
        address: "Số 56 đường Lê Lợi, Phường Thanh Bình, Quận Hải Châu, Đà Nẵng",
    },
    FacilityRef {
        code: "48012",
        name: "Trung tâm Y tế huyện Hòa Vang",
        address: "Thôn Dương Lâm, Xã Hòa Phước, Huyện Hòa Vang, Đà Nẵng",
    },
    FacilityRef {
        code: "31008",
        name: "Bệnh viện Đa khoa An Phú Hải Phòng",
        address: "Số 72 đường Hùng Vương, Phường Quán Toan, Quận Hồng Bàng, Hải Phòng",
    },
    FacilityRef {
        code: "31120",
        name: "Trung tâm Y tế huyện Vĩnh Bảo",
        address: "Thôn Đông, Xã Tam Cường, Huyện Vĩnh Bảo, Hải Phòng",
    },
    FacilityRef {
        code: "92010",
        name: "Bệnh viện Đa khoa Phương Nam Cần Thơ",
        address: "Số 31 đường Trần Hưng Đạo, Phường An Hòa, Quận Ninh Kiều, Cần Thơ",
    },
    FacilityRef {
        code: "92085",
        name: "Trạm Y tế xã Nhơn Ái",
        address: "Ấp Nhơn Lộc, Xã Nhơn Ái, Huyện Phong Điền, Cần Thơ",
    },
    FacilityRef {
        code: "38015",
        name: "Bệnh viện Đa khoa Lam Sơn Thanh Hóa",
        address: "Số 14 đường Trần Phú, Phường Đông Thọ, Thành phố Thanh Hóa, Thanh Hóa",
    },
    FacilityRef {
        code: "38102",
        name: "Trung tâm Y tế huyện Hoằng Hóa",
        address: "Khu phố 2, Thị trấn Bút Sơn, Huyện Hoằng Hóa, Thanh Hóa",
    },
    FacilityRef {
        code: "40017",
        name: "Bệnh viện Đa khoa Hưng Bình Vinh",
        address: "Số 88 đường Lê Lợi, Phường Hưng Bình, Thành phố Vinh, Nghệ An",
    },
    FacilityRef {
        code: "46022",
        name: "Bệnh viện Đa khoa Hương Giang Huế",
        address: "Số 21 đường Hùng Vương, Phường Phú Hội, Thành phố Huế, Thừa Thiên Huế",
    },
    FacilityRef {
        code: "56031",
        name: "Phòng khám Đa khoa Vĩnh Hải Nha Trang",
        address: "Số 5 đường Quang Trung, Phường Vĩnh Hải, Thành phố Nha Trang, Khánh Hòa",
    },
    FacilityRef {
        code: "66040",
        name: "Trung tâm Y tế huyện Cư M'gar",
        address: "Thôn 4, Xã Quảng Tiến, Huyện Cư M'gar, Đắk Lắk",
    },
    FacilityRef {
        code: "89018",
        name: "Bệnh viện Đa khoa An Khang Long Xuyên",
        address: "Số 47 đường Hai Bà Trưng, Phường Mỹ Long, Thành phố Long Xuyên, An Giang",
    },
    FacilityRef {
        code: "27055",
        name: "Trạm Y tế thị trấn Lim",
        address: "Khu phố Lim, Thị trấn Lim, Huyện Tiên Du, Bắc Ninh",
    },
    FacilityRef {
        code: "22009",
        name: "Bệnh viện Đa khoa Bãi Cháy Hạ Long",
        address: "Số 10 đường Hạ Long, Phường Bãi Cháy, Thành phố Hạ Long, Quảng Ninh",
    },
    FacilityRef {
        code: "75034",
        name: "Bệnh viện Đa khoa Tam Hiệp Biên Hòa",
        address: "Số 66 đường Phạm Văn Thuận, Phường Tam Hiệp, Thành phố Biên Hòa, Đồng Nai",
    },
];

/// Departments (`MA_KHOA`, codes of QĐ 4210/QĐ-BYT Bảng 7). The first entry is the
/// outpatient department; the generator draws inpatient departments from the rest.
pub static DEPARTMENTS: &[Department] = &[
    Department {
        code: "K01",
        name: "Khoa Khám bệnh",
    },
    Department {
        code: "K02",
        name: "Khoa Hồi sức cấp cứu",
    },
    Department {
        code: "K03",
        name: "Khoa Nội tổng hợp",
    },
    Department {
        code: "K04",
        name: "Khoa Nội tim mạch",
    },
    Department {
        code: "K05",
        name: "Khoa Nội tiêu hóa",
    },
    Department {
        code: "K07",
        name: "Khoa Nội thận - tiết niệu",
    },
    Department {
        code: "K11",
        name: "Khoa Truyền nhiễm",
    },
    Department {
        code: "K14",
        name: "Khoa Thần kinh",
    },
    Department {
        code: "K18",
        name: "Khoa Nhi",
    },
    Department {
        code: "K19",
        name: "Khoa Ngoại tổng hợp",
    },
    Department {
        code: "K24",
        name: "Khoa Chấn thương chỉnh hình",
    },
    Department {
        code: "K26",
        name: "Khoa Phẫu thuật - gây mê hồi sức",
    },
    Department {
        code: "K27",
        name: "Khoa Phụ sản",
    },
    Department {
        code: "K30",
        name: "Khoa Mắt",
    },
];

// ---------------------------------------------------------------------------
// Services
// ---------------------------------------------------------------------------

/// Examinations (MA_NHOM 13). Codes follow the `chuyên khoa.khoa.STT` pattern of the
/// examination catalogue; STT 1897 is the grade-II hospital price line.
pub static EXAMS: &[BasicService] = &[
    BasicService {
        code: "02.03.1897",
        name: "Khám Nội",
        unit: "Lần",
        price: 38_700,
    },
    BasicService {
        code: "03.18.1897",
        name: "Khám Nhi",
        unit: "Lần",
        price: 38_700,
    },
    BasicService {
        code: "10.19.1897",
        name: "Khám Ngoại",
        unit: "Lần",
        price: 38_700,
    },
    BasicService {
        code: "13.27.1897",
        name: "Khám Phụ sản",
        unit: "Lần",
        price: 38_700,
    },
];

/// Inpatient bed-days (MA_NHOM 15), grade-II hospital; codes are `khoa.STT`-like.
pub static BED_DAYS: &[BasicService] = &[
    BasicService {
        code: "K03.1912",
        name: "Ngày giường bệnh Nội khoa loại 1 (Hạng II)",
        unit: "Ngày",
        price: 226_300,
    },
    BasicService {
        code: "K03.1918",
        name: "Ngày giường bệnh Nội khoa loại 2 (Hạng II)",
        unit: "Ngày",
        price: 201_800,
    },
    BasicService {
        code: "K19.1930",
        name: "Ngày giường bệnh Ngoại khoa loại 2 (Hạng II) - Sau các phẫu thuật loại 1",
        unit: "Ngày",
        price: 283_200,
    },
    BasicService {
        code: "K02.1907",
        name: "Ngày giường bệnh Hồi sức cấp cứu (Hạng II)",
        unit: "Ngày",
        price: 347_500,
    },
];

// ---------------------------------------------------------------------------
// Drugs
// ---------------------------------------------------------------------------

/// `DUONG_DUNG` for subcutaneous and local-infiltration injections (insulin, lidocaine).
/// Only oral 1.01, IM 2.10, IV 2.15, IV infusion 2.16, inhalation 3.05 and topical 4.04
/// were given to this catalogue; this code is a best guess kept in one place so it can be
/// corrected against the DMDC route list.
const ROUTE_SUBCUTANEOUS: &str = "2.11";

// Indices into DRUGS; each entry below is preceded by its constant's name.
const D_PARACETAMOL_500: usize = 0;
const D_PARACETAMOL_250_SACHET: usize = 1;
const D_PARACETAMOL_IV: usize = 2;
const D_IBUPROFEN: usize = 3;
const D_DICLOFENAC: usize = 4;
const D_DICLOFENAC_INJ: usize = 5;
const D_MELOXICAM: usize = 6;
const D_TRAMADOL_INJ: usize = 7;
const D_ALPHACHYMOTRYPSIN: usize = 8;
const D_LIDOCAINE: usize = 9;
const D_AMOXICILLIN_500: usize = 10;
const D_AMOXICILLIN_250_SACHET: usize = 11;
const D_AMOXICILLIN_CLAVULANATE: usize = 12;
const D_CEFUROXIME: usize = 13;
const D_CEFTRIAXONE: usize = 14;
const D_CEFAZOLIN: usize = 15;
const D_AZITHROMYCIN: usize = 16;
const D_METRONIDAZOLE_IV: usize = 17;
const D_CIPROFLOXACIN: usize = 18;
const D_OMEPRAZOLE: usize = 19;
const D_ESOMEPRAZOLE: usize = 20;
const D_DOMPERIDONE: usize = 21;
const D_DROTAVERINE: usize = 22;
const D_LOPERAMIDE: usize = 23;
const D_ORESOL: usize = 24;
const D_ZINC: usize = 25;
const D_METFORMIN: usize = 26;
const D_GLICLAZIDE: usize = 27;
const D_INSULIN: usize = 28;
const D_AMLODIPINE: usize = 29;
const D_LOSARTAN: usize = 30;
const D_ENALAPRIL: usize = 31;
const D_BISOPROLOL: usize = 32;
const D_ATORVASTATIN: usize = 33;
const D_ROSUVASTATIN: usize = 34;
const D_ASPIRIN_81: usize = 35;
const D_CLOPIDOGREL: usize = 36;
const D_FUROSEMIDE: usize = 37;
const D_FUROSEMIDE_INJ: usize = 38;
const D_SALBUTAMOL_TABLET: usize = 39;
const D_SALBUTAMOL_NEBULE: usize = 40;
const D_BUDESONIDE: usize = 41;
const D_PREDNISOLONE: usize = 42;
const D_METHYLPREDNISOLONE_INJ: usize = 43;
const D_CETIRIZINE: usize = 44;
const D_LORATADINE: usize = 45;
const D_VITAMIN_B1_B6_B12: usize = 46;
const D_CALCIUM_D3: usize = 47;
const D_IRON_FOLIC_ACID: usize = 48;
const D_PROGESTERONE: usize = 49;
const D_OXYTOCIN: usize = 50;
const D_LEVOTHYROXINE: usize = 51;
const D_SERTRALINE: usize = 52;
const D_SODIUM_CHLORIDE_09: usize = 53;
const D_GLUCOSE_5: usize = 54;
const D_RINGER_LACTATE: usize = 55;
const D_OXYGEN: usize = 56;
const D_POVIDONE_IODINE: usize = 57;

/// Drug line templates (XML2). `code` is the DMDC active-ingredient code (the same for
/// every product of one ingredient); registration numbers are fictitious but well formed.
pub static DRUGS: &[Drug] = &[
    // D_PARACETAMOL_500
    Drug {
        code: "40.48",
        name: "Paracetamol 500mg",
        strength: "500mg",
        form: "Viên nén",
        route: "1.01",
        route_name: "Uống",
        unit: "Viên",
        per_dose: 1,
        doses_per_day: 3,
        unit_price: 350,
        registration: "VD-24817-16",
    },
    // D_PARACETAMOL_250_SACHET
    Drug {
        code: "40.48",
        name: "Paracetamol 250mg",
        strength: "250mg",
        form: "Thuốc bột sủi bọt",
        route: "1.01",
        route_name: "Uống",
        unit: "Gói",
        per_dose: 1,
        doses_per_day: 3,
        unit_price: 1_650,
        registration: "VD-31542-19",
    },
    // D_PARACETAMOL_IV
    Drug {
        code: "40.48",
        name: "Paracetamol 1g/100ml",
        strength: "1g/100ml",
        form: "Dịch truyền",
        route: "2.16",
        route_name: "Truyền tĩnh mạch",
        unit: "Chai",
        per_dose: 1,
        doses_per_day: 2,
        unit_price: 18_900,
        registration: "VD-27731-17",
    },
    // D_IBUPROFEN
    Drug {
        code: "40.40",
        name: "Ibuprofen 400mg",
        strength: "400mg",
        form: "Viên nén bao phim",
        route: "1.01",
        route_name: "Uống",
        unit: "Viên",
        per_dose: 1,
        doses_per_day: 2,
        unit_price: 680,
        registration: "VD-22965-15",
    },
    // D_DICLOFENAC
    Drug {
        code: "40.35",
        name: "Diclofenac natri 50mg",
        strength: "50mg",
        form: "Viên nén bao tan trong ruột",
        route: "1.01",
        route_name: "Uống",
        unit: "Viên",
        per_dose: 1,
        doses_per_day: 2,
        unit_price: 240,
        registration: "VD-19834-13",
    },
    // D_DICLOFENAC_INJ
    Drug {
        code: "40.35",
        name: "Diclofenac natri 75mg/3ml",
        strength: "75mg/3ml",
        form: "Dung dịch tiêm",
        route: "2.10",
        route_name: "Tiêm bắp",
        unit: "Ống",
        per_dose: 1,
        doses_per_day: 1,
        unit_price: 3_500,
        registration: "VN-21670-18",
    },
    // D_MELOXICAM
    Drug {
        code: "40.44",
        name: "Meloxicam 7,5mg",
        strength: "7,5mg",
        form: "Viên nén",
        route: "1.01",
        route_name: "Uống",
        unit: "Viên",
        per_dose: 1,
        doses_per_day: 1,
        unit_price: 290,
        registration: "VD-26508-17",
    },
    // D_TRAMADOL_INJ
    Drug {
        code: "40.64",
        name: "Tramadol hydroclorid 100mg/2ml",
        strength: "100mg/2ml",
        form: "Dung dịch tiêm",
        route: "2.10",
        route_name: "Tiêm bắp",
        unit: "Ống",
        per_dose: 1,
        doses_per_day: 2,
        unit_price: 9_800,
        registration: "VN-20394-17",
    },
    // D_ALPHACHYMOTRYPSIN
    Drug {
        code: "40.68",
        name: "Alphachymotrypsin 4,2mg",
        strength: "4,2mg (21 microkatal)",
        form: "Viên nén",
        route: "1.01",
        route_name: "Uống",
        unit: "Viên",
        per_dose: 2,
        doses_per_day: 3,
        unit_price: 290,
        registration: "VD-28163-17",
    },
    // D_LIDOCAINE
    Drug {
        code: "40.22",
        name: "Lidocain hydroclorid 2%",
        strength: "40mg/2ml",
        form: "Dung dịch tiêm",
        route: ROUTE_SUBCUTANEOUS,
        route_name: "Tiêm dưới da",
        unit: "Ống",
        per_dose: 1,
        doses_per_day: 1,
        unit_price: 620,
        registration: "VD-25290-16",
    },
    // D_AMOXICILLIN_500
    Drug {
        code: "40.152",
        name: "Amoxicilin 500mg",
        strength: "500mg",
        form: "Viên nang cứng",
        route: "1.01",
        route_name: "Uống",
        unit: "Viên",
        per_dose: 1,
        doses_per_day: 3,
        unit_price: 820,
        registration: "VD-23571-15",
    },
    // D_AMOXICILLIN_250_SACHET
    Drug {
        code: "40.152",
        name: "Amoxicilin 250mg",
        strength: "250mg",
        form: "Thuốc bột pha hỗn dịch uống",
        route: "1.01",
        route_name: "Uống",
        unit: "Gói",
        per_dose: 1,
        doses_per_day: 3,
        unit_price: 1_250,
        registration: "VD-29416-18",
    },
    // D_AMOXICILLIN_CLAVULANATE
    Drug {
        code: "40.153",
        name: "Amoxicilin + Acid clavulanic 500mg/125mg",
        strength: "500mg + 125mg",
        form: "Viên nén bao phim",
        route: "1.01",
        route_name: "Uống",
        unit: "Viên",
        per_dose: 1,
        doses_per_day: 2,
        unit_price: 5_200,
        registration: "VD-30862-18",
    },
    // D_CEFUROXIME
    Drug {
        code: "40.181",
        name: "Cefuroxim 500mg",
        strength: "500mg",
        form: "Viên nén bao phim",
        route: "1.01",
        route_name: "Uống",
        unit: "Viên",
        per_dose: 1,
        doses_per_day: 2,
        unit_price: 4_100,
        registration: "VD-27054-17",
    },
    // D_CEFTRIAXONE
    Drug {
        code: "40.177",
        name: "Ceftriaxon 1g",
        strength: "1g",
        form: "Thuốc bột pha tiêm",
        route: "2.15",
        route_name: "Tiêm tĩnh mạch",
        unit: "Lọ",
        per_dose: 1,
        doses_per_day: 2,
        unit_price: 19_500,
        registration: "VD-26743-17",
    },
    // D_CEFAZOLIN
    Drug {
        code: "40.164",
        name: "Cefazolin 1g",
        strength: "1g",
        form: "Thuốc bột pha tiêm",
        route: "2.15",
        route_name: "Tiêm tĩnh mạch",
        unit: "Lọ",
        per_dose: 1,
        doses_per_day: 2,
        unit_price: 16_800,
        registration: "VD-28390-17",
    },
    // D_AZITHROMYCIN
    Drug {
        code: "40.215",
        name: "Azithromycin 500mg",
        strength: "500mg",
        form: "Viên nén bao phim",
        route: "1.01",
        route_name: "Uống",
        unit: "Viên",
        per_dose: 1,
        doses_per_day: 1,
        unit_price: 4_600,
        registration: "VD-25118-16",
    },
    // D_METRONIDAZOLE_IV
    Drug {
        code: "40.226",
        name: "Metronidazol 500mg/100ml",
        strength: "500mg/100ml",
        form: "Dịch truyền",
        route: "2.16",
        route_name: "Truyền tĩnh mạch",
        unit: "Chai",
        per_dose: 1,
        doses_per_day: 3,
        unit_price: 11_800,
        registration: "VD-24407-16",
    },
    // D_CIPROFLOXACIN
    Drug {
        code: "40.234",
        name: "Ciprofloxacin 500mg",
        strength: "500mg",
        form: "Viên nén bao phim",
        route: "1.01",
        route_name: "Uống",
        unit: "Viên",
        per_dose: 1,
        doses_per_day: 2,
        unit_price: 760,
        registration: "VD-21943-14",
    },
    // D_OMEPRAZOLE
    Drug {
        code: "40.677",
        name: "Omeprazol 20mg",
        strength: "20mg",
        form: "Viên nang cứng",
        route: "1.01",
        route_name: "Uống",
        unit: "Viên",
        per_dose: 1,
        doses_per_day: 2,
        unit_price: 380,
        registration: "VD-22318-15",
    },
    // D_ESOMEPRAZOLE
    Drug {
        code: "40.673",
        name: "Esomeprazol 40mg",
        strength: "40mg",
        form: "Viên nén bao tan trong ruột",
        route: "1.01",
        route_name: "Uống",
        unit: "Viên",
        per_dose: 1,
        doses_per_day: 1,
        unit_price: 3_200,
        registration: "VD-32075-19",
    },
    // D_DOMPERIDONE
    Drug {
        code: "40.690",
        name: "Domperidon 10mg",
        strength: "10mg",
        form: "Viên nén",
        route: "1.01",
        route_name: "Uống",
        unit: "Viên",
        per_dose: 1,
        doses_per_day: 3,
        unit_price: 170,
        registration: "VD-20761-14",
    },
    // D_DROTAVERINE
    Drug {
        code: "40.696",
        name: "Drotaverin hydroclorid 40mg",
        strength: "40mg",
        form: "Viên nén",
        route: "1.01",
        route_name: "Uống",
        unit: "Viên",
        per_dose: 1,
        doses_per_day: 3,
        unit_price: 430,
        registration: "VD-23920-15",
    },
    // D_LOPERAMIDE
    Drug {
        code: "40.706",
        name: "Loperamid 2mg",
        strength: "2mg",
        form: "Viên nang cứng",
        route: "1.01",
        route_name: "Uống",
        unit: "Viên",
        per_dose: 1,
        doses_per_day: 2,
        unit_price: 240,
        registration: "VD-18652-13",
    },
    // D_ORESOL
    Drug {
        code: "40.719",
        name: "Oresol 245",
        strength: "4,1g",
        form: "Thuốc bột pha dung dịch uống",
        route: "1.01",
        route_name: "Uống",
        unit: "Gói",
        per_dose: 1,
        doses_per_day: 3,
        unit_price: 1_450,
        registration: "VD-25873-16",
    },
    // D_ZINC
    Drug {
        code: "40.1054",
        name: "Kẽm gluconat 70mg",
        strength: "70mg (tương đương 10mg kẽm)",
        form: "Thuốc cốm",
        route: "1.01",
        route_name: "Uống",
        unit: "Gói",
        per_dose: 1,
        doses_per_day: 1,
        unit_price: 2_100,
        registration: "VD-30219-18",
    },
    // D_METFORMIN
    Drug {
        code: "40.771",
        name: "Metformin hydroclorid 850mg",
        strength: "850mg",
        form: "Viên nén bao phim",
        route: "1.01",
        route_name: "Uống",
        unit: "Viên",
        per_dose: 1,
        doses_per_day: 2,
        unit_price: 520,
        registration: "VD-26129-17",
    },
    // D_GLICLAZIDE
    Drug {
        code: "40.765",
        name: "Gliclazid 30mg",
        strength: "30mg",
        form: "Viên nén giải phóng có kiểm soát",
        route: "1.01",
        route_name: "Uống",
        unit: "Viên",
        per_dose: 1,
        doses_per_day: 1,
        unit_price: 1_180,
        registration: "VD-28847-18",
    },
    // D_INSULIN
    Drug {
        code: "40.757",
        name: "Insulin người tác dụng nhanh 100 IU/ml",
        strength: "1000 IU/10ml",
        form: "Dung dịch tiêm",
        route: ROUTE_SUBCUTANEOUS,
        route_name: "Tiêm dưới da",
        unit: "Lọ",
        per_dose: 1,
        doses_per_day: 1,
        unit_price: 87_500,
        registration: "VN-21358-18",
    },
    // D_AMLODIPINE
    Drug {
        code: "40.452",
        name: "Amlodipin 5mg",
        strength: "5mg",
        form: "Viên nén",
        route: "1.01",
        route_name: "Uống",
        unit: "Viên",
        per_dose: 1,
        doses_per_day: 1,
        unit_price: 190,
        registration: "VD-21207-14",
    },
    // D_LOSARTAN
    Drug {
        code: "40.470",
        name: "Losartan kali 50mg",
        strength: "50mg",
        form: "Viên nén bao phim",
        route: "1.01",
        route_name: "Uống",
        unit: "Viên",
        per_dose: 1,
        doses_per_day: 1,
        unit_price: 610,
        registration: "VD-27689-17",
    },
    // D_ENALAPRIL
    Drug {
        code: "40.463",
        name: "Enalapril maleat 5mg",
        strength: "5mg",
        form: "Viên nén",
        route: "1.01",
        route_name: "Uống",
        unit: "Viên",
        per_dose: 1,
        doses_per_day: 2,
        unit_price: 240,
        registration: "VD-19476-13",
    },
    // D_BISOPROLOL
    Drug {
        code: "40.456",
        name: "Bisoprolol fumarat 2,5mg",
        strength: "2,5mg",
        form: "Viên nén bao phim",
        route: "1.01",
        route_name: "Uống",
        unit: "Viên",
        per_dose: 1,
        doses_per_day: 1,
        unit_price: 690,
        registration: "VD-29753-18",
    },
    // D_ATORVASTATIN
    Drug {
        code: "40.520",
        name: "Atorvastatin 20mg",
        strength: "20mg",
        form: "Viên nén bao phim",
        route: "1.01",
        route_name: "Uống",
        unit: "Viên",
        per_dose: 1,
        doses_per_day: 1,
        unit_price: 560,
        registration: "VD-24962-16",
    },
    // D_ROSUVASTATIN
    Drug {
        code: "40.531",
        name: "Rosuvastatin 10mg",
        strength: "10mg",
        form: "Viên nén bao phim",
        route: "1.01",
        route_name: "Uống",
        unit: "Viên",
        per_dose: 1,
        doses_per_day: 1,
        unit_price: 1_240,
        registration: "VD-31608-19",
    },
    // D_ASPIRIN_81
    Drug {
        code: "40.30",
        name: "Aspirin 81mg",
        strength: "81mg",
        form: "Viên nén bao tan trong ruột",
        route: "1.01",
        route_name: "Uống",
        unit: "Viên",
        per_dose: 1,
        doses_per_day: 1,
        unit_price: 150,
        registration: "VD-22584-15",
    },
    // D_CLOPIDOGREL
    Drug {
        code: "40.498",
        name: "Clopidogrel 75mg",
        strength: "75mg",
        form: "Viên nén bao phim",
        route: "1.01",
        route_name: "Uống",
        unit: "Viên",
        per_dose: 1,
        doses_per_day: 1,
        unit_price: 1_450,
        registration: "VD-28516-17",
    },
    // D_FUROSEMIDE
    Drug {
        code: "40.612",
        name: "Furosemid 40mg",
        strength: "40mg",
        form: "Viên nén",
        route: "1.01",
        route_name: "Uống",
        unit: "Viên",
        per_dose: 1,
        doses_per_day: 1,
        unit_price: 140,
        registration: "VD-20135-13",
    },
    // D_FUROSEMIDE_INJ
    Drug {
        code: "40.612",
        name: "Furosemid 20mg/2ml",
        strength: "20mg/2ml",
        form: "Dung dịch tiêm",
        route: "2.15",
        route_name: "Tiêm tĩnh mạch",
        unit: "Ống",
        per_dose: 1,
        doses_per_day: 2,
        unit_price: 1_950,
        registration: "VD-23648-15",
    },
    // D_SALBUTAMOL_TABLET
    Drug {
        code: "40.975",
        name: "Salbutamol 2mg",
        strength: "2mg",
        form: "Viên nén",
        route: "1.01",
        route_name: "Uống",
        unit: "Viên",
        per_dose: 1,
        doses_per_day: 3,
        unit_price: 110,
        registration: "VD-17943-12",
    },
    // D_SALBUTAMOL_NEBULE
    Drug {
        code: "40.975",
        name: "Salbutamol 2,5mg/2,5ml",
        strength: "2,5mg/2,5ml",
        form: "Dung dịch khí dung",
        route: "3.05",
        route_name: "Khí dung",
        unit: "Ống",
        per_dose: 1,
        doses_per_day: 3,
        unit_price: 4_600,
        registration: "VN-20817-17",
    },
    // D_BUDESONIDE
    Drug {
        code: "40.731",
        name: "Budesonid 0,5mg/2ml",
        strength: "0,5mg/2ml",
        form: "Hỗn dịch khí dung",
        route: "3.05",
        route_name: "Khí dung",
        unit: "Ống",
        per_dose: 1,
        doses_per_day: 2,
        unit_price: 13_200,
        registration: "VN-21945-19",
    },
    // D_PREDNISOLONE
    Drug {
        code: "40.745",
        name: "Prednisolon 5mg",
        strength: "5mg",
        form: "Viên nén",
        route: "1.01",
        route_name: "Uống",
        unit: "Viên",
        per_dose: 2,
        doses_per_day: 2,
        unit_price: 120,
        registration: "VD-21586-14",
    },
    // D_METHYLPREDNISOLONE_INJ
    Drug {
        code: "40.740",
        name: "Methylprednisolon 40mg",
        strength: "40mg",
        form: "Thuốc bột pha tiêm",
        route: "2.15",
        route_name: "Tiêm tĩnh mạch",
        unit: "Lọ",
        per_dose: 1,
        doses_per_day: 1,
        unit_price: 26_500,
        registration: "VN-22603-20",
    },
    // D_CETIRIZINE
    Drug {
        code: "40.74",
        name: "Cetirizin dihydroclorid 10mg",
        strength: "10mg",
        form: "Viên nén bao phim",
        route: "1.01",
        route_name: "Uống",
        unit: "Viên",
        per_dose: 1,
        doses_per_day: 1,
        unit_price: 120,
        registration: "VD-25736-16",
    },
    // D_LORATADINE
    Drug {
        code: "40.81",
        name: "Loratadin 10mg",
        strength: "10mg",
        form: "Viên nén",
        route: "1.01",
        route_name: "Uống",
        unit: "Viên",
        per_dose: 1,
        doses_per_day: 1,
        unit_price: 130,
        registration: "VD-23094-15",
    },
    // D_VITAMIN_B1_B6_B12
    Drug {
        code: "40.1047",
        name: "Vitamin B1 + B6 + B12",
        strength: "100mg + 200mg + 200mcg",
        form: "Viên nén bao phim",
        route: "1.01",
        route_name: "Uống",
        unit: "Viên",
        per_dose: 1,
        doses_per_day: 2,
        unit_price: 480,
        registration: "VD-27312-17",
    },
    // D_CALCIUM_D3
    Drug {
        code: "40.1021",
        name: "Calci carbonat + Vitamin D3",
        strength: "1250mg + 125 IU",
        form: "Viên nén",
        route: "1.01",
        route_name: "Uống",
        unit: "Viên",
        per_dose: 1,
        doses_per_day: 1,
        unit_price: 950,
        registration: "VD-30447-18",
    },
    // D_IRON_FOLIC_ACID
    Drug {
        code: "40.429",
        name: "Sắt fumarat + Acid folic",
        strength: "305mg + 0,35mg",
        form: "Viên nang cứng",
        route: "1.01",
        route_name: "Uống",
        unit: "Viên",
        per_dose: 1,
        doses_per_day: 1,
        unit_price: 1_150,
        registration: "VD-28934-18",
    },
    // D_PROGESTERONE
    Drug {
        code: "40.792",
        name: "Progesteron 200mg",
        strength: "200mg",
        form: "Viên nang mềm",
        route: "1.01",
        route_name: "Uống",
        unit: "Viên",
        per_dose: 1,
        doses_per_day: 2,
        unit_price: 9_600,
        registration: "VN-22148-19",
    },
    // D_OXYTOCIN
    Drug {
        code: "40.880",
        name: "Oxytocin 5 IU/ml",
        strength: "5 IU/1ml",
        form: "Dung dịch tiêm",
        route: "2.10",
        route_name: "Tiêm bắp",
        unit: "Ống",
        per_dose: 2,
        doses_per_day: 1,
        unit_price: 4_300,
        registration: "VN-20952-17",
    },
    // D_LEVOTHYROXINE
    Drug {
        code: "40.785",
        name: "Levothyroxin natri 50mcg",
        strength: "50mcg",
        form: "Viên nén",
        route: "1.01",
        route_name: "Uống",
        unit: "Viên",
        per_dose: 1,
        doses_per_day: 1,
        unit_price: 540,
        registration: "VN-21733-18",
    },
    // D_SERTRALINE
    Drug {
        code: "40.945",
        name: "Sertralin 50mg",
        strength: "50mg",
        form: "Viên nén bao phim",
        route: "1.01",
        route_name: "Uống",
        unit: "Viên",
        per_dose: 1,
        doses_per_day: 1,
        unit_price: 1_950,
        registration: "VD-29164-18",
    },
    // D_SODIUM_CHLORIDE_09
    Drug {
        code: "40.1003",
        name: "Natri clorid 0,9%",
        strength: "0,9% - 500ml",
        form: "Dịch truyền",
        route: "2.16",
        route_name: "Truyền tĩnh mạch",
        unit: "Chai",
        per_dose: 1,
        doses_per_day: 2,
        unit_price: 9_800,
        registration: "VD-21734-14",
    },
    // D_GLUCOSE_5
    Drug {
        code: "40.991",
        name: "Glucose 5%",
        strength: "5% - 500ml",
        form: "Dịch truyền",
        route: "2.16",
        route_name: "Truyền tĩnh mạch",
        unit: "Chai",
        per_dose: 1,
        doses_per_day: 1,
        unit_price: 10_500,
        registration: "VD-22871-15",
    },
    // D_RINGER_LACTATE
    Drug {
        code: "40.1009",
        name: "Ringer lactat",
        strength: "500ml",
        form: "Dịch truyền",
        route: "2.16",
        route_name: "Truyền tĩnh mạch",
        unit: "Chai",
        per_dose: 1,
        doses_per_day: 2,
        unit_price: 11_200,
        registration: "VD-23459-15",
    },
    // D_OXYGEN
    Drug {
        code: "40.17",
        name: "Oxy dược dụng",
        strength: "99,5%",
        form: "Khí nén",
        route: "3.05",
        route_name: "Đường hô hấp",
        unit: "Lít",
        per_dose: 120,
        doses_per_day: 24,
        unit_price: 22,
        registration: "",
    },
    // D_POVIDONE_IODINE
    Drug {
        code: "40.866",
        name: "Povidon iod 10%",
        strength: "10% - 20ml",
        form: "Dung dịch dùng ngoài",
        route: "4.04",
        route_name: "Dùng ngoài",
        unit: "Lọ",
        per_dose: 1,
        doses_per_day: 1,
        unit_price: 9_500,
        registration: "VD-24350-16",
    },
];

// ---------------------------------------------------------------------------
// Paraclinical services
// ---------------------------------------------------------------------------

// Indices into PARACLINICALS; each entry below is preceded by its constant's name.
const T_CBC: usize = 0;
const T_GLUCOSE: usize = 1;
const T_HBA1C: usize = 2;
const T_CREATININE: usize = 3;
const T_UREA: usize = 4;
const T_AST: usize = 5;
const T_ALT: usize = 6;
const T_CHOLESTEROL: usize = 7;
const T_TRIGLYCERIDE: usize = 8;
const T_HDL: usize = 9;
const T_LDL: usize = 10;
const T_CRP: usize = 11;
const T_URINALYSIS: usize = 12;
const T_ELECTROLYTES: usize = 13;
const T_TROPONIN: usize = 14;
const T_TSH: usize = 15;
const T_FT4: usize = 16;
const T_PROTHROMBIN: usize = 17;
const T_FERRITIN: usize = 18;
const T_XRAY_CHEST: usize = 19;
const T_XRAY_FOREARM: usize = 20;
const T_XRAY_KNEE: usize = 21;
const T_XRAY_LUMBAR: usize = 22;
const T_US_ABDOMEN: usize = 23;
const T_US_THYROID: usize = 24;
const T_US_OBSTETRIC: usize = 25;
const T_ECHOCARDIOGRAPHY: usize = 26;
const T_CT_BRAIN: usize = 27;
const T_MRI_KNEE: usize = 28;
const T_ECG: usize = 29;
const T_SPIROMETRY: usize = 30;
const T_GASTROSCOPY: usize = 31;
const T_EEG: usize = 32;

/// Paraclinical services: laboratory tests (group 1) with their indicators, then imaging
/// (group 2) and functional tests (group 3) with a normal and an abnormal report.
pub static PARACLINICALS: &[Paraclinical] = &[
    // T_CBC
    Paraclinical {
        code: "22.0120.1370",
        name: "Tổng phân tích tế bào máu ngoại vi (bằng máy đếm laser)",
        group: "1",
        price: 46_200,
        indicators: &[
            Indicator {
                code: "WBC",
                name: "Số lượng bạch cầu (WBC)",
                unit: "G/L",
                low: "4.0",
                high: "10.0",
                decimals: 2,
            },
            Indicator {
                code: "RBC",
                name: "Số lượng hồng cầu (RBC)",
                unit: "T/L",
                low: "3.8",
                high: "5.5",
                decimals: 2,
            },
            Indicator {
                code: "HGB",
                name: "Lượng huyết sắc tố (HGB)",
                unit: "g/L",
                low: "120",
                high: "160",
                decimals: 0,
            },
            Indicator {
                code: "HCT",
                name: "Hematocrit (HCT)",
                unit: "%",
                low: "36",
                high: "48",
                decimals: 1,
            },
            Indicator {
                code: "PLT",
                name: "Số lượng tiểu cầu (PLT)",
                unit: "G/L",
                low: "150",
                high: "400",
                decimals: 0,
            },
        ],
        normal: ("", ""),
        abnormal: ("", ""),
    },
    // T_GLUCOSE
    Paraclinical {
        code: "23.0075.1494",
        name: "Định lượng Glucose [Máu]",
        group: "1",
        price: 21_500,
        indicators: &[Indicator {
            code: "GLU",
            name: "Glucose",
            unit: "mmol/L",
            low: "3.9",
            high: "6.4",
            decimals: 1,
        }],
        normal: ("", ""),
        abnormal: ("", ""),
    },
    // T_HBA1C
    Paraclinical {
        code: "23.0083.1523",
        name: "Định lượng HbA1c [Máu]",
        group: "1",
        price: 101_000,
        indicators: &[Indicator {
            code: "HBA1C",
            name: "HbA1c",
            unit: "%",
            low: "4.0",
            high: "6.0",
            decimals: 1,
        }],
        normal: ("", ""),
        abnormal: ("", ""),
    },
    // T_CREATININE
    Paraclinical {
        code: "23.0051.1487",
        name: "Định lượng Creatinin [Máu]",
        group: "1",
        price: 21_500,
        indicators: &[Indicator {
            code: "CREA",
            name: "Creatinin",
            unit: "µmol/L",
            low: "62",
            high: "120",
            decimals: 0,
        }],
        normal: ("", ""),
        abnormal: ("", ""),
    },
    // T_UREA
    Paraclinical {
        code: "23.0166.1506",
        name: "Định lượng Urê [Máu]",
        group: "1",
        price: 21_500,
        indicators: &[Indicator {
            code: "UREA",
            name: "Urê",
            unit: "mmol/L",
            low: "2.5",
            high: "7.5",
            decimals: 1,
        }],
        normal: ("", ""),
        abnormal: ("", ""),
    },
    // T_AST
    Paraclinical {
        code: "23.0020.1493",
        name: "Đo hoạt độ AST (GOT) [Máu]",
        group: "1",
        price: 21_500,
        indicators: &[Indicator {
            code: "AST",
            name: "AST (GOT)",
            unit: "U/L",
            low: "0",
            high: "37",
            decimals: 0,
        }],
        normal: ("", ""),
        abnormal: ("", ""),
    },
    // T_ALT
    Paraclinical {
        code: "23.0019.1492",
        name: "Đo hoạt độ ALT (GPT) [Máu]",
        group: "1",
        price: 21_500,
        indicators: &[Indicator {
            code: "ALT",
            name: "ALT (GPT)",
            unit: "U/L",
            low: "0",
            high: "40",
            decimals: 0,
        }],
        normal: ("", ""),
        abnormal: ("", ""),
    },
    // T_CHOLESTEROL
    Paraclinical {
        code: "23.0041.1508",
        name: "Định lượng Cholesterol toàn phần [Máu]",
        group: "1",
        price: 26_900,
        indicators: &[Indicator {
            code: "CHOL",
            name: "Cholesterol toàn phần",
            unit: "mmol/L",
            low: "3.9",
            high: "5.2",
            decimals: 2,
        }],
        normal: ("", ""),
        abnormal: ("", ""),
    },
    // T_TRIGLYCERIDE
    Paraclinical {
        code: "23.0158.1509",
        name: "Định lượng Triglycerid [Máu]",
        group: "1",
        price: 26_900,
        indicators: &[Indicator {
            code: "TG",
            name: "Triglycerid",
            unit: "mmol/L",
            low: "0.46",
            high: "1.88",
            decimals: 2,
        }],
        normal: ("", ""),
        abnormal: ("", ""),
    },
    // T_HDL
    Paraclinical {
        code: "23.0084.1510",
        name: "Định lượng HDL-C (High density lipoprotein Cholesterol) [Máu]",
        group: "1",
        price: 26_900,
        indicators: &[Indicator {
            code: "HDLC",
            name: "HDL-C",
            unit: "mmol/L",
            low: "0.9",
            high: "2.0",
            decimals: 2,
        }],
        normal: ("", ""),
        abnormal: ("", ""),
    },
    // T_LDL
    Paraclinical {
        code: "23.0112.1511",
        name: "Định lượng LDL-C (Low density lipoprotein Cholesterol) [Máu]",
        group: "1",
        price: 26_900,
        indicators: &[Indicator {
            code: "LDLC",
            name: "LDL-C",
            unit: "mmol/L",
            low: "0",
            high: "3.4",
            decimals: 2,
        }],
        normal: ("", ""),
        abnormal: ("", ""),
    },
    // T_CRP
    Paraclinical {
        code: "23.0058.1532",
        name: "Định lượng CRP [Máu]",
        group: "1",
        price: 53_800,
        indicators: &[Indicator {
            code: "CRP",
            name: "CRP",
            unit: "mg/L",
            low: "0",
            high: "5",
            decimals: 1,
        }],
        normal: ("", ""),
        abnormal: ("", ""),
    },
    // T_URINALYSIS
    Paraclinical {
        code: "23.0206.1596",
        name: "Tổng phân tích nước tiểu (Bằng máy tự động)",
        group: "1",
        price: 27_400,
        indicators: &[
            Indicator {
                code: "UPH",
                name: "pH nước tiểu",
                unit: "",
                low: "4.8",
                high: "7.4",
                decimals: 1,
            },
            Indicator {
                code: "USG",
                name: "Tỷ trọng nước tiểu",
                unit: "",
                low: "1.010",
                high: "1.025",
                decimals: 3,
            },
            Indicator {
                code: "UPRO",
                name: "Protein nước tiểu",
                unit: "g/L",
                low: "0",
                high: "0.1",
                decimals: 2,
            },
        ],
        normal: ("", ""),
        abnormal: ("", ""),
    },
    // T_ELECTROLYTES
    Paraclinical {
        code: "23.0066.1512",
        name: "Điện giải đồ (Na, K, Cl) [Máu]",
        group: "1",
        price: 29_000,
        indicators: &[
            Indicator {
                code: "NA",
                name: "Natri (Na+)",
                unit: "mmol/L",
                low: "135",
                high: "145",
                decimals: 0,
            },
            Indicator {
                code: "K",
                name: "Kali (K+)",
                unit: "mmol/L",
                low: "3.5",
                high: "5.0",
                decimals: 1,
            },
            Indicator {
                code: "CL",
                name: "Clo (Cl-)",
                unit: "mmol/L",
                low: "98",
                high: "106",
                decimals: 0,
            },
        ],
        normal: ("", ""),
        abnormal: ("", ""),
    },
    // T_TROPONIN
    Paraclinical {
        code: "23.0162.1588",
        name: "Định lượng Troponin T hs [Máu]",
        group: "1",
        price: 75_400,
        indicators: &[Indicator {
            code: "TNTHS",
            name: "Troponin T hs",
            unit: "ng/L",
            low: "0",
            high: "14",
            decimals: 1,
        }],
        normal: ("", ""),
        abnormal: ("", ""),
    },
    // T_TSH
    Paraclinical {
        code: "23.0159.1571",
        name: "Định lượng TSH (Thyroid Stimulating hormone) [Máu]",
        group: "1",
        price: 58_900,
        indicators: &[Indicator {
            code: "TSH",
            name: "TSH",
            unit: "mIU/L",
            low: "0.27",
            high: "4.2",
            decimals: 2,
        }],
        normal: ("", ""),
        abnormal: ("", ""),
    },
    // T_FT4
    Paraclinical {
        code: "23.0072.1568",
        name: "Định lượng FT4 (Free Thyroxine) [Máu]",
        group: "1",
        price: 64_600,
        indicators: &[Indicator {
            code: "FT4",
            name: "FT4",
            unit: "pmol/L",
            low: "12",
            high: "22",
            decimals: 1,
        }],
        normal: ("", ""),
        abnormal: ("", ""),
    },
    // T_PROTHROMBIN
    Paraclinical {
        code: "22.0001.1352",
        name: "Thời gian prothrombin (PT: Prothrombin Time) bằng máy tự động",
        group: "1",
        price: 63_500,
        indicators: &[
            Indicator {
                code: "PT",
                name: "Thời gian prothrombin (PT)",
                unit: "s",
                low: "10",
                high: "14",
                decimals: 1,
            },
            Indicator {
                code: "PTPCT",
                name: "Tỷ lệ prothrombin (PT%)",
                unit: "%",
                low: "70",
                high: "140",
                decimals: 0,
            },
            Indicator {
                code: "INR",
                name: "INR",
                unit: "",
                low: "0.8",
                high: "1.2",
                decimals: 2,
            },
        ],
        normal: ("", ""),
        abnormal: ("", ""),
    },
    // T_FERRITIN
    Paraclinical {
        code: "23.0070.1563",
        name: "Định lượng Ferritin [Máu]",
        group: "1",
        price: 80_800,
        indicators: &[Indicator {
            code: "FERR",
            name: "Ferritin",
            unit: "ng/mL",
            low: "20",
            high: "250",
            decimals: 1,
        }],
        normal: ("", ""),
        abnormal: ("", ""),
    },
    // T_XRAY_CHEST
    Paraclinical {
        code: "18.0119.0028",
        name: "Chụp X-quang ngực thẳng",
        group: "2",
        price: 65_400,
        indicators: &[],
        normal: (
            "Hai phế trường sáng đều, không thấy tổn thương nhu mô. Bóng tim không to. Góc sườn hoành hai bên nhọn.",
            "Hiện tại chưa phát hiện hình ảnh bệnh lý tim phổi trên phim X-quang.",
        ),
        abnormal: (
            "Đám mờ không đồng nhất vùng đáy phổi phải, có hình ảnh phế quản hơi, xóa bờ vòm hoành phải. Bóng tim không to.",
            "Hình ảnh viêm phổi thùy dưới phải.",
        ),
    },
    // T_XRAY_FOREARM
    Paraclinical {
        code: "18.0099.0029",
        name: "Chụp X-quang cẳng tay thẳng nghiêng",
        group: "2",
        price: 97_200,
        indicators: &[],
        normal: (
            "Cấu trúc xương quay và xương trụ bình thường, không thấy đường gãy. Khe khớp khuỷu và khớp cổ tay bình thường.",
            "Không thấy tổn thương xương cẳng tay.",
        ),
        abnormal: (
            "Đường gãy ngang đầu dưới xương quay cách mặt khớp 2cm, di lệch nhẹ ra sau, không tổn thương mặt khớp.",
            "Gãy đầu dưới xương quay.",
        ),
    },
    // T_XRAY_KNEE
    Paraclinical {
        code: "18.0110.0030",
        name: "Chụp X-quang khớp gối thẳng nghiêng",
        group: "2",
        price: 97_200,
        indicators: &[],
        normal: (
            "Khe khớp đùi chày đều hai bên, không thấy gai xương. Cấu trúc xương bình thường. Phần mềm quanh khớp không dày.",
            "Khớp gối bình thường trên phim X-quang.",
        ),
        abnormal: (
            "Hẹp khe khớp đùi chày trong, gai xương bờ mâm chày và lồi cầu đùi, đặc xương dưới sụn.",
            "Thoái hóa khớp gối (Kellgren-Lawrence độ II-III).",
        ),
    },
    // T_XRAY_LUMBAR
    Paraclinical {
        code: "18.0089.0031",
        name: "Chụp X-quang cột sống thắt lưng thẳng nghiêng",
        group: "2",
        price: 97_200,
        indicators: &[],
        normal: (
            "Đường cong sinh lý cột sống thắt lưng bình thường. Chiều cao thân đốt và khe đĩa đệm đều. Không thấy gai xương.",
            "Cột sống thắt lưng bình thường trên phim X-quang.",
        ),
        abnormal: (
            "Gai xương bờ trước thân đốt L3, L4, L5. Hẹp nhẹ khe đĩa đệm L4-L5. Đường cong sinh lý giảm.",
            "Thoái hóa cột sống thắt lưng.",
        ),
    },
    // T_US_ABDOMEN
    Paraclinical {
        code: "18.0015.0001",
        name: "Siêu âm ổ bụng (gan mật, tụy, lách, thận, bàng quang)",
        group: "2",
        price: 43_900,
        indicators: &[],
        normal: (
            "Gan không to, nhu mô đều, bờ đều. Đường mật trong và ngoài gan không giãn. Túi mật thành mỏng, không có sỏi. Tụy, lách không to. Hai thận không sỏi, không ứ nước. Bàng quang thành đều. Không có dịch ổ bụng.",
            "Hiện tại chưa phát hiện bất thường trên siêu âm ổ bụng.",
        ),
        abnormal: (
            "Túi mật kích thước bình thường, thành dày 4mm, trong lòng có nhiều nốt tăng âm kèm bóng cản, kích thước lớn nhất 15mm, di động theo tư thế. Đường mật không giãn.",
            "Sỏi túi mật.",
        ),
    },
    // T_US_THYROID
    Paraclinical {
        code: "18.0001.0001",
        name: "Siêu âm tuyến giáp",
        group: "2",
        price: 43_900,
        indicators: &[],
        normal: (
            "Hai thùy tuyến giáp kích thước bình thường, nhu mô đều, không thấy khối khu trú. Không thấy hạch vùng cổ.",
            "Tuyến giáp bình thường trên siêu âm.",
        ),
        abnormal: (
            "Tuyến giáp kích thước nhỏ, nhu mô giảm âm không đều lan tỏa. Thùy phải có nốt giảm âm 8x6mm, bờ đều, không vôi hóa.",
            "Hình ảnh viêm tuyến giáp mạn tính; nhân thùy phải tuyến giáp TIRADS 3.",
        ),
    },
    // T_US_OBSTETRIC
    Paraclinical {
        code: "18.0032.0001",
        name: "Siêu âm thai (thai, nhau thai, nước ối)",
        group: "2",
        price: 43_900,
        indicators: &[],
        normal: (
            "Một thai trong tử cung, tim thai đều 145 lần/phút. Các số đo sinh trắc tương ứng tuổi thai. Bánh rau bám mặt trước, độ trưởng thành II. Nước ối bình thường.",
            "Hiện tại một thai sống trong tử cung, phát triển tương ứng tuổi thai.",
        ),
        abnormal: (
            "Túi thai trong buồng tử cung, có phôi và tim thai. Khối dịch bóc tách sau túi thai kích thước 15x8mm.",
            "Thai trong tử cung có tim thai; bóc tách nhỏ sau túi thai.",
        ),
    },
    // T_ECHOCARDIOGRAPHY
    Paraclinical {
        code: "18.0052.0004",
        name: "Siêu âm tim, màng tim qua thành ngực",
        group: "2",
        price: 233_000,
        indicators: &[],
        normal: (
            "Các buồng tim không giãn. Vận động các thành tim đều. Các van tim hoạt động bình thường. Không có dịch màng ngoài tim. EF (Simpson) 65%.",
            "Hình thái và chức năng tim trong giới hạn bình thường.",
        ),
        abnormal: (
            "Thất trái giãn, Dd 62mm. Giảm vận động lan tỏa các thành thất trái. Hở van hai lá 2/4. EF (Simpson) 35%.",
            "Giãn thất trái, giảm chức năng tâm thu thất trái (EF 35%), hở van hai lá vừa.",
        ),
    },
    // T_CT_BRAIN
    Paraclinical {
        code: "18.0163.0041",
        name: "Chụp cắt lớp vi tính sọ não không tiêm thuốc cản quang",
        group: "2",
        price: 522_000,
        indicators: &[],
        normal: (
            "Nhu mô não hai bán cầu không thấy ổ tăng hoặc giảm tỷ trọng bất thường. Hệ thống não thất không giãn. Đường giữa không lệch. Xương sọ không thấy đường vỡ.",
            "Hiện tại chưa phát hiện tổn thương nhu mô não trên phim cắt lớp vi tính.",
        ),
        abnormal: (
            "Ổ giảm tỷ trọng vùng nhân bèo và bao trong bên trái, kích thước 25x18mm, không gây hiệu ứng khối. Đường giữa không lệch.",
            "Nhồi máu não vùng nhân bèo - bao trong bên trái.",
        ),
    },
    // T_MRI_KNEE
    Paraclinical {
        code: "18.0279.0069",
        name: "Chụp cộng hưởng từ khớp gối (0.2-1.5T)",
        group: "2",
        price: 1_312_000,
        indicators: &[],
        normal: (
            "Các dây chằng chéo trước, chéo sau, bên trong, bên ngoài liên tục, tín hiệu bình thường. Sụn chêm trong và ngoài không rách. Sụn khớp đều. Không tràn dịch khớp.",
            "Hiện tại chưa phát hiện tổn thương khớp gối trên cộng hưởng từ.",
        ),
        abnormal: (
            "Sụn khớp lồi cầu đùi trong mỏng không đều, gai xương bờ khớp, phù tủy xương dưới sụn mâm chày trong. Rách độ II sừng sau sụn chêm trong. Tràn dịch khớp lượng ít.",
            "Thoái hóa khớp gối, rách sừng sau sụn chêm trong, tràn dịch khớp lượng ít.",
        ),
    },
    // T_ECG
    Paraclinical {
        code: "21.0014.1778",
        name: "Điện tim thường",
        group: "3",
        price: 32_800,
        indicators: &[],
        normal: (
            "Nhịp xoang đều, tần số 78 lần/phút. Trục trung gian. Không thấy biến đổi ST-T.",
            "Điện tâm đồ trong giới hạn bình thường.",
        ),
        abnormal: (
            "Nhịp xoang 88 lần/phút. Trục trái. Chỉ số Sokolow-Lyon 40mm. ST chênh xuống, T âm ở V5, V6.",
            "Dày thất trái, thiếu máu cơ tim thành bên.",
        ),
    },
    // T_SPIROMETRY
    Paraclinical {
        code: "21.0050.1791",
        name: "Đo chức năng hô hấp",
        group: "3",
        price: 137_000,
        indicators: &[],
        normal: (
            "FVC 92% lý thuyết, FEV1 90% lý thuyết, FEV1/FVC 0,81.",
            "Chức năng thông khí phổi trong giới hạn bình thường.",
        ),
        abnormal: (
            "FVC 85% lý thuyết, FEV1 58% lý thuyết, FEV1/FVC 0,62 sau test giãn phế quản; test hồi phục phế quản âm tính.",
            "Rối loạn thông khí tắc nghẽn mức độ trung bình, không hồi phục với thuốc giãn phế quản.",
        ),
    },
    // T_GASTROSCOPY
    Paraclinical {
        code: "20.0080.0133",
        name: "Nội soi thực quản - dạ dày - tá tràng",
        group: "3",
        price: 251_000,
        indicators: &[],
        normal: (
            "Thực quản niêm mạc hồng, tâm vị đóng kín. Dạ dày dịch trong, niêm mạc thân vị và hang vị bình thường. Môn vị tròn đều. Hành tá tràng và tá tràng D2 bình thường.",
            "Hình ảnh nội soi thực quản - dạ dày - tá tràng bình thường.",
        ),
        abnormal: (
            "Niêm mạc hang vị xung huyết, phù nề, có vài vết trợt nông rải rác. Đường Z có vết trợt dài dưới 5mm.",
            "Viêm dạ dày hang vị xung huyết, trợt; viêm thực quản trào ngược độ A (phân loại Los Angeles).",
        ),
    },
    // T_EEG
    Paraclinical {
        code: "21.0085.1797",
        name: "Điện não đồ thông thường",
        group: "3",
        price: 64_100,
        indicators: &[],
        normal: (
            "Hoạt động nền nhịp alpha 9-10 Hz, biên độ trung bình, cân đối hai bán cầu, đáp ứng tốt khi mở mắt. Không thấy sóng bệnh lý.",
            "Điện não đồ trong giới hạn bình thường.",
        ),
        abnormal: (
            "Hoạt động nền chậm nhẹ, rải rác sóng theta 5-6 Hz vùng thái dương trái, không thấy sóng kịch phát dạng động kinh.",
            "Rối loạn nhẹ hoạt động điện não vùng thái dương trái.",
        ),
    },
];

// ---------------------------------------------------------------------------
// Procedures and surgery
// ---------------------------------------------------------------------------

// Indices into PROCEDURES; each entry below is preceded by its constant's name.
const P_APPENDECTOMY: usize = 0;
const P_CAESAREAN: usize = 1;
const P_CHOLECYSTECTOMY: usize = 2;
const P_HERNIA_REPAIR: usize = 3;
const P_RADIUS_FIXATION: usize = 4;
const P_CLOSED_REDUCTION: usize = 5;
const P_WOUND_SUTURE: usize = 6;
const P_DRESSING: usize = 7;
const P_NEBULISER: usize = 8;
const P_NORMAL_DELIVERY: usize = 9;
const P_URINARY_CATHETER: usize = 10;
const P_GASTRIC_LAVAGE: usize = 11;
const P_PHACO: usize = 12;
const P_HAEMODIALYSIS: usize = 13;

/// Procedures (MA_NHOM 18) and surgery (MA_NHOM 8) with their ICD-9 CM codes.
pub static PROCEDURES: &[Procedure] = &[
    // P_APPENDECTOMY
    Procedure {
        code: "27.0180.0540",
        name: "Phẫu thuật nội soi cắt ruột thừa",
        group: "8",
        icd9: "47.01",
        price: 2_916_000,
        anaesthesia: "1",
    },
    // P_CAESAREAN
    Procedure {
        code: "13.0001.0671",
        name: "Phẫu thuật lấy thai lần đầu",
        group: "8",
        icd9: "74.1",
        price: 2_593_000,
        anaesthesia: "2",
    },
    // P_CHOLECYSTECTOMY
    Procedure {
        code: "27.0240.0551",
        name: "Phẫu thuật nội soi cắt túi mật",
        group: "8",
        icd9: "51.23",
        price: 3_542_000,
        anaesthesia: "1",
    },
    // P_HERNIA_REPAIR
    Procedure {
        code: "10.0490.0553",
        name: "Phẫu thuật điều trị thoát vị bẹn bằng phương pháp Lichtenstein",
        group: "8",
        icd9: "53.05",
        price: 3_021_000,
        anaesthesia: "2",
    },
    // P_RADIUS_FIXATION
    Procedure {
        code: "10.0880.0573",
        name: "Phẫu thuật kết hợp xương gãy đầu dưới xương quay",
        group: "8",
        icd9: "79.32",
        price: 3_650_000,
        anaesthesia: "2",
    },
    // P_CLOSED_REDUCTION
    Procedure {
        code: "10.0982.0226",
        name: "Nắn, bó bột gãy xương cẳng tay",
        group: "18",
        icd9: "79.02",
        price: 305_000,
        anaesthesia: "",
    },
    // P_WOUND_SUTURE
    Procedure {
        code: "03.3826.0216",
        name: "Khâu vết thương phần mềm tổn thương nông chiều dài < 10 cm",
        group: "18",
        icd9: "86.59",
        price: 204_000,
        anaesthesia: "2",
    },
    // P_DRESSING
    Procedure {
        code: "03.3911.0200",
        name: "Thay băng vết thương hoặc vết mổ chiều dài ≤ 15cm",
        group: "18",
        icd9: "93.57",
        price: 57_600,
        anaesthesia: "",
    },
    // P_NEBULISER
    Procedure {
        code: "02.0331.0060",
        name: "Khí dung thuốc cấp cứu (một lần)",
        group: "18",
        icd9: "93.94",
        price: 20_400,
        anaesthesia: "",
    },
    // P_NORMAL_DELIVERY
    Procedure {
        code: "13.0046.0683",
        name: "Đỡ đẻ thường ngôi chỏm",
        group: "18",
        icd9: "73.59",
        price: 706_000,
        anaesthesia: "",
    },
    // P_URINARY_CATHETER
    Procedure {
        code: "03.0059.0210",
        name: "Đặt sonde bàng quang",
        group: "18",
        icd9: "57.94",
        price: 90_100,
        anaesthesia: "",
    },
    // P_GASTRIC_LAVAGE
    Procedure {
        code: "01.0226.0105",
        name: "Rửa dạ dày cấp cứu",
        group: "18",
        icd9: "96.33",
        price: 118_000,
        anaesthesia: "",
    },
    // P_PHACO
    Procedure {
        code: "14.0186.0764",
        name: "Phẫu thuật đục thể thủy tinh bằng phương pháp Phaco (01 mắt)",
        group: "8",
        icd9: "13.41",
        price: 2_756_000,
        anaesthesia: "2",
    },
    // P_HAEMODIALYSIS
    Procedure {
        code: "02.0150.0011",
        name: "Thận nhân tạo chu kỳ",
        group: "18",
        icd9: "39.95",
        price: 543_000,
        anaesthesia: "",
    },
];

// ---------------------------------------------------------------------------
// Diagnoses
// ---------------------------------------------------------------------------

/// Diagnoses with the care that plausibly follows them. The first entry fits every
/// adult; together the entries cover every age of either sex.
pub static DIAGNOSES: &[Diagnosis] = &[
    Diagnosis {
        icd10: "J02.9",
        name: "Viêm họng cấp, không đặc hiệu",
        care_types: &["01"],
        complaint: "Sốt, đau họng 2 ngày",
        drugs: &[D_PARACETAMOL_500, D_AMOXICILLIN_500, D_ALPHACHYMOTRYPSIN],
        tests: &[T_CBC, T_CRP],
        procedures: &[],
        secondary: &["J30.4"],
        min_age: 16,
        max_age: 120,
        sex: "",
    },
    Diagnosis {
        icd10: "J06.9",
        name: "Nhiễm trùng đường hô hấp trên cấp, không đặc hiệu",
        care_types: &["01"],
        complaint: "Sốt, ho, sổ mũi 3 ngày",
        drugs: &[D_PARACETAMOL_250_SACHET, D_AMOXICILLIN_250_SACHET],
        tests: &[T_CBC, T_CRP],
        procedures: &[],
        secondary: &["R50.9"],
        min_age: 0,
        max_age: 15,
        sex: "",
    },
    Diagnosis {
        icd10: "J03.9",
        name: "Viêm amiđan cấp, không đặc hiệu",
        care_types: &["01"],
        complaint: "Sốt cao, đau họng, nuốt đau 2 ngày",
        drugs: &[D_PARACETAMOL_250_SACHET, D_AMOXICILLIN_250_SACHET],
        tests: &[T_CBC, T_CRP],
        procedures: &[],
        secondary: &["R50.9"],
        min_age: 3,
        max_age: 15,
        sex: "",
    },
    Diagnosis {
        icd10: "H66.9",
        name: "Viêm tai giữa, không đặc hiệu",
        care_types: &["01"],
        complaint: "Sốt, đau tai phải, quấy khóc 2 ngày",
        drugs: &[D_AMOXICILLIN_250_SACHET, D_PARACETAMOL_250_SACHET],
        tests: &[T_CBC],
        procedures: &[],
        secondary: &["J06.9"],
        min_age: 0,
        max_age: 12,
        sex: "",
    },
    Diagnosis {
        icd10: "J21.9",
        name: "Viêm tiểu phế quản cấp, không đặc hiệu",
        care_types: &["01", "03"],
        complaint: "Ho, khò khè, thở nhanh 2 ngày",
        drugs: &[D_SALBUTAMOL_NEBULE, D_PARACETAMOL_250_SACHET],
        tests: &[T_CBC, T_CRP, T_XRAY_CHEST],
        procedures: &[P_NEBULISER],
        secondary: &["R50.9"],
        min_age: 0,
        max_age: 2,
        sex: "",
    },
    Diagnosis {
        icd10: "A08.0",
        name: "Viêm ruột do Rotavirus",
        care_types: &["01", "03"],
        complaint: "Nôn, tiêu chảy phân toàn nước nhiều lần, sốt nhẹ 1 ngày",
        drugs: &[D_ORESOL, D_ZINC, D_PARACETAMOL_250_SACHET, D_RINGER_LACTATE],
        tests: &[T_CBC, T_ELECTROLYTES],
        procedures: &[],
        secondary: &["E86"],
        min_age: 0,
        max_age: 5,
        sex: "",
    },
    Diagnosis {
        icd10: "J20.9",
        name: "Viêm phế quản cấp, không đặc hiệu",
        care_types: &["01", "02"],
        complaint: "Ho khạc đờm, sốt nhẹ 5 ngày",
        drugs: &[
            D_CEFUROXIME,
            D_PARACETAMOL_500,
            D_SALBUTAMOL_TABLET,
            D_ALPHACHYMOTRYPSIN,
        ],
        tests: &[T_CBC, T_CRP, T_XRAY_CHEST],
        procedures: &[],
        secondary: &["J30.4"],
        min_age: 16,
        max_age: 100,
        sex: "",
    },
    Diagnosis {
        icd10: "J18.9",
        name: "Viêm phổi, không đặc hiệu",
        care_types: &["03"],
        complaint: "Sốt, ho khạc đờm, khó thở 4 ngày",
        drugs: &[
            D_CEFTRIAXONE,
            D_AZITHROMYCIN,
            D_PARACETAMOL_500,
            D_SODIUM_CHLORIDE_09,
            D_OXYGEN,
        ],
        tests: &[
            T_CBC,
            T_CRP,
            T_XRAY_CHEST,
            T_GLUCOSE,
            T_CREATININE,
            T_UREA,
            T_ELECTROLYTES,
            T_AST,
            T_ALT,
        ],
        procedures: &[],
        secondary: &["I10", "E11.9", "J44.9"],
        min_age: 16,
        max_age: 100,
        sex: "",
    },
    Diagnosis {
        icd10: "J45.9",
        name: "Hen phế quản, không đặc hiệu",
        care_types: &["01", "03"],
        complaint: "Khó thở, khò khè, nặng ngực về đêm 2 ngày",
        drugs: &[
            D_SALBUTAMOL_NEBULE,
            D_BUDESONIDE,
            D_PREDNISOLONE,
            D_METHYLPREDNISOLONE_INJ,
            D_SALBUTAMOL_TABLET,
        ],
        tests: &[T_CBC, T_XRAY_CHEST, T_SPIROMETRY],
        procedures: &[P_NEBULISER],
        secondary: &["J30.4"],
        min_age: 6,
        max_age: 90,
        sex: "",
    },
    Diagnosis {
        icd10: "J44.9",
        name: "Bệnh phổi tắc nghẽn mạn tính, không đặc hiệu",
        care_types: &["03"],
        complaint: "Ho, khó thở tăng, khạc đờm nhiều 3 ngày",
        drugs: &[
            D_SALBUTAMOL_NEBULE,
            D_BUDESONIDE,
            D_METHYLPREDNISOLONE_INJ,
            D_AMOXICILLIN_CLAVULANATE,
            D_OXYGEN,
        ],
        tests: &[
            T_CBC,
            T_CRP,
            T_XRAY_CHEST,
            T_SPIROMETRY,
            T_ECG,
            T_ELECTROLYTES,
        ],
        procedures: &[P_NEBULISER],
        secondary: &["I10", "I50.9"],
        min_age: 40,
        max_age: 100,
        sex: "",
    },
    Diagnosis {
        icd10: "I10",
        name: "Bệnh lý tăng huyết áp vô căn (nguyên phát)",
        care_types: &["05", "01"],
        complaint: "Đau đầu, chóng mặt; khám định kỳ tăng huyết áp",
        drugs: &[D_AMLODIPINE, D_LOSARTAN, D_BISOPROLOL, D_ATORVASTATIN],
        tests: &[
            T_GLUCOSE,
            T_CREATININE,
            T_CHOLESTEROL,
            T_TRIGLYCERIDE,
            T_ELECTROLYTES,
            T_URINALYSIS,
            T_ECG,
        ],
        procedures: &[],
        secondary: &["E78.5", "E11.9", "I25.9"],
        min_age: 35,
        max_age: 100,
        sex: "",
    },
    Diagnosis {
        icd10: "E11.9",
        name: "Bệnh đái tháo đường không phụ thuộc insuline (Không có biến chứng)",
        care_types: &["05", "01"],
        complaint: "Khám định kỳ, lĩnh thuốc đái tháo đường",
        drugs: &[D_METFORMIN, D_GLICLAZIDE, D_ATORVASTATIN],
        tests: &[
            T_GLUCOSE,
            T_HBA1C,
            T_CREATININE,
            T_CHOLESTEROL,
            T_TRIGLYCERIDE,
            T_HDL,
            T_LDL,
            T_AST,
            T_ALT,
            T_URINALYSIS,
        ],
        procedures: &[],
        secondary: &["I10", "E78.5"],
        min_age: 30,
        max_age: 100,
        sex: "",
    },
    Diagnosis {
        icd10: "E11.2",
        name: "Bệnh đái tháo đường không phụ thuộc insuline (Có biến chứng thận)",
        care_types: &["03"],
        complaint: "Mệt mỏi, phù hai chân, đường máu không ổn định",
        drugs: &[D_INSULIN, D_LOSARTAN, D_ATORVASTATIN, D_FUROSEMIDE],
        tests: &[
            T_GLUCOSE,
            T_HBA1C,
            T_CREATININE,
            T_UREA,
            T_ELECTROLYTES,
            T_URINALYSIS,
            T_CBC,
            T_US_ABDOMEN,
        ],
        procedures: &[],
        secondary: &["I10", "N18.9", "E78.5"],
        min_age: 40,
        max_age: 100,
        sex: "",
    },
    Diagnosis {
        icd10: "I25.9",
        name: "Bệnh tim thiếu máu cục bộ mạn, không đặc hiệu",
        care_types: &["05", "01"],
        complaint: "Đau ngực trái khi gắng sức, khó thở nhẹ",
        drugs: &[D_ASPIRIN_81, D_CLOPIDOGREL, D_ROSUVASTATIN, D_BISOPROLOL],
        tests: &[
            T_ECG,
            T_ECHOCARDIOGRAPHY,
            T_CHOLESTEROL,
            T_LDL,
            T_TROPONIN,
            T_GLUCOSE,
            T_CREATININE,
        ],
        procedures: &[],
        secondary: &["I10", "E78.5", "E11.9"],
        min_age: 40,
        max_age: 100,
        sex: "",
    },
    Diagnosis {
        icd10: "I50.9",
        name: "Suy tim, không đặc hiệu",
        care_types: &["03"],
        complaint: "Khó thở khi nằm, phù hai chi dưới 1 tuần",
        drugs: &[
            D_FUROSEMIDE_INJ,
            D_FUROSEMIDE,
            D_ENALAPRIL,
            D_BISOPROLOL,
            D_ASPIRIN_81,
            D_OXYGEN,
        ],
        tests: &[
            T_CBC,
            T_ECG,
            T_ECHOCARDIOGRAPHY,
            T_XRAY_CHEST,
            T_ELECTROLYTES,
            T_CREATININE,
            T_UREA,
            T_TROPONIN,
        ],
        procedures: &[],
        secondary: &["I10", "I25.9", "E11.9"],
        min_age: 40,
        max_age: 100,
        sex: "",
    },
    Diagnosis {
        icd10: "I63.9",
        name: "Nhồi máu não, không đặc hiệu",
        care_types: &["03"],
        complaint: "Yếu nửa người phải, nói khó, khởi phát đột ngột",
        drugs: &[
            D_ASPIRIN_81,
            D_CLOPIDOGREL,
            D_ATORVASTATIN,
            D_SODIUM_CHLORIDE_09,
        ],
        tests: &[
            T_CT_BRAIN,
            T_CBC,
            T_GLUCOSE,
            T_CHOLESTEROL,
            T_LDL,
            T_ECG,
            T_ELECTROLYTES,
            T_PROTHROMBIN,
            T_CREATININE,
        ],
        procedures: &[P_URINARY_CATHETER],
        secondary: &["I10", "E11.9", "E78.5"],
        min_age: 45,
        max_age: 100,
        sex: "",
    },
    Diagnosis {
        icd10: "E78.5",
        name: "Tăng lipid máu, không đặc hiệu",
        care_types: &["01", "05"],
        complaint: "Khám sức khỏe phát hiện mỡ máu cao",
        drugs: &[D_ROSUVASTATIN],
        tests: &[
            T_CHOLESTEROL,
            T_TRIGLYCERIDE,
            T_HDL,
            T_LDL,
            T_AST,
            T_ALT,
            T_GLUCOSE,
        ],
        procedures: &[],
        secondary: &["I10", "E66.9"],
        min_age: 30,
        max_age: 90,
        sex: "",
    },
    Diagnosis {
        icd10: "K29.7",
        name: "Viêm dạ dày, không đặc hiệu",
        care_types: &["01"],
        complaint: "Đau thượng vị, ợ hơi, ợ chua 2 tuần",
        drugs: &[D_OMEPRAZOLE, D_DOMPERIDONE, D_DROTAVERINE],
        tests: &[T_GASTROSCOPY, T_US_ABDOMEN],
        procedures: &[],
        secondary: &[],
        min_age: 16,
        max_age: 90,
        sex: "",
    },
    Diagnosis {
        icd10: "K21.9",
        name: "Bệnh trào ngược dạ dày - thực quản không có viêm thực quản",
        care_types: &["01"],
        complaint: "Nóng rát sau xương ức, ợ chua 1 tháng",
        drugs: &[D_ESOMEPRAZOLE, D_DOMPERIDONE],
        tests: &[T_GASTROSCOPY],
        procedures: &[],
        secondary: &["K29.7"],
        min_age: 18,
        max_age: 90,
        sex: "",
    },
    Diagnosis {
        icd10: "A09",
        name: "Tiêu chảy và viêm dạ dày - ruột do nhiễm trùng",
        care_types: &["01", "03"],
        complaint: "Đi ngoài phân lỏng nhiều lần, đau bụng, buồn nôn 1 ngày",
        drugs: &[
            D_ORESOL,
            D_CIPROFLOXACIN,
            D_LOPERAMIDE,
            D_DROTAVERINE,
            D_RINGER_LACTATE,
        ],
        tests: &[T_CBC, T_ELECTROLYTES, T_CRP],
        procedures: &[],
        secondary: &["E86"],
        min_age: 16,
        max_age: 90,
        sex: "",
    },
    Diagnosis {
        icd10: "A05.9",
        name: "Ngộ độc thực phẩm do vi khuẩn, không đặc hiệu",
        care_types: &["01", "03"],
        complaint: "Nôn, đau bụng, đi ngoài nhiều lần sau ăn 6 giờ",
        drugs: &[
            D_ORESOL,
            D_RINGER_LACTATE,
            D_GLUCOSE_5,
            D_DROTAVERINE,
            D_DOMPERIDONE,
        ],
        tests: &[T_CBC, T_ELECTROLYTES, T_GLUCOSE],
        procedures: &[P_GASTRIC_LAVAGE],
        secondary: &["E86"],
        min_age: 6,
        max_age: 90,
        sex: "",
    },
    Diagnosis {
        icd10: "A90",
        name: "Sốt Dengue [sốt xuất huyết Dengue cổ điển]",
        care_types: &["01", "02", "03"],
        complaint: "Sốt cao liên tục 3 ngày, đau đầu, đau mỏi người",
        drugs: &[
            D_PARACETAMOL_500,
            D_ORESOL,
            D_RINGER_LACTATE,
            D_SODIUM_CHLORIDE_09,
        ],
        tests: &[T_CBC, T_AST, T_ALT],
        procedures: &[],
        secondary: &[],
        min_age: 12,
        max_age: 80,
        sex: "",
    },
    Diagnosis {
        icd10: "A91",
        name: "Sốt xuất huyết Dengue",
        care_types: &["03"],
        complaint: "Sốt 4 ngày, chấm xuất huyết dưới da, chảy máu chân răng",
        drugs: &[
            D_PARACETAMOL_500,
            D_RINGER_LACTATE,
            D_SODIUM_CHLORIDE_09,
            D_ORESOL,
        ],
        tests: &[
            T_CBC,
            T_AST,
            T_ALT,
            T_PROTHROMBIN,
            T_US_ABDOMEN,
            T_ELECTROLYTES,
        ],
        procedures: &[],
        secondary: &[],
        min_age: 10,
        max_age: 80,
        sex: "",
    },
    Diagnosis {
        icd10: "K35.8",
        name: "Viêm ruột thừa cấp, khác và không đặc hiệu",
        care_types: &["03"],
        complaint: "Đau hố chậu phải, sốt nhẹ, buồn nôn 1 ngày",
        drugs: &[
            D_CEFTRIAXONE,
            D_METRONIDAZOLE_IV,
            D_PARACETAMOL_IV,
            D_TRAMADOL_INJ,
            D_RINGER_LACTATE,
            D_GLUCOSE_5,
        ],
        tests: &[
            T_CBC,
            T_CRP,
            T_US_ABDOMEN,
            T_PROTHROMBIN,
            T_GLUCOSE,
            T_CREATININE,
            T_XRAY_CHEST,
            T_ECG,
        ],
        procedures: &[P_APPENDECTOMY, P_DRESSING],
        secondary: &[],
        min_age: 8,
        max_age: 80,
        sex: "",
    },
    Diagnosis {
        icd10: "K80.2",
        name: "Sỏi túi mật không có viêm túi mật",
        care_types: &["03"],
        complaint: "Đau hạ sườn phải âm ỉ sau ăn nhiều mỡ",
        drugs: &[
            D_CEFAZOLIN,
            D_PARACETAMOL_IV,
            D_TRAMADOL_INJ,
            D_SODIUM_CHLORIDE_09,
            D_DROTAVERINE,
        ],
        tests: &[
            T_CBC,
            T_US_ABDOMEN,
            T_AST,
            T_ALT,
            T_PROTHROMBIN,
            T_GLUCOSE,
            T_CREATININE,
            T_ECG,
            T_XRAY_CHEST,
        ],
        procedures: &[P_CHOLECYSTECTOMY, P_DRESSING],
        secondary: &["I10", "E78.5"],
        min_age: 25,
        max_age: 85,
        sex: "",
    },
    Diagnosis {
        icd10: "K40.9",
        name: "Thoát vị bẹn một bên hoặc không xác định, không có tắc hoặc hoại thư",
        care_types: &["03"],
        complaint: "Khối phồng vùng bẹn phải, to lên khi đứng hoặc ho",
        drugs: &[
            D_CEFAZOLIN,
            D_PARACETAMOL_IV,
            D_PARACETAMOL_500,
            D_TRAMADOL_INJ,
        ],
        tests: &[
            T_CBC,
            T_PROTHROMBIN,
            T_GLUCOSE,
            T_CREATININE,
            T_ECG,
            T_XRAY_CHEST,
        ],
        procedures: &[P_HERNIA_REPAIR, P_DRESSING],
        secondary: &["I10"],
        min_age: 18,
        max_age: 90,
        sex: "1",
    },
    Diagnosis {
        icd10: "S52.5",
        name: "Gãy đầu dưới xương quay",
        care_types: &["03"],
        complaint: "Đau, sưng, biến dạng cổ tay trái sau ngã chống tay",
        drugs: &[D_CEFAZOLIN, D_PARACETAMOL_IV, D_TRAMADOL_INJ, D_CALCIUM_D3],
        tests: &[T_XRAY_FOREARM, T_CBC, T_PROTHROMBIN, T_GLUCOSE, T_ECG],
        procedures: &[P_RADIUS_FIXATION, P_DRESSING],
        secondary: &[],
        min_age: 18,
        max_age: 90,
        sex: "",
    },
    Diagnosis {
        icd10: "S52.8",
        name: "Gãy phần khác của cẳng tay",
        care_types: &["01", "02"],
        complaint: "Đau, hạn chế vận động cẳng tay sau ngã",
        drugs: &[D_PARACETAMOL_500, D_IBUPROFEN, D_CALCIUM_D3],
        tests: &[T_XRAY_FOREARM],
        procedures: &[P_CLOSED_REDUCTION],
        secondary: &[],
        min_age: 12,
        max_age: 70,
        sex: "",
    },
    Diagnosis {
        icd10: "S61.9",
        name: "Vết thương hở cổ tay và bàn tay, phần không xác định",
        care_types: &["01"],
        complaint: "Vết thương chảy máu lòng bàn tay do dao cắt",
        drugs: &[
            D_LIDOCAINE,
            D_POVIDONE_IODINE,
            D_AMOXICILLIN_500,
            D_PARACETAMOL_500,
        ],
        tests: &[],
        procedures: &[P_WOUND_SUTURE],
        secondary: &[],
        min_age: 12,
        max_age: 90,
        sex: "",
    },
    Diagnosis {
        icd10: "S01.8",
        name: "Vết thương hở phần khác của đầu",
        care_types: &["01"],
        complaint: "Vết thương vùng trán chảy máu sau ngã",
        drugs: &[
            D_LIDOCAINE,
            D_POVIDONE_IODINE,
            D_AMOXICILLIN_500,
            D_PARACETAMOL_500,
        ],
        tests: &[T_CT_BRAIN],
        procedures: &[P_WOUND_SUTURE],
        secondary: &["S06.0"],
        min_age: 12,
        max_age: 90,
        sex: "",
    },
    Diagnosis {
        icd10: "Z48.0",
        name: "Chăm sóc băng và chỉ khâu phẫu thuật",
        care_types: &["01"],
        complaint: "Thay băng, kiểm tra vết khâu theo hẹn",
        drugs: &[D_POVIDONE_IODINE],
        tests: &[],
        procedures: &[P_DRESSING],
        secondary: &[],
        min_age: 6,
        max_age: 90,
        sex: "",
    },
    Diagnosis {
        icd10: "N39.0",
        name: "Nhiễm khuẩn đường tiết niệu, vị trí không xác định",
        care_types: &["01", "02"],
        complaint: "Tiểu buốt, tiểu rắt, đau hạ vị 3 ngày",
        drugs: &[D_CIPROFLOXACIN, D_DROTAVERINE, D_PARACETAMOL_500],
        tests: &[T_URINALYSIS, T_CBC, T_CRP, T_US_ABDOMEN, T_CREATININE],
        procedures: &[],
        secondary: &[],
        min_age: 16,
        max_age: 90,
        sex: "",
    },
    Diagnosis {
        icd10: "H25.9",
        name: "Đục thủy tinh thể tuổi già, không đặc hiệu",
        care_types: &["03", "04"],
        complaint: "Nhìn mờ dần hai mắt 1 năm",
        drugs: &[D_PARACETAMOL_500],
        tests: &[T_GLUCOSE, T_CBC, T_ECG, T_PROTHROMBIN],
        procedures: &[P_PHACO],
        secondary: &["I10", "E11.9"],
        min_age: 50,
        max_age: 100,
        sex: "",
    },
    Diagnosis {
        icd10: "O80",
        name: "Đẻ thường một thai",
        care_types: &["03"],
        complaint: "Thai 39 tuần, đau bụng từng cơn, ra nhầy hồng",
        drugs: &[
            D_OXYTOCIN,
            D_PARACETAMOL_500,
            D_IRON_FOLIC_ACID,
            D_AMOXICILLIN_500,
        ],
        tests: &[T_CBC, T_US_OBSTETRIC, T_PROTHROMBIN, T_URINALYSIS],
        procedures: &[P_NORMAL_DELIVERY],
        secondary: &[],
        min_age: 18,
        max_age: 45,
        sex: "2",
    },
    Diagnosis {
        icd10: "O82",
        name: "Đẻ một thai bằng mổ lấy thai",
        care_types: &["03"],
        complaint: "Thai 39 tuần, ngôi mông, đau bụng từng cơn",
        drugs: &[
            D_CEFAZOLIN,
            D_OXYTOCIN,
            D_PARACETAMOL_IV,
            D_RINGER_LACTATE,
            D_TRAMADOL_INJ,
            D_IRON_FOLIC_ACID,
        ],
        tests: &[
            T_CBC,
            T_US_OBSTETRIC,
            T_PROTHROMBIN,
            T_GLUCOSE,
            T_URINALYSIS,
            T_CREATININE,
        ],
        procedures: &[P_CAESAREAN, P_URINARY_CATHETER, P_DRESSING],
        secondary: &["O32.1", "O34.2"],
        min_age: 18,
        max_age: 45,
        sex: "2",
    },
    Diagnosis {
        icd10: "O20.0",
        name: "Dọa sảy thai",
        care_types: &["01", "03"],
        complaint: "Thai 8 tuần, ra máu âm đạo ít, đau bụng âm ỉ",
        drugs: &[D_PROGESTERONE, D_DROTAVERINE, D_IRON_FOLIC_ACID],
        tests: &[T_US_OBSTETRIC, T_CBC, T_URINALYSIS],
        procedures: &[],
        secondary: &[],
        min_age: 18,
        max_age: 45,
        sex: "2",
    },
    Diagnosis {
        icd10: "M54.5",
        name: "Đau vùng thắt lưng",
        care_types: &["01", "02"],
        complaint: "Đau lưng âm ỉ, tăng khi vận động 2 tuần",
        drugs: &[
            D_DICLOFENAC_INJ,
            D_DICLOFENAC,
            D_PARACETAMOL_500,
            D_VITAMIN_B1_B6_B12,
            D_OMEPRAZOLE,
        ],
        tests: &[T_XRAY_LUMBAR],
        procedures: &[],
        secondary: &[],
        min_age: 25,
        max_age: 90,
        sex: "",
    },
    Diagnosis {
        icd10: "M17.9",
        name: "Thoái hóa khớp gối, không đặc hiệu",
        care_types: &["01", "05"],
        complaint: "Đau khớp gối hai bên, tăng khi đi lại, lên xuống cầu thang",
        drugs: &[D_MELOXICAM, D_PARACETAMOL_500, D_CALCIUM_D3, D_OMEPRAZOLE],
        tests: &[T_XRAY_KNEE, T_MRI_KNEE, T_CRP],
        procedures: &[],
        secondary: &["M54.5", "I10"],
        min_age: 40,
        max_age: 100,
        sex: "",
    },
    Diagnosis {
        icd10: "J30.4",
        name: "Viêm mũi dị ứng, không đặc hiệu",
        care_types: &["01"],
        complaint: "Hắt hơi, ngạt mũi, chảy nước mũi trong từng đợt",
        drugs: &[D_LORATADINE],
        tests: &[],
        procedures: &[],
        secondary: &[],
        min_age: 6,
        max_age: 80,
        sex: "",
    },
    Diagnosis {
        icd10: "L50.9",
        name: "Mày đay, không đặc hiệu",
        care_types: &["01"],
        complaint: "Nổi mẩn ngứa toàn thân 2 ngày",
        drugs: &[D_CETIRIZINE, D_PREDNISOLONE],
        tests: &[T_CBC],
        procedures: &[],
        secondary: &[],
        min_age: 6,
        max_age: 90,
        sex: "",
    },
    Diagnosis {
        icd10: "D64.9",
        name: "Thiếu máu, không đặc hiệu",
        care_types: &["01", "02"],
        complaint: "Mệt mỏi, hoa mắt, da xanh 1 tháng",
        drugs: &[D_IRON_FOLIC_ACID, D_VITAMIN_B1_B6_B12],
        tests: &[T_CBC, T_FERRITIN],
        procedures: &[],
        secondary: &[],
        min_age: 12,
        max_age: 90,
        sex: "",
    },
    Diagnosis {
        icd10: "E03.9",
        name: "Suy giáp, không đặc hiệu",
        care_types: &["05", "01"],
        complaint: "Mệt mỏi, tăng cân, sợ lạnh 3 tháng",
        drugs: &[D_LEVOTHYROXINE],
        tests: &[T_TSH, T_FT4, T_US_THYROID, T_CHOLESTEROL],
        procedures: &[],
        secondary: &[],
        min_age: 18,
        max_age: 90,
        sex: "",
    },
    Diagnosis {
        icd10: "N18.9",
        name: "Bệnh thận mạn, không đặc hiệu",
        care_types: &["05"],
        complaint: "Khám định kỳ bệnh thận mạn, phù nhẹ hai chân",
        drugs: &[D_AMLODIPINE, D_FUROSEMIDE, D_CALCIUM_D3, D_IRON_FOLIC_ACID],
        tests: &[
            T_CREATININE,
            T_UREA,
            T_ELECTROLYTES,
            T_CBC,
            T_URINALYSIS,
            T_US_ABDOMEN,
        ],
        procedures: &[],
        secondary: &["I10", "E11.9", "D64.9"],
        min_age: 30,
        max_age: 95,
        sex: "",
    },
    Diagnosis {
        icd10: "N18.5",
        name: "Bệnh thận mạn, giai đoạn 5",
        care_types: &["08"],
        complaint: "Chạy thận nhân tạo chu kỳ theo lịch",
        drugs: &[D_CALCIUM_D3, D_AMLODIPINE, D_IRON_FOLIC_ACID],
        tests: &[T_CBC, T_CREATININE, T_UREA, T_ELECTROLYTES],
        procedures: &[P_HAEMODIALYSIS],
        secondary: &["I10", "D64.9"],
        min_age: 18,
        max_age: 90,
        sex: "",
    },
    Diagnosis {
        icd10: "F32.9",
        name: "Giai đoạn trầm cảm, không đặc hiệu",
        care_types: &["01", "05"],
        complaint: "Buồn chán, mất ngủ, giảm hứng thú 2 tháng",
        drugs: &[D_SERTRALINE],
        tests: &[T_EEG, T_TSH],
        procedures: &[],
        secondary: &[],
        min_age: 18,
        max_age: 90,
        sex: "",
    },
];
