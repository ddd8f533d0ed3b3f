//! Blobs: media (avatars, images) outside entries, content-addressed and chunked.
//!
//! A blob is stored and sent as **chunks** of at most [`MAX_CHUNK_BYTES`], each a CBOR byte
//! string, and one **manifest**, a canonical CBOR map `{mime, size, chunks}` listing the
//! chunks' content ids in order. The blob's id is the content id of its manifest; every
//! chunk is named by its own content id, so each piece is verified on its own as it
//! arrives, from any peer that holds it. Chunks and manifests are both CBOR, so the CIDv1
//! (codec 0x51, as for entries) names them honestly.
//!
//! Only image types are accepted ([`ImageType`]), checked by their leading bytes (not by
//! what a sender claims), and a blob is at most [`MAX_BLOB_BYTES`].

use crate::cbor::{
    CborError, Fields, MapBuilder, Value, check_canonical, decode_bytes, encode_bytes,
    encode_bytes_array,
};
use crate::cid::ContentId;

/// Largest chunk, in bytes of content.
pub const MAX_CHUNK_BYTES: usize = 256 * 1024;
/// Largest blob, in bytes of content.
pub const MAX_BLOB_BYTES: usize = 4 * 1024 * 1024;
/// Most chunks of one blob.
pub const MAX_CHUNKS: usize = MAX_BLOB_BYTES.div_ceil(MAX_CHUNK_BYTES);

/// The image types a blob may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageType {
    /// `image/png`.
    Png,
    /// `image/jpeg`.
    Jpeg,
    /// `image/gif`.
    Gif,
    /// `image/webp`.
    Webp,
}

impl ImageType {
    /// The media type.
    pub fn mime(self) -> &'static str {
        match self {
            ImageType::Png => "image/png",
            ImageType::Jpeg => "image/jpeg",
            ImageType::Gif => "image/gif",
            ImageType::Webp => "image/webp",
        }
    }

    /// The type a media type string names.
    pub fn from_mime(mime: &str) -> Option<Self> {
        [
            ImageType::Png,
            ImageType::Jpeg,
            ImageType::Gif,
            ImageType::Webp,
        ]
        .into_iter()
        .find(|t| t.mime() == mime)
    }

    /// The type of an image, from its leading bytes ("magic numbers").
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(ImageType::Png)
        } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
            Some(ImageType::Jpeg)
        } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
            Some(ImageType::Gif)
        } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
            Some(ImageType::Webp)
        } else {
            None
        }
    }
}

/// Why a blob, a manifest or a chunk is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BlobError {
    /// Larger than [`MAX_BLOB_BYTES`].
    #[error("the blob is {size} bytes; the limit is {MAX_BLOB_BYTES}")]
    TooLarge {
        /// Its size.
        size: u64,
    },
    /// Empty.
    #[error("the blob is empty")]
    Empty,
    /// Not one of the image types accepted.
    #[error("not a PNG, JPEG, GIF or WebP image")]
    NotAnImage,
    /// The manifest's type is not the type of the content.
    #[error("the manifest says {claimed} but the content is {found}")]
    TypeMismatch {
        /// What the manifest says.
        claimed: String,
        /// What the bytes are.
        found: &'static str,
    },
    /// The manifest is not a well-formed manifest.
    #[error("malformed manifest: {0}")]
    Manifest(String),
    /// A chunk is not a well-formed chunk, or does not fit its manifest.
    #[error("malformed chunk: {0}")]
    Chunk(String),
    /// A piece's content does not hash to the id it was asked by.
    #[error("content does not match its id {0}")]
    WrongId(ContentId),
}

impl From<CborError> for BlobError {
    fn from(error: CborError) -> Self {
        BlobError::Manifest(error.to_string())
    }
}

/// The manifest of a blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The image type.
    pub image: ImageType,
    /// Total size of the content in bytes.
    pub size: u64,
    /// The chunks' ids, in order.
    pub chunks: Vec<ContentId>,
}

impl Manifest {
    /// The canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let ids: Vec<[u8; crate::cid::CID_BYTES]> =
            self.chunks.iter().map(ContentId::to_bytes).collect();
        let refs: Vec<&[u8]> = ids.iter().map(|id| id.as_slice()).collect();
        let chunks = encode_bytes_array(&refs);
        MapBuilder::new()
            .field("mime", Value::Text(self.image.mime()))
            .field("size", Value::Uint(self.size))
            .field("chunks", Value::Raw(&chunks))
            .finish()
    }

    /// Decodes and checks a manifest received as the content of `id`.
    pub fn decode(id: &ContentId, bytes: &[u8]) -> Result<Self, BlobError> {
        if ContentId::of(bytes) != *id {
            return Err(BlobError::WrongId(*id));
        }
        check_canonical(bytes)?;
        let mut fields = Fields::parse(bytes)?;
        let mime = fields.text("mime")?;
        let image = ImageType::from_mime(mime).ok_or(BlobError::NotAnImage)?;
        let size = fields.uint("size")?;
        let chunks = fields
            .bytes_array("chunks")?
            .into_iter()
            .map(ContentId::from_bytes)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| BlobError::Manifest(e.to_string()))?;
        if size == 0 {
            return Err(BlobError::Empty);
        }
        if size > MAX_BLOB_BYTES as u64 {
            return Err(BlobError::TooLarge { size });
        }
        // Every chunk but the last is full: the count follows from the size.
        if chunks.len() as u64 != size.div_ceil(MAX_CHUNK_BYTES as u64) {
            return Err(BlobError::Manifest(format!(
                "{} chunks for {size} bytes",
                chunks.len()
            )));
        }
        Ok(Self {
            image,
            size,
            chunks,
        })
    }

    /// The content length chunk `index` must have.
    pub fn chunk_len(&self, index: usize) -> usize {
        let start = index as u64 * MAX_CHUNK_BYTES as u64;
        (self.size - start).min(MAX_CHUNK_BYTES as u64) as usize
    }
}

/// A blob cut into its pieces, ready to store and serve.
#[derive(Debug, Clone)]
pub struct Blob {
    /// The id of the blob (its manifest's content id).
    pub id: ContentId,
    /// The encoded manifest.
    pub manifest: Vec<u8>,
    /// The encoded chunks with their ids, in order.
    pub chunks: Vec<(ContentId, Vec<u8>)>,
}

impl Blob {
    /// Checks that `content` is an accepted image within the limits and cuts it.
    pub fn new(content: &[u8]) -> Result<Self, BlobError> {
        if content.is_empty() {
            return Err(BlobError::Empty);
        }
        if content.len() > MAX_BLOB_BYTES {
            return Err(BlobError::TooLarge {
                size: content.len() as u64,
            });
        }
        let image = ImageType::sniff(content).ok_or(BlobError::NotAnImage)?;
        let chunks: Vec<(ContentId, Vec<u8>)> = content
            .chunks(MAX_CHUNK_BYTES)
            .map(|piece| {
                let encoded = encode_bytes(piece);
                (ContentId::of(&encoded), encoded)
            })
            .collect();
        let manifest = Manifest {
            image,
            size: content.len() as u64,
            chunks: chunks.iter().map(|(id, _)| *id).collect(),
        }
        .encode();
        Ok(Self {
            id: ContentId::of(&manifest),
            manifest,
            chunks,
        })
    }
}

/// Checks chunk `index` of `manifest`, received as `bytes`, and returns its content.
pub fn check_chunk<'a>(
    manifest: &Manifest,
    index: usize,
    bytes: &'a [u8],
) -> Result<&'a [u8], BlobError> {
    let id = manifest
        .chunks
        .get(index)
        .ok_or_else(|| BlobError::Chunk(format!("no chunk {index}")))?;
    if ContentId::of(bytes) != *id {
        return Err(BlobError::WrongId(*id));
    }
    let content = decode_bytes(bytes).map_err(|e| BlobError::Chunk(e.to_string()))?;
    if content.len() != manifest.chunk_len(index) {
        return Err(BlobError::Chunk(format!(
            "chunk {index} is {} bytes; the manifest implies {}",
            content.len(),
            manifest.chunk_len(index)
        )));
    }
    if index == 0 {
        let found = ImageType::sniff(content).ok_or(BlobError::NotAnImage)?;
        if found != manifest.image {
            return Err(BlobError::TypeMismatch {
                claimed: manifest.image.mime().to_owned(),
                found: found.mime(),
            });
        }
    }
    Ok(content)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn png(len: usize) -> Vec<u8> {
        let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
        bytes.extend((0..len - 8).map(|i| (i % 251) as u8));
        bytes
    }

    #[test]
    fn a_blob_round_trips_through_manifest_and_chunks() {
        let content = png(MAX_CHUNK_BYTES * 2 + 17);
        let blob = Blob::new(&content).unwrap();
        assert_eq!(blob.chunks.len(), 3);
        let manifest = Manifest::decode(&blob.id, &blob.manifest).unwrap();
        assert_eq!(manifest.image, ImageType::Png);
        assert_eq!(manifest.size, content.len() as u64);
        let mut joined = Vec::new();
        for (index, (_, bytes)) in blob.chunks.iter().enumerate() {
            joined.extend_from_slice(check_chunk(&manifest, index, bytes).unwrap());
        }
        assert_eq!(joined, content);
    }

    #[test]
    fn wrong_pieces_are_refused() {
        let blob = Blob::new(&png(1000)).unwrap();
        let manifest = Manifest::decode(&blob.id, &blob.manifest).unwrap();
        let other = Blob::new(&png(999)).unwrap();
        assert!(matches!(
            check_chunk(&manifest, 0, &other.chunks[0].1),
            Err(BlobError::WrongId(_))
        ));
        assert!(matches!(
            Manifest::decode(&blob.id, &other.manifest),
            Err(BlobError::WrongId(_))
        ));
        assert!(check_chunk(&manifest, 1, &blob.chunks[0].1).is_err());
    }

    #[test]
    fn only_images_within_the_limit_are_accepted() {
        assert_eq!(Blob::new(b"plain text").unwrap_err(), BlobError::NotAnImage);
        assert_eq!(Blob::new(b"").unwrap_err(), BlobError::Empty);
        assert!(matches!(
            Blob::new(&png(MAX_BLOB_BYTES + 1)),
            Err(BlobError::TooLarge { .. })
        ));
        assert!(Blob::new(&png(MAX_BLOB_BYTES)).is_ok());
        for (bytes, image) in [
            (b"\xff\xd8\xff\xe0rest".to_vec(), ImageType::Jpeg),
            (b"GIF89a....".to_vec(), ImageType::Gif),
            (b"RIFF\0\0\0\0WEBPVP8 ".to_vec(), ImageType::Webp),
        ] {
            assert_eq!(ImageType::sniff(&bytes), Some(image));
            assert_eq!(ImageType::from_mime(image.mime()), Some(image));
        }
    }

    #[test]
    fn a_manifest_that_lies_about_its_type_is_caught_at_the_first_chunk() {
        let blob = Blob::new(&png(100)).unwrap();
        let lying = Manifest {
            image: ImageType::Jpeg,
            size: 100,
            chunks: vec![blob.chunks[0].0],
        };
        assert!(matches!(
            check_chunk(&lying, 0, &blob.chunks[0].1),
            Err(BlobError::TypeMismatch { .. })
        ));
    }
}
