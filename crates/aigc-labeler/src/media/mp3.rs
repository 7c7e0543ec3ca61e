//! MP3: an ID3v2 tag in front of the audio, with the XMP packet in a `PRIV` frame owned by `XMP`
//! and the JSON in a `TXXX` frame described `AIGC`. An existing tag is merged: its other frames
//! and its version stay.
//!
//! The essence is the audio payload of the MPEG frames after the ID3v2 tag: for each frame, its
//! header without the bits that do not change the sound (protection, private, copyright,
//! original) and the bytes after the header and its CRC. Bytes between frames or after the last
//! whole frame (an ID3v1 or APE tag, junk a decoder skips) are not part of it, nor is the
//! Xing/Info/VBRI frame in front, which holds an encoder's seek table and no audio. Stripping
//! or rewriting tags and that frame, or flipping those header bits, is not tampering; changing a
//! frame's audio is. Free-format streams (no bitrate in the header, so no frame lengths to walk)
//! fall back to every byte after the ID3v2 tag, without an ID3v1 tag.

use std::io::Cursor;

use id3::frame::{ExtendedText, Private};
use id3::{Content, Frame, Tag, TagLike, Version};
use sha2::{Digest, Sha256};

use super::{Carried, Format, MediaError, xmp};
use crate::record::{AigcRecord, PROPERTY, PartDigest};

/// The `PRIV` owner identifier of an XMP packet in ID3.
const XMP_OWNER: &str = "XMP";
const ID3V1_LEN: usize = 128;
/// Zeros after the last frame of the tag. ID3v2.4 frame sizes are synchsafe integers, but
/// iTunes wrote plain ones, so readers that accept both (exiftool among them) take a size as
/// synchsafe only when another frame header (10 bytes) still fits in the tag after the frame,
/// and warn `Invalid ID3 frame size` otherwise. Padding (ID3v2.4 section 3.3) makes room for
/// that, and for a tag editor to grow the tag in place.
const PADDING: usize = 256;

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
    id3::Encoder::new()
        .version(version)
        .padding(PADDING)
        .encode(&tag, &mut out)?;
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

/// Bitrates in kbit/s by index: MPEG-1 layers I, II, III, then MPEG-2/2.5 layer I, II and III.
const BITRATES: [[u16; 15]; 5] = [
    [
        0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448,
    ],
    [
        0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384,
    ],
    [
        0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
    ],
    [
        0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256,
    ],
    [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
];

/// An MPEG audio frame header at the start of `bytes`: the frame's length in bytes, or
/// `Some(0)` for a free-format frame, whose length the header does not give.
fn frame_length(bytes: &[u8]) -> Option<usize> {
    if !is_frame_header(bytes) {
        return None;
    }
    let (b, c) = (bytes[1], bytes[2]);
    let (version, layer) = ((b >> 3) & 3, (b >> 1) & 3);
    let mpeg1 = version == 3;
    let table = match (mpeg1, layer) {
        (true, 3) => 0,
        (true, 2) => 1,
        (true, _) => 2,
        (false, 3) => 3,
        (false, _) => 4,
    };
    let bitrate = u32::from(BITRATES[table][usize::from(c >> 4)]) * 1000;
    if bitrate == 0 {
        return Some(0);
    }
    let rate = [44100, 48000, 32000][usize::from((c >> 2) & 3)]
        >> match version {
            3 => 0,
            2 => 1,
            _ => 2,
        };
    let padding = u32::from((c >> 1) & 1);
    let length = match layer {
        3 => (12 * bitrate / rate + padding) * 4,
        1 if !mpeg1 => 72 * bitrate / rate + padding,
        _ => 144 * bitrate / rate + padding,
    };
    Some(length as usize)
}

/// Whether a frame holds an encoder's Xing/Info or VBRI header instead of audio.
fn is_info_frame(frame: &[u8]) -> bool {
    let mpeg1 = (frame[1] >> 3) & 3 == 3;
    let mono = frame[3] >> 6 == 3;
    let crc = if frame[1] & 1 == 0 { 2 } else { 0 };
    let side_info = match (mpeg1, mono) {
        (true, true) => 17,
        (true, false) => 32,
        (false, true) => 9,
        (false, false) => 17,
    };
    let xing = frame
        .get(4 + crc + side_info..)
        .and_then(|rest| rest.get(..4));
    matches!(xing, Some(b"Xing" | b"Info")) || frame.get(36..40) == Some(b"VBRI")
}

/// See [`super::essence`] and the module docs.
pub fn essence(bytes: &[u8]) -> Result<PartDigest, MediaError> {
    let (_, audio) = parse(bytes)?;
    let mut hasher = Sha256::new();
    hasher.update(b"MP3 frames\0");
    let mut at = 0;
    let mut first = true;
    while let Some(rest) = audio.get(at..).filter(|rest| rest.len() >= 4) {
        let frame = match frame_length(rest) {
            Some(0) => return Ok(whole_audio(audio)),
            Some(length) if length >= 4 && length <= rest.len() => &rest[..length],
            // Not a frame, or one cut short: skipped, as a decoder skips it.
            _ => {
                at += 1;
                continue;
            }
        };
        at += frame.len();
        if std::mem::take(&mut first) && is_info_frame(frame) {
            continue;
        }
        let header = [
            frame[0],
            frame[1] | 1,       // as if unprotected
            frame[2] & !1,      // private bit
            frame[3] & !0b1100, // copyright and original
        ];
        let payload = &frame[if frame[1] & 1 == 0 { 6 } else { 4 }..];
        hasher.update(header);
        hasher.update((payload.len() as u32).to_be_bytes());
        hasher.update(payload);
    }
    Ok(hasher.finalize().into())
}

/// The essence of a free-format stream: every byte after the ID3v2 tag, without an ID3v1 tag.
fn whole_audio(audio: &[u8]) -> PartDigest {
    let audio = match audio.len().checked_sub(ID3V1_LEN) {
        Some(start) if audio[start..].starts_with(b"TAG") => &audio[..start],
        _ => audio,
    };
    let mut hasher = Sha256::new();
    hasher.update(b"MP3 bytes\0");
    hasher.update(audio);
    hasher.finalize().into()
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

    /// The frames of `audio`, split by their headers.
    fn frames(audio: &[u8]) -> Vec<&[u8]> {
        let mut out = Vec::new();
        let mut at = 0;
        while at < audio.len() {
            let length = frame_length(&audio[at..]).unwrap();
            out.push(&audio[at..at + length]);
            at += length;
        }
        out
    }

    #[test]
    fn frame_lengths_follow_the_header() {
        let fixture = frames(MP3);
        assert_eq!(Some(fixture.len()), samples::mpeg_frames(MP3));
        // MPEG-1 layer III, 128 kbit/s, 44.1 kHz, padded: 418 bytes; layer I at 32 kHz: 48.
        assert_eq!(frame_length(&[0xFF, 0xFB, 0x92, 0x00]), Some(418));
        assert_eq!(frame_length(&[0xFF, 0xFF, 0x18, 0x00]), Some(48));
        // MPEG-2 layer II, 64 kbit/s, 16 kHz: 576 bytes. Free format: unknown.
        assert_eq!(frame_length(&[0xFF, 0xF5, 0x88, 0x00]), Some(576));
        assert_eq!(frame_length(&[0xFF, 0xFB, 0x00, 0x00]), Some(0));
        assert_eq!(frame_length(b"TAG\0"), None);
    }

    #[test]
    fn stripping_tags_and_the_info_frame_is_not_tampering_but_changed_audio_is() {
        use crate::record::{Sealer, new_produce_id};
        let sealer = Sealer::new("provider-1", b"0123456789abcdef".to_vec());
        let verdict = |bytes: &[u8]| {
            let finding = crate::verify::verify(bytes, Some(&sealer)).unwrap();
            (finding.integrity, finding.problems)
        };
        let frames = frames(MP3);
        // An encoder's Info frame in front of the audio: same header, the tag after the side
        // information (9 bytes for MPEG-2 mono, 17 for stereo).
        let mut info = frames[0].to_vec();
        let side_info = if info[3] >> 6 == 3 { 9 } else { 17 };
        info[4..].fill(0);
        info[4 + side_info..8 + side_info].copy_from_slice(b"Info");
        let encoded = [info.as_slice(), MP3].concat();
        let record = sealer.seal(&new_produce_id(), &[essence(&encoded).unwrap()]);
        let labeled = embed(&encoded, &record).unwrap();
        assert_eq!(verdict(&labeled), ("intact", vec![]));
        let (tag, _) = parse(&labeled).unwrap();

        // What a tag editor or a CDN that keeps the audio writes: the Info frame gone, the
        // "original" bit set on every frame, junk between two frames, an APE and an ID3v1 tag
        // after the last one.
        let mut kept = tag.to_vec();
        for (index, frame) in frames.iter().enumerate() {
            let mut frame = frame.to_vec();
            frame[3] |= 0b100;
            kept.extend_from_slice(&frame);
            if index == 2 {
                kept.extend_from_slice(&[0; 7]);
            }
        }
        kept.extend_from_slice(b"APETAGEX\xd0\x07\0\0");
        kept.extend_from_slice(b"TAG");
        kept.extend_from_slice(&[b' '; ID3V1_LEN - 3]);
        assert_eq!(records(&kept).unwrap(), records(&labeled).unwrap());
        assert_eq!(verdict(&kept), ("intact", vec![]));

        // One byte of one frame's audio: tampered.
        let mut changed = labeled.clone();
        let at = tag.len() + info.len() + frames[0].len() + frames[1].len() + 20;
        changed[at] ^= 0x10;
        assert_eq!(
            verdict(&changed),
            ("tampered", vec!["the content was changed".to_string()])
        );
        // A frame dropped: tampered.
        let mut shorter = tag.to_vec();
        shorter.extend_from_slice(&info);
        for frame in frames.iter().skip(1) {
            shorter.extend_from_slice(frame);
        }
        assert_eq!(verdict(&shorter).0, "tampered");
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
