//! Getting metadata off the air-gapped machine and back: USB export and QR frames.

pub mod attestations;
pub mod qr;
pub mod render;
pub mod usb;
