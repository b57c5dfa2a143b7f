//! `docs/openapi.yaml` and the router agree: every documented route is
//! served and every served route is documented (the examples are checked
//! against the schemas by `tests/python/test_openapi.py`).

use std::collections::BTreeSet;

use billing_api::router::{MAX_PARAM_LEN, ROUTES, resolve};
use billing_domain::money::MAX_STATED_AMOUNT;

fn document() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/openapi.yaml"
    ))
    .expect("docs/openapi.yaml is readable")
}

#[test]
fn the_documented_limits_are_the_servers() {
    let text = document();
    // PathId: the router's limit on a path parameter.
    let path_id = &text[text.find("    PathId:").expect("a PathId schema")..];
    let path_id = &path_id[..path_id.find("description:").expect("described")];
    assert!(
        path_id.contains(&format!("maxLength: {MAX_PARAM_LEN}\n")),
        "{path_id}"
    );
    // StatedAmount: the domain's limit on an amount a person states.
    let stated = &text[text
        .find("    StatedAmount:")
        .expect("a StatedAmount schema")..];
    let stated = &stated[..stated
        .find("    PlainDecimal:")
        .expect("followed by PlainDecimal")];
    assert!(
        stated.contains(&format!("at most {MAX_STATED_AMOUNT} in")),
        "{stated}"
    );
    assert!(
        stated.contains(&format!("^({MAX_STATED_AMOUNT}(")),
        "{stated}"
    );
}

/// `(METHOD, path template)` of every operation under `paths:`. The
/// document keeps paths at two spaces and methods at four, as written.
fn documented() -> BTreeSet<(String, String)> {
    let text = document();
    let mut routes = BTreeSet::new();
    let mut in_paths = false;
    let mut path: Option<String> = None;
    for line in text.lines() {
        if !line.starts_with(' ') && !line.is_empty() {
            in_paths = line == "paths:";
            continue;
        }
        if !in_paths {
            continue;
        }
        if let Some(p) = line.strip_prefix("  /").and_then(|p| p.strip_suffix(':')) {
            path = Some(format!("/{p}"));
        } else if let Some(method) = line.strip_prefix("    ").and_then(|m| m.strip_suffix(':'))
            && ["get", "put", "post", "delete", "patch"].contains(&method)
            && let Some(path) = &path
        {
            routes.insert((method.to_uppercase(), path.clone()));
        }
    }
    routes
}

#[test]
fn every_documented_route_is_served_and_every_served_route_documented() {
    let documented = documented();
    let served: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect();
    assert!(documented.len() > 20, "{documented:?}");
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty(),
        "served but not in docs/openapi.yaml: {undocumented:?}"
    );
    assert!(
        unserved.is_empty(),
        "in docs/openapi.yaml but not served: {unserved:?}"
    );
    // And the router really answers each documented template.
    for (method, path) in &documented {
        let concrete = path.replace('{', "x").replace('}', "");
        let matched = resolve(method, &concrete).expect("a route");
        assert_eq!(matched.route.path, path);
    }
}
