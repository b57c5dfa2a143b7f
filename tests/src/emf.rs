//! Reading the functions' metric lines back out of their log output and
//! checking them against the CloudWatch embedded metric format
//! specification (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>),
//! the way CloudWatch Logs would before it extracts a metric.

use serde_json::Value;

/// The lines of `output` that carry embedded metrics: JSON objects with an
/// `_aws` member at the top level (anything else is a log line or text).
pub fn metric_lines(output: &str) -> Vec<Value> {
    output
        .lines()
        .filter(|line| line.starts_with('{'))
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|value| value.get("_aws").is_some())
        .collect()
}

/// Why `line` is not a valid EMF object (every reason), or nothing.
pub fn violations(line: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(root) = line.as_object() else {
        return vec!["not a JSON object".to_owned()];
    };
    let Some(aws) = root.get("_aws").and_then(Value::as_object) else {
        return vec!["_aws is not an object".to_owned()];
    };
    if !aws.get("Timestamp").is_some_and(Value::is_u64) {
        problems.push("_aws.Timestamp is not a number of epoch milliseconds".to_owned());
    }
    let Some(directives) = aws.get("CloudWatchMetrics").and_then(Value::as_array) else {
        problems.push("_aws.CloudWatchMetrics is not an array".to_owned());
        return problems;
    };
    if directives.is_empty() {
        problems.push("_aws.CloudWatchMetrics is empty".to_owned());
    }
    for (i, directive) in directives.iter().enumerate() {
        let at = format!("_aws.CloudWatchMetrics[{i}]");
        match directive.get("Namespace").and_then(Value::as_str) {
            Some(namespace) if (1..=255).contains(&namespace.len()) => {}
            _ => problems.push(format!("{at}.Namespace is not a string of 1 to 255")),
        }
        match directive.get("Dimensions").and_then(Value::as_array) {
            None => problems.push(format!("{at}.Dimensions is not an array")),
            Some(sets) => {
                for set in sets {
                    let Some(names) = set.as_array().filter(|n| n.len() <= 30) else {
                        problems.push(format!(
                            "{at}.Dimensions holds a set that is not an array of at most 30"
                        ));
                        continue;
                    };
                    for name in names {
                        match name.as_str() {
                            Some(name) if root.get(name).is_some_and(Value::is_string) => {}
                            Some(name) => problems
                                .push(format!("dimension {name} has no string member at the root")),
                            None => {
                                problems.push(format!("{at}: a dimension name is not a string"))
                            }
                        }
                    }
                }
            }
        }
        match directive.get("Metrics").and_then(Value::as_array) {
            None => problems.push(format!("{at}.Metrics is not an array")),
            Some(metrics) if metrics.len() > 100 => {
                problems.push(format!("{at}.Metrics holds more than 100"));
            }
            Some(metrics) => {
                for metric in metrics {
                    match metric.get("Name").and_then(Value::as_str) {
                        Some(name) if (1..=1024).contains(&name.len()) => {
                            let member = root.get(name);
                            let numeric = member.is_some_and(|v| {
                                v.is_number()
                                    || v.as_array().is_some_and(|a| a.iter().all(Value::is_number))
                            });
                            if !numeric {
                                problems.push(format!(
                                    "metric {name} has no number member at the root"
                                ));
                            }
                        }
                        _ => problems.push(format!("{at}: a metric has no Name of 1 to 1024")),
                    }
                    if let Some(unit) = metric.get("Unit")
                        && !unit.as_str().is_some_and(is_unit)
                    {
                        problems.push(format!("{at}: unit {unit} is not a CloudWatch unit"));
                    }
                }
            }
        }
    }
    problems
}

/// CloudWatch's metric units (`MetricDatum.Unit`).
fn is_unit(unit: &str) -> bool {
    const UNITS: [&str; 27] = [
        "Seconds",
        "Microseconds",
        "Milliseconds",
        "Bytes",
        "Kilobytes",
        "Megabytes",
        "Gigabytes",
        "Terabytes",
        "Bits",
        "Kilobits",
        "Megabits",
        "Gigabits",
        "Terabits",
        "Percent",
        "Count",
        "Bytes/Second",
        "Kilobytes/Second",
        "Megabytes/Second",
        "Gigabytes/Second",
        "Terabytes/Second",
        "Bits/Second",
        "Kilobits/Second",
        "Megabits/Second",
        "Gigabits/Second",
        "Terabits/Second",
        "Count/Second",
        "None",
    ];
    UNITS.contains(&unit)
}

/// The personal data of seeded test data in `json`: every string under a
/// key that names a person, a company, an address or a bank account
/// (`name`, `email`, `iban`, `street`, ...), and every element of an
/// array under such a key.
pub fn personal_strings(json: &Value) -> Vec<String> {
    const PERSONAL: [&str; 8] = [
        "name", "email", "iban", "street", "contact", "phone", "vat_id", "bic",
    ];
    let mut found = Vec::new();
    fn walk(value: &Value, personal: bool, found: &mut Vec<String>) {
        match value {
            Value::String(s) if personal && s.len() >= 4 => found.push(s.clone()),
            Value::Array(items) => items.iter().for_each(|v| walk(v, personal, found)),
            Value::Object(map) => {
                for (key, v) in map {
                    let key = key.to_ascii_lowercase();
                    walk(v, PERSONAL.iter().any(|p| key.contains(p)), found);
                }
            }
            _ => {}
        }
    }
    walk(json, false, &mut found);
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_line_of_the_metrics_module_is_valid() {
        let line = billing_lambda::metrics::MetricLine::new("invoice-pdf")
            .count(billing_lambda::metrics::INVOICES_RENDERED, 1)
            .to_json("default", 1);
        assert_eq!(violations(&line), Vec::<String>::new());
    }

    #[test]
    fn every_broken_part_is_named() {
        let line = json!({
            "_aws": {
                "Timestamp": "now",
                "CloudWatchMetrics": [{
                    "Namespace": "",
                    "Dimensions": [["Entity", "Function"]],
                    "Metrics": [{"Name": "Rendered", "Unit": "Pieces"}, {"Name": "Sent"}],
                }],
            },
            "Entity": "default",
            "Rendered": "1",
        });
        assert_eq!(
            violations(&line),
            vec![
                "_aws.Timestamp is not a number of epoch milliseconds",
                "_aws.CloudWatchMetrics[0].Namespace is not a string of 1 to 255",
                "dimension Function has no string member at the root",
                "metric Rendered has no number member at the root",
                "_aws.CloudWatchMetrics[0]: unit \"Pieces\" is not a CloudWatch unit",
                "metric Sent has no number member at the root",
            ]
        );
        assert_eq!(
            violations(&json!({"_aws": {"Timestamp": 1}})),
            vec!["_aws.CloudWatchMetrics is not an array"]
        );
    }

    #[test]
    fn log_lines_and_text_are_not_metric_lines() {
        let output =
            "== Stage ==\n{\"level\":\"INFO\",\"message\":\"x\"}\n{\"_aws\":{}}\nnot {json\n";
        assert_eq!(metric_lines(output), vec![json!({"_aws": {}})]);
    }

    #[test]
    fn personal_strings_are_found_under_personal_keys_only() {
        let data = json!({
            "account": {"name": "Muster GmbH", "invoice_emails": ["ap@muster.example"], "currency": "EUR"},
            "bank": {"iban": "DE02120300000000202051"},
            "id": "acc_1",
        });
        let mut found = personal_strings(&data);
        found.sort();
        assert_eq!(
            found,
            vec!["DE02120300000000202051", "Muster GmbH", "ap@muster.example"]
        );
    }
}
