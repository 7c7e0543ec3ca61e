//! The implicit label of GB 45438-2025 clause 6: the `AIGC` record and its anti-tamper value.
//!
//! The record has seven fields. `ReservedCode1` is the producer's anti-tamper value; here it is
//! an HMAC-SHA256, keyed by a secret the provider mounts, over the content's ID and a digest of
//! the content itself, so anyone holding the key can tell whether either was changed.
//!
//! The content is a list of *parts*, each reduced to a SHA-256 digest first: the text of each
//! choice of a completion (in index order), each image of an images response, or the single
//! image or audio file. For a media file the digest is over its *essence*, the file without its
//! metadata (see `media::essence`), so writing the record into the file does not change it.

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
const MAC_DOMAIN: &[u8] = b"TC260-AIGC/1\0";

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
    /// The value matches the content and its ID under the key.
    Intact,
    /// The value does not match: the content, its ID or the value was changed.
    Tampered,
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

    fn mac(&self, produce_id: &str, parts: &[PartDigest]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key)
            .expect("HMAC accepts keys of any length");
        mac.update(MAC_DOMAIN);
        mac.update(produce_id.as_bytes());
        mac.update(b"\0");
        for part in parts {
            mac.update(part);
        }
        mac
    }

    /// A new record for content made of `parts`, with the given unique ID.
    pub fn seal(&self, produce_id: &str, parts: &[PartDigest]) -> AigcRecord {
        let code = self.mac(produce_id, parts).finalize().into_bytes();
        AigcRecord {
            label: "1".to_string(),
            content_producer: self.producer.clone(),
            produce_id: produce_id.to_string(),
            reserved_code1: hex::encode(code),
            content_propagator: String::new(),
            propagate_id: String::new(),
            reserved_code2: String::new(),
        }
    }

    /// Checks `record.reserved_code1` against the content (constant-time comparison).
    pub fn check(&self, record: &AigcRecord, parts: &[PartDigest]) -> Integrity {
        let Ok(code) = hex::decode(record.reserved_code1.trim()) else {
            return Integrity::Tampered;
        };
        match self.mac(&record.produce_id, parts).verify_slice(&code) {
            Ok(()) => Integrity::Intact,
            Err(_) => Integrity::Tampered,
        }
    }
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
