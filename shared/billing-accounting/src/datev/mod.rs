//! DATEV's EXTF format (research note `docs/research/datev-extf.md`).

mod columns;
mod field;
mod header;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod validator;
