//! The implicit label in the metadata of media files (GB 45438-2025 clause 6): the record as the
//! XMP property `TC260:AIGC` in each format's usual XMP container, plus a plain-text copy where
//! the format has a simple text field.
//!
//! Every writer replaces a record it wrote before and leaves the rest of the file alone, so the
//! *essence* (the content without its metadata) is the same before and after; the anti-tamper
//! value is computed over it.
//!
//! The files stay valid for independent readers: `exiftool -validate -warning FILE` reports
//! `OK` for labeled PNG, JPEG, WAV and MP3 files (a test runs it when exiftool is installed,
//! Debian's `libimage-exiftool-perl`), and `exiftool -XMP-TC260:all FILE` prints the record:
//!
//! ```text
//! $ exiftool -XMP-TC260:all labeled.png
//! Aigc                            : {"Label":"1","ContentProducer":"…","ProduceID":"…",…}
//! ```

pub mod jpeg;
pub mod mp3;
pub mod png;
pub mod wav;
pub mod xmp;

use std::fmt;

use super::record::{AigcRecord, PartDigest};

/// The media formats the labeler can write records into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Png,
    Jpeg,
    Wav,
    Mp3,
}

impl Format {
    /// The canonical media type.
    pub fn mime(self) -> &'static str {
        match self {
            Format::Png => "image/png",
            Format::Jpeg => "image/jpeg",
            Format::Wav => "audio/wav",
            Format::Mp3 => "audio/mpeg",
        }
    }

    /// The format of a `Content-Type` value, parameters ignored; `None` for anything else.
    pub fn from_mime(content_type: &str) -> Option<Format> {
        let essence = content_type.split(';').next().unwrap_or_default().trim();
        let format = match essence.to_ascii_lowercase().as_str() {
            "image/png" => Format::Png,
            "image/jpeg" | "image/jpg" => Format::Jpeg,
            "audio/wav" | "audio/x-wav" | "audio/wave" => Format::Wav,
            "audio/mpeg" | "audio/mp3" => Format::Mp3,
            _ => return None,
        };
        Some(format)
    }

    /// "a" or "an", as the name is read out.
    fn article(self) -> &'static str {
        match self {
            Format::Mp3 => "an",
            _ => "a",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Format::Png => "PNG",
            Format::Jpeg => "JPEG",
            Format::Wav => "WAV",
            Format::Mp3 => "MP3",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The format of a file by its magic bytes.
pub fn sniff(bytes: &[u8]) -> Option<Format> {
    if bytes.starts_with(&png::SIGNATURE) {
        Some(Format::Png)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(Format::Jpeg)
    } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WAVE" {
        Some(Format::Wav)
    } else if bytes.starts_with(b"ID3") || mp3::is_frame_header(bytes) {
        Some(Format::Mp3)
    } else {
        None
    }
}

/// Why a file could not be read or labeled.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("not {} {format} file: {detail}", format.article())]
    NotFormat {
        format: Format,
        detail: &'static str,
    },
    #[error("truncated {format} {what} at byte {offset}")]
    Truncated {
        format: Format,
        what: &'static str,
        offset: usize,
    },
    #[error("malformed {format} file at byte {offset}: {detail}")]
    Malformed {
        format: Format,
        offset: usize,
        detail: String,
    },
    #[error("the {format} file has no {what}")]
    Missing { format: Format, what: &'static str },
    #[error(
        "the {what} is too large for {} {format} file: {size} bytes, at most {max}",
        format.article()
    )]
    TooLarge {
        format: Format,
        what: &'static str,
        size: usize,
        max: usize,
    },
    #[error("unreadable ID3v2 tag: {0}")]
    Id3(#[from] id3::Error),
    #[error("the {format} file carries records that disagree ({carriers})")]
    Disagreeing { format: Format, carriers: String },
}

/// One place in a file that holds the record, and what it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Carried {
    /// Where: `iTXt XMP`, `tEXt AIGC`, `ID3 PRIV XMP`, `ID3 TXXX AIGC`, …
    pub carrier: &'static str,
    /// `None` when the carrier is there but holds no readable record.
    pub record: Option<AigcRecord>,
}

/// Whether the carriers of a file disagree: a carrier without a readable record, or two
/// records that differ in any field.
pub fn disagree(carried: &[Carried]) -> bool {
    carried
        .iter()
        .any(|c| c.record.is_none() || c.record != carried[0].record)
}

/// The carriers, as `iTXt XMP, tEXt AIGC`.
pub fn carriers(carried: &[Carried]) -> String {
    carried
        .iter()
        .map(|c| c.carrier)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Writes `record` into the file's metadata, replacing a record written there before.
pub fn embed(format: Format, bytes: &[u8], record: &AigcRecord) -> Result<Vec<u8>, MediaError> {
    match format {
        Format::Png => png::embed(bytes, record),
        Format::Jpeg => jpeg::embed(bytes, record),
        Format::Wav => wav::embed(bytes, record),
        Format::Mp3 => mp3::embed(bytes, record),
    }
}

/// The record in the file's metadata, if there is one. A file whose carriers disagree (see
/// [`records`]) is an error, not read from one of them.
pub fn extract(format: Format, bytes: &[u8]) -> Result<Option<AigcRecord>, MediaError> {
    let carried = records(format, bytes)?;
    if disagree(&carried) {
        return Err(MediaError::Disagreeing {
            format,
            carriers: carriers(&carried),
        });
    }
    Ok(carried.into_iter().find_map(|c| c.record))
}

/// Every carrier of the record in the file's metadata, in file order: each XMP packet that
/// names the record's namespace, and each plain-text copy.
pub fn records(format: Format, bytes: &[u8]) -> Result<Vec<Carried>, MediaError> {
    match format {
        Format::Png => png::records(bytes),
        Format::Jpeg => jpeg::records(bytes),
        Format::Wav => wav::records(bytes),
        Format::Mp3 => mp3::records(bytes),
    }
}

/// SHA-256 over the content of the file without its descriptive metadata; [`embed`] does not
/// change it, and neither does re-compressing the content losslessly. What counts as content:
/// PNG, the decoded pixels and the chunks that change how they look (see [`png`]); JPEG, every
/// segment but JFIF, Exif/XMP, IPTC and comments, plus the scan; WAV, the sample format and
/// the decoded samples (see [`wav`]); MP3, the audio payload of each MPEG frame (see [`mp3`]).
pub fn essence(format: Format, bytes: &[u8]) -> Result<PartDigest, MediaError> {
    match format {
        Format::Png => png::essence(bytes),
        Format::Jpeg => jpeg::essence(bytes),
        Format::Wav => wav::essence(bytes),
        Format::Mp3 => mp3::essence(bytes),
    }
}

/// Samples, independent decoders and records shared by the tests of every format.
#[cfg(test)]
pub(crate) mod samples {
    use std::io::Cursor;

    use proptest::prelude::*;
    use proptest::test_runner::Config;

    use crate::record::AigcRecord;

    pub const MP3: &[u8] = include_bytes!("../../tests/fixtures/media/tone.mp3");

    /// Few enough cases for debug builds; no regression files next to the sources.
    pub fn config(cases: u32) -> Config {
        Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        }
    }

    pub fn record() -> AigcRecord {
        AigcRecord {
            label: "1".into(),
            content_producer: "示例模型服务".into(),
            produce_id: "0f8fad5b-d9cb-469f-a165-70867728950e".into(),
            reserved_code1: "ab".repeat(32),
            content_propagator: String::new(),
            propagate_id: String::new(),
            reserved_code2: String::new(),
        }
    }

    /// Field values with the characters that need care in XML, JSON and Latin-1 carriers.
    pub fn field() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[a-z\"'<>&;\\\\/ \t\n\r\u{0}\u{7f}\u{a0}\u{fffe}\u{ffff}中文🦀]{0,24}",
            Just("]]>".to_string()),
            Just("&amp;<![CDATA[x]]>".to_string()),
        ]
    }

    pub fn records() -> impl Strategy<Value = AigcRecord> {
        (
            field(),
            field(),
            field(),
            field(),
            field(),
            field(),
            field(),
        )
            .prop_map(|(a, b, c, d, e, f, g)| AigcRecord {
                label: a,
                content_producer: b,
                produce_id: c,
                reserved_code1: d,
                content_propagator: e,
                propagate_id: f,
                reserved_code2: g,
            })
    }

    fn image(width: u32, height: u32, seed: u8) -> image::RgbImage {
        image::RgbImage::from_fn(width, height, |x, y| {
            image::Rgb([(x * 16) as u8 ^ seed, (y * 16) as u8, seed.wrapping_mul(3)])
        })
    }

    pub fn png(width: u32, height: u32, seed: u8) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image(width, height, seed)
            .write_to(&mut out, image::ImageFormat::Png)
            .expect("encode PNG");
        out.into_inner()
    }

    pub fn jpeg(width: u32, height: u32, seed: u8) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image(width, height, seed)
            .write_to(&mut out, image::ImageFormat::Jpeg)
            .expect("encode JPEG");
        out.into_inner()
    }

    pub fn wav(samples: usize, channels: u16, seed: i16) -> Vec<u8> {
        let spec = hound::WavSpec {
            channels,
            sample_rate: 8000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut out = Cursor::new(Vec::new());
        let mut writer = hound::WavWriter::new(&mut out, spec).expect("WAV header");
        for i in 0..samples * usize::from(channels) {
            let sample = (i as i16).wrapping_mul(seed).wrapping_add(seed);
            writer.write_sample(sample).expect("WAV sample");
        }
        writer.finalize().expect("finish WAV");
        out.into_inner()
    }

    /// Pixels and layout as the `png` crate decodes them.
    pub fn decode_png(bytes: &[u8]) -> Option<(png::OutputInfo, Vec<u8>)> {
        let mut reader = png::Decoder::new(Cursor::new(bytes)).read_info().ok()?;
        let mut pixels = vec![0; reader.output_buffer_size()?];
        let info = reader.next_frame(&mut pixels).ok()?;
        pixels.truncate(info.buffer_size());
        Some((info, pixels))
    }

    /// Pixels and XMP packet as `jpeg-decoder` reads them.
    pub fn decode_jpeg(bytes: &[u8]) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
        let mut decoder = jpeg_decoder::Decoder::new(bytes);
        let pixels = decoder.decode().ok()?;
        Some((pixels, decoder.xmp_data().map(<[u8]>::to_vec)))
    }

    /// Format and samples as `hound` reads them.
    pub fn decode_wav(bytes: &[u8]) -> Option<(hound::WavSpec, Vec<i32>)> {
        let mut reader = hound::WavReader::new(bytes).ok()?;
        let samples = reader
            .samples::<i32>()
            .collect::<Result<Vec<_>, _>>()
            .ok()?;
        Some((reader.spec(), samples))
    }

    /// Walks MPEG audio frames by their headers; `None` unless every byte belongs to a frame.
    pub fn mpeg_frames(audio: &[u8]) -> Option<usize> {
        const BITRATES_V1_L3: [u32; 15] = [
            0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
        ];
        const BITRATES_V2_L3: [u32; 15] =
            [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
        let mut at = 0;
        let mut frames = 0;
        while at < audio.len() {
            let h = audio.get(at..at + 4)?;
            if h[0] != 0xFF || h[1] & 0xE0 != 0xE0 || (h[1] >> 1) & 3 != 1 {
                return None; // not a Layer III frame
            }
            let mpeg1 = (h[1] >> 3) & 3 == 3;
            let bitrate = *if mpeg1 {
                &BITRATES_V1_L3
            } else {
                &BITRATES_V2_L3
            }
            .get(usize::from(h[2] >> 4))?;
            let rate = match ((h[1] >> 3) & 3, (h[2] >> 2) & 3) {
                (3, 0) => 44100,
                (3, 1) => 48000,
                (3, 2) => 32000,
                (2, 0) => 22050,
                (2, 1) => 24000,
                (2, 2) => 16000,
                (0, 0) => 11025,
                (0, 1) => 12000,
                (0, 2) => 8000,
                _ => return None,
            };
            let per_kbit = if mpeg1 { 144_000 } else { 72_000 };
            let length = (per_kbit * bitrate / rate) as usize + usize::from((h[2] >> 1) & 1);
            if bitrate == 0 || length < 4 {
                return None;
            }
            at += length;
            frames += 1;
        }
        (at == audio.len()).then_some(frames)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::samples::{self, config, records};
    use super::*;

    #[test]
    fn media_types_map_both_ways() {
        for format in [Format::Png, Format::Jpeg, Format::Wav, Format::Mp3] {
            assert_eq!(Format::from_mime(format.mime()), Some(format));
        }
        assert_eq!(Format::from_mime("image/jpg"), Some(Format::Jpeg));
        assert_eq!(
            Format::from_mime(" Audio/X-WAV ; codecs=1"),
            Some(Format::Wav)
        );
        assert_eq!(Format::from_mime("audio/wave"), Some(Format::Wav));
        assert_eq!(Format::from_mime("audio/mp3"), Some(Format::Mp3));
        assert_eq!(
            Format::from_mime("image/png;charset=binary"),
            Some(Format::Png)
        );
        assert_eq!(Format::from_mime("image/webp"), None);
        assert_eq!(Format::from_mime(""), None);
    }

    #[test]
    fn sniffing_recognizes_each_format_by_its_magic() {
        assert_eq!(sniff(&samples::png(2, 2, 0)), Some(Format::Png));
        assert_eq!(sniff(&samples::jpeg(2, 2, 0)), Some(Format::Jpeg));
        assert_eq!(sniff(&samples::wav(4, 1, 1)), Some(Format::Wav));
        assert_eq!(sniff(samples::MP3), Some(Format::Mp3));
        assert_eq!(sniff(b"ID3\x04\0\0\0\0\0\0"), Some(Format::Mp3));
        assert_eq!(sniff(b"RIFF\0\0\0\0AVI "), None);
        assert_eq!(sniff(b"GIF89a"), None);
        assert_eq!(sniff(&[0xFF, 0xFF, 0xFF, 0xFF]), None);
        assert_eq!(sniff(&[]), None);
    }

    #[test]
    fn errors_say_what_is_wrong_and_where() {
        let err = extract(Format::Png, b"GIF89a").unwrap_err();
        assert_eq!(err.to_string(), "not a PNG file: missing the PNG signature");
        let png = samples::png(2, 2, 0);
        let err = essence(Format::Png, &png[..40]).unwrap_err();
        assert_eq!(err.to_string(), "truncated PNG chunk at byte 33");
    }

    fn samples_of_every_format() -> Vec<(Format, Vec<u8>)> {
        vec![
            (Format::Png, samples::png(5, 3, 7)),
            (Format::Jpeg, samples::jpeg(9, 8, 7)),
            (Format::Wav, samples::wav(7, 1, 3)),
            (Format::Mp3, samples::MP3.to_vec()),
        ]
    }

    #[test]
    fn every_format_round_trips_and_keeps_its_essence() {
        let record = samples::record();
        for (format, original) in samples_of_every_format() {
            let labeled = embed(format, &original, &record).unwrap();
            assert_eq!(sniff(&labeled), Some(format));
            assert_eq!(extract(format, &labeled).unwrap(), Some(record.clone()));
            assert_eq!(extract(format, &original).unwrap(), None, "{format}");
            assert_eq!(
                essence(format, &labeled).unwrap(),
                essence(format, &original).unwrap(),
                "{format}"
            );
        }
    }

    /// Whether `bytes` still decodes with the format's independent decoder to the same content.
    fn decodes_like(format: Format, original: &[u8], bytes: &[u8]) -> bool {
        match format {
            Format::Png => {
                let (a, b) = (samples::decode_png(original), samples::decode_png(bytes));
                matches!((a, b), (Some(a), Some(b)) if a.1 == b.1)
            }
            Format::Jpeg => {
                let (a, b) = (samples::decode_jpeg(original), samples::decode_jpeg(bytes));
                matches!((a, b), (Some(a), Some(b)) if a.0 == b.0)
            }
            Format::Wav => {
                let (a, b) = (samples::decode_wav(original), samples::decode_wav(bytes));
                matches!((a, b), (Some(a), Some(b)) if a == b)
            }
            Format::Mp3 => {
                let audio = |b| mp3::audio(b).ok().map(<[u8]>::to_vec);
                matches!((audio(original), audio(bytes)), (Some(a), Some(b)) if a == b)
            }
        }
    }

    proptest! {
        #![proptest_config(config(128))]

        #[test]
        fn any_record_round_trips_in_every_format(
            record in records(),
            width in 1u32..12,
            height in 1u32..12,
            seed in any::<u8>(),
        ) {
            let inputs = [
                (Format::Png, samples::png(width, height, seed)),
                (Format::Jpeg, samples::jpeg(width, height, seed)),
                (Format::Wav, samples::wav(width as usize, height as u16 % 3 + 1, i16::from(seed))),
                (Format::Mp3, samples::MP3.to_vec()),
            ];
            for (format, original) in inputs {
                let labeled = embed(format, &original, &record).unwrap();
                prop_assert_eq!(extract(format, &labeled).unwrap(), Some(record.clone()));
                prop_assert_eq!(essence(format, &labeled).unwrap(), essence(format, &original).unwrap());
                prop_assert!(decodes_like(format, &original, &labeled), "{} no longer decodes", format);
                let relabeled = embed(format, &labeled, &samples::record()).unwrap();
                prop_assert_eq!(extract(format, &relabeled).unwrap(), Some(samples::record()));
                prop_assert_eq!(&relabeled, &embed(format, &original, &samples::record()).unwrap());
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            for format in [Format::Png, Format::Jpeg, Format::Wav, Format::Mp3] {
                let _ = extract(format, &bytes);
                let _ = essence(format, &bytes);
                let _ = embed(format, &bytes, &samples::record());
            }
            let _ = sniff(&bytes);
        }

        #[test]
        fn damaged_files_fail_cleanly_or_stay_decodable(
            which in 0usize..4,
            labeled_first in any::<bool>(),
            cut in any::<prop::sample::Index>(),
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
            truncate in any::<bool>(),
        ) {
            let (format, mut bytes) = samples_of_every_format().swap_remove(which);
            if labeled_first {
                bytes = embed(format, &bytes, &samples::record()).unwrap();
            }
            for (at, value) in &flips {
                let at = at.index(bytes.len());
                bytes[at] = *value;
            }
            if truncate {
                bytes.truncate(cut.index(bytes.len()));
            }
            let _ = extract(format, &bytes);
            let _ = essence(format, &bytes);
            if let Ok(labeled) = embed(format, &bytes, &samples::record()) {
                prop_assert_eq!(extract(format, &labeled).unwrap(), Some(samples::record()));
                prop_assert_eq!(essence(format, &labeled).unwrap(), essence(format, &bytes).unwrap());
                let decodable = match format {
                    Format::Png => samples::decode_png(&bytes).is_some(),
                    Format::Jpeg => samples::decode_jpeg(&bytes).is_some(),
                    Format::Wav => samples::decode_wav(&bytes).is_some(),
                    Format::Mp3 => true,
                };
                if decodable {
                    prop_assert!(decodes_like(format, &bytes, &labeled), "{} no longer decodes", format);
                }
            }
        }
    }
}

/// What independent readers make of labeled files: `exiftool -validate` where it is installed
/// (Debian `libimage-exiftool-perl`), otherwise the same structural rules checked here.
#[cfg(test)]
mod readers {
    use std::path::PathBuf;
    use std::process::Command;

    use super::samples;
    use super::*;
    use crate::record::Sealer;

    fn labeled_files() -> Vec<(Format, Vec<u8>)> {
        let sealer = Sealer::new("示例模型服务", b"0123456789abcdef".to_vec());
        [
            (Format::Png, samples::png(17, 9, 4)),
            (Format::Jpeg, samples::jpeg(16, 16, 4)),
            (Format::Wav, samples::wav(33, 1, 5)),
            (Format::Mp3, samples::MP3.to_vec()),
        ]
        .into_iter()
        .map(|(format, original)| {
            let digest = essence(format, &original).unwrap();
            let record = sealer.seal("0f8fad5b-d9cb-469f-a165-70867728950e", &[digest]);
            (format, embed(format, &original, &record).unwrap())
        })
        .collect()
    }

    fn exiftool() -> Option<PathBuf> {
        let found = Command::new("exiftool").arg("-ver").output().ok()?;
        found.status.success().then(|| PathBuf::from("exiftool"))
    }

    #[test]
    fn exiftool_validates_every_labeled_format_and_reads_the_record() {
        let Some(exiftool) = exiftool() else {
            println!(
                "exiftool was not found (apt-get install libimage-exiftool-perl); \
                 the structural rules are checked in Rust instead"
            );
            for (format, bytes) in labeled_files() {
                if let Err(problem) = structure::check(format, &bytes) {
                    panic!("{format}: {problem}");
                }
            }
            return;
        };
        let dir = std::env::temp_dir().join(format!("aigc-labeler-readers-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (format, bytes) in labeled_files() {
            let path = dir.join(format!("labeled.{}", format.name().to_ascii_lowercase()));
            std::fs::write(&path, &bytes).unwrap();
            let out = Command::new(&exiftool)
                .args([
                    "-validate",
                    "-warning",
                    "-error",
                    "-a",
                    "-G1",
                    "-XMP-TC260:all",
                    "-charset",
                    "UTF8",
                ])
                .arg(&path)
                .output()
                .unwrap();
            let report = String::from_utf8_lossy(&out.stdout);
            println!("{format}:\n{report}");
            assert!(out.status.success(), "{format}: {report}");
            assert!(
                report
                    .lines()
                    .any(|l| l.contains("Validate") && l.trim_end().ends_with(": OK")),
                "{format}: exiftool -validate does not say OK:\n{report}"
            );
            assert!(!report.contains("Warning"), "{format}:\n{report}");
            let aigc = report
                .lines()
                .find(|l| l.contains("[XMP-TC260]"))
                .unwrap_or_else(|| panic!("{format}: no XMP-TC260 tag:\n{report}"));
            assert!(
                aigc.contains("\"ContentProducer\":\"示例模型服务\""),
                "{aigc}"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_structural_rules_hold_and_would_catch_an_unpadded_tag() {
        for (format, bytes) in labeled_files() {
            if let Err(problem) = structure::check(format, &bytes) {
                panic!("{format}: {problem}");
            }
        }
        // The tag as written before: frames right up to the end of the tag.
        let mut tag = id3::Tag::new();
        id3::TagLike::add_frame(
            &mut tag,
            id3::frame::ExtendedText {
                description: "AIGC".into(),
                value: samples::record().to_json(),
            },
        );
        let mut unpadded = Vec::new();
        tag.write_to(&mut unpadded, id3::Version::Id3v24).unwrap();
        unpadded.extend_from_slice(samples::MP3);
        let problem = structure::check(Format::Mp3, &unpadded).unwrap_err();
        assert!(problem.starts_with("Invalid ID3 frame size"), "{problem}");
    }
}

/// The structural rules behind `exiftool -validate`'s verdict on the files the labeler writes,
/// for test environments without exiftool.
#[cfg(test)]
mod structure {
    use super::Format;

    /// The file parses with every carrier agreeing, a WAV's RIFF size matches the file, and an
    /// MP3's ID3 frames leave room as exiftool expects.
    pub fn check(format: Format, bytes: &[u8]) -> Result<(), String> {
        let carried = super::records(format, bytes).map_err(|e| e.to_string())?;
        if carried.is_empty() || super::disagree(&carried) {
            return Err(format!("carriers: {carried:?}"));
        }
        match format {
            Format::Mp3 => id3_frames_leave_room(bytes),
            Format::Wav => {
                let size = u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize;
                (size + 8 == bytes.len() && size.is_multiple_of(2))
                    .then_some(())
                    .ok_or_else(|| format!("RIFF size {size} for a file of {}", bytes.len()))
            }
            Format::Png | Format::Jpeg => Ok(()),
        }
    }

    /// ID3v2.4 frame sizes are synchsafe; readers that also accept iTunes' plain sizes (exiftool
    /// among them) take a size as synchsafe only if a further frame header (10 bytes) still fits
    /// in the tag after the frame, and warn `Invalid ID3 frame size` otherwise. So the last
    /// frame of more than 127 bytes must be followed by at least 10 bytes of padding.
    fn id3_frames_leave_room(bytes: &[u8]) -> Result<(), String> {
        if !bytes.starts_with(b"ID3") || bytes.len() < 10 {
            return Err("no ID3v2 tag".into());
        }
        let version = bytes[3];
        let size = bytes[6..10]
            .iter()
            .fold(0usize, |acc, &b| acc << 7 | usize::from(b));
        let tag = bytes
            .get(10..10 + size)
            .ok_or("the tag is longer than the file")?;
        let mut at = 0;
        while at + 10 <= tag.len() && tag[at..at + 4] != [0; 4] {
            let raw = u32::from_be_bytes(tag[at + 4..at + 8].try_into().unwrap());
            let len = if version == 4 {
                (0..4).fold(0usize, |acc, i| {
                    acc << 7 | ((raw >> (24 - 8 * i)) & 0x7f) as usize
                })
            } else {
                raw as usize
            };
            at += 10;
            if version == 4 && raw > 0x7f && at + len + 10 > tag.len() {
                return Err(format!(
                    "Invalid ID3 frame size: the {} frame at byte {} leaves no room for another \
                     frame header after it",
                    String::from_utf8_lossy(&tag[at - 10..at - 6]),
                    at
                ));
            }
            at += len;
        }
        if at > tag.len() {
            return Err("the last ID3 frame runs past the tag".into());
        }
        if tag[at.min(tag.len())..].iter().any(|&b| b != 0) {
            return Err("the padding after the last ID3 frame is not zeros".into());
        }
        Ok(())
    }
}
