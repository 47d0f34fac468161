//! Sample codecs: appendable chunks for the head, dense columns for blocks.
