//! Canonical CBOR: the one byte form every signed structure must have.
//!
//! cbor4ii, like most CBOR decoders, accepts many byte forms of one value (non-minimal
//! integers, indefinite lengths, unsorted or duplicate map keys, trailing bytes). A signed,
//! content-addressed entry must have exactly one byte form, or the same entry would get many
//! ids. So every structure is checked twice:
//!
//! 1. [`check_canonical`] walks the raw bytes and refuses anything outside the canonical
//!    subset (the rules are in `docs/PROTOCOL.md` §Canonical CBOR);
//! 2. after decoding, the structure is re-encoded and must give back the identical bytes.
//!
//! Encoding goes through [`MapBuilder`], which sorts keys into canonical order, so whatever
//! we produce passes both checks.

use cbor4ii::core::{
    RawValue,
    dec::{Decode, Read},
    enc::Encode,
    types,
    utils::{BufWriter, SliceReader},
};

use crate::limits::MAX_CBOR_DEPTH;

/// Why a byte string is not canonical CBOR of the expected shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CborError {
    /// The input ended inside an item.
    #[error("CBOR input is truncated at byte {offset}")]
    Truncated {
        /// Where the missing bytes were expected.
        offset: usize,
    },
    /// Bytes follow the single top-level item.
    #[error("{extra} trailing bytes after the CBOR item")]
    TrailingBytes {
        /// How many bytes follow the item.
        extra: usize,
    },
    /// An integer or length is not written in its shortest form.
    #[error("non-minimal integer or length encoding at byte {offset}")]
    NonMinimal {
        /// Where the item starts.
        offset: usize,
    },
    /// An indefinite-length string, array or map.
    #[error("indefinite-length item at byte {offset}")]
    Indefinite {
        /// Where the item starts.
        offset: usize,
    },
    /// A major type or simple value outside the canonical subset (tags, floats, undefined…).
    #[error("unsupported CBOR item 0x{initial:02x} at byte {offset}")]
    Unsupported {
        /// The initial byte of the item.
        initial: u8,
        /// Where the item starts.
        offset: usize,
    },
    /// A text string that is not valid UTF-8.
    #[error("text string at byte {offset} is not valid UTF-8")]
    InvalidUtf8 {
        /// Where the item starts.
        offset: usize,
    },
    /// A map key that is not a text string.
    #[error("map key at byte {offset} is not a text string")]
    NonTextKey {
        /// Where the key starts.
        offset: usize,
    },
    /// Map keys out of canonical order, or a key repeated.
    #[error("map key at byte {offset} is duplicated or out of canonical order")]
    UnsortedKeys {
        /// Where the offending key starts.
        offset: usize,
    },
    /// Arrays and maps nested deeper than [`MAX_CBOR_DEPTH`].
    #[error("CBOR nesting deeper than {MAX_CBOR_DEPTH}")]
    TooDeep,
    /// A required field is absent.
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    /// A field that this structure does not define.
    #[error("unknown field `{0}`")]
    UnknownField(String),
    /// A field holds a value of the wrong type or size.
    #[error("field `{0}` has the wrong type or size")]
    WrongType(&'static str),
    /// Decoding then re-encoding did not give back the same bytes.
    #[error("re-encoding does not reproduce the input bytes")]
    NotCanonical,
}

/// Opens a signed envelope `{sig: bytes(64), payload: bytes}` (entries, name records,
/// beacons): checks the whole is canonical and closed, and returns the signature and the
/// payload (a slice of `bytes`). The payload itself is not checked here.
pub fn open_signed_envelope(bytes: &[u8]) -> Result<([u8; 64], &[u8]), CborError> {
    check_canonical(bytes)?;
    let mut envelope = Fields::parse(bytes).map_err(|_| CborError::WrongType("envelope"))?;
    let sig: [u8; 64] = envelope
        .bytes("sig")?
        .try_into()
        .map_err(|_| CborError::WrongType("sig"))?;
    let payload = envelope.bytes("payload")?;
    envelope.deny_unknown()?;
    Ok((sig, payload))
}

/// Checks that `bytes` is exactly one CBOR item in the canonical subset: shortest-form
/// integers and lengths, definite lengths only, text map keys in strictly increasing
/// bytewise order of their encoding (so no duplicates), valid UTF-8, no tags, no floats, no
/// simple values but `false`, `true`, `null`, nesting at most [`MAX_CBOR_DEPTH`], no trailing
/// bytes.
pub fn check_canonical(bytes: &[u8]) -> Result<(), CborError> {
    let mut walker = Walker { bytes, pos: 0 };
    walker.item(0)?;
    if walker.pos != bytes.len() {
        return Err(CborError::TrailingBytes {
            extra: bytes.len() - walker.pos,
        });
    }
    Ok(())
}

struct Walker<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Walker<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], CborError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len())
            .ok_or(CborError::Truncated { offset: self.pos })?;
        let slice = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    /// Reads an initial byte and its argument, checking the argument is minimal.
    fn head(&mut self) -> Result<(u8, u8, u64), CborError> {
        let start = self.pos;
        let initial = self.take(1)?[0];
        let major = initial >> 5;
        let info = initial & 0x1f;
        let (value, minimum) = match info {
            0..=23 => (u64::from(info), 0),
            24 => (u64::from(self.take(1)?[0]), 24),
            25 => {
                let b = self.take(2)?;
                (u64::from(u16::from_be_bytes([b[0], b[1]])), 1 << 8)
            }
            26 => {
                let b = self.take(4)?;
                (
                    u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])),
                    1 << 16,
                )
            }
            27 => {
                let b = self.take(8)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                (u64::from_be_bytes(a), 1 << 32)
            }
            31 if (2..=5).contains(&major) => {
                return Err(CborError::Indefinite { offset: start });
            }
            _ => {
                return Err(CborError::Unsupported {
                    initial,
                    offset: start,
                });
            }
        };
        if value < minimum {
            return Err(CborError::NonMinimal { offset: start });
        }
        Ok((initial, major, value))
    }

    fn length(&self, value: u64) -> Result<usize, CborError> {
        // A length can never exceed what is left of the input: refuse before allocating or
        // looping, so a 2^62 length prefix costs nothing.
        usize::try_from(value)
            .ok()
            .filter(|len| *len <= self.bytes.len() - self.pos)
            .ok_or(CborError::Truncated { offset: self.pos })
    }

    fn item(&mut self, depth: usize) -> Result<(), CborError> {
        let start = self.pos;
        let (initial, major, value) = self.head()?;
        match major {
            0 | 1 => Ok(()),
            2 => {
                let len = self.length(value)?;
                self.take(len).map(|_| ())
            }
            3 => {
                let len = self.length(value)?;
                let text = self.take(len)?;
                std::str::from_utf8(text)
                    .map(|_| ())
                    .map_err(|_| CborError::InvalidUtf8 { offset: start })
            }
            4 => {
                if depth >= MAX_CBOR_DEPTH {
                    return Err(CborError::TooDeep);
                }
                // Each element is at least one byte, so the count is bounded by the input.
                let count = self.length(value)?;
                for _ in 0..count {
                    self.item(depth + 1)?;
                }
                Ok(())
            }
            5 => {
                if depth >= MAX_CBOR_DEPTH {
                    return Err(CborError::TooDeep);
                }
                let count = self.length(value)?;
                let mut previous_key: Option<(usize, usize)> = None;
                for _ in 0..count {
                    let key_start = self.pos;
                    if self.bytes.get(key_start).map(|b| b >> 5) != Some(3) {
                        return Err(if key_start >= self.bytes.len() {
                            CborError::Truncated { offset: key_start }
                        } else {
                            CborError::NonTextKey { offset: key_start }
                        });
                    }
                    self.item(depth + 1)?;
                    let key = &self.bytes[key_start..self.pos];
                    if let Some((ps, pe)) = previous_key
                        && self.bytes[ps..pe] >= *key
                    {
                        return Err(CborError::UnsortedKeys { offset: key_start });
                    }
                    previous_key = Some((key_start, self.pos));
                    self.item(depth + 1)?;
                }
                Ok(())
            }
            7 if matches!(initial, 0xf4..=0xf6) => Ok(()),
            _ => Err(CborError::Unsupported {
                initial,
                offset: start,
            }),
        }
    }
}

/// A CBOR value as written by [`MapBuilder`]: the few types the protocol uses.
#[derive(Debug, Clone, Copy)]
pub enum Value<'a> {
    /// An unsigned integer.
    Uint(u64),
    /// A UTF-8 text string.
    Text(&'a str),
    /// A byte string.
    Bytes(&'a [u8]),
    /// `null`.
    Null,
    /// Already-encoded canonical CBOR, written as is (a nested map kept byte for byte).
    Raw(&'a [u8]),
}

impl Encode for Value<'_> {
    fn encode<W: cbor4ii::core::enc::Write>(
        &self,
        writer: &mut W,
    ) -> Result<(), cbor4ii::core::enc::Error<W::Error>> {
        match self {
            Value::Uint(n) => n.encode(writer),
            Value::Text(s) => s.encode(writer),
            Value::Bytes(b) => types::Bytes(*b).encode(writer),
            Value::Null => types::Null.encode(writer),
            Value::Raw(raw) => writer.push(raw).map_err(cbor4ii::core::enc::Error::Write),
        }
    }
}

/// Builds a canonical CBOR map: keys are sorted into canonical order when it is finished,
/// whatever order they were added in.
#[derive(Debug, Default)]
pub struct MapBuilder<'a> {
    fields: Vec<(&'a str, Value<'a>)>,
}

impl<'a> MapBuilder<'a> {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a field.
    pub fn field(mut self, key: &'a str, value: Value<'a>) -> Self {
        self.fields.push((key, value));
        self
    }

    /// Adds a field when `value` is `Some`; optional fields are omitted, never `null`.
    pub fn optional(self, key: &'a str, value: Option<Value<'a>>) -> Self {
        match value {
            Some(value) => self.field(key, value),
            None => self,
        }
    }

    /// Encodes the map. Panics only if the same key was added twice (a programming error).
    pub fn finish(mut self) -> Vec<u8> {
        // Canonical order is bytewise order of the encoded keys: shorter keys first, then
        // bytewise (true for keys under 24 bytes, whose length sits in the initial byte,
        // and for longer ones as well since their heads are compared first).
        self.fields
            .sort_by(|(a, _), (b, _)| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
        assert!(
            self.fields.windows(2).all(|w| w[0].0 != w[1].0),
            "duplicate key in MapBuilder"
        );
        let mut writer = BufWriter::new(Vec::with_capacity(64));
        let result: Result<(), cbor4ii::core::enc::Error<std::collections::TryReserveError>> =
            (|| {
                types::Map::bounded(self.fields.len(), &mut writer)?;
                for (key, value) in &self.fields {
                    key.encode(&mut writer)?;
                    value.encode(&mut writer)?;
                }
                Ok(())
            })();
        // Writing into a Vec fails only when memory runs out.
        result.expect("encoding into a Vec cannot fail");
        writer.into_inner()
    }
}

/// Encodes an array of byte strings (canonical: shortest heads).
pub fn encode_bytes_array(items: &[&[u8]]) -> Vec<u8> {
    let mut writer = BufWriter::new(Vec::new());
    let result: Result<(), cbor4ii::core::enc::Error<std::collections::TryReserveError>> = (|| {
        types::Array::bounded(items.len(), &mut writer)?;
        for item in items {
            types::Bytes(*item).encode(&mut writer)?;
        }
        Ok(())
    })();
    // Writing into a Vec fails only when memory runs out.
    result.expect("encoding into a Vec cannot fail");
    writer.into_inner()
}

/// Encodes one byte string (canonical: shortest head).
pub fn encode_bytes(data: &[u8]) -> Vec<u8> {
    let mut writer = BufWriter::new(Vec::with_capacity(data.len() + 9));
    let result: Result<(), cbor4ii::core::enc::Error<std::collections::TryReserveError>> =
        types::Bytes(data).encode(&mut writer);
    result.expect("encoding into a Vec cannot fail");
    writer.into_inner()
}

/// The content of a canonical CBOR byte string that is the whole of `bytes`.
pub fn decode_bytes(bytes: &[u8]) -> Result<&[u8], CborError> {
    check_canonical(bytes)?;
    if bytes.first().map(|b| b >> 5) != Some(2) {
        return Err(CborError::WrongType("chunk"));
    }
    Fields::decode::<types::Bytes<&[u8]>>(bytes, "chunk").map(|b| b.0)
}

/// The fields of a canonical CBOR map, each value left encoded. The caller must have run
/// [`check_canonical`] on `bytes` first, which guarantees text keys in strictly increasing
/// order.
pub fn map_fields(bytes: &[u8]) -> Result<Vec<(&str, &[u8])>, CborError> {
    let mut reader = SliceReader::new(bytes);
    let len = types::Map::len(&mut reader)
        .map_err(|_| CborError::WrongType("map"))?
        .ok_or(CborError::Indefinite { offset: 0 })?;
    let mut fields = Vec::with_capacity(len.min(32));
    for _ in 0..len {
        let key = <&str>::decode(&mut reader).map_err(|_| CborError::WrongType("map key"))?;
        let value =
            RawValue::decode(&mut reader).map_err(|_| CborError::Truncated { offset: 0 })?;
        fields.push((key, value.as_bytes()));
    }
    Ok(fields)
}

/// Typed access to the fields of a map, tracking which ones were used so that unknown ones
/// can be refused where the structure is closed.
pub struct Fields<'a> {
    fields: Vec<(&'a str, &'a [u8])>,
    used: Vec<bool>,
}

impl<'a> Fields<'a> {
    /// Parses the top level of a canonical map (see [`map_fields`]).
    pub fn parse(bytes: &'a [u8]) -> Result<Self, CborError> {
        let fields = map_fields(bytes)?;
        let used = vec![false; fields.len()];
        Ok(Self { fields, used })
    }

    fn raw(&mut self, key: &'static str) -> Option<&'a [u8]> {
        let index = self.fields.iter().position(|(k, _)| *k == key)?;
        self.used[index] = true;
        Some(self.fields[index].1)
    }

    fn decode<T: Decode<'a>>(raw: &'a [u8], key: &'static str) -> Result<T, CborError> {
        let mut reader = SliceReader::new(raw);
        let value = T::decode(&mut reader).map_err(|_| CborError::WrongType(key))?;
        // Each raw value is exactly one item; a decoder that stopped short saw another type.
        if reader
            .fill(1)
            .map(|r| r.as_ref().is_empty())
            .unwrap_or(true)
        {
            Ok(value)
        } else {
            Err(CborError::WrongType(key))
        }
    }

    /// An unsigned integer field.
    pub fn uint(&mut self, key: &'static str) -> Result<u64, CborError> {
        let raw = self.raw(key).ok_or(CborError::MissingField(key))?;
        if raw.first().map(|b| b >> 5) != Some(0) {
            return Err(CborError::WrongType(key));
        }
        Self::decode::<u64>(raw, key)
    }

    /// A text field.
    pub fn text(&mut self, key: &'static str) -> Result<&'a str, CborError> {
        let raw = self.raw(key).ok_or(CborError::MissingField(key))?;
        Self::decode::<&str>(raw, key)
    }

    /// An optional text field (absent means `None`; `null` is not accepted).
    pub fn opt_text(&mut self, key: &'static str) -> Result<Option<&'a str>, CborError> {
        match self.raw(key) {
            None => Ok(None),
            Some(raw) => Self::decode::<&str>(raw, key).map(Some),
        }
    }

    /// A byte-string field.
    pub fn bytes(&mut self, key: &'static str) -> Result<&'a [u8], CborError> {
        let raw = self.raw(key).ok_or(CborError::MissingField(key))?;
        Self::decode::<types::Bytes<&[u8]>>(raw, key).map(|b| b.0)
    }

    /// An optional byte-string field (absent means `None`).
    pub fn opt_bytes(&mut self, key: &'static str) -> Result<Option<&'a [u8]>, CborError> {
        match self.raw(key) {
            None => Ok(None),
            Some(raw) => Self::decode::<types::Bytes<&[u8]>>(raw, key).map(|b| Some(b.0)),
        }
    }

    /// A field that is either `null` or a byte string.
    pub fn nullable_bytes(&mut self, key: &'static str) -> Result<Option<&'a [u8]>, CborError> {
        let raw = self.raw(key).ok_or(CborError::MissingField(key))?;
        if raw == [0xf6] {
            return Ok(None);
        }
        Self::decode::<types::Bytes<&[u8]>>(raw, key).map(|b| Some(b.0))
    }

    /// A field holding an array of byte strings.
    pub fn bytes_array(&mut self, key: &'static str) -> Result<Vec<&'a [u8]>, CborError> {
        let raw = self.raw(key).ok_or(CborError::MissingField(key))?;
        if raw.first().map(|b| b >> 5) != Some(4) {
            return Err(CborError::WrongType(key));
        }
        Self::decode::<Vec<types::Bytes<&[u8]>>>(raw, key)
            .map(|items| items.into_iter().map(|b| b.0).collect())
    }

    /// A field holding a map, returned still encoded.
    pub fn map(&mut self, key: &'static str) -> Result<&'a [u8], CborError> {
        let raw = self.raw(key).ok_or(CborError::MissingField(key))?;
        if raw.first().map(|b| b >> 5) != Some(5) {
            return Err(CborError::WrongType(key));
        }
        Ok(raw)
    }

    /// Fails on the first field no accessor asked for (closed structures).
    pub fn deny_unknown(&self) -> Result<(), CborError> {
        match self.used.iter().position(|used| !used) {
            Some(index) => Err(CborError::UnknownField(self.fields[index].0.to_owned())),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn accepts_canonical_items() {
        for h in [
            "00",
            "17",
            "1818",
            "190100",
            "1a00010000",
            "1b0000000100000000",
            "20",
            "40",
            "4161",
            "60",
            "6161",
            "80",
            "820102",
            "a0",
            "a2616101616202",
            "a2616101626161f6",
            "f4",
            "f5",
            "f6",
        ] {
            assert_eq!(check_canonical(&hex(h)), Ok(()), "{h}");
        }
    }

    #[test]
    fn refuses_non_canonical_forms() {
        type Expectation = fn(&CborError) -> bool;
        let cases: &[(&str, Expectation)] = &[
            ("1801", |e| matches!(e, CborError::NonMinimal { .. })),
            ("190001", |e| matches!(e, CborError::NonMinimal { .. })),
            ("1a0000ffff", |e| matches!(e, CborError::NonMinimal { .. })),
            ("1b00000000ffffffff", |e| {
                matches!(e, CborError::NonMinimal { .. })
            }),
            ("5801ff", |e| matches!(e, CborError::NonMinimal { .. })),
            ("5f41ffff", |e| matches!(e, CborError::Indefinite { .. })),
            ("9f01ff", |e| matches!(e, CborError::Indefinite { .. })),
            ("bf616101ff", |e| matches!(e, CborError::Indefinite { .. })),
            ("a2616201616101", |e| {
                matches!(e, CborError::UnsortedKeys { .. })
            }),
            ("a2616101616101", |e| {
                matches!(e, CborError::UnsortedKeys { .. })
            }),
            ("a2626161016162", |e| {
                matches!(e, CborError::UnsortedKeys { .. })
            }),
            ("a10101", |e| matches!(e, CborError::NonTextKey { .. })),
            ("c24100", |e| matches!(e, CborError::Unsupported { .. })),
            ("f93c00", |e| matches!(e, CborError::Unsupported { .. })),
            ("f7", |e| matches!(e, CborError::Unsupported { .. })),
            ("62c328", |e| matches!(e, CborError::InvalidUtf8 { .. })),
            ("0000", |e| {
                matches!(e, CborError::TrailingBytes { extra: 1 })
            }),
            ("62ff", |e| matches!(e, CborError::Truncated { .. })),
            ("1c", |e| matches!(e, CborError::Unsupported { .. })),
            ("", |e| matches!(e, CborError::Truncated { .. })),
        ];
        for (h, expected) in cases {
            let err = check_canonical(&hex(h)).expect_err(h);
            assert!(expected(&err), "{h}: {err:?}");
        }
    }

    #[test]
    fn huge_length_prefix_is_refused_without_allocating() {
        let mut bytes = vec![0x5b];
        bytes.extend_from_slice(&(1u64 << 62).to_be_bytes());
        assert!(matches!(
            check_canonical(&bytes),
            Err(CborError::Truncated { .. })
        ));
        let mut bytes = vec![0x9b];
        bytes.extend_from_slice(&(1u64 << 62).to_be_bytes());
        assert!(matches!(
            check_canonical(&bytes),
            Err(CborError::Truncated { .. })
        ));
    }

    #[test]
    fn deep_nesting_is_refused_without_overflowing_the_stack() {
        let bytes = vec![0x81; 100_000];
        assert_eq!(check_canonical(&bytes), Err(CborError::TooDeep));
        let mut ok = vec![0x81; MAX_CBOR_DEPTH - 1];
        ok.push(0x80);
        assert_eq!(check_canonical(&ok), Ok(()));
        let mut too_deep = vec![0x81; MAX_CBOR_DEPTH];
        too_deep.push(0x80);
        assert_eq!(check_canonical(&too_deep), Err(CborError::TooDeep));
    }

    #[test]
    fn map_builder_sorts_keys_canonically() {
        let bytes = MapBuilder::new()
            .field("seq", Value::Uint(1))
            .field("v", Value::Uint(1))
            .field("author", Value::Bytes(b"x"))
            .field("body", Value::Text("b"))
            .field("kind", Value::Null)
            .finish();
        check_canonical(&bytes).unwrap();
        let keys: Vec<&str> = map_fields(&bytes)
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, ["v", "seq", "body", "kind", "author"]);
    }
}
