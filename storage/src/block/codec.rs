//! The column codecs blocks use, behind one seam: the dense columns of [`crate::chunk`].
//! Every column is self-delimiting and starts with its codec id and sample count.

pub(crate) use crate::chunk::{decode_timestamps, decode_values, encode_timestamps, encode_values};
