"""The domain-layers check (tools/check_domain_layers.py) finds every import
circle between a crate's modules, in each form Rust can write an import,
and keeps quiet about what is no dependency (comments, a file's own test
module). Run against small crates written here and against the real domain.
"""

import textwrap

import check_domain_layers as layers


def _crate(tmp_path, files):
    src = tmp_path / "src"
    for name, text in files.items():
        path = src / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return src


def _edges(src):
    return {module: set(targets) for module, targets in layers.import_graph(src).items()}


LIB = """
    pub mod error;
    pub mod invoice;
    pub mod seller;
    pub mod tax;
    pub use error::DomainError;
"""


def test_the_billing_domain_has_no_import_circle(capsys):
    assert layers.main(["check_domain_layers.py"]) == 0
    out = capsys.readouterr().out
    assert "no import circle" in out
    # The seller configuration sits above the rules it configures.
    rungs = {m: i for i, line in enumerate(layers.ladder(layers.import_graph(layers.DEFAULT_SRC))) for m in line}
    assert rungs["tax"] < rungs["taxation"] < rungs["seller"] < rungs["invoicing"]
    assert rungs["invoice"] < rungs["payment"] < rungs["dunning"] < rungs["seller"]


def test_a_circle_through_a_grouped_use_is_printed_with_each_import(tmp_path, capsys):
    src = _crate(tmp_path, {
        "lib.rs": LIB,
        "error.rs": "pub struct DomainError;\n",
        "tax.rs": """
            use crate::{DomainError, invoice::{InvoiceLine, TaxBreakdown}};
            pub struct AppliedTax;
        """,
        "invoice.rs": """
            use crate::seller::BillingEntity;
            pub struct InvoiceLine(crate::tax::AppliedTax);
        """,
        "seller.rs": "pub struct BillingEntity;\n",
    })
    assert _edges(src) == {
        "error": set(),
        "tax": {"error", "invoice"},
        "invoice": {"seller", "tax"},
        "seller": set(),
    }
    assert layers.main(["x", str(src)]) == 1
    err = capsys.readouterr().err
    assert "circle: invoice -> tax -> invoice" in err
    assert "tax -> invoice  (" in err and "tax.rs:2)" in err
    assert "invoice -> tax  (" in err and "invoice.rs:3)" in err
    assert "seller" not in err.split("Move what")[0].split("circle:")[1]


def test_a_longer_circle_is_found_through_inline_paths_and_attribute_strings(tmp_path, capsys):
    src = _crate(tmp_path, {
        "lib.rs": LIB,
        "error.rs": "",
        "tax.rs": "pub fn rules() -> crate::seller::Rules { todo!() }\n",
        "seller.rs": """
            #[derive(serde::Deserialize)]
            pub struct Rules {
                #[serde(default = "crate::invoice::default_lines")]
                lines: usize,
            }
        """,
        "invoice.rs": "use crate::tax;\n",
    })
    assert layers.main(["x", str(src)]) == 1
    err = capsys.readouterr().err
    assert "circle: invoice -> tax -> seller -> invoice" in err
    assert "seller -> invoice  (" in err and "seller.rs:4)" in err


def test_comments_strings_and_a_files_own_modules_are_no_imports(tmp_path, capsys):
    src = _crate(tmp_path, {
        "lib.rs": LIB,
        "error.rs": "",
        "tax.rs": """
            //! The decision is [`crate::invoice`]'s caller's.
            /* use crate::invoice::InvoiceLine; */
            pub const NOTE: &str = "see crate::invoice::InvoiceLine";
            pub const BRACE: char = '{';
            mod rounding {
                use super::NOTE;
                pub(super) fn round() {}
            }
            #[cfg(test)]
            mod tests {
                use super::*;
                use super::rounding::round;
            }
        """,
        "invoice.rs": "use crate::tax::NOTE;\nuse super::seller;\n",
        "seller.rs": "",
    })
    assert _edges(src)["tax"] == set()
    assert _edges(src)["invoice"] == {"tax", "seller"}
    assert layers.main(["x", str(src)]) == 0
    assert "4 modules, no import circle" in capsys.readouterr().out


def test_a_test_module_that_reaches_up_is_a_circle(tmp_path, capsys):
    src = _crate(tmp_path, {
        "lib.rs": LIB,
        "error.rs": "",
        "tax.rs": """
            pub struct AppliedTax;
            #[cfg(test)]
            mod tests {
                use super::super::invoice::InvoiceLine;
            }
        """,
        "invoice.rs": "use crate::tax::AppliedTax;\n",
        "seller.rs": "",
    })
    assert layers.main(["x", str(src)]) == 1
    assert "circle: invoice -> tax -> invoice" in capsys.readouterr().err


def test_a_module_in_a_folder_is_one_node(tmp_path):
    src = _crate(tmp_path, {
        "lib.rs": LIB,
        "error.rs": "",
        "tax/mod.rs": "mod rates;\n",
        "tax/rates.rs": "use crate::seller::BillingEntity;\nuse super::super::invoice::Invoice;\n",
        "invoice.rs": "",
        "seller.rs": "",
    })
    assert _edges(src)["tax"] == {"seller", "invoice"}
