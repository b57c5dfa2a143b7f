//! Building a typical 20-line invoice (both German rates, periods, parties
//! validated and snapshotted). Budget: under 20 µs per invoice.

#[path = "../tests/invoice_fixtures/mod.rs"]
mod invoice_fixtures;

use std::hint::black_box;

use billing_domain::invoice::InvoiceDraft;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use invoice_fixtures::{german_consumer, german_entity, request, typical_lines};

fn build_20_line_invoice(c: &mut Criterion) {
    let entity = german_entity();
    let account = german_consumer();
    let lines = typical_lines(20);
    c.bench_function("build 20-line invoice", |b| {
        // The lines are cloned outside the timed part: a real run owns them.
        b.iter_batched(
            || request(lines.clone()),
            |request| black_box(InvoiceDraft::build(&entity, &account, black_box(request))),
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, build_20_line_invoice);
criterion_main!(benches);
