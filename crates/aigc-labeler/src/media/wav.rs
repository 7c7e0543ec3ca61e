//! WAV: the XMP packet in a `_PMX` chunk after the other chunks of the RIFF form (XMP
//! specification part 3). The essence is the data of the `fmt ` chunk followed by the data of the
//! `data` chunk: the format and the samples.

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

/// See [`super::essence`].
pub fn essence(bytes: &[u8]) -> Result<PartDigest, MediaError> {
    let (chunks, _) = parse(bytes)?;
    let (format, samples) = content(&chunks)?;
    let mut hasher = Sha256::new();
    hasher.update(format);
    hasher.update(samples);
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
