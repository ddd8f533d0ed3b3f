//! A tiny, independent CBOR toolkit for tests: it writes items in exactly the order and
//! form it is given (so it can also write non-canonical forms on purpose), parses the
//! definite-length subset back into a tree, and prints CBOR diagnostic notation.
//!
//! It deliberately shares no code with `kith_proto::cbor`, so the vectors and property
//! tests check the reference implementation against a second encoder.

use std::fmt::Write as _;

/// A CBOR data item. `Raw` is written byte for byte and is how tests inject forms outside
/// the canonical subset (non-minimal heads, indefinite lengths, floats…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Item {
    /// Major type 0.
    Uint(u64),
    /// Major type 1: the value is `-1 - n`.
    Nint(u64),
    /// Major type 2.
    Bytes(Vec<u8>),
    /// Major type 3.
    Text(String),
    /// Major type 4.
    Array(Vec<Item>),
    /// Major type 5, entries written in the order given.
    Map(Vec<(Item, Item)>),
    /// Major type 6.
    Tag(u64, Box<Item>),
    /// `false` (0xf4).
    False,
    /// `true` (0xf5).
    True,
    /// `null` (0xf6).
    Null,
    /// Already-encoded bytes, written as is.
    Raw(Vec<u8>),
}

/// The additional-information value (0..=27) of the shortest head for `value`.
pub(crate) fn minimal_info(value: u64) -> u8 {
    match value {
        0..=23 => value as u8,
        24..=0xff => 24,
        0x100..=0xffff => 25,
        0x1_0000..=0xffff_ffff => 26,
        _ => 27,
    }
}

/// A head (initial byte and argument) with the given additional information, which must be
/// able to hold `value`; with `info` above [`minimal_info`] the head is non-minimal.
pub(crate) fn head_with_info(major: u8, value: u64, info: u8) -> Vec<u8> {
    let initial = major << 5;
    let mut out = Vec::with_capacity(9);
    match info {
        0..=23 => {
            assert_eq!(u64::from(info), value, "a direct value is the info itself");
            out.push(initial | info);
        }
        24 => {
            out.push(initial | 24);
            out.push(u8::try_from(value).expect("value fits one byte"));
        }
        25 => {
            out.push(initial | 25);
            out.extend_from_slice(&u16::try_from(value).expect("fits u16").to_be_bytes());
        }
        26 => {
            out.push(initial | 26);
            out.extend_from_slice(&u32::try_from(value).expect("fits u32").to_be_bytes());
        }
        27 => {
            out.push(initial | 27);
            out.extend_from_slice(&value.to_be_bytes());
        }
        _ => panic!("additional information {info} is not a length"),
    }
    out
}

/// The shortest head for `value`.
pub(crate) fn head(major: u8, value: u64) -> Vec<u8> {
    head_with_info(major, value, minimal_info(value))
}

impl Item {
    /// A text item.
    pub(crate) fn text(text: &str) -> Item {
        Item::Text(text.to_owned())
    }

    /// A byte-string item.
    pub(crate) fn bytes(bytes: &[u8]) -> Item {
        Item::Bytes(bytes.to_vec())
    }

    /// Encodes the item exactly as the tree says (shortest heads, definite lengths, map
    /// entries in the order given).
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            Item::Uint(n) => out.extend(head(0, *n)),
            Item::Nint(n) => out.extend(head(1, *n)),
            Item::Bytes(b) => {
                out.extend(head(2, b.len() as u64));
                out.extend_from_slice(b);
            }
            Item::Text(t) => {
                out.extend(head(3, t.len() as u64));
                out.extend_from_slice(t.as_bytes());
            }
            Item::Array(items) => {
                out.extend(head(4, items.len() as u64));
                for item in items {
                    item.encode_into(out);
                }
            }
            Item::Map(entries) => {
                out.extend(head(5, entries.len() as u64));
                for (key, value) in entries {
                    key.encode_into(out);
                    value.encode_into(out);
                }
            }
            Item::Tag(tag, item) => {
                out.extend(head(6, *tag));
                item.encode_into(out);
            }
            Item::False => out.push(0xf4),
            Item::True => out.push(0xf5),
            Item::Null => out.push(0xf6),
            Item::Raw(raw) => out.extend_from_slice(raw),
        }
    }
}

/// A map with text keys sorted into canonical order (bytewise order of the encoded keys).
pub(crate) fn map(fields: Vec<(&str, Item)>) -> Item {
    let mut entries: Vec<(Item, Item)> = fields
        .into_iter()
        .map(|(key, value)| (Item::text(key), value))
        .collect();
    entries.sort_by_key(|(key, _)| key.encode());
    Item::Map(entries)
}

/// Parses exactly one definite-length item covering all of `bytes`. Returns `None` for
/// anything outside that subset (indefinite lengths, floats, undefined, break, truncation,
/// trailing bytes). It does not check minimality or key order: it is a reader, not a judge.
pub(crate) fn parse(bytes: &[u8]) -> Option<Item> {
    let mut pos = 0;
    let item = parse_item(bytes, &mut pos, 0)?;
    (pos == bytes.len()).then_some(item)
}

fn take<'a>(bytes: &'a [u8], pos: &mut usize, n: usize) -> Option<&'a [u8]> {
    let end = pos.checked_add(n).filter(|end| *end <= bytes.len())?;
    let slice = &bytes[*pos..end];
    *pos = end;
    Some(slice)
}

fn parse_item(bytes: &[u8], pos: &mut usize, depth: usize) -> Option<Item> {
    if depth > 64 {
        return None;
    }
    let initial = take(bytes, pos, 1)?[0];
    let major = initial >> 5;
    let info = initial & 0x1f;
    if major == 7 {
        return match initial {
            0xf4 => Some(Item::False),
            0xf5 => Some(Item::True),
            0xf6 => Some(Item::Null),
            _ => None,
        };
    }
    let value = match info {
        0..=23 => u64::from(info),
        24 => u64::from(take(bytes, pos, 1)?[0]),
        25 => u64::from(u16::from_be_bytes(take(bytes, pos, 2)?.try_into().ok()?)),
        26 => u64::from(u32::from_be_bytes(take(bytes, pos, 4)?.try_into().ok()?)),
        27 => u64::from_be_bytes(take(bytes, pos, 8)?.try_into().ok()?),
        _ => return None,
    };
    let remaining = (bytes.len() - *pos) as u64;
    Some(match major {
        0 => Item::Uint(value),
        1 => Item::Nint(value),
        2 => {
            let len = usize::try_from(value).ok().filter(|_| value <= remaining)?;
            Item::Bytes(take(bytes, pos, len)?.to_vec())
        }
        3 => {
            let len = usize::try_from(value).ok().filter(|_| value <= remaining)?;
            Item::Text(String::from_utf8(take(bytes, pos, len)?.to_vec()).ok()?)
        }
        4 => {
            if value > remaining {
                return None;
            }
            let mut items = Vec::new();
            for _ in 0..value {
                items.push(parse_item(bytes, pos, depth + 1)?);
            }
            Item::Array(items)
        }
        5 => {
            if value > remaining {
                return None;
            }
            let mut entries = Vec::new();
            for _ in 0..value {
                let key = parse_item(bytes, pos, depth + 1)?;
                let value = parse_item(bytes, pos, depth + 1)?;
                entries.push((key, value));
            }
            Item::Map(entries)
        }
        6 => Item::Tag(value, Box::new(parse_item(bytes, pos, depth + 1)?)),
        _ => return None,
    })
}

/// CBOR diagnostic notation (RFC 8949 §8): `{"seq": 1, "author": h'…'}`.
pub(crate) fn diag(item: &Item) -> String {
    let mut out = String::new();
    write_diag(item, &mut out);
    out
}

fn write_diag(item: &Item, out: &mut String) {
    match item {
        Item::Uint(n) => {
            let _ = write!(out, "{n}");
        }
        Item::Nint(n) => {
            let _ = write!(out, "{}", -1 - i128::from(*n));
        }
        Item::Bytes(b) => {
            let _ = write!(out, "h'{}'", hex::encode(b));
        }
        Item::Text(t) => {
            out.push_str(&serde_json::to_string(t).expect("a string serializes"));
        }
        Item::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_diag(item, out);
            }
            out.push(']');
        }
        Item::Map(entries) => {
            out.push('{');
            for (i, (key, value)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_diag(key, out);
                out.push_str(": ");
                write_diag(value, out);
            }
            out.push('}');
        }
        Item::Tag(tag, item) => {
            let _ = write!(out, "{tag}(");
            write_diag(item, out);
            out.push(')');
        }
        Item::False => out.push_str("false"),
        Item::True => out.push_str("true"),
        Item::Null => out.push_str("null"),
        Item::Raw(raw) => {
            let _ = write!(out, "<raw {}>", hex::encode(raw));
        }
    }
}
