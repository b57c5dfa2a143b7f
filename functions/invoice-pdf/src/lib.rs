//! `invoice-pdf`: a finalized invoice becomes its archived PDF/A-3 (with the
//! EN 16931 XML embedded), the XML on its own, and a delivery request; a
//! recorded dunning letter becomes its archived PDF/A-3 and a delivery
//! request.
#![warn(missing_docs)]

pub mod archive;
pub mod error;
pub mod handler;
pub mod letter;
pub mod local;
pub mod service;
