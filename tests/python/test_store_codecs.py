"""The store-codecs check (tools/check_store_codecs.py) finds every stored
attribute spelled outside its codec, in each way a flow module could spell
one, and keeps quiet about what is no attribute (a JSON key of an audit
entry, a stored value marked as such, comments, a file's test module).
Run against small stores written here and against the real one.
"""

import textwrap

import check_store_codecs as codecs

CODEC = """
    use super::Attr;
    pub(crate) const STATUS: Attr = Attr::new("status");
    pub(crate) const OPEN_AMOUNT: Attr = Attr::new("open_amount");
    pub(crate) const DUNNING_SHARD: Attr = Attr::new("dunning_shard");
"""


def _store(tmp_path, flow):
    src = tmp_path / "src"
    (src / "codec").mkdir(parents=True)
    (src / "codec" / "invoice.rs").write_text(textwrap.dedent(CODEC), encoding="utf-8")
    (src / "flow.rs").write_text(textwrap.dedent(flow), encoding="utf-8")
    return src


def _problems(tmp_path, flow):
    src = _store(tmp_path, flow)
    return codecs.spelled(src, codecs.declared(src / "codec"))


def test_the_billing_store_spells_every_attribute_only_in_its_codec(capsys):
    assert codecs.main(["check_store_codecs.py"]) == 0
    assert "each spelled only in its codec" in capsys.readouterr().out


def test_a_flow_using_the_constants_passes(tmp_path):
    assert _problems(tmp_path, """
        use crate::codec::invoice::{OPEN_AMOUNT, STATUS};
        fn update() -> String {
            let x = item.attr(STATUS);
            format!("SET {STATUS} = :status, {OPEN_AMOUNT} = :open")
        }
    """) == []


def test_each_way_of_spelling_an_attribute_is_found_with_its_line(tmp_path):
    problems = _problems(tmp_path, """
        fn flow() {
            let a = read_s(item, "status", what);
            let b = item.get("open_amount");
            item.insert("status".into(), s("open"));
            let c = update.update_expression("SET open_amount = :open REMOVE dunning_shard");
            let d = names("#status");
            let e = remove.push("dunning_shard");
            let f = "open_amount, dunning_shard";
            let g = "attribute_exists(pk) AND status = :open \\
                     AND open_amount > :zero";
        }
    """)
    assert problems == [
        "flow.rs:3: item attribute accessed by a spelled name",
        "flow.rs:4: item attribute accessed by a spelled name",
        "flow.rs:5: item attribute accessed by a spelled name",
        "flow.rs:3: spells attribute 'status'",
        "flow.rs:4: spells attribute 'open_amount'",
        "flow.rs:5: spells attribute 'status'",
        "flow.rs:6: spells dunning_shard, open_amount in an expression",
        "flow.rs:7: hand-written placeholder in '#status'",
        "flow.rs:8: spells attribute 'dunning_shard'",
        "flow.rs:9: spells attribute 'open_amount, dunning_shard'",
        "flow.rs:10: spells open_amount, status in an expression",
    ]


def test_what_is_no_attribute_is_left_alone(tmp_path):
    assert _problems(tmp_path, """
        // SET open_amount = :open (a comment)
        fn flow() {
            let change = json!({"status": before, "open_amount": "0"});
            let arrow = format!("status changed (version {a} -> {b})");
            let message = "the status is unknown";
            let value = "status"; // a value, not an attribute
            let key = format!("LETTER#{id}#INVOICE#{n}");
            let quote = '"';
        }

        #[cfg(test)]
        mod tests {
            fn layout() { assert_eq!(item.get("status"), Some(&s("open"))); }
        }
    """) == []


def test_a_store_without_codecs_is_refused(tmp_path, capsys):
    (tmp_path / "src").mkdir()
    assert codecs.main(["check_store_codecs.py", str(tmp_path / "src")]) == 1
    assert "no attribute declared" in capsys.readouterr().out
