//! The XMP packet that carries the record (XMP specification part 1): one `rdf:Description`
//! with the property `TC260:AIGC`, whose value is the record's JSON.
//!
//! This is the form of GB 45438-2025 annex E (the format of the implicit label in file
//! metadata, which clause 6 refers to): the namespace `http://www.tc260.org.cn/ns/AIGC/1.0/`
//! bound to the prefix `TC260`, and a single simple property `AIGC` whose value is the JSON
//! object of the seven fields (`Label`, `ContentProducer`, `ProduceID`, `ReservedCode1`,
//! `ContentPropagator`, `PropagateID`, `ReservedCode2`), not one XMP property per field.
//! Readers find it as the tag `XMP-TC260:AIGC`: `exiftool -XMP-TC260:all FILE` prints the
//! record, `exiftool -validate -warning FILE` checks the file around it.

use quick_xml::XmlVersion;
use quick_xml::escape::{partial_escape, resolve_predefined_entity};
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{Namespace, ResolveResult};
use quick_xml::reader::NsReader;

use crate::record::{AigcRecord, PROPERTY, XMP_NAMESPACE, XMP_PREFIX};

/// The fixed `id` of every XMP packet wrapper.
const PACKET_ID: &str = "W5M0MpCehiHzreSzNTczkc9d";

/// A complete XMP packet (wrapper included) holding `record`.
pub fn packet(record: &AigcRecord) -> String {
    let value = xml_safe_json(record);
    let value = partial_escape(value.as_str());
    format!(
        "<?xpacket begin=\"\u{feff}\" id=\"{PACKET_ID}\"?>\n\
         <x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n \
         <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n  \
         <rdf:Description rdf:about=\"\" xmlns:{XMP_PREFIX}=\"{XMP_NAMESPACE}\">\n   \
         <{XMP_PREFIX}:{PROPERTY}>{value}</{XMP_PREFIX}:{PROPERTY}>\n  \
         </rdf:Description>\n \
         </rdf:RDF>\n\
         </x:xmpmeta>\n\
         <?xpacket end=\"w\"?>"
    )
}

/// The record's JSON with every character XML 1.0 cannot carry written as a JSON escape instead.
/// `serde_json` already escapes the C0 controls; U+FFFE and U+FFFF remain. Such characters can
/// only occur inside JSON strings, where `\uXXXX` means the same.
fn xml_safe_json(record: &AigcRecord) -> String {
    let json = record.to_json();
    if json.chars().all(is_xml_char) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 12);
    for c in json.chars() {
        if is_xml_char(c) {
            out.push(c);
        } else {
            // Every non-character of XML 1.0 is in the BMP, so four hex digits suffice.
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        }
    }
    out
}

/// The `Char` production of XML 1.0 (surrogates cannot occur in a `char`).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{fffd}' | '\u{10000}'..)
}

/// Whether a packet names the record's namespace, which marks the packets this module writes:
/// writers replace those and leave other XMP alone.
pub(super) fn is_ours(packet: &[u8]) -> bool {
    let namespace = XMP_NAMESPACE.as_bytes();
    packet.windows(namespace.len()).any(|w| w == namespace)
}

/// The record in an XMP packet, as element text or as an attribute of its `rdf:Description`,
/// with the namespace matched by URI whatever its prefix. `None` if there is no readable record.
pub fn parse(xmp: &str) -> Option<AigcRecord> {
    let mut reader = NsReader::from_str(xmp);
    loop {
        let (ns, event) = reader.read_resolved_event().ok()?;
        let ours = is_our_namespace(&ns);
        let (start, open) = match event {
            Event::Start(start) => (start, true),
            Event::Empty(start) => (start, false),
            Event::Eof => return None,
            _ => continue,
        };
        if let Some(record) = from_attributes(&reader, &start) {
            return Some(record);
        }
        if open
            && ours
            && start.local_name().as_ref() == PROPERTY
            && let Some(record) =
                element_text(&mut reader).and_then(|text| AigcRecord::from_json(&text).ok())
        {
            return Some(record);
        }
    }
}

fn is_our_namespace(ns: &ResolveResult) -> bool {
    matches!(ns, ResolveResult::Bound(Namespace(uri)) if *uri == XMP_NAMESPACE)
}

/// The record in a `TC260:AIGC="..."` attribute (the RDF shorthand for a simple property).
fn from_attributes(reader: &NsReader<&[u8]>, start: &BytesStart) -> Option<AigcRecord> {
    start.attributes().map_while(Result::ok).find_map(|attr| {
        let (ns, local) = reader.resolver().resolve_attribute(attr.key);
        if !is_our_namespace(&ns) || local.as_ref() != PROPERTY {
            return None;
        }
        let value = attr.normalized_value(XmlVersion::Implicit1_0).ok()?;
        AigcRecord::from_json(&value).ok()
    })
}

/// The text content of the element just started, up to its end tag; `None` if the element has
/// child elements (then it is not a simple property) or the text cannot be decoded.
fn element_text(reader: &mut NsReader<&[u8]>) -> Option<String> {
    let mut text = String::new();
    loop {
        match reader.read_event().ok()? {
            Event::Text(part) => text.push_str(&part.xml10_content()),
            Event::CData(part) => text.push_str(&part.xml10_content()),
            Event::GeneralRef(reference) => match reference.resolve_char_ref().ok()? {
                Some(c) => text.push(c),
                None => text.push_str(resolve_predefined_entity(&reference)?),
            },
            Event::Comment(_) | Event::PI(_) => {}
            Event::End(_) => return Some(text),
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::media::samples::{self, config, records};

    fn wrap(description: &str) -> String {
        format!(
            "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF \
             xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">{description}</rdf:RDF>\
             </x:xmpmeta>"
        )
    }

    #[test]
    fn the_packet_is_a_standard_xmp_packet() {
        let packet = packet(&samples::record());
        assert!(
            packet.starts_with("<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>")
        );
        assert!(packet.ends_with("<?xpacket end=\"w\"?>"));
        assert!(packet.contains(
            "<rdf:Description rdf:about=\"\" xmlns:TC260=\"http://www.tc260.org.cn/ns/AIGC/1.0/\">"
        ));
        assert!(
            packet.contains("<TC260:AIGC>{\"Label\":\"1\",\"ContentProducer\":\"示例模型服务\"")
        );
        assert_eq!(parse(&packet), Some(samples::record()));
    }

    #[test]
    fn markup_in_values_is_escaped() {
        let mut record = samples::record();
        record.content_producer = "<b>&amp;</b> \"x\" ]]>".into();
        let packet = packet(&record);
        assert!(
            packet.contains("&lt;b&gt;&amp;amp;&lt;/b&gt; \\\"x\\\" ]]&gt;"),
            "{packet}"
        );
        assert_eq!(parse(&packet), Some(record));
    }

    #[test]
    fn characters_xml_cannot_carry_become_json_escapes() {
        let mut record = samples::record();
        record.produce_id = "a\u{fffe}b\u{ffff}\u{1}".into();
        let packet = packet(&record);
        assert!(!packet.contains('\u{fffe}') && !packet.contains('\u{ffff}'));
        assert!(packet.contains("a\\ufffeb\\uffff\\u0001"), "{packet}");
        assert_eq!(parse(&packet), Some(record));
    }

    #[test]
    fn the_attribute_form_is_read() {
        let json = samples::record()
            .to_json()
            .replace('&', "&amp;")
            .replace('"', "&quot;");
        let xmp = wrap(&format!(
            "<rdf:Description rdf:about=\"\" xmlns:TC260=\"{XMP_NAMESPACE}\" TC260:AIGC=\"{json}\"/>"
        ));
        assert_eq!(parse(&xmp), Some(samples::record()));
        let open = xmp.replace("\"/>", "\"></rdf:Description>");
        assert_eq!(parse(&open), Some(samples::record()));
    }

    #[test]
    fn the_namespace_is_matched_by_uri_not_by_prefix() {
        let json = samples::record().to_json();
        let other_prefix = wrap(&format!(
            "<rdf:Description rdf:about=\"\" xmlns:ai=\"{XMP_NAMESPACE}\"><ai:AIGC>{json}</ai:AIGC>\
             </rdf:Description>"
        ));
        assert_eq!(parse(&other_prefix), Some(samples::record()));
        let default_ns = wrap(&format!(
            "<rdf:Description rdf:about=\"\"><AIGC xmlns=\"{XMP_NAMESPACE}\">{json}</AIGC>\
             </rdf:Description>"
        ));
        assert_eq!(parse(&default_ns), Some(samples::record()));
        let wrong_uri = wrap(&format!(
            "<rdf:Description rdf:about=\"\" xmlns:TC260=\"http://example.com/\">\
             <TC260:AIGC>{json}</TC260:AIGC></rdf:Description>"
        ));
        assert_eq!(parse(&wrong_uri), None);
        let unbound = wrap(&format!(
            "<rdf:Description><TC260:AIGC>{json}</TC260:AIGC></rdf:Description>"
        ));
        assert_eq!(parse(&unbound), None);
    }

    #[test]
    fn references_and_cdata_in_the_value_are_decoded() {
        let json = samples::record().to_json();
        // The JSON starts with `{`, written here as a character reference.
        let (head, tail) = json[1..].split_at(9);
        let xmp = wrap(&format!(
            "<rdf:Description xmlns:TC260=\"{XMP_NAMESPACE}\"><TC260:AIGC>&#x7b;<![CDATA[{head}]]>\
             <!-- note -->{}</TC260:AIGC></rdf:Description>",
            tail.replace('"', "&quot;")
        ));
        assert_eq!(parse(&xmp), Some(samples::record()));
    }

    #[test]
    fn unreadable_values_give_none() {
        let ns = XMP_NAMESPACE;
        for xmp in [
            String::new(),
            "not xml at all".to_string(),
            wrap("<rdf:Description rdf:about=\"\"/>"),
            wrap(&format!(
                "<rdf:Description xmlns:T=\"{ns}\"><T:AIGC>{{\"Label\":</T:AIGC></rdf:Description>"
            )),
            wrap(&format!(
                "<rdf:Description xmlns:T=\"{ns}\"><T:AIGC><b/></T:AIGC></rdf:Description>"
            )),
            wrap(&format!(
                "<rdf:Description xmlns:T=\"{ns}\"><T:AIGC>&bogus;</T:AIGC></rdf:Description>"
            )),
            wrap(&format!(
                "<rdf:Description xmlns:T=\"{ns}\"><T:AIGC>{{}}</T:AIGC>"
            )),
            format!("<a xmlns:T=\"{ns}\"><T:AIGC>"),
        ] {
            assert_eq!(parse(&xmp), None, "{xmp}");
        }
    }

    proptest! {
        #![proptest_config(config(256))]

        #[test]
        fn any_record_round_trips(record in records()) {
            prop_assert_eq!(parse(&packet(&record)), Some(record));
        }

        #[test]
        fn any_text_parses_without_panicking(text in any::<String>()) {
            let _ = parse(&text);
            let _ = parse(&wrap(&text));
        }
    }
}
