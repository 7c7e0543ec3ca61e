//! JPEG: the XMP packet in an APP1 segment (XMP specification part 3), placed after SOI and the
//! leading APP0 (JFIF) and Exif APP1 segments, which readers expect first. The essence is the
//! file without its APPn and COM segments.

use sha2::{Digest, Sha256};

use super::{Carried, Format, MediaError, xmp};
use crate::record::{AigcRecord, PartDigest};

const SOI: [u8; 2] = [0xFF, 0xD8];
const APP0: u8 = 0xE0;
const APP1: u8 = 0xE1;
const APP13: u8 = 0xED;
const COM: u8 = 0xFE;
const SOS: u8 = 0xDA;
const EOI: u8 = 0xD9;
/// The signature that starts the payload of an XMP APP1 segment.
const XMP_SIGNATURE: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";
const EXIF_SIGNATURE: &[u8] = b"Exif\0\0";
/// A segment's length field counts itself.
const MAX_PAYLOAD: usize = 0xFFFF - 2;

struct Segment<'a> {
    marker: u8,
    /// `None` for the markers that stand alone (TEM, RSTn).
    payload: Option<&'a [u8]>,
}

impl Segment<'_> {
    fn xmp(&self) -> Option<&[u8]> {
        if self.marker != APP1 {
            return None;
        }
        self.payload?.strip_prefix(XMP_SIGNATURE)
    }

    fn is_ours(&self) -> bool {
        self.xmp().is_some_and(xmp::is_ours)
    }

    /// Segments that describe the image without changing how it looks: JFIF (APP0), Exif and
    /// XMP (APP1), IPTC (APP13), comments. The rest (ICC profiles in APP2, Adobe's colour
    /// transform in APP14, unknown APPn) is part of the image, so changing it breaks the seal.
    fn is_metadata(&self) -> bool {
        matches!(self.marker, APP0 | APP1 | APP13 | COM)
    }

    /// JFIF and Exif segments, which belong directly after SOI.
    fn leads(&self) -> bool {
        self.marker == APP0
            || (self.marker == APP1 && self.payload.is_some_and(|p| p.starts_with(EXIF_SIGNATURE)))
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[0xFF, self.marker]);
        if let Some(payload) = self.payload {
            // Parsed or built with at most `MAX_PAYLOAD` bytes.
            out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
            out.extend_from_slice(payload);
        }
    }
}

/// The marker segments between SOI and the first scan (or EOI), and the rest of the file from
/// that marker on.
fn parse(bytes: &[u8]) -> Result<(Vec<Segment<'_>>, &[u8]), MediaError> {
    if !bytes.starts_with(&SOI) {
        return Err(MediaError::NotFormat {
            format: Format::Jpeg,
            detail: "missing the SOI marker",
        });
    }
    let mut segments = Vec::new();
    let mut at = SOI.len();
    loop {
        let truncated = MediaError::Truncated {
            format: Format::Jpeg,
            what: "segment",
            offset: at,
        };
        match bytes.get(at) {
            None => {
                return Err(MediaError::Missing {
                    format: Format::Jpeg,
                    what: "SOS marker",
                });
            }
            Some(0xFF) => {}
            Some(other) => {
                return Err(MediaError::Malformed {
                    format: Format::Jpeg,
                    offset: at,
                    detail: format!("expected a marker, found byte 0x{other:02x}"),
                });
            }
        }
        // Any number of 0xFF fill bytes may precede a marker.
        let mut marker_at = at + 1;
        while bytes.get(marker_at) == Some(&0xFF) {
            marker_at += 1;
        }
        let Some(&marker) = bytes.get(marker_at) else {
            return Err(truncated);
        };
        match marker {
            SOS | EOI => return Ok((segments, &bytes[marker_at - 1..])),
            0x01 | 0xD0..=0xD7 => {
                segments.push(Segment {
                    marker,
                    payload: None,
                });
                at = marker_at + 1;
            }
            0x00 | 0xD8 => {
                return Err(MediaError::Malformed {
                    format: Format::Jpeg,
                    offset: at,
                    detail: format!("unexpected marker 0xff{marker:02x}"),
                });
            }
            _ => {
                let Some(&length) = bytes
                    .get(marker_at + 1..)
                    .and_then(|rest| rest.first_chunk::<2>())
                else {
                    return Err(truncated);
                };
                let length = usize::from(u16::from_be_bytes(length));
                if length < 2 {
                    return Err(MediaError::Malformed {
                        format: Format::Jpeg,
                        offset: at,
                        detail: format!("segment length {length} is less than 2"),
                    });
                }
                let start = marker_at + 3;
                let end = marker_at + 1 + length;
                let Some(payload) = bytes.get(start..end) else {
                    return Err(truncated);
                };
                segments.push(Segment {
                    marker,
                    payload: Some(payload),
                });
                at = end;
            }
        }
    }
}

/// See [`super::embed`].
pub fn embed(bytes: &[u8], record: &AigcRecord) -> Result<Vec<u8>, MediaError> {
    let (segments, scan) = parse(bytes)?;
    let payload = [XMP_SIGNATURE, xmp::packet(record).as_bytes()].concat();
    if payload.len() > MAX_PAYLOAD {
        return Err(MediaError::TooLarge {
            format: Format::Jpeg,
            what: "XMP segment",
            size: payload.len(),
            max: MAX_PAYLOAD,
        });
    }
    let ours = Segment {
        marker: APP1,
        payload: Some(&payload),
    };
    let kept: Vec<&Segment> = segments.iter().filter(|s| !s.is_ours()).collect();
    let insert_at = kept.iter().take_while(|s| s.leads()).count();

    let mut out = Vec::with_capacity(bytes.len() + payload.len() + 4);
    out.extend_from_slice(&SOI);
    for segment in &kept[..insert_at] {
        segment.write(&mut out);
    }
    ours.write(&mut out);
    for segment in &kept[insert_at..] {
        segment.write(&mut out);
    }
    out.extend_from_slice(scan);
    Ok(out)
}

/// See [`super::records`].
pub fn records(bytes: &[u8]) -> Result<Vec<Carried>, MediaError> {
    let (segments, _) = parse(bytes)?;
    Ok(segments
        .iter()
        .filter(|s| s.is_ours())
        .filter_map(Segment::xmp)
        .map(|packet| Carried {
            carrier: "APP1 XMP",
            record: std::str::from_utf8(packet).ok().and_then(xmp::parse),
        })
        .collect())
}

/// See [`super::essence`].
pub fn essence(bytes: &[u8]) -> Result<PartDigest, MediaError> {
    let (segments, scan) = parse(bytes)?;
    let mut head = SOI.to_vec();
    for segment in segments.iter().filter(|s| !s.is_metadata()) {
        segment.write(&mut head);
    }
    let mut hasher = Sha256::new();
    hasher.update(&head);
    hasher.update(scan);
    Ok(hasher.finalize().into())
}

/// [`super::extract`] for this format.
#[cfg(test)]
fn extract(bytes: &[u8]) -> Result<Option<AigcRecord>, MediaError> {
    super::extract(Format::Jpeg, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::samples;

    fn markers(bytes: &[u8]) -> Vec<u8> {
        let (segments, _) = parse(bytes).unwrap();
        segments.iter().map(|s| s.marker).collect()
    }

    /// `bytes` with a segment inserted right after SOI.
    fn with_segment_first(bytes: &[u8], marker: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = SOI.to_vec();
        Segment {
            marker,
            payload: Some(payload),
        }
        .write(&mut out);
        out.extend_from_slice(&bytes[2..]);
        out
    }

    #[test]
    fn jpeg_decoder_reads_the_packet_and_the_same_pixels() {
        let original = samples::jpeg(16, 9, 3);
        let record = samples::record();
        let labeled = embed(&original, &record).unwrap();
        assert_eq!(markers(&labeled)[..2], [APP0, APP1]);
        let (pixels, packet) = samples::decode_jpeg(&labeled).unwrap();
        let packet = String::from_utf8(packet.expect("an XMP packet")).unwrap();
        assert_eq!(packet, xmp::packet(&record));
        assert_eq!(pixels, samples::decode_jpeg(&original).unwrap().0);
        assert_eq!(extract(&labeled).unwrap(), Some(record));
    }

    #[test]
    fn labeling_again_replaces_the_record() {
        let original = samples::jpeg(8, 8, 1);
        let mut first = samples::record();
        first.produce_id = "first".into();
        let twice = embed(&embed(&original, &first).unwrap(), &samples::record()).unwrap();
        assert_eq!(twice, embed(&original, &samples::record()).unwrap());
        assert_eq!(markers(&twice).iter().filter(|&&m| m == APP1).count(), 1);
        assert_eq!(extract(&twice).unwrap(), Some(samples::record()));
    }

    #[test]
    fn exif_stays_first_and_other_metadata_is_kept() {
        let original = samples::jpeg(8, 8, 1);
        let exif = [EXIF_SIGNATURE, b"MM\0*\0\0\0\x08\0\0"].concat();
        let foreign_xmp = [XMP_SIGNATURE, b"<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"/>"].concat();
        let input = with_segment_first(&original[..], COM, b"a comment");
        let input = with_segment_first(&input, APP1, &foreign_xmp);
        let input = with_segment_first(&input, APP1, &exif);
        let labeled = embed(&input, &samples::record()).unwrap();
        let (segments, _) = parse(&labeled).unwrap();
        assert_eq!(segments[0].payload, Some(&exif[..]));
        assert!(segments[1].is_ours());
        assert_eq!(segments[2].payload, Some(&foreign_xmp[..]));
        assert_eq!(segments[3].marker, COM);
        assert_eq!(extract(&labeled).unwrap(), Some(samples::record()));
        assert_eq!(essence(&labeled).unwrap(), essence(&original).unwrap());
    }

    #[test]
    fn fill_bytes_before_markers_are_accepted() {
        let original = samples::jpeg(8, 8, 1);
        let mut padded = SOI.to_vec();
        padded.extend_from_slice(&[0xFF, 0xFF]);
        padded.extend_from_slice(&original[2..]);
        let labeled = embed(&padded, &samples::record()).unwrap();
        assert_eq!(essence(&labeled).unwrap(), essence(&original).unwrap());
        assert_eq!(
            samples::decode_jpeg(&labeled).unwrap().0,
            samples::decode_jpeg(&original).unwrap().0
        );
    }

    #[test]
    fn the_essence_follows_the_image_data_only() {
        let a = samples::jpeg(8, 8, 1);
        let b = samples::jpeg(8, 8, 2);
        assert_ne!(essence(&a).unwrap(), essence(&b).unwrap());
        let commented = with_segment_first(&a, COM, b"x");
        assert_eq!(essence(&commented).unwrap(), essence(&a).unwrap());
        // An Adobe colour transform (APP14) changes how the pixels look: part of the essence.
        let adobe = with_segment_first(&a, 0xEE, b"Adobe\0\x64\0\0\0\0\x01");
        assert_ne!(essence(&adobe).unwrap(), essence(&a).unwrap());
    }

    #[test]
    fn a_record_too_large_for_one_segment_is_refused() {
        let mut record = samples::record();
        record.content_producer = "x".repeat(MAX_PAYLOAD);
        let err = embed(&samples::jpeg(2, 2, 0), &record).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("the XMP segment is too large for a JPEG file: "),
            "{err}"
        );
    }

    #[test]
    fn malformed_files_are_rejected_with_a_reason() {
        let good = samples::jpeg(2, 2, 0);
        let message = |bytes: &[u8]| embed(bytes, &samples::record()).unwrap_err().to_string();
        assert_eq!(
            message(b"\x89PNG"),
            "not a JPEG file: missing the SOI marker"
        );
        assert_eq!(message(&good[..2]), "the JPEG file has no SOS marker");
        assert_eq!(message(&good[..10]), "truncated JPEG segment at byte 2");
        assert_eq!(
            message(b"\xff\xd8\xff\xe0\x00\x01"),
            "malformed JPEG file at byte 2: segment length 1 is less than 2"
        );
        assert_eq!(
            message(b"\xff\xd8\x00"),
            "malformed JPEG file at byte 2: expected a marker, found byte 0x00"
        );
        assert_eq!(
            message(b"\xff\xd8\xff\xd8"),
            "malformed JPEG file at byte 2: unexpected marker 0xffd8"
        );
        assert_eq!(
            message(b"\xff\xd8\xff\xff"),
            "truncated JPEG segment at byte 2"
        );
    }
}
