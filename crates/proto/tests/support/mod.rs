//! Code shared by the test-vector generator (`examples/gen_test_vectors.rs`), the
//! conformance test (`tests/test_vectors.rs`) and the property tests
//! (`tests/properties.rs`). Each of them uses a part, hence the `dead_code` allowances.

#[allow(dead_code)]
pub(crate) mod cbor;
#[allow(dead_code)]
pub(crate) mod vectors;
