//! WAV: the XMP packet in a `_PMX` chunk after the other chunks of the RIFF form (XMP
//! specification part 3).
//!
//! The essence is the sample format and the samples. For PCM and IEEE float audio (format tag 1
//! or 3, or `WAVE_FORMAT_EXTENSIBLE` with either sub-format) the format is reduced to what a
//! decoder needs to play the samples: integer or float, channels, sample rate, bits per sample,
//! valid bits and bytes per frame; the samples are the data chunk's whole frames, which for
//! these formats are the decoded sample values themselves (little-endian). Rewriting the header
//! as `WAVE_FORMAT_EXTENSIBLE` or back, adding or dropping `fact`, `LIST` or other chunks,
//! moving chunks, or a stray byte after the last whole frame leave it unchanged; any changed
//! sample changes it. The speaker layout (`dwChannelMask`) is not part of it. For other codecs
//! (ADPCM, A-law, ...) the essence is the `fmt ` chunk's data and the `data` chunk's data as
//! they are.

use sha2::{Digest, Sha256};

use super::{Carried, Format, MediaError, xmp};
use crate::record::{AigcRecord, PartDigest};

const XMP_CHUNK: &[u8; 4] = b"_PMX";

struct Chunk<'a> {
    id: [u8; 4],
    data: &'a [u8],
}

impl Chunk<'_> {
    fn xmp(&self) -> Option<&str> {
        if &self.id != XMP_CHUNK {
            return None;
        }
        std::str::from_utf8(self.data).ok()
    }

    fn is_ours(&self) -> bool {
        &self.id == XMP_CHUNK && xmp::is_ours(self.data)
    }

    /// The chunk with its header and, for an odd size, the pad byte.
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.id);
        // Parsed with a 32-bit size; `embed` refuses forms that outgrow one.
        out.extend_from_slice(&(self.data.len() as u32).to_le_bytes());
        out.extend_from_slice(self.data);
        if self.data.len() % 2 == 1 {
            out.push(0);
        }
    }
}

/// The chunks of the RIFF form, checked, and whatever follows the form.
fn parse(bytes: &[u8]) -> Result<(Vec<Chunk<'_>>, &[u8]), MediaError> {
    let (Some(b"RIFF"), Some(&size), Some(b"WAVE")) = (
        bytes.first_chunk::<4>(),
        bytes.get(4..).and_then(<[u8]>::first_chunk::<4>),
        bytes.get(8..).and_then(<[u8]>::first_chunk::<4>),
    ) else {
        return Err(MediaError::NotFormat {
            format: Format::Wav,
            detail: "missing the RIFF/WAVE header",
        });
    };
    // A form longer than the file is read as far as the file goes: the chunks tell whether
    // anything is missing.
    // Writers that stream (text-to-speech servers among them) cannot know the sizes up front
    // and leave 0 or 0xFFFFFFFF: then the form runs to the end of the file.
    let size = u32::from_le_bytes(size);
    let end = if size == 0 || size == u32::MAX {
        bytes.len()
    } else {
        (8 + size as usize).min(bytes.len())
    };
    let mut chunks = Vec::new();
    let mut at = 12;
    while at < end {
        let truncated = MediaError::Truncated {
            format: Format::Wav,
            what: "chunk",
            offset: at,
        };
        let Some((&id, rest)) = bytes[at..end].split_first_chunk::<4>() else {
            return Err(truncated);
        };
        let Some((&size, rest)) = rest.split_first_chunk::<4>() else {
            return Err(truncated);
        };
        let mut size = u32::from_le_bytes(size) as usize;
        // The same placeholder on the data chunk: the samples run to the end of the form.
        if &id == b"data" && (size == 0 || size == u32::MAX as usize) {
            size = rest.len();
        }
        let Some(data) = rest.get(..size) else {
            return Err(truncated);
        };
        chunks.push(Chunk { id, data });
        // The pad byte after an odd-sized last chunk is often missing.
        at = (at + 8 + size + size % 2).min(end);
    }
    Ok((chunks, &bytes[end..]))
}

/// The data of the first `fmt ` chunk and of the first `data` chunk.
fn content<'a>(chunks: &[Chunk<'a>]) -> Result<(&'a [u8], &'a [u8]), MediaError> {
    let find = |id: &[u8; 4], what| {
        chunks
            .iter()
            .find(|c| &c.id == id)
            .map(|c| c.data)
            .ok_or(MediaError::Missing {
                format: Format::Wav,
                what,
            })
    };
    Ok((find(b"fmt ", "fmt chunk")?, find(b"data", "data chunk")?))
}

/// See [`super::embed`].
pub fn embed(bytes: &[u8], record: &AigcRecord) -> Result<Vec<u8>, MediaError> {
    let (chunks, trailer) = parse(bytes)?;
    content(&chunks)?;
    let packet = xmp::packet(record);
    let ours = Chunk {
        id: *XMP_CHUNK,
        data: packet.as_bytes(),
    };

    let mut out = Vec::with_capacity(bytes.len() + packet.len() + 9);
    out.extend_from_slice(b"RIFF\0\0\0\0WAVE");
    for chunk in chunks.iter().filter(|c| !c.is_ours()) {
        chunk.write(&mut out);
    }
    ours.write(&mut out);
    let Ok(form_size) = u32::try_from(out.len() - 8) else {
        return Err(MediaError::TooLarge {
            format: Format::Wav,
            what: "labeled RIFF form",
            size: out.len() - 8,
            max: u32::MAX as usize,
        });
    };
    out[4..8].copy_from_slice(&form_size.to_le_bytes());
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
            carrier: "_PMX XMP",
            record: c.xmp().and_then(xmp::parse),
        })
        .collect())
}

/// The sub-format GUID of `WAVE_FORMAT_EXTENSIBLE` after its first two bytes (the format tag).
const SUBFORMAT_TAIL: [u8; 14] = [
    0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
];

/// What a decoder needs from a `fmt ` chunk of PCM or float samples.
#[derive(Debug, PartialEq, Eq)]
struct SampleFormat {
    float: bool,
    channels: u16,
    rate: u32,
    bits: u16,
    valid_bits: u16,
    frame_bytes: usize,
}

impl SampleFormat {
    /// `None` unless the chunk describes PCM or IEEE float samples.
    fn read(fmt: &[u8]) -> Option<SampleFormat> {
        let u16_at = |at: usize| Some(u16::from_le_bytes(*fmt.get(at..)?.first_chunk::<2>()?));
        let u32_at = |at: usize| Some(u32::from_le_bytes(*fmt.get(at..)?.first_chunk::<4>()?));
        let (tag, channels, rate) = (u16_at(0)?, u16_at(2)?, u32_at(4)?);
        let (block_align, bits) = (u16_at(12)?, u16_at(14)?);
        let (tag, valid_bits) = match tag {
            0xFFFE => {
                let subformat = fmt.get(24..40)?;
                if subformat[2..] != SUBFORMAT_TAIL {
                    return None;
                }
                let valid = u16_at(18)?;
                (u16_at(24)?, if valid == 0 { bits } else { valid })
            }
            tag => (tag, bits),
        };
        let float = match tag {
            1 => false,
            3 => true,
            _ => return None,
        };
        let sample_bytes = usize::from(bits).div_ceil(8);
        let frame_bytes = (usize::from(channels) * sample_bytes).max(usize::from(block_align));
        (channels > 0 && bits > 0 && frame_bytes > 0).then_some(SampleFormat {
            float,
            channels,
            rate,
            bits,
            valid_bits,
            frame_bytes,
        })
    }
}

/// See [`super::essence`] and the module docs.
pub fn essence(bytes: &[u8]) -> Result<PartDigest, MediaError> {
    let (chunks, _) = parse(bytes)?;
    let (format, samples) = content(&chunks)?;
    let mut hasher = Sha256::new();
    match SampleFormat::read(format) {
        Some(f) => {
            hasher.update(b"WAV samples\0");
            hasher.update([u8::from(f.float)]);
            hasher.update(f.channels.to_le_bytes());
            hasher.update(f.rate.to_le_bytes());
            hasher.update(f.bits.to_le_bytes());
            hasher.update(f.valid_bits.to_le_bytes());
            hasher.update((f.frame_bytes as u64).to_le_bytes());
            let whole = samples.len() - samples.len() % f.frame_bytes;
            hasher.update(&samples[..whole]);
        }
        None => {
            hasher.update(b"WAV coded\0");
            hasher.update((format.len() as u64).to_le_bytes());
            hasher.update(format);
            hasher.update(samples);
        }
    }
    Ok(hasher.finalize().into())
}

/// [`super::extract`] for this format.
#[cfg(test)]
fn extract(bytes: &[u8]) -> Result<Option<AigcRecord>, MediaError> {
    super::extract(Format::Wav, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::samples;

    fn ids(bytes: &[u8]) -> Vec<String> {
        let (chunks, _) = parse(bytes).unwrap();
        chunks
            .iter()
            .map(|c| String::from_utf8_lossy(&c.id).into_owned())
            .collect()
    }

    /// `bytes` with a chunk appended to the form.
    fn with_chunk(bytes: &[u8], id: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut out = bytes.to_vec();
        Chunk { id: *id, data }.write(&mut out);
        let size = (out.len() - 8) as u32;
        out[4..8].copy_from_slice(&size.to_le_bytes());
        out
    }

    #[test]
    fn hound_reads_the_same_samples_and_the_form_is_consistent() {
        let original = samples::wav(50, 2, 7);
        let record = samples::record();
        let labeled = embed(&original, &record).unwrap();
        assert_eq!(ids(&labeled), ["fmt ", "data", "_PMX"]);
        assert_eq!(
            samples::decode_wav(&labeled),
            samples::decode_wav(&original)
        );
        let form_size = u32::from_le_bytes(labeled[4..8].try_into().unwrap());
        assert_eq!(form_size as usize, labeled.len() - 8);
        let (chunks, trailer) = parse(&labeled).unwrap();
        assert!(trailer.is_empty());
        assert_eq!(chunks[2].data, xmp::packet(&record).as_bytes());
        assert_eq!(extract(&labeled).unwrap(), Some(record));
    }

    #[test]
    fn odd_sized_packets_are_padded() {
        let original = samples::wav(3, 1, 1);
        let mut record = samples::record();
        for extra in ["", "x"] {
            record.propagate_id = extra.into();
            let labeled = embed(&original, &record).unwrap();
            assert_eq!(labeled.len() % 2, 0);
            let form_size = u32::from_le_bytes(labeled[4..8].try_into().unwrap());
            assert_eq!(form_size as usize, labeled.len() - 8);
            assert_eq!(extract(&labeled).unwrap(), Some(record.clone()));
            assert_eq!(
                samples::decode_wav(&labeled),
                samples::decode_wav(&original)
            );
        }
    }

    #[test]
    fn labeling_again_replaces_the_record() {
        let original = samples::wav(10, 1, 3);
        let mut first = samples::record();
        first.produce_id = "first".into();
        let twice = embed(&embed(&original, &first).unwrap(), &samples::record()).unwrap();
        assert_eq!(twice, embed(&original, &samples::record()).unwrap());
        assert_eq!(ids(&twice).iter().filter(|id| *id == "_PMX").count(), 1);
        assert_eq!(extract(&twice).unwrap(), Some(samples::record()));
    }

    #[test]
    fn other_chunks_are_kept_and_do_not_change_the_essence() {
        let original = samples::wav(10, 1, 3);
        let input = with_chunk(&original, b"LIST", b"INFOICMT\x03\0\0\0hi\0");
        let labeled = embed(&input, &samples::record()).unwrap();
        assert_eq!(ids(&labeled), ["fmt ", "data", "LIST", "_PMX"]);
        assert_eq!(essence(&labeled).unwrap(), essence(&original).unwrap());
        assert_ne!(
            essence(&samples::wav(10, 1, 4)).unwrap(),
            essence(&original).unwrap()
        );
    }

    /// The form rebuilt with `fmt` as the format chunk, `extra` chunks before the data, and
    /// `samples` as the data.
    fn rebuilt(fmt: &[u8], extra: &[(&[u8; 4], &[u8])], samples: &[u8]) -> Vec<u8> {
        let mut out = b"RIFF\0\0\0\0WAVE".to_vec();
        Chunk {
            id: *b"fmt ",
            data: fmt,
        }
        .write(&mut out);
        for (id, data) in extra {
            Chunk { id: **id, data }.write(&mut out);
        }
        Chunk {
            id: *b"data",
            data: samples,
        }
        .write(&mut out);
        let size = (out.len() - 8) as u32;
        out[4..8].copy_from_slice(&size.to_le_bytes());
        out
    }

    /// A 16-bit PCM `fmt ` chunk rewritten as `WAVE_FORMAT_EXTENSIBLE`.
    fn extensible(pcm: &[u8]) -> Vec<u8> {
        let mut fmt = pcm[..16].to_vec();
        fmt[0..2].copy_from_slice(&0xFFFEu16.to_le_bytes());
        fmt.extend_from_slice(&22u16.to_le_bytes()); // cbSize
        fmt.extend_from_slice(&16u16.to_le_bytes()); // valid bits
        fmt.extend_from_slice(&3u32.to_le_bytes()); // front left and right
        fmt.extend_from_slice(&1u16.to_le_bytes()); // KSDATAFORMAT_SUBTYPE_PCM
        fmt.extend_from_slice(&SUBFORMAT_TAIL);
        fmt
    }

    #[test]
    fn a_lossless_rewrite_of_the_form_is_not_tampering_but_a_sample_change_is() {
        use crate::record::{Sealer, new_produce_id};
        let sealer = Sealer::new("provider-1", b"0123456789abcdef".to_vec());
        let original = samples::wav(40, 2, 11);
        let record = sealer.seal(&new_produce_id(), &[essence(&original).unwrap()]);
        let labeled = embed(&original, &record).unwrap();
        let verdict = |bytes: &[u8]| {
            let finding = crate::verify::verify(bytes, Some(&sealer)).unwrap();
            (finding.integrity, finding.problems)
        };
        assert_eq!(verdict(&labeled), ("intact", vec![]));

        let (chunks, _) = parse(&labeled).unwrap();
        let (fmt, data) = content(&chunks).unwrap();
        let packet = xmp::packet(&record);
        let ours: (&[u8; 4], &[u8]) = (XMP_CHUNK, packet.as_bytes());
        // What a converter that keeps the samples writes: the extensible header, a `fact`
        // chunk, the record moved in front of the samples, a stray byte after the last frame.
        let mut stray = data.to_vec();
        stray.push(0x7F);
        let rewritten = rebuilt(
            &extensible(fmt),
            &[(b"fact", &80u32.to_le_bytes()), ours],
            &stray,
        );
        assert_ne!(rewritten, labeled);
        // hound reads the same samples from the extensible header (without the stray byte,
        // which it refuses, and the odd-sized record in front, whose pad byte it does not skip).
        let plain = rebuilt(&extensible(fmt), &[], data);
        assert_eq!(
            samples::decode_wav(&plain).map(|(_, s)| s),
            samples::decode_wav(&original).map(|(_, s)| s)
        );
        assert_eq!(verdict(&rewritten), ("intact", vec![]));

        // One sample one step louder: tampered.
        let mut louder = data.to_vec();
        louder[2 * 17] = louder[2 * 17].wrapping_add(1);
        let changed = rebuilt(fmt, &[ours], &louder);
        assert_eq!(
            verdict(&changed),
            ("tampered", vec!["the content was changed".to_string()])
        );
        // So is another sample rate or channel count over the same bytes.
        let mut faster = fmt.to_vec();
        faster[4..8].copy_from_slice(&16000u32.to_le_bytes());
        assert_eq!(verdict(&rebuilt(&faster, &[ours], data)).0, "tampered");
        let mut mono = extensible(fmt);
        mono[2..4].copy_from_slice(&1u16.to_le_bytes());
        mono[12..14].copy_from_slice(&2u16.to_le_bytes());
        assert_eq!(verdict(&rebuilt(&mono, &[ours], data)).0, "tampered");
    }

    #[test]
    fn other_codecs_keep_their_coded_bytes_as_the_essence() {
        let original = samples::wav(8, 1, 3);
        let (chunks, _) = parse(&original).unwrap();
        let (fmt, data) = content(&chunks).unwrap();
        let mut alaw = fmt.to_vec();
        alaw[0..2].copy_from_slice(&6u16.to_le_bytes());
        let coded = rebuilt(&alaw, &[], data);
        let mut padded = data.to_vec();
        padded.push(0);
        assert_ne!(
            essence(&coded).unwrap(),
            essence(&rebuilt(&alaw, &[], &padded)).unwrap()
        );
        assert_ne!(essence(&coded).unwrap(), essence(&original).unwrap());
    }

    #[test]
    fn bytes_after_the_form_are_kept() {
        let mut input = samples::wav(4, 1, 3);
        input.extend_from_slice(b"junk");
        let labeled = embed(&input, &samples::record()).unwrap();
        assert!(labeled.ends_with(b"junk"));
        assert_eq!(extract(&labeled).unwrap(), Some(samples::record()));
    }

    #[test]
    fn malformed_files_are_rejected_with_a_reason() {
        let good = samples::wav(10, 1, 3);
        let message = |bytes: &[u8]| embed(bytes, &samples::record()).unwrap_err().to_string();
        assert_eq!(
            message(b"RIFF\0\0\0\0AVI "),
            "not a WAV file: missing the RIFF/WAVE header"
        );
        assert_eq!(
            message(&good[..good.len() - 1]),
            "truncated WAV chunk at byte 36"
        );
        assert_eq!(message(&good[..40]), "truncated WAV chunk at byte 36");
        assert_eq!(message(&good[..36]), "the WAV file has no data chunk");
        assert_eq!(
            message(b"RIFF\x04\0\0\0WAVE"),
            "the WAV file has no fmt chunk"
        );
    }

    #[test]
    fn sizes_left_open_by_a_streaming_writer_run_to_the_end() {
        let good = samples::wav(10, 1, 3);
        let (spec, samples) = samples::decode_wav(&good).unwrap();
        for placeholder in [0u32, u32::MAX] {
            let mut streamed = good.clone();
            streamed[4..8].copy_from_slice(&placeholder.to_le_bytes());
            // The data chunk's size field follows "data" at byte 36.
            streamed[40..44].copy_from_slice(&placeholder.to_le_bytes());
            let labeled = embed(&streamed, &samples::record()).unwrap();
            assert_eq!(extract(&labeled).unwrap(), Some(samples::record()));
            assert_eq!(essence(&labeled).unwrap(), essence(&good).unwrap());
            assert_eq!(samples::decode_wav(&labeled), Some((spec, samples.clone())));
        }
    }
}
