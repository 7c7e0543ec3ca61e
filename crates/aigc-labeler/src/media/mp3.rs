//! MP3: an ID3v2 tag in front of the audio, with the XMP packet in a `PRIV` frame owned by `XMP`
//! and the JSON in a `TXXX` frame described `AIGC`. An existing tag is merged: its other frames
//! and its version stay. The essence is the audio: the bytes after the ID3v2 tag, without a
//! trailing ID3v1 tag.

use std::io::Cursor;

use id3::frame::{ExtendedText, Private};
use id3::{Content, Frame, Tag, TagLike, Version};
use sha2::{Digest, Sha256};

use super::{Carried, Format, MediaError, xmp};
use crate::record::{AigcRecord, PROPERTY, PartDigest};

/// The `PRIV` owner identifier of an XMP packet in ID3.
const XMP_OWNER: &str = "XMP";
const ID3V1_LEN: usize = 128;

/// Whether `bytes` starts with a valid MPEG audio frame header (no reserved field values).
pub(super) fn is_frame_header(bytes: &[u8]) -> bool {
    let Some(&[a, b, c, d]) = bytes.first_chunk::<4>() else {
        return false;
    };
    a == 0xFF
        && b & 0xE0 == 0xE0
        && (b >> 3) & 3 != 1 // version
        && (b >> 1) & 3 != 0 // layer
        && c >> 4 != 0xF // bitrate
        && (c >> 2) & 3 != 3 // sample rate
        && d & 3 != 2 // emphasis
}

fn malformed(offset: usize, detail: impl Into<String>) -> MediaError {
    MediaError::Malformed {
        format: Format::Mp3,
        offset,
        detail: detail.into(),
    }
}

/// The length of the ID3v2 tag at the start of `bytes`, footer included; 0 without a tag.
fn tag_len(bytes: &[u8]) -> Result<usize, MediaError> {
    if !bytes.starts_with(b"ID3") {
        return Ok(0);
    }
    let truncated = MediaError::Truncated {
        format: Format::Mp3,
        what: "ID3v2 tag",
        offset: 0,
    };
    let Some(header) = bytes.first_chunk::<10>() else {
        return Err(truncated);
    };
    let (major, revision, flags, size) = (header[3], header[4], header[5], &header[6..]);
    if !(2..=4).contains(&major) || revision == 0xFF {
        return Err(malformed(
            3,
            format!("unsupported ID3v2 version 2.{major}.{revision}"),
        ));
    }
    if size.iter().any(|&b| b & 0x80 != 0) {
        return Err(malformed(6, "the ID3v2 tag size is not synchsafe"));
    }
    let size = size.iter().fold(0, |acc, &b| acc << 7 | usize::from(b));
    let footer = if major == 4 && flags & 0x10 != 0 {
        10
    } else {
        0
    };
    let len = 10 + size + footer;
    if len > bytes.len() {
        return Err(truncated);
    }
    Ok(len)
}

/// The ID3v2 tag (possibly empty) and the audio after it, which must start with a frame.
fn parse(bytes: &[u8]) -> Result<(&[u8], &[u8]), MediaError> {
    let len = tag_len(bytes)?;
    let (tag, audio) = bytes.split_at(len);
    // Some writers pad the tag with zeros beyond its declared size.
    let first = audio.iter().position(|&b| b != 0).unwrap_or(audio.len());
    if !is_frame_header(&audio[first..]) {
        return Err(if len == 0 {
            MediaError::NotFormat {
                format: Format::Mp3,
                detail: "neither an ID3v2 tag nor an MPEG audio frame at the start",
            }
        } else {
            malformed(len + first, "no MPEG audio frame after the ID3v2 tag")
        });
    }
    Ok((tag, audio))
}

/// The bytes after the ID3v2 tag.
#[cfg(test)]
pub(super) fn audio(bytes: &[u8]) -> Result<&[u8], MediaError> {
    Ok(parse(bytes)?.1)
}

fn read_tag(tag: &[u8]) -> Result<Option<Tag>, MediaError> {
    if tag.is_empty() {
        return Ok(None);
    }
    Ok(Some(Tag::read_from2(Cursor::new(tag))?))
}

/// The text of a `PRIV` frame owned by `XMP`.
fn xmp_packet(frame: &Frame) -> Option<&str> {
    match frame.content() {
        Content::Private(private) if private.owner_identifier == XMP_OWNER => {
            std::str::from_utf8(&private.private_data).ok()
        }
        _ => None,
    }
}

/// See [`super::embed`].
pub fn embed(bytes: &[u8], record: &AigcRecord) -> Result<Vec<u8>, MediaError> {
    let (tag, audio) = parse(bytes)?;
    let (mut tag, version) = match read_tag(tag)? {
        // The crate cannot write ID3v2.2; its frames carry only encodings ID3v2.3 allows.
        Some(tag) if tag.version() == Version::Id3v22 => (tag, Version::Id3v23),
        Some(tag) => {
            let version = tag.version();
            (tag, version)
        }
        None => (Tag::new(), Version::Id3v24),
    };
    for frame in tag.remove("PRIV") {
        let ours = xmp_packet(&frame).is_some_and(|packet| xmp::is_ours(packet.as_bytes()));
        if !ours {
            tag.add_frame(frame);
        }
    }
    tag.remove_extended_text(Some(PROPERTY), None);
    tag.add_frame(Private {
        owner_identifier: XMP_OWNER.to_string(),
        private_data: xmp::packet(record).into_bytes(),
    });
    tag.add_frame(ExtendedText {
        description: PROPERTY.to_string(),
        value: record.to_json(),
    });

    let mut out = Vec::with_capacity(audio.len() + 2048);
    tag.write_to(&mut out, version)?;
    out.extend_from_slice(audio);
    Ok(out)
}

/// See [`super::records`]: the XMP packets first, then the plain-text copies.
pub fn records(bytes: &[u8]) -> Result<Vec<Carried>, MediaError> {
    let (tag, _) = parse(bytes)?;
    let Some(tag) = read_tag(tag)? else {
        return Ok(Vec::new());
    };
    let packets = tag
        .frames()
        .filter_map(xmp_packet)
        .filter(|packet| xmp::is_ours(packet.as_bytes()))
        .map(|packet| Carried {
            carrier: "ID3 PRIV XMP",
            record: xmp::parse(packet),
        });
    let texts = tag
        .extended_texts()
        .filter(|text| text.description == PROPERTY)
        .map(|text| Carried {
            carrier: "ID3 TXXX AIGC",
            record: AigcRecord::from_json(&text.value).ok(),
        });
    Ok(packets.chain(texts).collect())
}

/// See [`super::essence`].
pub fn essence(bytes: &[u8]) -> Result<PartDigest, MediaError> {
    let (_, audio) = parse(bytes)?;
    let audio = match audio.len().checked_sub(ID3V1_LEN) {
        Some(start) if audio[start..].starts_with(b"TAG") => &audio[..start],
        _ => audio,
    };
    Ok(Sha256::digest(audio).into())
}

/// [`super::extract`] for this format.
#[cfg(test)]
fn extract(bytes: &[u8]) -> Result<Option<AigcRecord>, MediaError> {
    super::extract(Format::Mp3, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::samples::{self, MP3};

    /// The tag as the `id3` crate reads it, and the bytes after the size its header declares.
    fn split(bytes: &[u8]) -> (Tag, &[u8]) {
        let tag = Tag::read_from2(Cursor::new(bytes)).unwrap();
        assert_eq!(&bytes[..3], b"ID3");
        let size = bytes[6..10]
            .iter()
            .fold(0usize, |acc, &b| acc << 7 | usize::from(b));
        (tag, &bytes[10 + size..])
    }

    fn ours(tag: &Tag) -> (usize, usize) {
        let packets = tag
            .frames()
            .filter_map(xmp_packet)
            .filter(|p| xmp::is_ours(p.as_bytes()))
            .count();
        let texts = tag
            .extended_texts()
            .filter(|t| t.description == PROPERTY)
            .count();
        (packets, texts)
    }

    #[test]
    fn the_fixture_is_whole_mpeg_audio() {
        assert!(samples::mpeg_frames(MP3).is_some_and(|frames| frames > 5));
    }

    #[test]
    fn the_tag_holds_both_frames_and_the_audio_is_untouched() {
        let record = samples::record();
        let labeled = embed(MP3, &record).unwrap();
        let (tag, audio) = split(&labeled);
        assert_eq!(audio, MP3);
        assert_eq!(samples::mpeg_frames(audio), samples::mpeg_frames(MP3));
        assert_eq!(tag.version(), Version::Id3v24);
        let packet = tag.frames().find_map(xmp_packet).unwrap();
        assert_eq!(packet, xmp::packet(&record));
        let text = tag
            .extended_texts()
            .find(|t| t.description == "AIGC")
            .unwrap();
        assert_eq!(text.value, record.to_json());
        assert_eq!(extract(&labeled).unwrap(), Some(record));
    }

    #[test]
    fn an_existing_tag_is_merged_and_keeps_its_version() {
        let mut user = Tag::new();
        user.set_title("标题");
        user.add_frame(ExtendedText {
            description: "other".into(),
            value: "value".into(),
        });
        let foreign_xmp = "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"/>";
        user.add_frame(Private {
            owner_identifier: XMP_OWNER.into(),
            private_data: foreign_xmp.as_bytes().to_vec(),
        });
        let mut input = Vec::new();
        user.write_to(&mut input, Version::Id3v23).unwrap();
        input.extend_from_slice(MP3);

        let mut first = samples::record();
        first.produce_id = "first".into();
        let once = embed(&input, &first).unwrap();
        let twice = embed(&once, &samples::record()).unwrap();
        for (labeled, record) in [(&once, first), (&twice, samples::record())] {
            let (tag, audio) = split(labeled);
            assert_eq!(audio, MP3);
            assert_eq!(tag.version(), Version::Id3v23);
            assert_eq!(tag.title(), Some("标题"));
            assert!(
                tag.extended_texts()
                    .any(|t| t.description == "other" && t.value == "value")
            );
            assert!(
                tag.frames()
                    .filter_map(xmp_packet)
                    .any(|p| p == foreign_xmp)
            );
            assert_eq!(ours(&tag), (1, 1));
            assert_eq!(extract(labeled).unwrap(), Some(record));
            assert_eq!(essence(labeled).unwrap(), essence(MP3).unwrap());
        }
    }

    #[test]
    fn the_plain_text_copy_is_read_without_xmp() {
        let mut tag = Tag::new();
        tag.add_frame(ExtendedText {
            description: "AIGC".into(),
            value: samples::record().to_json(),
        });
        let mut input = Vec::new();
        tag.write_to(&mut input, Version::Id3v24).unwrap();
        input.extend_from_slice(MP3);
        assert_eq!(extract(&input).unwrap(), Some(samples::record()));
        assert_eq!(extract(MP3).unwrap(), None);
    }

    #[test]
    fn frames_that_disagree_are_an_error_not_a_choice() {
        let record = samples::record();
        let mut forged = record.clone();
        forged.content_producer = "另一家公司".into();
        let mut tag = Tag::new();
        tag.add_frame(Private {
            owner_identifier: XMP_OWNER.into(),
            private_data: xmp::packet(&record).into_bytes(),
        });
        tag.add_frame(ExtendedText {
            description: "AIGC".into(),
            value: forged.to_json(),
        });
        let mut input = Vec::new();
        tag.write_to(&mut input, Version::Id3v24).unwrap();
        input.extend_from_slice(MP3);
        let carried = records(&input).unwrap();
        assert_eq!(carried.len(), 2);
        assert_eq!(carried[0].record.as_ref(), Some(&record));
        assert_eq!(carried[1].record.as_ref(), Some(&forged));
        assert_eq!(
            extract(&input).unwrap_err().to_string(),
            "the MP3 file carries records that disagree (ID3 PRIV XMP, ID3 TXXX AIGC)"
        );
        let labeled = embed(MP3, &record).unwrap();
        assert_eq!(records(&labeled).unwrap().len(), 2);
        assert_eq!(extract(&labeled).unwrap(), Some(record));
    }

    #[test]
    fn an_id3v1_tag_is_kept_but_not_part_of_the_essence() {
        let mut input = MP3.to_vec();
        input.extend_from_slice(b"TAG");
        input.extend_from_slice(&[b' '; ID3V1_LEN - 3]);
        assert_eq!(essence(&input).unwrap(), essence(MP3).unwrap());
        let labeled = embed(&input, &samples::record()).unwrap();
        assert!(labeled.ends_with(&input));
        assert_eq!(essence(&labeled).unwrap(), essence(MP3).unwrap());
    }

    #[test]
    fn tag_lengths_follow_the_header() {
        assert_eq!(tag_len(MP3).unwrap(), 0);
        let mut with_footer = b"ID3\x04\x00\x10\x00\x00\x01\x01".to_vec();
        with_footer.resize(10 + 129 + 10, 0);
        assert_eq!(tag_len(&with_footer).unwrap(), 149);
        with_footer[3] = 3; // no footer before ID3v2.4
        assert_eq!(tag_len(&with_footer).unwrap(), 139);
    }

    #[test]
    fn malformed_files_are_rejected_with_a_reason() {
        let message = |bytes: &[u8]| embed(bytes, &samples::record()).unwrap_err().to_string();
        assert_eq!(
            message(b"RIFF"),
            "not an MP3 file: neither an ID3v2 tag nor an MPEG audio frame at the start"
        );
        assert_eq!(message(b"ID3\x04\0"), "truncated MP3 ID3v2 tag at byte 0");
        assert_eq!(
            message(b"ID3\x04\0\0\0\0\0\x20"),
            "truncated MP3 ID3v2 tag at byte 0"
        );
        assert_eq!(
            message(b"ID3\x05\0\0\0\0\0\0"),
            "malformed MP3 file at byte 3: unsupported ID3v2 version 2.5.0"
        );
        assert_eq!(
            message(b"ID3\x04\0\0\0\0\0\x80"),
            "malformed MP3 file at byte 6: the ID3v2 tag size is not synchsafe"
        );
        let mut no_audio = Vec::new();
        let mut tag = Tag::new();
        tag.set_title("x");
        tag.write_to(&mut no_audio, Version::Id3v24).unwrap();
        let len = no_audio.len();
        no_audio.extend_from_slice(b"not audio");
        assert_eq!(
            message(&no_audio),
            format!("malformed MP3 file at byte {len}: no MPEG audio frame after the ID3v2 tag")
        );
        let mut bad_frames =
            b"ID3\x04\0\0\0\0\0\x0b\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff".to_vec();
        bad_frames.extend_from_slice(MP3);
        assert!(
            message(&bad_frames).starts_with("unreadable ID3v2 tag: "),
            "{}",
            message(&bad_frames)
        );
    }
}
