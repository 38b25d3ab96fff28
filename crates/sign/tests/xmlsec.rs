//! Signatures made and checked by an independent tool, Debian's `xmlsec1`, and
//! certificates made by `openssl`: the cases of issue 15 (valid, tampered content,
//! tampered signature, wrong certificate, unregistered, expired, revoked, RSA-SHA1
//! legacy, an XPath transform, two signatures, a chain to another CA) on generated
//! envelopes and check-ins, and our own signer checked by `xmlsec1`.

use std::path::{Path, PathBuf};
use std::process::Command;

use sign::{Algorithm, CertInfo, Registration, SigningKey, Status, Verifier, bind};

const DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";

fn run(dir: &Path, args: &[&str]) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{} could not run ({e}); .ci/run installs it", args[0]));
    assert!(
        out.status.success(),
        "{:?} failed: {}",
        args,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A test PKI: a root CA, a facility certificate it issued, a second (untrusted) CA
/// with a certificate of its own, and a facility certificate valid one day.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for (ca, cn) in [("ca", "Healthbook Test Root CA"), ("other", "Another CA")] {
            run(
                d,
                &[
                    "openssl",
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-keyout",
                    &format!("{ca}.key"),
                    "-out",
                    &format!("{ca}.pem"),
                    "-days",
                    "3650",
                    "-subj",
                    &format!("/CN={cn}/O=Healthbook Test"),
                ],
            );
        }
        for (name, ca, days) in [
            ("fac", "ca", "365"),
            ("stranger", "other", "365"),
            ("short", "ca", "1"),
        ] {
            run(
                d,
                &[
                    "openssl",
                    "req",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-keyout",
                    &format!("{name}.key"),
                    "-out",
                    &format!("{name}.csr"),
                    "-subj",
                    &format!("/CN=Benh vien thu nghiem {name}/UID=MST:0100000001"),
                ],
            );
            run(
                d,
                &[
                    "openssl",
                    "x509",
                    "-req",
                    "-in",
                    &format!("{name}.csr"),
                    "-CA",
                    &format!("{ca}.pem"),
                    "-CAkey",
                    &format!("{ca}.key"),
                    "-CAcreateserial",
                    "-out",
                    &format!("{name}.pem"),
                    "-days",
                    days,
                ],
            );
        }
        Pki { dir }
    }

    fn path(&self, f: &str) -> PathBuf {
        self.dir.path().join(f)
    }

    fn read(&self, f: &str) -> Vec<u8> {
        std::fs::read(self.path(f)).unwrap()
    }

    fn verifier(&self) -> Verifier {
        Verifier::from_pem(&self.read("ca.pem")).unwrap()
    }

    fn cert(&self, name: &str) -> CertInfo {
        CertInfo::from_pem(&self.read(&format!("{name}.pem"))).unwrap()
    }

    /// `xml` with its empty CHUKYDONVI holding `template`, signed by xmlsec1 with the
    /// key and certificate `name`.
    fn xmlsec_sign(&self, xml: &[u8], template: &str, name: &str) -> Vec<u8> {
        let text = String::from_utf8(xml.to_vec()).unwrap();
        let at = text.rfind("<CHUKYDONVI />").expect("an empty CHUKYDONVI");
        let doc = format!(
            "{}<CHUKYDONVI>{template}</CHUKYDONVI>{}",
            &text[..at],
            &text[at + "<CHUKYDONVI />".len()..]
        );
        std::fs::write(self.path("in.xml"), doc).unwrap();
        run(
            self.dir.path(),
            &[
                "xmlsec1",
                "--sign",
                "--privkey-pem",
                &format!("{name}.key,{name}.pem"),
                "--output",
                "out.xml",
                "in.xml",
            ],
        );
        self.read("out.xml")
    }

    /// Whether xmlsec1 accepts `xml` against the test root CA.
    fn xmlsec_verifies(&self, xml: &[u8]) -> bool {
        std::fs::write(self.path("check.xml"), xml).unwrap();
        Command::new("xmlsec1")
            .args(["--verify", "--trusted-pem", "ca.pem", "check.xml"])
            .current_dir(self.dir.path())
            .output()
            .unwrap()
            .status
            .success()
    }
}

/// The .NET profile facilities produce (xmldsig.md §2), with the given algorithms and
/// extra transforms.
fn template(method: &str, digest: &str, extra_transform: &str) -> String {
    format!(
        "<Signature xmlns=\"{DSIG}\"><SignedInfo>\
<CanonicalizationMethod Algorithm=\"http://www.w3.org/TR/2001/REC-xml-c14n-20010315\"/>\
<SignatureMethod Algorithm=\"{method}\"/><Reference URI=\"\"><Transforms>\
<Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>{extra_transform}\
<Transform Algorithm=\"http://www.w3.org/TR/2001/REC-xml-c14n-20010315\"/></Transforms>\
<DigestMethod Algorithm=\"{digest}\"/><DigestValue/></Reference></SignedInfo>\
<SignatureValue/><KeyInfo><X509Data/></KeyInfo></Signature>"
    )
}

const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";

fn now() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn documents() -> Vec<(String, Vec<u8>)> {
    let generator = synth::Generator::new(synth::Config {
        persons: 5,
        episodes: 6,
        seed: 15,
        ..synth::Config::default()
    });
    let mut out = Vec::new();
    for e in generator.episodes().take(3) {
        out.push((
            format!("envelope {}", e.ma_lk()),
            e.envelope_bytes(dossier::Spec::Qd3176),
        ));
        out.push((
            format!("check-in {}", e.ma_lk()),
            e.checkin_bytes(dossier::Spec::Qd3176),
        ));
    }
    out
}

#[test]
fn verdicts_on_documents_signed_by_xmlsec1() {
    let pki = Pki::new();
    let verifier = pki.verifier();
    let registered = [Registration {
        fingerprint: pki.cert("fac").fingerprint,
        revoked_at: None,
    }];
    let t = now();
    for (what, xml) in documents() {
        // Unsigned as generated.
        assert_eq!(verifier.verify(&xml, t).status, Status::Unsigned, "{what}");

        let signed = pki.xmlsec_sign(&xml, &template(RSA_SHA256, SHA256, ""), "fac");
        let v = verifier.verify(&signed, t);
        assert_eq!(v.status, Status::Verified, "{what}: {}", v.detail);
        assert_eq!(
            v.cert.as_ref().unwrap().fingerprint,
            registered[0].fingerprint
        );
        assert!(
            v.cert
                .as_ref()
                .unwrap()
                .subject
                .contains("Benh vien thu nghiem fac")
        );
        assert_eq!(
            bind(v.clone(), &registered, t).status,
            Status::Verified,
            "{what}"
        );
        // Registered to another facility only: not this one's.
        assert_eq!(
            bind(v.clone(), &[], t).status,
            Status::CertNotRegistered,
            "{what}"
        );
        // Revoked before receipt; a revocation after receipt does not reach back.
        let revoked = [Registration {
            revoked_at: Some(t - 1),
            ..registered[0].clone()
        }];
        assert_eq!(
            bind(v.clone(), &revoked, t).status,
            Status::CertRevoked,
            "{what}"
        );
        let later = [Registration {
            revoked_at: Some(t + 60_000),
            ..registered[0].clone()
        }];
        assert_eq!(bind(v, &later, t).status, Status::Verified, "{what}");
        // Still a valid document for the format.
        assert_no_errors(&what, &signed);

        // Tampered content: one character of the signed document changed.
        let text = String::from_utf8(signed.clone()).unwrap();
        // The first value starting with "2" (a date or a year) becomes "1".
        let at = text.find(">2").unwrap() + 1;
        let mut tampered = text.clone();
        tampered.replace_range(at..at + 1, "1");
        let v = verifier.verify(tampered.as_bytes(), t);
        assert_eq!(v.status, Status::Invalid, "{what} tampered: {}", v.detail);
        assert!(
            !pki.xmlsec_verifies(tampered.as_bytes()),
            "{what}: xmlsec1 agrees"
        );

        // Tampered signature value.
        let s = text.find("<SignatureValue>").unwrap() + "<SignatureValue>".len() + 10;
        let mut bad_sig = text.clone();
        bad_sig.replace_range(s..s + 1, if &text[s..s + 1] == "A" { "B" } else { "A" });
        assert_eq!(
            verifier.verify(bad_sig.as_bytes(), t).status,
            Status::Invalid,
            "{what}"
        );

        // Wrong certificate: the signature of `fac` presenting another certificate.
        let other =
            String::from_utf8(pki.xmlsec_sign(&xml, &template(RSA_SHA256, SHA256, ""), "short"))
                .unwrap();
        let cert_of = |s: &str| {
            let a = s.find("<X509Certificate>").unwrap();
            let b = s.find("</X509Certificate>").unwrap();
            s[a..b].to_string()
        };
        let swapped = text.replace(&cert_of(&text), &cert_of(&other));
        assert_eq!(
            verifier.verify(swapped.as_bytes(), t).status,
            Status::Invalid,
            "{what}"
        );
    }
}

fn assert_no_errors(what: &str, xml: &[u8]) {
    let checked = dossier::check(xml, &dossier::Options::default());
    assert!(!matches!(checked, dossier::Checked::Unknown(_)), "{what}");
    let errors: Vec<_> = checked.findings().iter().filter(|f| f.is_error()).collect();
    assert!(errors.is_empty(), "{what}: {errors:?}");
}

#[test]
fn certificates_expired_untrusted_and_legacy_sha1() {
    let pki = Pki::new();
    let verifier = pki.verifier();
    let (_, xml) = documents().remove(0);
    let t = now();

    // Valid one day: good now, expired two days after.
    let short = pki.xmlsec_sign(&xml, &template(RSA_SHA256, SHA256, ""), "short");
    assert_eq!(verifier.verify(&short, t).status, Status::Verified);
    let v = verifier.verify(&short, t + 2 * 86_400_000);
    assert_eq!(v.status, Status::CertExpired, "{}", v.detail);
    assert_eq!(
        verifier.verify(&short, t - 86_400_000).status,
        Status::CertExpired
    );

    // Issued by a CA that is not a trust anchor; without anchors it is left to the
    // registration.
    let stranger = pki.xmlsec_sign(&xml, &template(RSA_SHA256, SHA256, ""), "stranger");
    let v = verifier.verify(&stranger, t);
    assert_eq!(v.status, Status::CertUntrusted, "{}", v.detail);
    assert!(!pki.xmlsec_verifies(&stranger), "xmlsec1 agrees");
    assert_eq!(
        Verifier::default().verify(&stranger, t).status,
        Status::Verified
    );
    let other_anchor = Verifier::from_pem(&pki.read("other.pem")).unwrap();
    assert_eq!(other_anchor.verify(&stranger, t).status, Status::Verified);
    assert_eq!(other_anchor.verify(&short, t).status, Status::CertUntrusted);

    // RSA-SHA1 with a SHA-1 digest: accepted, flagged.
    let sha1 = pki.xmlsec_sign(
        &xml,
        &template(
            "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
            "http://www.w3.org/2000/09/xmldsig#sha1",
            "",
        ),
        "fac",
    );
    let v = verifier.verify(&sha1, t);
    assert_eq!(v.status, Status::VerifiedLegacySha1, "{}", v.detail);
    assert!(v.status.is_verified());
}

#[test]
fn shapes_outside_the_profile_are_refused() {
    let pki = Pki::new();
    let verifier = pki.verifier();
    let (_, xml) = documents().remove(0);
    let t = now();

    // An XPath transform (valid for xmlsec1, refused by the profile).
    let xpath = "<Transform Algorithm=\"http://www.w3.org/TR/1999/REC-xpath-19991116\">\
<XPath>not(ancestor-or-self::MA_LK)</XPath></Transform>";
    let signed = pki.xmlsec_sign(&xml, &template(RSA_SHA256, SHA256, xpath), "fac");
    assert!(
        pki.xmlsec_verifies(&signed),
        "xmlsec1 accepts the XPath signature"
    );
    let v = verifier.verify(&signed, t);
    assert_eq!(v.status, Status::Refused, "{}", v.detail);
    assert!(v.detail.contains("Transform"), "{}", v.detail);

    // Two signatures: a valid one, and a copy of it placed in THONGTINDONVI.
    let good =
        String::from_utf8(pki.xmlsec_sign(&xml, &template(RSA_SHA256, SHA256, ""), "fac")).unwrap();
    let a = good.find("<Signature").unwrap();
    let b = good.find("</Signature>").unwrap() + "</Signature>".len();
    let copy = &good[a..b];
    let two = good.replacen("</THONGTINDONVI>", &format!("{copy}</THONGTINDONVI>"), 1);
    let v = verifier.verify(two.as_bytes(), t);
    assert_eq!(v.status, Status::Refused, "{}", v.detail);
    assert!(v.detail.contains("2 Signature"), "{}", v.detail);

    // A reference to part of the document, a Signature outside CHUKYDONVI, HMAC, no
    // certificate, an Object.
    for (what, changed) in [
        (
            "reference",
            good.replacen("<Reference URI=\"\">", "<Reference URI=\"#x\">", 1),
        ),
        (
            "place",
            good.replacen(&good[a..b], "", 1)
                .replacen("<CHUKYDONVI></CHUKYDONVI>", "<CHUKYDONVI/>", 1)
                .replacen("</THONGTINDONVI>", &format!("{copy}</THONGTINDONVI>"), 1),
        ),
        (
            "hmac",
            good.replacen(RSA_SHA256, "http://www.w3.org/2000/09/xmldsig#hmac-sha1", 1),
        ),
        (
            "md5",
            good.replacen(SHA256, "http://www.w3.org/2001/04/xmldsig-more#md5", 1),
        ),
        ("no certificate", {
            let c = good.find("<KeyInfo>").unwrap();
            let d = good.find("</KeyInfo>").unwrap() + "</KeyInfo>".len();
            good.replacen(&good[c..d], "", 1)
        }),
        (
            "object",
            good.replacen("</Signature>", "<Object>x</Object></Signature>", 1),
        ),
    ] {
        let v = verifier.verify(changed.as_bytes(), t);
        assert_eq!(v.status, Status::Refused, "{what}: {}", v.detail);
    }
    // A DTD never reaches a parser of signatures.
    let decl = good.find("?>").unwrap() + 2;
    let dtd = format!(
        "{}<!DOCTYPE GIAMDINHHS [<!ENTITY a \"b\">]>{}",
        &good[..decl],
        &good[decl..]
    );
    let v = verifier.verify(dtd.as_bytes(), t);
    assert_eq!(v.status, Status::Refused, "{}", v.detail);
}

#[test]
fn our_signer_is_accepted_by_xmlsec1_and_by_the_verifier() {
    let pki = Pki::new();
    let verifier = pki.verifier();
    let key = SigningKey::from_pem(&pki.read("fac.key"), &pki.read("fac.pem")).unwrap();
    let t = now();
    for (what, xml) in documents() {
        for algorithm in [Algorithm::RsaSha256, Algorithm::RsaSha1] {
            let signed = sign::sign(&xml, &key, algorithm).unwrap();
            assert!(
                pki.xmlsec_verifies(&signed),
                "{what} {algorithm:?}: xmlsec1 refuses ours"
            );
            let want = match algorithm {
                Algorithm::RsaSha256 => Status::Verified,
                Algorithm::RsaSha1 => Status::VerifiedLegacySha1,
            };
            assert_eq!(verifier.verify(&signed, t).status, want, "{what}");
            assert_no_errors(&what, &signed);
            // Nothing but the signature changed.
            let text = String::from_utf8(signed).unwrap();
            let a = text.find("<CHUKYDONVI>").unwrap();
            let b = text.find("</CHUKYDONVI>").unwrap() + "</CHUKYDONVI>".len();
            let back = format!("{}<CHUKYDONVI />{}", &text[..a], &text[b..]);
            assert_eq!(back.as_bytes(), xml.as_slice(), "{what}");
        }
    }
    // A key that is not the certificate's is refused when loading.
    assert!(SigningKey::from_pem(&pki.read("short.key"), &pki.read("fac.pem")).is_err());
}

#[test]
fn policies_turn_verdicts_into_findings() {
    use sign::Policy;
    let pki = Pki::new();
    let verifier = pki.verifier();
    let (_, xml) = documents().remove(0);
    let t = now();
    let signed = pki.xmlsec_sign(&xml, &template(RSA_SHA256, SHA256, ""), "fac");
    let registered = [Registration {
        fingerprint: pki.cert("fac").fingerprint,
        revoked_at: None,
    }];
    let code = |f: Option<dossier::Finding>| {
        f.map(|f| {
            let error = f.is_error();
            (f.code, error)
        })
    };

    let (v, f) = sign::check(&verifier, Policy::Off, &signed, &registered, t);
    assert_eq!((v.status, code(f)), (Status::NotChecked, None));
    for policy in [Policy::Warn, Policy::Require] {
        let (v, f) = sign::check(&verifier, policy, &signed, &registered, t);
        assert_eq!((v.status, code(f)), (Status::Verified, None), "{policy:?}");
    }
    // Unsigned: recorded under warn, refused under require.
    let (v, f) = sign::check(&verifier, Policy::Warn, &xml, &registered, t);
    assert_eq!((v.status, code(f)), (Status::Unsigned, None));
    let (_, f) = sign::check(&verifier, Policy::Require, &xml, &registered, t);
    assert_eq!(code(f), Some(("SIGNATURE.unsigned".to_string(), true)));
    // Not registered: a warning, or an error.
    let (_, f) = sign::check(&verifier, Policy::Warn, &signed, &[], t);
    assert_eq!(
        code(f),
        Some(("SIGNATURE.cert_not_registered".to_string(), false))
    );
    let (_, f) = sign::check(&verifier, Policy::Require, &signed, &[], t);
    assert_eq!(
        code(f),
        Some(("SIGNATURE.cert_not_registered".to_string(), true))
    );
    assert_eq!("REQUIRE".parse::<Policy>(), Ok(Policy::Require));
    assert!("sometimes".parse::<Policy>().is_err());
}
