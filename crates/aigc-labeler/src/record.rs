//! The implicit label of GB 45438-2025 clause 6: the `AIGC` record and its anti-tamper value.
//!
//! The record has seven fields. `ReservedCode1` is the producer's anti-tamper value: keyed
//! HMAC-SHA256 tags, under a secret the provider mounts, over every field the producer fills in
//! and over a digest of the content itself, so anyone holding the key can tell whether any of
//! them was changed, and which.
//!
//! The content is a list of *parts*, each reduced to a SHA-256 digest first: the text of each
//! choice of a completion (in index order), each image of an images response, or the single
//! image or audio file. For a media file the digest is over its *essence*, the file without its
//! metadata (see `media::essence`), so writing the record into the file does not change it.
//!
//! # What `ReservedCode1` covers, and what a propagator may change
//!
//! Covered (changing any of them makes `verify` report the record as tampered, naming it):
//! `Label`, `ContentProducer`, `ProduceID`, and the content. `ReservedCode1` is 96 hex digits:
//!
//! | bytes | tag (HMAC-SHA256, truncated)                         | decides   |
//! |-------|------------------------------------------------------|-----------|
//! | 0–15  | all of: Label, ContentProducer, ProduceID, content  | intact?   |
//! | 16–23 | ProduceID                                            | diagnosis |
//! | 24–31 | Label, bound to the ProduceID                        | diagnosis |
//! | 32–39 | ContentProducer, bound to the ProduceID              | diagnosis |
//! | 40–47 | the content, bound to the ProduceID                  | diagnosis |
//!
//! Only the first tag decides whether the record is intact; the short ones only say which part
//! differs once it is not, so mixing tags from different records gains nothing.
//!
//! Not covered, and left for the platforms that pass the content on (clause 6 gives them these
//! fields): `ContentPropagator`, `PropagateID` and `ReservedCode2`. A propagator may fill in or
//! change those three, and only those, and rewrite the record in every carrier of the file
//! (both the XMP packet and the plain-text copy where a format has two), without breaking
//! verification. Writing different records into the carriers of one file is reported as
//! tampering, whichever of them would verify.

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The XMP namespace of the record (GB 45438-2025, annex on file metadata).
pub const XMP_NAMESPACE: &str = "http://www.tc260.org.cn/ns/AIGC/1.0/";
/// The XMP prefix bound to [`XMP_NAMESPACE`].
pub const XMP_PREFIX: &str = "TC260";
/// The property (and PNG text keyword) that carries the record.
pub const PROPERTY: &str = "AIGC";

/// Domain separation for the anti-tamper value; bump the version if the input layout changes.
const MAC_DOMAIN: &[u8] = b"TC260-AIGC/2\0";
/// Length of the tag that decides whether a record is intact (128 bits, RFC 2104 section 5).
const DECIDING_TAG: usize = 16;
/// Length of each of the tags that say which part changed.
const PART_TAG: usize = 8;
/// The parts with a tag of their own, in the order of their tags in `ReservedCode1`.
const TAGGED: [Tamper; 4] = [
    Tamper::ProduceId,
    Tamper::Label,
    Tamper::ContentProducer,
    Tamper::Content,
];
/// Length of `ReservedCode1` in bytes (twice that in hex digits).
pub const RESERVED_CODE1_BYTES: usize = DECIDING_TAG + TAGGED.len() * PART_TAG;

/// SHA-256 of one part of the content.
pub type PartDigest = [u8; 32];

/// The seven fields of the implicit label, in the order the standard lists them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AigcRecord {
    /// "1": the content is AI-generated.
    #[serde(rename = "Label")]
    pub label: String,
    /// The provider's name or code.
    #[serde(rename = "ContentProducer")]
    pub content_producer: String,
    /// Unique per response.
    #[serde(rename = "ProduceID")]
    pub produce_id: String,
    /// The producer's anti-tamper value (hex HMAC-SHA256, see the module docs).
    #[serde(rename = "ReservedCode1")]
    pub reserved_code1: String,
    /// Left for the service that propagates the content.
    #[serde(rename = "ContentPropagator", default)]
    pub content_propagator: String,
    /// Left for the service that propagates the content.
    #[serde(rename = "PropagateID", default)]
    pub propagate_id: String,
    /// Left for distributors: present and empty when produced here.
    #[serde(rename = "ReservedCode2", default)]
    pub reserved_code2: String,
}

impl AigcRecord {
    /// The record as one line of JSON (UTF-8).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a record of strings always serializes")
    }

    /// The record as JSON with every non-ASCII character escaped (`\uXXXX`), for carriers
    /// restricted to Latin-1 such as a PNG `tEXt` chunk. Still valid JSON for the same record.
    pub fn to_ascii_json(&self) -> String {
        let mut out = String::new();
        for c in self.to_json().chars() {
            if c.is_ascii() {
                out.push(c);
            } else {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
        out
    }

    /// Parses the JSON form (either of the above).
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text.trim())
    }
}

/// SHA-256 of one part of the content.
pub fn part_digest(bytes: &[u8]) -> PartDigest {
    Sha256::digest(bytes).into()
}

/// Incremental [`part_digest`], for content that arrives in pieces (a streamed completion).
#[derive(Clone, Default)]
pub struct PartHasher(Sha256);

impl PartHasher {
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    pub fn finish(self) -> PartDigest {
        self.0.finalize().into()
    }
}

/// What a verifier concludes about a record's `ReservedCode1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Integrity {
    /// The value matches the record's fields and the content under the key.
    Intact,
    /// The value does not match: a field, the content or the value itself was changed.
    Tampered,
}

/// Which part of a record (or of the content it describes) no longer matches `ReservedCode1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Tamper {
    Label,
    ContentProducer,
    /// A changed ID makes every other part differ too: only the ID is reported then.
    ProduceId,
    Content,
    /// `ReservedCode1` itself: not a value of this key's form, or changed while every part
    /// still matches its own tag.
    ReservedCode1,
}

impl Tamper {
    /// What changed, in a sentence fragment.
    pub fn describe(self) -> &'static str {
        match self {
            Tamper::Label => "Label was changed",
            Tamper::ContentProducer => "ContentProducer was changed",
            Tamper::ProduceId => "ProduceID was changed",
            Tamper::Content => "the content was changed",
            Tamper::ReservedCode1 => {
                "ReservedCode1 is not a value this key produced (altered, or another key)"
            }
        }
    }
}

/// Produces and checks records with the provider's key.
#[derive(Clone)]
pub struct Sealer {
    producer: String,
    key: Vec<u8>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("producer", &self.producer)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// Feeds a length-prefixed field, so no two different field lists feed the same bytes.
fn field(mac: &mut Hmac<Sha256>, value: &str) {
    mac.update(&(value.len() as u64).to_be_bytes());
    mac.update(value.as_bytes());
}

fn content(mac: &mut Hmac<Sha256>, parts: &[PartDigest]) {
    mac.update(&(parts.len() as u64).to_be_bytes());
    for part in parts {
        mac.update(part);
    }
}

impl Sealer {
    /// `key` must not be empty.
    pub fn new(producer: impl Into<String>, key: Vec<u8>) -> Self {
        assert!(!key.is_empty(), "the anti-tamper key must not be empty");
        Self {
            producer: producer.into(),
            key,
        }
    }

    pub fn producer(&self) -> &str {
        &self.producer
    }

    fn mac(&self, purpose: &str) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key)
            .expect("HMAC accepts keys of any length");
        mac.update(MAC_DOMAIN);
        field(&mut mac, purpose);
        mac
    }

    /// The full `ReservedCode1` for these fields and content (see the module docs).
    fn code(
        &self,
        label: &str,
        producer: &str,
        produce_id: &str,
        parts: &[PartDigest],
    ) -> [u8; RESERVED_CODE1_BYTES] {
        let mut deciding = self.mac("record");
        field(&mut deciding, label);
        field(&mut deciding, producer);
        field(&mut deciding, produce_id);
        content(&mut deciding, parts);
        let mut code = [0u8; RESERVED_CODE1_BYTES];
        code[..DECIDING_TAG].copy_from_slice(&deciding.finalize().into_bytes()[..DECIDING_TAG]);
        for (slot, part) in TAGGED.iter().enumerate() {
            let mut mac = self.mac(match part {
                Tamper::ProduceId => "ProduceID",
                Tamper::Label => "Label",
                Tamper::ContentProducer => "ContentProducer",
                _ => "content",
            });
            field(&mut mac, produce_id);
            match part {
                Tamper::Label => field(&mut mac, label),
                Tamper::ContentProducer => field(&mut mac, producer),
                Tamper::Content => content(&mut mac, parts),
                _ => {}
            }
            let at = DECIDING_TAG + slot * PART_TAG;
            code[at..at + PART_TAG].copy_from_slice(&mac.finalize().into_bytes()[..PART_TAG]);
        }
        code
    }

    /// A new record for content made of `parts`, with the given unique ID.
    pub fn seal(&self, produce_id: &str, parts: &[PartDigest]) -> AigcRecord {
        let label = "1";
        let code = self.code(label, &self.producer, produce_id, parts);
        AigcRecord {
            label: label.to_string(),
            content_producer: self.producer.clone(),
            produce_id: produce_id.to_string(),
            reserved_code1: hex::encode(code),
            content_propagator: String::new(),
            propagate_id: String::new(),
            reserved_code2: String::new(),
        }
    }

    /// Checks `record.reserved_code1` against the record's fields and the content.
    pub fn check(&self, record: &AigcRecord, parts: &[PartDigest]) -> Integrity {
        if self.examine(record, parts).is_empty() {
            Integrity::Intact
        } else {
            Integrity::Tampered
        }
    }

    /// What does not match `record.reserved_code1`; empty when the record is intact. The
    /// deciding tag is compared in constant time.
    pub fn examine(&self, record: &AigcRecord, parts: &[PartDigest]) -> Vec<Tamper> {
        let Some(given) = hex::decode(record.reserved_code1.trim())
            .ok()
            .and_then(|bytes| <[u8; RESERVED_CODE1_BYTES]>::try_from(bytes).ok())
        else {
            return vec![Tamper::ReservedCode1];
        };
        let expected = self.code(
            &record.label,
            &record.content_producer,
            &record.produce_id,
            parts,
        );
        let intact: bool = subtle_eq(&given[..DECIDING_TAG], &expected[..DECIDING_TAG]);
        if intact {
            return Vec::new();
        }
        let differs = |slot: usize| {
            let at = DECIDING_TAG + slot * PART_TAG;
            given[at..at + PART_TAG] != expected[at..at + PART_TAG]
        };
        let mut found: Vec<Tamper> = if differs(0) {
            vec![Tamper::ProduceId]
        } else {
            (1..TAGGED.len())
                .filter(|&slot| differs(slot))
                .map(|slot| TAGGED[slot])
                .collect()
        };
        if found.is_empty() {
            found.push(Tamper::ReservedCode1);
        }
        found
    }
}

/// Equality that takes the same time wherever the inputs differ.
fn subtle_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A fresh, unique content ID.
pub fn new_produce_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer() -> Sealer {
        Sealer::new("示例模型服务", b"secret".to_vec())
    }

    #[test]
    fn json_keeps_the_standard_field_names_and_order() {
        let record = sealer().seal("id-1", &[part_digest(b"hello")]);
        let json = record.to_json();
        let keys: Vec<usize> = [
            "\"Label\"",
            "\"ContentProducer\"",
            "\"ProduceID\"",
            "\"ReservedCode1\"",
            "\"ContentPropagator\"",
            "\"PropagateID\"",
            "\"ReservedCode2\"",
        ]
        .iter()
        .map(|k| {
            json.find(k)
                .unwrap_or_else(|| panic!("{k} missing from {json}"))
        })
        .collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{json}");
        assert!(json.contains("\"Label\":\"1\""));
        assert!(json.contains("\"ReservedCode2\":\"\""));
    }

    #[test]
    fn ascii_json_escapes_and_round_trips() {
        let record = sealer().seal("id-1", &[]);
        let ascii = record.to_ascii_json();
        assert!(ascii.is_ascii(), "{ascii}");
        assert_eq!(AigcRecord::from_json(&ascii).unwrap(), record);
        assert_eq!(AigcRecord::from_json(&record.to_json()).unwrap(), record);
    }

    #[test]
    fn the_seal_detects_changed_content_id_or_key() {
        let parts = [part_digest(b"a"), part_digest(b"b")];
        let record = sealer().seal("id-1", &parts);
        assert_eq!(sealer().check(&record, &parts), Integrity::Intact);
        assert_eq!(
            sealer().check(&record, &[part_digest(b"a"), part_digest(b"c")]),
            Integrity::Tampered
        );
        assert_eq!(sealer().check(&record, &parts[..1]), Integrity::Tampered);
        let mut moved = record.clone();
        moved.produce_id = "id-2".into();
        assert_eq!(sealer().check(&moved, &parts), Integrity::Tampered);
        let other = Sealer::new("示例模型服务", b"other".to_vec());
        assert_eq!(other.check(&record, &parts), Integrity::Tampered);
        let mut garbage = record;
        garbage.reserved_code1 = "zz".into();
        assert_eq!(sealer().check(&garbage, &parts), Integrity::Tampered);
        assert_eq!(sealer().examine(&garbage, &parts), [Tamper::ReservedCode1]);
    }

    #[test]
    fn every_field_the_producer_fills_in_is_covered_and_named() {
        let parts = [part_digest(b"a"), part_digest(b"b")];
        let record = sealer().seal("id-1", &parts);
        assert_eq!(record.reserved_code1.len(), 2 * RESERVED_CODE1_BYTES);
        assert!(sealer().examine(&record, &parts).is_empty());

        let edit = |change: fn(&mut AigcRecord)| {
            let mut edited = record.clone();
            change(&mut edited);
            sealer().examine(&edited, &parts)
        };
        assert_eq!(edit(|r| r.label = "0".into()), [Tamper::Label]);
        assert_eq!(edit(|r| r.label = String::new()), [Tamper::Label]);
        assert_eq!(
            edit(|r| r.content_producer = "另一家公司".into()),
            [Tamper::ContentProducer]
        );
        assert_eq!(
            edit(|r| {
                r.label = "0".into();
                r.content_producer = "other".into();
            }),
            [Tamper::Label, Tamper::ContentProducer]
        );
        assert_eq!(edit(|r| r.produce_id = "id-2".into()), [Tamper::ProduceId]);
        assert_eq!(
            sealer().examine(&record, &[part_digest(b"a")]),
            [Tamper::Content]
        );
        // Flipping a digit of the deciding tag alone: the value itself.
        assert_eq!(
            edit(|r| {
                let flipped = if r.reserved_code1.starts_with('0') {
                    "1"
                } else {
                    "0"
                };
                r.reserved_code1.replace_range(..1, flipped);
            }),
            [Tamper::ReservedCode1]
        );
        // A value of the earlier form (one 32-byte tag) is not accepted.
        assert_eq!(
            edit(|r| r.reserved_code1 = "ab".repeat(32)),
            [Tamper::ReservedCode1]
        );
        // Field boundaries are part of the input: moving bytes between fields is a change.
        let shifted = Sealer::new("示例模型服务1", b"secret".to_vec());
        let mut moved = shifted.seal("d-1", &parts);
        moved.content_producer = "示例模型服务".into();
        moved.produce_id = "1d-1".into();
        assert_eq!(sealer().check(&moved, &parts), Integrity::Tampered);
    }

    #[test]
    fn a_propagator_may_fill_in_its_three_fields() {
        let parts = [part_digest(b"a")];
        let mut record = sealer().seal("id-1", &parts);
        record.content_propagator = "某分发平台".into();
        record.propagate_id = "share-42".into();
        record.reserved_code2 = "platform-signature".into();
        assert_eq!(sealer().check(&record, &parts), Integrity::Intact);
    }

    #[test]
    fn the_incremental_hasher_matches_the_one_shot_digest() {
        let mut hasher = PartHasher::default();
        hasher.update("本内容".as_bytes());
        hasher.update("由人工智能生成".as_bytes());
        assert_eq!(
            hasher.finish(),
            part_digest("本内容由人工智能生成".as_bytes())
        );
    }

    #[test]
    fn produce_ids_are_unique() {
        assert_ne!(new_produce_id(), new_produce_id());
    }
}
