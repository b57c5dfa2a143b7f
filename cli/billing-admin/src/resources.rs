//! Which AWS resources a command works on.
//!
//! Operators name a deployed stack (`--stack`) and nothing else: its
//! physical resources come from CloudFormation (DescribeStackResources).
//! Locally, and in the functions' own environment, the template's
//! variables (`BILLING_TABLE`, `INVOICE_RUN_QUEUE_URL`, `DOCUMENTS_BUCKET`)
//! name them. The endpoint is never configured here: the SDK reads the
//! standard `AWS_ENDPOINT_URL`. Commands that need more of the stack add a
//! field to [`Resources`] and its logical id and variable below.

use aws_config::SdkConfig;
use billing_lambda::config;

use crate::error::AdminError;

/// Logical id of the billing table in `infra/template.yaml`.
pub const BILLING_TABLE_ID: &str = "BillingTable";
/// Logical id of the invoice-run queue.
pub const RUN_QUEUE_ID: &str = "InvoiceRunQueue";
/// Logical id of the documents bucket.
pub const DOCUMENTS_BUCKET_ID: &str = "DocumentsBucket";

/// The physical resources of one deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resources {
    /// The billing table's name.
    pub table: String,
    /// The invoice-run queue's URL (for `run start`), if known.
    pub run_queue_url: Option<String>,
    /// The documents bucket's name (for run previews), if known.
    pub documents_bucket: Option<String>,
}

/// Where resources come from, as given on the command line.
#[derive(Debug, Clone, Default)]
pub struct ResourceArgs {
    /// `--table`: wins over everything for the table.
    pub table: Option<String>,
    /// `--stack`: a deployed CloudFormation stack's name.
    pub stack: Option<String>,
}

impl Resources {
    /// Resolves `--table`, then `--stack`, then the environment.
    pub async fn resolve(args: &ResourceArgs, sdk: &SdkConfig) -> Result<Self, AdminError> {
        let mut resources = match &args.stack {
            Some(stack) => {
                let client = aws_sdk_cloudformation::Client::new(sdk);
                Self::from_stack(&client, stack).await?
            }
            None => Self::from_env(config::optional, args.table.as_deref())?,
        };
        if let Some(table) = &args.table {
            resources.table.clone_from(table);
        }
        Ok(resources)
    }

    /// From the template's variables; `table` overrides `BILLING_TABLE`.
    pub fn from_env(
        lookup: impl Fn(&str) -> Option<String>,
        table: Option<&str>,
    ) -> Result<Self, AdminError> {
        let table = table.map(str::to_owned).or_else(|| lookup("BILLING_TABLE"));
        let Some(table) = table else {
            return Err(AdminError::Usage(
                "no billing table: pass --stack NAME or --table NAME, or set BILLING_TABLE".into(),
            ));
        };
        Ok(Self {
            table,
            run_queue_url: lookup("INVOICE_RUN_QUEUE_URL"),
            documents_bucket: lookup("DOCUMENTS_BUCKET"),
        })
    }

    /// From a deployed stack's resources, by logical id.
    pub async fn from_stack(
        client: &aws_sdk_cloudformation::Client,
        stack: &str,
    ) -> Result<Self, AdminError> {
        let output = client
            .describe_stack_resources()
            .stack_name(stack)
            .send()
            .await
            .map_err(|e| AdminError::aws("CloudFormation", "DescribeStackResources", &e))?;
        let physical = |logical: &str| {
            output
                .stack_resources()
                .iter()
                .find(|r| r.logical_resource_id() == Some(logical))
                .and_then(|r| r.physical_resource_id())
                .map(str::to_owned)
        };
        let table = physical(BILLING_TABLE_ID).ok_or_else(|| AdminError::NotFound {
            what: format!("resource {BILLING_TABLE_ID} in stack {stack}"),
        })?;
        Ok(Self {
            table,
            // A queue's physical id is its URL.
            run_queue_url: physical(RUN_QUEUE_ID),
            documents_bucket: physical(DOCUMENTS_BUCKET_ID),
        })
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_cloudformation::operation::describe_stack_resources::DescribeStackResourcesOutput;
    use aws_sdk_cloudformation::types::{ResourceStatus, StackResource};
    use aws_smithy_mocks::{mock, mock_client};

    use super::*;

    fn resource(logical: &str, physical: &str) -> StackResource {
        StackResource::builder()
            .logical_resource_id(logical)
            .physical_resource_id(physical)
            .resource_type("AWS::Test")
            .resource_status(ResourceStatus::CreateComplete)
            .timestamp(aws_sdk_cloudformation::primitives::DateTime::from_secs(0))
            .build()
    }

    #[tokio::test]
    async fn a_stack_names_its_table_queue_and_bucket() {
        let rule = mock!(aws_sdk_cloudformation::Client::describe_stack_resources)
            .match_requests(|r| r.stack_name() == Some("billing-prod"))
            .then_output(|| {
                DescribeStackResourcesOutput::builder()
                    .stack_resources(resource("BillingTable", "billing-prod-BillingTable-1"))
                    .stack_resources(resource("InvoiceRunQueue", "https://sqs.test/1/run"))
                    .stack_resources(resource("DocumentsBucket", "billing-prod-docs"))
                    .stack_resources(resource("Other", "x"))
                    .build()
            });
        let client = mock_client!(aws_sdk_cloudformation, [&rule]);
        let resources = Resources::from_stack(&client, "billing-prod")
            .await
            .unwrap();
        assert_eq!(
            resources,
            Resources {
                table: "billing-prod-BillingTable-1".into(),
                run_queue_url: Some("https://sqs.test/1/run".into()),
                documents_bucket: Some("billing-prod-docs".into()),
            }
        );
    }

    #[tokio::test]
    async fn a_stack_without_the_table_is_named() {
        let rule = mock!(aws_sdk_cloudformation::Client::describe_stack_resources)
            .then_output(|| DescribeStackResourcesOutput::builder().build());
        let client = mock_client!(aws_sdk_cloudformation, [&rule]);
        let err = Resources::from_stack(&client, "other").await.unwrap_err();
        assert_eq!(err.exit_code(), crate::error::exit::REFUSED);
        assert!(err.to_string().contains("BillingTable in stack other"));
    }

    #[test]
    fn the_table_flag_wins_over_the_environment() {
        let env = |name: &str| match name {
            "BILLING_TABLE" => Some("from-env".to_owned()),
            "DOCUMENTS_BUCKET" => Some("docs".to_owned()),
            _ => None,
        };
        let resources = Resources::from_env(env, Some("from-flag")).unwrap();
        assert_eq!(resources.table, "from-flag");
        assert_eq!(resources.documents_bucket.as_deref(), Some("docs"));
        assert_eq!(Resources::from_env(env, None).unwrap().table, "from-env");
        let err = Resources::from_env(|_| None, None).unwrap_err();
        assert_eq!(err.exit_code(), crate::error::exit::USAGE);
    }
}
