//! Every resource of a deployment, by type: what `queues` and `doctor`
//! walk (all queues, all alarms, all schedules), where other commands need
//! one resource by logical id ([`crate::resources`]).
//!
//! A deployed stack's list comes from CloudFormation (ListStackResources,
//! types as deployed, i.e. after the SAM transform). The local AWS has no
//! CloudFormation: `tools/local_aws.py` writes the same list (logical id,
//! type, physical id) to the file `LOCAL_AWS_STACK` names.

use std::path::Path;

use aws_config::SdkConfig;
use billing_lambda::config;
use serde::Deserialize;

use crate::error::AdminError;
use crate::resources::ResourceArgs;

/// One resource of the deployment.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StackResource {
    /// The template's logical id, e.g. `DocumentsQueue`.
    pub logical_id: String,
    /// The deployed type, e.g. `AWS::SQS::Queue` or `AWS::Lambda::Function`.
    #[serde(rename = "type")]
    pub resource_type: String,
    /// CloudFormation's physical id: a queue's URL, a bucket's, function's,
    /// alarm's or schedule's name, a topic's ARN.
    pub physical_id: String,
}

/// The resources of one deployment.
#[derive(Debug, Clone, Default)]
pub struct StackResources {
    /// Every resource, in the order listed.
    pub resources: Vec<StackResource>,
}

#[derive(Deserialize)]
struct LocalStack {
    resources: Vec<StackResource>,
}

impl StackResources {
    /// From `--stack` (CloudFormation), else the local AWS's stack file.
    pub async fn load(args: &ResourceArgs, sdk: &SdkConfig) -> Result<Self, AdminError> {
        if let Some(stack) = &args.stack {
            return Self::from_cloudformation(&aws_sdk_cloudformation::Client::new(sdk), stack)
                .await;
        }
        match config::optional("LOCAL_AWS_STACK") {
            Some(path) => Self::from_file(Path::new(&path)),
            None => Err(AdminError::Usage(
                "this command walks the whole stack: pass --stack NAME (or run under tools/local_aws.py, which sets LOCAL_AWS_STACK)".into(),
            )),
        }
    }

    /// Every resource of a deployed stack (ListStackResources, all pages).
    pub async fn from_cloudformation(
        client: &aws_sdk_cloudformation::Client,
        stack: &str,
    ) -> Result<Self, AdminError> {
        let mut resources = Vec::new();
        let mut pages = client
            .list_stack_resources()
            .stack_name(stack)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| AdminError::aws("CloudFormation", "ListStackResources", &e))?;
            for summary in page.stack_resource_summaries() {
                if let (Some(logical), Some(physical)) = (
                    summary.logical_resource_id(),
                    summary.physical_resource_id(),
                ) {
                    resources.push(StackResource {
                        logical_id: logical.to_owned(),
                        resource_type: summary.resource_type().unwrap_or_default().to_owned(),
                        physical_id: physical.to_owned(),
                    });
                }
            }
        }
        Ok(Self { resources })
    }

    /// The list `tools/local_aws.py` wrote for the local AWS.
    pub fn from_file(path: &Path) -> Result<Self, AdminError> {
        let unreadable = |reason: String| AdminError::Unreadable {
            file: path.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| unreadable(e.to_string()))?;
        let stack: LocalStack =
            serde_json::from_str(&text).map_err(|e| unreadable(e.to_string()))?;
        Ok(Self {
            resources: stack.resources,
        })
    }

    /// The resources of one deployed type, in listed order.
    pub fn of_type<'a>(
        &'a self,
        resource_type: &'a str,
    ) -> impl Iterator<Item = &'a StackResource> {
        self.resources
            .iter()
            .filter(move |r| r.resource_type == resource_type)
    }

    /// A resource's physical id by logical id.
    pub fn physical(&self, logical_id: &str) -> Option<&str> {
        self.resources
            .iter()
            .find(|r| r.logical_id == logical_id)
            .map(|r| r.physical_id.as_str())
    }
}
