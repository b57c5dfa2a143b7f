//! `doctor`: checks a deployed stack for what stops billing without an
//! error of its own, each finding named with its fix:
//!
//! - `seller`: the billing entity the stack bills for is stored and passes
//!   the domain's validation (the same as `entity put`);
//! - `ses-account`: SES production access (out of the sandbox) and sending
//!   enabled; `ses-identity`: each sender identity verified for sending;
//! - `schedules`: every schedule of the stack enabled;
//! - `statements-notification`: the statements bucket notifies the
//!   payment-import function of new files under `statements/`;
//! - `alarms`: the stack's alarms exist, have actions enabled and notify an
//!   SNS topic with at least one confirmed subscription.
//!
//! A check that cannot read its resource is itself an error finding (the
//! fix names the permission or the retry). Exit code 1 when any finding is
//! an error, so a deploy pipeline can gate on it.

use std::collections::BTreeMap;

use aws_sdk_cloudwatch::error::DisplayErrorContext;
use billing_domain::ids::BillingEntityId;
use billing_store::StoreError;
use clap::Args;
use serde::Serialize;

use crate::Context;
use crate::error::{AdminError, EXIT_CODES_HELP};
use crate::stack::StackResources;

/// Logical id of the statements bucket.
pub const STATEMENTS_BUCKET_ID: &str = "StatementsBucket";
/// Logical id of the payment-import function the bucket must notify.
pub const PAYMENT_IMPORT_FUNCTION_ID: &str = "PaymentImportFunction";
/// The stack parameter naming the seller.
pub const ENTITY_PARAMETER: &str = "BillingEntityId";

/// `billing-admin doctor`
#[derive(Debug, Args)]
#[command(after_help = format!("Exit code 1 when any finding is an error (the findings are printed either way).\n\n{EXIT_CODES_HELP}\n\nExamples:\n  billing-admin --stack billing-prod doctor\n  billing-admin --json --stack billing-prod doctor"))]
pub struct DoctorArgs {
    /// The seller to check (default: the stack's BillingEntityId parameter,
    /// else BILLING_ENTITY_ID, else `default`).
    #[arg(long, value_name = "ID")]
    pub entity: Option<String>,
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// As it should be.
    Ok,
    /// Billing does not work as deployed: fix before relying on it.
    Error,
}

/// One finding.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// The check, e.g. `schedules`.
    pub check: &'static str,
    /// Ok or error.
    pub severity: Severity,
    /// What was checked: an entity, identity, schedule, bucket or topic.
    pub subject: String,
    /// What was found.
    pub message: String,
    /// What to do (errors only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Finding {
    fn ok(check: &'static str, subject: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            check,
            severity: Severity::Ok,
            subject: subject.into(),
            message: message.into(),
            fix: None,
        }
    }

    fn error(
        check: &'static str,
        subject: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            check,
            severity: Severity::Error,
            subject: subject.into(),
            message: message.into(),
            fix: Some(fix.into()),
        }
    }
}

/// Runs the checks and prints the findings.
pub async fn run(args: DoctorArgs, context: &Context) -> Result<(), AdminError> {
    let stack = context.stack_resources().await?;
    let sdk = context.sdk();
    let entity = match args.entity {
        Some(entity) => entity,
        None => entity_of_stack(context).await?,
    };
    let mut findings = Vec::new();
    findings.extend(seller(context, &entity).await?);
    findings.extend(ses(&aws_sdk_sesv2::Client::new(sdk), &stack).await);
    findings.extend(schedules(&aws_sdk_scheduler::Client::new(sdk), &stack).await);
    findings.push(statements_notification(&aws_sdk_s3::Client::new(sdk), &stack).await);
    findings.extend(
        alarms(
            &aws_sdk_cloudwatch::Client::new(sdk),
            &aws_sdk_sns::Client::new(sdk),
            &stack,
        )
        .await,
    );
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let report =
        serde_json::json!({ "healthy": errors == 0, "errors": errors, "findings": findings });
    context.output.result(&report, || text(&findings, errors));
    if errors > 0 {
        return Err(AdminError::Findings { errors });
    }
    Ok(())
}

fn text(findings: &[Finding], errors: usize) -> String {
    let mut lines = Vec::new();
    for f in findings {
        let mark = match f.severity {
            Severity::Ok => "ok   ",
            Severity::Error => "ERROR",
        };
        lines.push(format!(
            "{mark} {:<24} {}: {}",
            f.check, f.subject, f.message
        ));
        if let Some(fix) = &f.fix {
            lines.push(format!("      {:<24} fix: {fix}", ""));
        }
    }
    lines.push(if errors == 0 {
        "healthy: no errors".to_owned()
    } else {
        format!("{errors} error(s)")
    });
    lines.join("\n")
}

/// The seller the stack bills for: its `BillingEntityId` parameter with
/// `--stack`, else the functions' variable, else `default`.
async fn entity_of_stack(context: &Context) -> Result<String, AdminError> {
    if let Some(stack) = context.stack_name() {
        let described = aws_sdk_cloudformation::Client::new(context.sdk())
            .describe_stacks()
            .stack_name(stack)
            .send()
            .await
            .map_err(|e| AdminError::aws("CloudFormation", "DescribeStacks", &e))?;
        let parameter = described
            .stacks()
            .iter()
            .flat_map(|s| s.parameters())
            .find(|p| p.parameter_key() == Some(ENTITY_PARAMETER))
            .and_then(|p| p.parameter_value());
        if let Some(value) = parameter {
            return Ok(value.to_owned());
        }
    }
    Ok(billing_lambda::config::optional("BILLING_ENTITY_ID").unwrap_or_else(|| "default".into()))
}

async fn seller(context: &Context, entity: &str) -> Result<Vec<Finding>, AdminError> {
    const CHECK: &str = "seller";
    let store = context.store().await?;
    let subject = format!("billing entity {entity}");
    let fix_put = "store it: billing-admin entity put seller.json (docs/examples/billing-entity.json is a complete example)";
    Ok(vec![
        match store.billing_entity(&BillingEntityId::new(entity)).await {
            Ok(stored) => match stored.validate() {
                Ok(()) => Finding::ok(CHECK, subject, "configured and valid"),
                Err(e) => Finding::error(
                    CHECK,
                    subject,
                    format!("stored but invalid: {e}"),
                    "correct the seller file and store it again: billing-admin entity put seller.json (it validates before writing)",
                ),
            },
            Err(StoreError::NotFound { .. }) => Finding::error(
                CHECK,
                subject,
                "not configured: no invoice can be issued",
                fix_put,
            ),
            Err(e @ StoreError::Corrupt { .. }) => {
                Finding::error(CHECK, subject, format!("unreadable: {e}"), fix_put)
            }
            Err(e) => Finding::error(
                CHECK,
                subject,
                format!("cannot be read: {e}"),
                "check the table and your permissions (dynamodb:GetItem), then run doctor again",
            ),
        },
    ])
}

async fn ses(ses: &aws_sdk_sesv2::Client, stack: &StackResources) -> Vec<Finding> {
    let mut findings = Vec::new();
    match ses.get_account().send().await {
        Ok(account) => {
            if !account.production_access_enabled() {
                findings.push(Finding::error(
                    "ses-account",
                    "SES account",
                    "in the sandbox: invoices reach only verified recipient addresses",
                    "request production access (SES console > Account dashboard > Request production access) in the stack's region",
                ));
            } else if !account.sending_enabled() {
                findings.push(Finding::error(
                    "ses-account",
                    "SES account",
                    "sending is paused for the account (no invoice or letter goes out)",
                    "see the enforcement status on the SES account dashboard; once resolved: aws sesv2 put-account-sending-attributes --sending-enabled",
                ));
            } else {
                findings.push(Finding::ok(
                    "ses-account",
                    "SES account",
                    "out of the sandbox, sending enabled",
                ));
            }
        }
        Err(e) => findings.push(Finding::error(
            "ses-account",
            "SES account",
            format!(
                "cannot be read: {}",
                aws_sdk_sesv2::error::DisplayErrorContext(&e)
            ),
            "allow ses:GetAccount to whoever runs doctor, then run it again",
        )),
    }
    let identities: Vec<_> = stack.of_type("AWS::SES::EmailIdentity").collect();
    if identities.is_empty() {
        findings.push(Finding::error(
            "ses-identity",
            "sender identity",
            "the stack has no SES email identity",
            "deploy the stack with the SenderIdentity parameter (the seller's mail domain)",
        ));
    }
    for identity in identities {
        let name = &identity.physical_id;
        let subject = format!("identity {name}");
        findings.push(match ses.get_email_identity().email_identity(name).send().await {
            Ok(found) if found.verified_for_sending_status() => {
                Finding::ok("ses-identity", subject, "verified for sending")
            }
            Ok(found) => Finding::error(
                "ses-identity",
                subject,
                format!(
                    "not verified for sending (verification {})",
                    found.verification_status().map_or("unknown", |s| s.as_str())
                ),
                format!("publish the DKIM records SES lists (aws sesv2 get-email-identity --email-identity {name}) in the domain's DNS, then wait for verification"),
            ),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found_exception()) => Finding::error(
                "ses-identity",
                subject,
                "does not exist in SES: nothing can be sent from it",
                "redeploy the stack (it creates the identity), then publish its DKIM records",
            ),
            Err(e) => Finding::error(
                "ses-identity",
                subject,
                format!("cannot be read: {}", aws_sdk_sesv2::error::DisplayErrorContext(&e)),
                "allow ses:GetEmailIdentity to whoever runs doctor, then run it again",
            ),
        });
    }
    findings
}

async fn schedules(scheduler: &aws_sdk_scheduler::Client, stack: &StackResources) -> Vec<Finding> {
    const CHECK: &str = "schedules";
    let schedules: Vec<_> = stack.of_type("AWS::Scheduler::Schedule").collect();
    if schedules.is_empty() {
        return vec![Finding::error(
            CHECK,
            "stack",
            "no schedules: neither the daily invoice run nor the dunning sweep starts",
            "redeploy the stack from infra/template.yaml (its functions' ScheduleV2 events create them)",
        )];
    }
    let mut findings = Vec::new();
    for schedule in schedules {
        let name = &schedule.physical_id;
        let subject = format!("schedule {name}");
        let redeploy = "enable it in the EventBridge Scheduler console, or redeploy the stack (sam deploy restores State ENABLED)";
        findings.push(match scheduler.get_schedule().name(name).send().await {
            Ok(found) => match found.state() {
                Some(aws_sdk_scheduler::types::ScheduleState::Enabled) => {
                    Finding::ok(CHECK, subject, "enabled")
                }
                state => Finding::error(
                    CHECK,
                    subject,
                    format!(
                        "{}: it does not start its function",
                        state.map_or("state unknown", |s| s.as_str())
                    ),
                    redeploy,
                ),
            },
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Finding::error(
                    CHECK,
                    subject,
                    "does not exist",
                    "redeploy the stack (sam deploy creates it)",
                )
            }
            Err(e) => Finding::error(
                CHECK,
                subject,
                format!(
                    "cannot be read: {}",
                    aws_sdk_scheduler::error::DisplayErrorContext(&e)
                ),
                "allow scheduler:GetSchedule to whoever runs doctor, then run it again",
            ),
        });
    }
    findings
}

async fn statements_notification(s3: &aws_sdk_s3::Client, stack: &StackResources) -> Finding {
    const CHECK: &str = "statements-notification";
    let (Some(bucket), Some(function)) = (
        stack.physical(STATEMENTS_BUCKET_ID),
        stack.physical(PAYMENT_IMPORT_FUNCTION_ID),
    ) else {
        return Finding::error(
            CHECK,
            "stack",
            format!("the stack has no {STATEMENTS_BUCKET_ID} or no {PAYMENT_IMPORT_FUNCTION_ID}"),
            "redeploy the stack from infra/template.yaml",
        );
    };
    let subject = format!("bucket {bucket}");
    let fix = format!(
        "redeploy the stack (sam deploy): it puts the notification to {function} back; a hand-made notification on the bucket replaces SAM's"
    );
    match s3
        .get_bucket_notification_configuration()
        .bucket(bucket)
        .send()
        .await
    {
        Ok(configuration) => {
            let notifies = configuration
                .lambda_function_configurations()
                .iter()
                .any(|c| {
                    let arn = c.lambda_function_arn();
                    (arn == function || arn.ends_with(&format!(":function:{function}")))
                        && c.events()
                            .iter()
                            .any(|e| e.as_str().starts_with("s3:ObjectCreated:"))
                });
            if notifies {
                Finding::ok(CHECK, subject, format!("new statements invoke {function}"))
            } else {
                Finding::error(
                    CHECK,
                    subject,
                    format!(
                        "no notification to {function}: uploaded statements are never imported"
                    ),
                    fix,
                )
            }
        }
        Err(e) => Finding::error(
            CHECK,
            subject,
            format!(
                "cannot be read: {}",
                aws_sdk_s3::error::DisplayErrorContext(&e)
            ),
            "allow s3:GetBucketNotification to whoever runs doctor, then run it again",
        ),
    }
}

/// Whether an SNS subscription ARN is a confirmed one (SNS lists
/// `PendingConfirmation` until the e-mail's link is followed).
fn confirmed(subscription_arn: Option<&str>) -> bool {
    subscription_arn.is_some_and(|arn| arn.starts_with("arn:"))
}

async fn alarms(
    cloudwatch: &aws_sdk_cloudwatch::Client,
    sns: &aws_sdk_sns::Client,
    stack: &StackResources,
) -> Vec<Finding> {
    const CHECK: &str = "alarms";
    let names: Vec<String> = stack
        .of_type("AWS::CloudWatch::Alarm")
        .map(|a| a.physical_id.clone())
        .collect();
    if names.is_empty() {
        return vec![Finding::error(
            CHECK,
            "stack",
            "no alarms: a failing run, a poisoned queue or a bounce storm goes unnoticed",
            "deploy a template version with the operations alarms (docs/operations.md)",
        )];
    }
    let mut described = BTreeMap::new();
    for chunk in names.chunks(100) {
        match cloudwatch
            .describe_alarms()
            .set_alarm_names(Some(chunk.to_vec()))
            .max_records(100)
            .send()
            .await
        {
            Ok(output) => {
                for alarm in output.metric_alarms() {
                    described.insert(
                        alarm.alarm_name().unwrap_or_default().to_owned(),
                        (
                            alarm.actions_enabled().unwrap_or(false),
                            alarm.alarm_actions().to_vec(),
                        ),
                    );
                }
                for alarm in output.composite_alarms() {
                    described.insert(
                        alarm.alarm_name().unwrap_or_default().to_owned(),
                        (
                            alarm.actions_enabled().unwrap_or(false),
                            alarm.alarm_actions().to_vec(),
                        ),
                    );
                }
            }
            Err(e) => {
                return vec![Finding::error(
                    CHECK,
                    "CloudWatch",
                    format!("alarms cannot be read: {}", DisplayErrorContext(&e)),
                    "allow cloudwatch:DescribeAlarms to whoever runs doctor, then run it again",
                )];
            }
        }
    }
    let mut findings = Vec::new();
    // Alarms by the topic they notify; alarms that notify no topic.
    let mut by_topic: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for name in &names {
        let Some((enabled, actions)) = described.get(name) else {
            findings.push(Finding::error(
                CHECK,
                format!("alarm {name}"),
                "listed in the stack but missing from CloudWatch",
                "redeploy the stack (sam deploy) to recreate it",
            ));
            continue;
        };
        let topics: Vec<&String> = actions
            .iter()
            .filter(|a| a.starts_with("arn:aws:sns:") || a.contains(":sns:"))
            .collect();
        if topics.is_empty() {
            findings.push(Finding::error(
                CHECK,
                format!("alarm {name}"),
                "notifies no SNS topic: nobody hears of it",
                "give it the stack's alarm topic as AlarmActions in infra/template.yaml and redeploy",
            ));
        } else if !enabled {
            findings.push(Finding::error(
                CHECK,
                format!("alarm {name}"),
                "its actions are disabled: nobody hears of it",
                format!("aws cloudwatch enable-alarm-actions --alarm-names {name}"),
            ));
        }
        for topic in topics {
            by_topic.entry(topic.clone()).or_default().push(name);
        }
    }
    for (topic, alarms) in by_topic {
        let subject = format!("topic {topic}");
        let mut subscribers = 0usize;
        let mut pending = 0usize;
        let mut pages = sns
            .list_subscriptions_by_topic()
            .topic_arn(&topic)
            .into_paginator()
            .send();
        let mut failure = None;
        while let Some(page) = pages.next().await {
            match page {
                Ok(page) => {
                    for subscription in page.subscriptions() {
                        if confirmed(subscription.subscription_arn()) {
                            subscribers += 1;
                        } else {
                            pending += 1;
                        }
                    }
                }
                Err(e) => {
                    failure = Some(aws_sdk_sns::error::DisplayErrorContext(&e).to_string());
                    break;
                }
            }
        }
        findings.push(match failure {
            Some(message) => Finding::error(
                CHECK,
                subject,
                format!("subscriptions cannot be read: {message}"),
                "allow sns:ListSubscriptionsByTopic to whoever runs doctor, then run it again",
            ),
            None if subscribers == 0 => Finding::error(
                CHECK,
                subject,
                format!(
                    "{} alarm(s) notify it, but it has no confirmed subscriber{}",
                    alarms.len(),
                    if pending > 0 { format!(" ({pending} pending confirmation)") } else { String::new() }
                ),
                format!("deploy with AlarmEmail=<on-call address> and follow the link in AWS's confirmation e-mail, or subscribe your on-call tool: aws sns subscribe --topic-arn {topic} --protocol https --notification-endpoint <url>"),
            ),
            None => Finding::ok(
                CHECK,
                subject,
                format!("{} alarm(s) notify it; {subscribers} confirmed subscriber(s)", alarms.len()),
            ),
        });
    }
    findings
}

#[cfg(test)]
mod tests {
    use aws_sdk_sesv2::operation::get_account::GetAccountOutput;
    use aws_sdk_sesv2::operation::get_email_identity::GetEmailIdentityOutput;
    use aws_smithy_mocks::{mock, mock_client};

    use super::*;
    use crate::stack::StackResource;

    fn stack_with_identity(identity: &str) -> StackResources {
        StackResources {
            resources: vec![StackResource {
                logical_id: "InvoiceSenderIdentity".into(),
                resource_type: "AWS::SES::EmailIdentity".into(),
                physical_id: identity.into(),
            }],
        }
    }

    // The local AWS cannot put the account into the sandbox (moto has no
    // GetAccount; tools/moto_server.py answers "production access"), so
    // this failure path is played with a mocked SES client.
    #[tokio::test]
    async fn an_account_in_the_sandbox_is_an_error_with_its_fix() {
        let account = mock!(aws_sdk_sesv2::Client::get_account).then_output(|| {
            GetAccountOutput::builder()
                .production_access_enabled(false)
                .sending_enabled(true)
                .build()
        });
        let identity = mock!(aws_sdk_sesv2::Client::get_email_identity).then_output(|| {
            GetEmailIdentityOutput::builder()
                .verified_for_sending_status(true)
                .build()
        });
        let client = mock_client!(aws_sdk_sesv2, [&account, &identity]);
        let findings = ses(&client, &stack_with_identity("example.com")).await;
        assert_eq!(findings.len(), 2);
        assert_eq!(findings[0].check, "ses-account");
        assert_eq!(findings[0].severity, Severity::Error);
        assert!(findings[0].message.contains("sandbox"), "{:?}", findings[0]);
        assert!(
            findings[0]
                .fix
                .as_deref()
                .unwrap()
                .contains("production access")
        );
        assert_eq!(findings[1].severity, Severity::Ok);
    }

    #[test]
    fn only_a_subscription_with_an_arn_is_confirmed() {
        assert!(confirmed(Some("arn:aws:sns:eu-central-1:1:topic:abc")));
        assert!(!confirmed(Some("PendingConfirmation")));
        assert!(!confirmed(Some("Deleted")));
        assert!(!confirmed(None));
    }
}
