//! PNG: the XMP packet in an uncompressed `iTXt` chunk with keyword `XML:com.adobe.xmp` (XMP
//! specification part 3) and the JSON in a `tEXt` chunk with keyword `AIGC`, both right after
//! `IHDR`. The essence is the data of the critical chunks other than `IEND` (`IHDR`, `PLTE`,
//! `IDAT`), which is all a decoder needs to reproduce the pixels.

use sha2::{Digest, Sha256};

use super::{Carried, Format, MediaError, xmp};
use crate::record::{AigcRecord, PROPERTY, PartDigest};

pub(super) const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
const XMP_KEYWORD: &[u8] = b"XML:com.adobe.xmp";
/// The largest chunk length the PNG specification allows.
const MAX_CHUNK: usize = 0x7FFF_FFFF;

struct Chunk<'a> {
    kind: [u8; 4],
    data: &'a [u8],
    /// Length, type, data and CRC, as in the file.
    raw: &'a [u8],
}

impl Chunk<'_> {
    /// The keyword of a text chunk (up to its NUL).
    fn keyword(&self) -> Option<&[u8]> {
        let end = self.data.iter().position(|&b| b == 0)?;
        Some(&self.data[..end])
    }

    fn is_xmp(&self) -> bool {
        &self.kind == b"iTXt" && self.keyword() == Some(XMP_KEYWORD)
    }

    /// A chunk this module writes: the XMP packet with the record, or the plain-text record.
    fn is_ours(&self) -> bool {
        let text_chunk = matches!(&self.kind, b"tEXt" | b"zTXt" | b"iTXt");
        (text_chunk && self.keyword() == Some(PROPERTY.as_bytes()))
            || (self.is_xmp() && xmp::is_ours(self.data))
    }

    /// The text of an uncompressed `iTXt` chunk.
    fn itxt_text(&self) -> Option<&str> {
        let rest = &self.data[self.keyword()?.len() + 1..];
        let (&[compressed, _method], rest) = rest.split_first_chunk::<2>()?;
        if compressed != 0 {
            return None;
        }
        // Language tag and translated keyword, each ended by a NUL.
        let language_end = rest.iter().position(|&b| b == 0)?;
        let rest = &rest[language_end + 1..];
        let translated_end = rest.iter().position(|&b| b == 0)?;
        std::str::from_utf8(&rest[translated_end + 1..]).ok()
    }

    /// The record in this chunk, if it is one of the carriers and holds a readable record.
    fn record(&self) -> Option<AigcRecord> {
        if self.is_xmp() {
            return xmp::parse(self.itxt_text()?);
        }
        if self.keyword() != Some(PROPERTY.as_bytes()) {
            return None;
        }
        match &self.kind {
            b"tEXt" => {
                let latin1: String = self.data[PROPERTY.len() + 1..]
                    .iter()
                    .map(|&b| char::from(b))
                    .collect();
                AigcRecord::from_json(&latin1).ok()
            }
            b"iTXt" => AigcRecord::from_json(self.itxt_text()?).ok(),
            _ => None,
        }
    }
}

fn malformed(offset: usize, detail: impl Into<String>) -> MediaError {
    MediaError::Malformed {
        format: Format::Png,
        offset,
        detail: detail.into(),
    }
}

/// The chunks from `IHDR` to `IEND`, checked, and whatever follows `IEND`.
fn parse(bytes: &[u8]) -> Result<(Vec<Chunk<'_>>, &[u8]), MediaError> {
    if !bytes.starts_with(&SIGNATURE) {
        return Err(MediaError::NotFormat {
            format: Format::Png,
            detail: "missing the PNG signature",
        });
    }
    let mut chunks = Vec::new();
    let mut at = SIGNATURE.len();
    loop {
        let truncated = MediaError::Truncated {
            format: Format::Png,
            what: "chunk",
            offset: at,
        };
        let Some((&length, rest)) = bytes[at..].split_first_chunk::<4>() else {
            return Err(if at == bytes.len() {
                MediaError::Missing {
                    format: Format::Png,
                    what: "IEND chunk",
                }
            } else {
                truncated
            });
        };
        let length = u32::from_be_bytes(length) as usize;
        if length > MAX_CHUNK {
            return Err(malformed(
                at,
                format!("chunk length {length} exceeds 2^31-1"),
            ));
        }
        let Some((&kind, rest)) = rest.split_first_chunk::<4>() else {
            return Err(truncated);
        };
        let Some((data, rest)) = rest.split_at_checked(length) else {
            return Err(truncated);
        };
        let Some((&crc, _)) = rest.split_first_chunk::<4>() else {
            return Err(truncated);
        };
        let crc = u32::from_be_bytes(crc);
        if !kind.iter().all(u8::is_ascii_alphabetic) {
            return Err(malformed(at, format!("invalid chunk type {kind:02x?}")));
        }
        let name = String::from_utf8_lossy(&kind);
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&kind);
        hasher.update(data);
        if hasher.finalize() != crc {
            return Err(malformed(at, format!("CRC mismatch in the {name} chunk")));
        }
        if chunks.is_empty() && (&kind != b"IHDR" || length != 13) {
            return Err(malformed(
                at,
                format!("the first chunk is {name}, not IHDR"),
            ));
        }
        let end = at + 12 + length;
        chunks.push(Chunk {
            kind,
            data,
            raw: &bytes[at..end],
        });
        at = end;
        if &kind == b"IEND" {
            return Ok((chunks, &bytes[at..]));
        }
    }
}

/// Appends a chunk with its length and CRC.
fn write_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) -> Result<(), MediaError> {
    if data.len() > MAX_CHUNK {
        return Err(MediaError::TooLarge {
            format: Format::Png,
            what: "record",
            size: data.len(),
            max: MAX_CHUNK,
        });
    }
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(kind);
    hasher.update(data);
    out.extend_from_slice(&hasher.finalize().to_be_bytes());
    Ok(())
}

/// See [`super::embed`].
pub fn embed(bytes: &[u8], record: &AigcRecord) -> Result<Vec<u8>, MediaError> {
    let (chunks, trailer) = parse(bytes)?;
    // Keyword, NUL, uncompressed, method 0, empty language tag and translated keyword.
    let mut itxt = [XMP_KEYWORD, b"\0\0\0\0\0"].concat();
    itxt.extend_from_slice(xmp::packet(record).as_bytes());
    let mut text = [PROPERTY.as_bytes(), b"\0"].concat();
    text.extend_from_slice(record.to_ascii_json().as_bytes());

    let mut out = Vec::with_capacity(bytes.len() + itxt.len() + text.len() + 24);
    out.extend_from_slice(&SIGNATURE);
    for (index, chunk) in chunks.iter().enumerate() {
        if chunk.is_ours() {
            continue;
        }
        out.extend_from_slice(chunk.raw);
        if index == 0 {
            write_chunk(&mut out, b"iTXt", &itxt)?;
            write_chunk(&mut out, b"tEXt", &text)?;
        }
    }
    out.extend_from_slice(trailer);
    Ok(out)
}

/// See [`super::records`].
pub fn records(bytes: &[u8]) -> Result<Vec<Carried>, MediaError> {
    let (chunks, _) = parse(bytes)?;
    Ok(chunks
        .iter()
        .filter(|c| c.is_ours())
        .map(|c| Carried {
            carrier: match &c.kind {
                _ if c.is_xmp() => "iTXt XMP",
                b"tEXt" => "tEXt AIGC",
                b"zTXt" => "zTXt AIGC",
                _ => "iTXt AIGC",
            },
            record: c.record(),
        })
        .collect())
}

/// See [`super::essence`].
pub fn essence(bytes: &[u8]) -> Result<PartDigest, MediaError> {
    let (chunks, _) = parse(bytes)?;
    let mut hasher = Sha256::new();
    // Every chunk but the descriptive ones: text (where the record itself lives), time and
    // Exif. Transparency, gamma, colour profiles and animation frames change what is seen.
    for chunk in chunks
        .iter()
        .filter(|c| !matches!(&c.kind, b"tEXt" | b"zTXt" | b"iTXt" | b"tIME" | b"eXIf"))
    {
        hasher.update(chunk.kind);
        hasher.update((chunk.data.len() as u32).to_be_bytes());
        hasher.update(chunk.data);
    }
    Ok(hasher.finalize().into())
}

/// [`super::extract`] for this format.
#[cfg(test)]
fn extract(bytes: &[u8]) -> Result<Option<AigcRecord>, MediaError> {
    super::extract(Format::Png, bytes)
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;
    use crate::media::samples;

    fn kinds(bytes: &[u8]) -> Vec<String> {
        let (chunks, _) = parse(bytes).unwrap();
        chunks
            .iter()
            .map(|c| String::from_utf8_lossy(&c.kind).into_owned())
            .collect()
    }

    fn with_chunk_after_ihdr(bytes: &[u8], kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut out = bytes[..33].to_vec();
        write_chunk(&mut out, kind, data).unwrap();
        out.extend_from_slice(&bytes[33..]);
        out
    }

    #[test]
    fn the_png_crate_reads_both_chunks_and_the_same_pixels() {
        let original = samples::png(6, 4, 1);
        let record = samples::record();
        let labeled = embed(&original, &record).unwrap();
        assert_eq!(kinds(&labeled)[..3], ["IHDR", "iTXt", "tEXt"]);

        let reader = png::Decoder::new(Cursor::new(&labeled))
            .read_info()
            .unwrap();
        let info = reader.info();
        let [itxt] = &info.utf8_text[..] else {
            panic!("one iTXt chunk expected");
        };
        assert_eq!(itxt.keyword, "XML:com.adobe.xmp");
        assert!(!itxt.compressed);
        assert_eq!(itxt.language_tag, "");
        assert_eq!(itxt.translated_keyword, "");
        assert_eq!(itxt.get_text().unwrap(), xmp::packet(&record));
        let [text] = &info.uncompressed_latin1_text[..] else {
            panic!("one tEXt chunk expected");
        };
        assert_eq!(text.keyword, "AIGC");
        assert_eq!(AigcRecord::from_json(&text.text).unwrap(), record);

        assert_eq!(
            samples::decode_png(&labeled).unwrap().1,
            samples::decode_png(&original).unwrap().1
        );
    }

    #[test]
    fn labeling_again_replaces_the_record() {
        let original = samples::png(3, 3, 2);
        let mut first = samples::record();
        first.produce_id = "first".into();
        let twice = embed(&embed(&original, &first).unwrap(), &samples::record()).unwrap();
        assert_eq!(twice, embed(&original, &samples::record()).unwrap());
        let kinds = kinds(&twice);
        assert_eq!(kinds.iter().filter(|k| *k == "iTXt").count(), 1);
        assert_eq!(kinds.iter().filter(|k| *k == "tEXt").count(), 1);
        assert_eq!(extract(&twice).unwrap(), Some(samples::record()));
    }

    #[test]
    fn other_metadata_is_kept() {
        let original = samples::png(3, 3, 2);
        let foreign_xmp = [
            XMP_KEYWORD,
            b"\0\0\0\0\0<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"/>",
        ]
        .concat();
        let input = with_chunk_after_ihdr(&original, b"iTXt", &foreign_xmp);
        let input = with_chunk_after_ihdr(&input, b"tEXt", b"Comment\0hello");
        let labeled = embed(&input, &samples::record()).unwrap();
        let (chunks, _) = parse(&labeled).unwrap();
        assert!(chunks.iter().any(|c| c.data == foreign_xmp));
        assert!(chunks.iter().any(|c| c.data == b"Comment\0hello"));
        assert_eq!(extract(&labeled).unwrap(), Some(samples::record()));
        assert_eq!(essence(&labeled).unwrap(), essence(&original).unwrap());
    }

    #[test]
    fn the_plain_text_copy_is_read_without_xmp() {
        let original = samples::png(2, 2, 0);
        let text = [
            b"AIGC\0".as_slice(),
            samples::record().to_ascii_json().as_bytes(),
        ]
        .concat();
        let input = with_chunk_after_ihdr(&original, b"tEXt", &text);
        assert_eq!(extract(&input).unwrap(), Some(samples::record()));
        let itxt = [
            b"AIGC\0\0\0\0\0".as_slice(),
            samples::record().to_json().as_bytes(),
        ]
        .concat();
        let input = with_chunk_after_ihdr(&original, b"iTXt", &itxt);
        assert_eq!(extract(&input).unwrap(), Some(samples::record()));
        assert_eq!(extract(&original).unwrap(), None);
    }

    #[test]
    fn carriers_that_disagree_are_an_error_not_a_choice() {
        let original = samples::png(2, 2, 0);
        let record = samples::record();
        let mut forged = record.clone();
        forged.label = "0".into();
        let text = [b"AIGC\0".as_slice(), forged.to_ascii_json().as_bytes()].concat();
        let itxt = [XMP_KEYWORD, b"\0\0\0\0\0", xmp::packet(&record).as_bytes()].concat();
        let input = with_chunk_after_ihdr(&original, b"tEXt", &text);
        let input = with_chunk_after_ihdr(&input, b"iTXt", &itxt);
        let carried = records(&input).unwrap();
        assert_eq!(
            carried,
            [
                Carried {
                    carrier: "iTXt XMP",
                    record: Some(record.clone())
                },
                Carried {
                    carrier: "tEXt AIGC",
                    record: Some(forged)
                },
            ]
        );
        assert_eq!(
            extract(&input).unwrap_err().to_string(),
            "the PNG file carries records that disagree (iTXt XMP, tEXt AIGC)"
        );
        // A carrier that holds no readable record disagrees too.
        let broken = with_chunk_after_ihdr(&original, b"tEXt", b"AIGC\0{not json");
        let broken = with_chunk_after_ihdr(&broken, b"iTXt", &itxt);
        assert!(extract(&broken).is_err());
        // The labeler's own output agrees with itself.
        let labeled = embed(&original, &record).unwrap();
        assert_eq!(records(&labeled).unwrap().len(), 2);
        assert_eq!(extract(&labeled).unwrap(), Some(record));
    }

    #[test]
    fn the_essence_follows_the_image_data_only() {
        let a = samples::png(4, 4, 1);
        let b = samples::png(4, 4, 2);
        assert_ne!(essence(&a).unwrap(), essence(&b).unwrap());
        let commented = with_chunk_after_ihdr(&a, b"tEXt", b"Comment\0x");
        assert_eq!(essence(&commented).unwrap(), essence(&a).unwrap());
        // Gamma changes how the pixels look: part of the essence.
        let gamma = with_chunk_after_ihdr(&a, b"gAMA", &45455u32.to_be_bytes());
        assert_ne!(essence(&gamma).unwrap(), essence(&a).unwrap());
    }

    #[test]
    fn trailing_bytes_after_iend_are_kept() {
        let mut input = samples::png(2, 2, 0);
        input.extend_from_slice(b"trailer");
        let labeled = embed(&input, &samples::record()).unwrap();
        assert!(labeled.ends_with(b"IEND\xae\x42\x60\x82trailer"));
    }

    #[test]
    fn malformed_files_are_rejected_with_a_reason() {
        let good = samples::png(2, 2, 0);
        let message = |bytes: &[u8]| embed(bytes, &samples::record()).unwrap_err().to_string();

        assert_eq!(
            message(b"\x89PNG"),
            "not a PNG file: missing the PNG signature"
        );
        assert_eq!(message(&good[..8]), "the PNG file has no IEND chunk");
        assert_eq!(message(&good[..20]), "truncated PNG chunk at byte 8");
        assert_eq!(
            message(&good[..good.len() - 12]),
            "the PNG file has no IEND chunk"
        );

        let mut bad_crc = good.clone();
        bad_crc[20] ^= 1;
        assert_eq!(
            message(&bad_crc),
            "malformed PNG file at byte 8: CRC mismatch in the IHDR chunk"
        );

        let mut huge = good.clone();
        huge[33..37].copy_from_slice(&0x8000_0000u32.to_be_bytes());
        assert_eq!(
            message(&huge),
            "malformed PNG file at byte 33: chunk length 2147483648 exceeds 2^31-1"
        );

        let mut bad_type = good.clone();
        bad_type[37] = b'1';
        assert!(
            message(&bad_type).starts_with("malformed PNG file at byte 33: invalid chunk type")
        );

        let no_ihdr = [&SIGNATURE[..], &good[good.len() - 12..]].concat();
        assert_eq!(
            message(&no_ihdr),
            "malformed PNG file at byte 8: the first chunk is IEND, not IHDR"
        );
    }
}
