//! `entity put` / `entity show`: the seller configuration, from a reviewed
//! JSON file instead of hand-written DynamoDB JSON.

use std::path::PathBuf;

use billing_domain::ids::BillingEntityId;
use billing_domain::seller::BillingEntity;
use billing_store::StoreError;
use clap::Subcommand;
use serde::Serialize;

use crate::Context;
use crate::error::{AdminError, EXIT_CODES_HELP};
use crate::json::JsonFile;

/// `billing-admin entity ...`
#[derive(Debug, Subcommand)]
pub enum EntityCommand {
    /// Store the seller (billing entity) from a JSON file.
    ///
    /// The file is the domain's BillingEntity (docs/examples/billing-entity.json
    /// is a complete example). Unknown fields are refused, every error names
    /// the line, column and JSON path, the entity is validated (§14 UStG
    /// fields, IBAN, VAT ID, ...) and only then written. An identical stored
    /// entity is left alone.
    #[command(after_help = format!("{EXIT_CODES_HELP}\n\nExamples:\n  billing-admin --stack billing-prod entity put docs/examples/billing-entity.json\n  billing-admin --json entity put seller.json"))]
    Put {
        /// The JSON file.
        file: PathBuf,
    },
    /// Print a stored seller configuration as JSON.
    #[command(after_help = format!("{EXIT_CODES_HELP}\n\nExamples:\n  billing-admin --stack billing-prod entity show default"))]
    Show {
        /// The entity id (the stack's BillingEntityId).
        id: String,
    },
}

/// What `entity put` did.
#[derive(Debug, Serialize)]
#[serde(rename_all = "snake_case")]
enum PutOutcome {
    Created,
    Replaced,
    Unchanged,
}

/// Runs an `entity` command.
pub async fn run(command: EntityCommand, context: &Context) -> Result<(), AdminError> {
    match command {
        EntityCommand::Put { file } => put(&JsonFile::read(&file)?, context).await,
        EntityCommand::Show { id } => {
            let id = BillingEntityId::new(id);
            let entity = context.store().await?.billing_entity(&id).await?;
            let text = serde_json::to_string_pretty(&entity).unwrap_or_default();
            context.output.result(&entity, || text);
            Ok(())
        }
    }
}

/// Decodes, validates and stores the entity in `file`.
async fn put(file: &JsonFile, context: &Context) -> Result<(), AdminError> {
    let entity: BillingEntity = file
        .decode(&file.value, &[])
        .map_err(|problems| file.refused(problems))?;
    entity
        .validate()
        .map_err(|e| file.refused(vec![file.domain_problem(&[], "billing_entity.", &e)]))?;
    let store = context.store().await?;
    let outcome = match store.billing_entity(&entity.id).await {
        Ok(stored) if stored == entity => PutOutcome::Unchanged,
        Ok(_) | Err(StoreError::Corrupt { .. }) => PutOutcome::Replaced,
        Err(StoreError::NotFound { .. }) => PutOutcome::Created,
        Err(e) => return Err(e.into()),
    };
    if !matches!(outcome, PutOutcome::Unchanged) {
        store.put_billing_entity(&entity).await?;
    }
    let report = serde_json::json!({ "entity_id": entity.id, "outcome": outcome });
    context.output.result(&report, || {
        let did = match outcome {
            PutOutcome::Created => "created",
            PutOutcome::Replaced => "replaced",
            PutOutcome::Unchanged => "unchanged (identical to the stored one)",
        };
        format!("billing entity {}: {did}", entity.id)
    });
    Ok(())
}
