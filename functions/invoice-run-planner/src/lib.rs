//! `invoice-run-planner`: the daily schedule (or an operator) asks for a
//! run; the planner records it and queues its customers in batches.
#![warn(missing_docs)]

pub mod handler;
