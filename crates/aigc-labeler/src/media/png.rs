//! PNG: the XMP packet in an uncompressed `iTXt` chunk with keyword `XML:com.adobe.xmp` (XMP
//! specification part 3) and the JSON in a `tEXt` chunk with keyword `AIGC`, both right after
//! `IHDR`.
//!
//! The essence is the image as it is seen, not as it happens to be compressed: the width, the
//! height and every pixel decoded to 16-bit RGBA (palette and `tRNS` applied, grey replicated,
//! 8-bit samples scaled by 257, opaque alpha where the file has none), followed by every
//! ancillary chunk that changes how those pixels look or move (`gAMA`, `cHRM`, `sRGB`, `iCCP`,
//! `cICP`, `sBIT`, `bKGD`, animation chunks, unknown chunks), each as type, length and data.
//! Re-compressing `IDAT` at another zlib level, splitting it differently, changing the row
//! filters or the interlacing, or an optimiser's lossless reduction of the colour type and bit
//! depth (RGBA to RGB when every pixel is opaque, RGB to a palette, 16 to 8 bits when every
//! sample is a multiple of 257) leave it unchanged; any change of a pixel changes it. Not
//! covered by the pixels: the frames of an animated PNG after the default image, which enter as
//! their compressed chunks, and `bKGD`/`sBIT`, whose bytes depend on the colour type.

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

/// The most decoded pixel bytes [`essence`] accepts (in the decoder's output form, at most 8
/// bytes a pixel): a small file may inflate to far more than it holds.
const MAX_DECODED: usize = 256 << 20;

/// Chunks whose content is in the decoded pixels ([`essence`]) or that describe the image
/// without changing how it looks (text, time, Exif).
fn in_pixels_or_descriptive(kind: &[u8; 4]) -> bool {
    matches!(
        kind,
        b"IHDR"
            | b"PLTE"
            | b"tRNS"
            | b"IDAT"
            | b"IEND"
            | b"tEXt"
            | b"zTXt"
            | b"iTXt"
            | b"tIME"
            | b"eXIf"
    )
}

/// See [`super::essence`] and the module docs.
pub fn essence(bytes: &[u8]) -> Result<PartDigest, MediaError> {
    let (chunks, _) = parse(bytes)?;
    let mut hasher = Sha256::new();
    hasher.update(b"PNG pixels RGBA16\0");
    hash_pixels(bytes, &mut hasher)?;
    for chunk in chunks.iter().filter(|c| !in_pixels_or_descriptive(&c.kind)) {
        hasher.update(chunk.kind);
        hasher.update((chunk.data.len() as u32).to_be_bytes());
        hasher.update(chunk.data);
    }
    Ok(hasher.finalize().into())
}

/// Feeds the width, the height and the default image's pixels as 16-bit RGBA, big-endian.
fn hash_pixels(bytes: &[u8], hasher: &mut Sha256) -> Result<(), MediaError> {
    let undecodable =
        |e: png::DecodingError| malformed(0, format!("the image data cannot be decoded: {e}"));
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND);
    decoder.set_ignore_text_chunk(true);
    decoder.set_ignore_iccp_chunk(true);
    let mut reader = decoder.read_info().map_err(undecodable)?;
    let (width, height) = reader.info().size();
    let size = reader
        .output_buffer_size()
        .filter(|&size| size <= MAX_DECODED)
        .ok_or(MediaError::TooLarge {
            format: Format::Png,
            what: "decoded image",
            size: (width as usize)
                .saturating_mul(height as usize)
                .saturating_mul(8),
            max: MAX_DECODED,
        })?;
    let (color, depth) = reader.output_color_type();
    let channels = color.samples();
    let wide = depth == png::BitDepth::Sixteen;
    let mut pixels = vec![0; size];
    let frame = reader.next_frame(&mut pixels).map_err(undecodable)?;
    hasher.update(width.to_be_bytes());
    hasher.update(height.to_be_bytes());
    let sample_bytes = if wide { 2 } else { 1 };
    let mut row_out = Vec::with_capacity(width as usize * 8);
    for row in pixels[..frame.buffer_size()].chunks_exact(frame.line_size) {
        row_out.clear();
        for pixel in
            row[..width as usize * channels * sample_bytes].chunks_exact(channels * sample_bytes)
        {
            let sample = |i: usize| -> [u8; 2] {
                if wide {
                    [pixel[2 * i], pixel[2 * i + 1]]
                } else {
                    [pixel[i], pixel[i]]
                }
            };
            let (rgb, alpha) = match channels {
                1 => ([sample(0); 3], None),
                2 => ([sample(0); 3], Some(sample(1))),
                3 => ([sample(0), sample(1), sample(2)], None),
                _ => ([sample(0), sample(1), sample(2)], Some(sample(3))),
            };
            for value in rgb {
                row_out.extend_from_slice(&value);
            }
            row_out.extend_from_slice(&alpha.unwrap_or([0xFF, 0xFF]));
        }
        hasher.update(&row_out);
    }
    Ok(())
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

    /// `bytes` with every `IDAT` chunk replaced by `zlib`, split into chunks of `split` bytes.
    fn with_idat(bytes: &[u8], zlib: &[u8], split: usize) -> Vec<u8> {
        let (chunks, trailer) = parse(bytes).unwrap();
        let mut out = SIGNATURE.to_vec();
        let mut written = false;
        for chunk in &chunks {
            if &chunk.kind != b"IDAT" {
                out.extend_from_slice(chunk.raw);
            } else if !written {
                for piece in zlib.chunks(split) {
                    write_chunk(&mut out, b"IDAT", piece).unwrap();
                }
                written = true;
            }
        }
        out.extend_from_slice(trailer);
        out
    }

    /// The zlib stream of the file's `IDAT` chunks, inflated: the filtered scanlines.
    fn scanlines(bytes: &[u8]) -> Vec<u8> {
        use std::io::Read as _;
        let (chunks, _) = parse(bytes).unwrap();
        let zlib: Vec<u8> = chunks
            .iter()
            .filter(|c| &c.kind == b"IDAT")
            .flat_map(|c| c.data.iter().copied())
            .collect();
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(&zlib[..])
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    fn zlib(data: &[u8], level: u32) -> Vec<u8> {
        use std::io::Write as _;
        let mut encoder =
            flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(level));
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    /// A PNG encoded by the `png` crate with these settings.
    fn encoded_idat(
        (width, height): (u32, u32),
        color: png::ColorType,
        depth: png::BitDepth,
        pixels: &[u8],
    ) -> Vec<u8> {
        let mut file = Vec::new();
        let mut encoder = png::Encoder::new(&mut file, width, height);
        encoder.set_color(color);
        encoder.set_depth(depth);
        encoder.set_compression(png::Compression::High);
        encoder.set_filter(png::Filter::NoFilter);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(pixels).unwrap();
        writer.finish().unwrap();
        file
    }

    #[test]
    fn re_compressing_the_image_data_is_not_tampering_but_a_pixel_change_is() {
        use crate::record::{Sealer, new_produce_id};
        let sealer = Sealer::new("provider-1", b"0123456789abcdef".to_vec());
        let original = samples::png(13, 7, 5);
        let record = sealer.seal(&new_produce_id(), &[essence(&original).unwrap()]);
        let labeled = embed(&original, &record).unwrap();
        let verdict = |bytes: &[u8]| {
            let finding = crate::verify::verify(bytes, Some(&sealer)).unwrap();
            (finding.integrity, finding.problems)
        };
        assert_eq!(verdict(&labeled), ("intact", vec![]));

        // The same filtered scanlines, deflated at another level and split into small chunks:
        // what an optimiser or a CDN that keeps the content does. Same pixels, same metadata.
        let lines = scanlines(&labeled);
        let recompressed = with_idat(&labeled, &zlib(&lines, 9), 50);
        assert_ne!(recompressed, labeled);
        assert_eq!(scanlines(&recompressed), lines);
        assert_eq!(
            samples::decode_png(&recompressed).unwrap().1,
            samples::decode_png(&original).unwrap().1
        );
        assert_eq!(records(&recompressed).unwrap(), records(&labeled).unwrap());
        assert_eq!(verdict(&recompressed), ("intact", vec![]));
        let stored = with_idat(&labeled, &zlib(&lines, 0), 1 << 16);
        assert_eq!(verdict(&stored), ("intact", vec![]));

        // Other row filters and another encoder, the same pixels: still intact.
        let (info, pixels) = samples::decode_png(&original).unwrap();
        let size = (info.width, info.height);
        let rgb8 = (png::ColorType::Rgb, png::BitDepth::Eight);
        let reencoded = encoded_idat(size, rgb8.0, rgb8.1, &pixels);
        let refiltered = with_idat(&labeled, &scanlines_zlib(&reencoded), 1 << 16);
        assert_ne!(scanlines(&refiltered), lines);
        assert_eq!(verdict(&refiltered), ("intact", vec![]));

        // One channel of one pixel, one step: tampered, and the content is named.
        let mut changed = pixels.clone();
        changed[3 * (13 * 4 + 6) + 1] ^= 1;
        let reencoded = encoded_idat(size, rgb8.0, rgb8.1, &changed);
        let tampered = with_idat(&labeled, &scanlines_zlib(&reencoded), 1 << 16);
        assert_eq!(
            verdict(&tampered),
            ("tampered", vec!["the content was changed".to_string()])
        );
    }

    /// The zlib stream of a whole PNG file's `IDAT` chunks, as they are.
    fn scanlines_zlib(bytes: &[u8]) -> Vec<u8> {
        let (chunks, _) = parse(bytes).unwrap();
        chunks
            .iter()
            .filter(|c| &c.kind == b"IDAT")
            .flat_map(|c| c.data.iter().copied())
            .collect()
    }

    #[test]
    fn lossless_colour_type_and_depth_reductions_keep_the_essence() {
        let original = samples::png(6, 5, 9);
        let (info, rgb) = samples::decode_png(&original).unwrap();
        let size = (info.width, info.height);
        let digest = essence(&original).unwrap();
        // The same file written as RGBA with every pixel opaque, and as 16-bit RGB.
        let rgba: Vec<u8> = rgb
            .chunks(3)
            .flat_map(|p| [p[0], p[1], p[2], 0xFF])
            .collect();
        let as_rgba = encoded_idat(size, png::ColorType::Rgba, png::BitDepth::Eight, &rgba);
        let rgb16: Vec<u8> = rgb.iter().flat_map(|&v| [v, v]).collect();
        let as_rgb16 = encoded_idat(size, png::ColorType::Rgb, png::BitDepth::Sixteen, &rgb16);
        assert_eq!(essence(&as_rgba).unwrap(), digest);
        assert_eq!(essence(&as_rgb16).unwrap(), digest);
        // One pixel half transparent is another image.
        let mut translucent = rgba.clone();
        translucent[3] = 0x80;
        let translucent = encoded_idat(
            size,
            png::ColorType::Rgba,
            png::BitDepth::Eight,
            &translucent,
        );
        assert_ne!(essence(&translucent).unwrap(), digest);
        // A grey image and the RGB image with equal channels look the same.
        let grey = vec![0x40u8; 30];
        let grey_rgb = vec![0x40u8; 90];
        assert_eq!(
            essence(&encoded_idat(
                size,
                png::ColorType::Grayscale,
                png::BitDepth::Eight,
                &grey
            ))
            .unwrap(),
            essence(&encoded_idat(
                size,
                png::ColorType::Rgb,
                png::BitDepth::Eight,
                &grey_rgb
            ))
            .unwrap()
        );
    }

    #[test]
    fn a_decompression_bomb_is_refused() {
        let mut header = samples::png(1, 1, 0);
        // IHDR says 40000 x 40000: the pixels could not be decoded within the limit.
        header[16..20].copy_from_slice(&40_000u32.to_be_bytes());
        header[20..24].copy_from_slice(&40_000u32.to_be_bytes());
        let crc = crc32fast::hash(&header[12..29]);
        header[29..33].copy_from_slice(&crc.to_be_bytes());
        let err = essence(&header).unwrap_err().to_string();
        assert!(err.starts_with("the decoded image is too large"), "{err}");
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
