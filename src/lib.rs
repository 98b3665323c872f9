#![forbid(unsafe_code)]
#![doc = "rootcellar: keeps the root of trust of a TUF / Docker Content Trust repository offline and in hardware."]

pub mod tuf;
