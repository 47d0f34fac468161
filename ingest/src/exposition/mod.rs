//! exposition (to be written).
