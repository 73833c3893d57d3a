//! The steps every backup takes, whoever starts it (`fanout backup` or a schedule of
//! `fanout serve`): the options checked, the plan made from the inventory, each result turned
//! into a device outcome as it arrives, and at the end the one commit, the push and the
//! notices.

use super::args::BackupOptions;
use super::layout::Layout;
use super::notify::Notifiers;
use super::plan::{BackupPlan, RunRules};
use super::push::PushTarget;
use super::store::{Author, Committed, DeviceOutcome, Store, StoreError};
use crate::cli::Selection;
use crate::commands::{CommandError, Selected, select_hosts};
use crate::host_record::HostRecord;
use fanout_common::platform::PlatformRegistry;
use std::sync::{Arc, Mutex};

/// The options of a backup, checked before any device is contacted.
pub struct Prepared {
    pub layout: Layout,
    pub author: Author,
    pub rules: RunRules,
    pub notifiers: Notifiers,
    pub push: Option<PushTarget>,
}

impl Prepared {
    pub fn new(options: &BackupOptions) -> Result<Self, String> {
        Ok(Prepared {
            layout: Layout::parse(&options.layout)?,
            author: Author::parse(&options.author)?,
            rules: RunRules {
                volatile: options.volatile.clone(),
                secrets: options.secrets.clone(),
                keep_secrets: options.keep_secrets,
            },
            notifiers: Notifiers::new(options)?,
            push: PushTarget::new(options)?,
        })
    }
}

/// Loads the inventory and makes each selected host's plan. Blocking: run it on a thread.
pub fn plan(
    selection: &Selection,
    layout: &Layout,
    rules: &RunRules,
) -> Result<(Selected, BackupPlan), CommandError> {
    let selected = select_hosts(selection)?;
    let registry = PlatformRegistry::load(selection.platforms.as_deref())?;
    let plan =
        BackupPlan::new(&selected.hosts, &registry, layout, rules).map_err(CommandError::Input)?;
    Ok((selected, plan))
}

/// Turns results into device outcomes as they arrive, so normalising overlaps the collection
/// and no output is held longer than it takes to normalise it.
#[derive(Clone)]
pub struct Collector {
    plan: Arc<BackupPlan>,
    collected: Arc<Mutex<Vec<DeviceOutcome>>>,
}

impl Collector {
    pub fn new(plan: BackupPlan) -> Self {
        Collector {
            plan: Arc::new(plan),
            collected: Arc::default(),
        }
    }

    /// Takes one result's outcome and drops its outputs.
    pub fn take(&self, record: &mut HostRecord) {
        if let Some(outcome) = self.plan.outcome_of(record) {
            self.collected
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(outcome);
        }
        for command in &mut record.commands {
            command.output = None;
            command.raw = Vec::new();
        }
    }

    /// Every host's outcome: those collected, and `unfinished` hosts as not run.
    pub fn outcomes(&self, unfinished: &[String]) -> Vec<DeviceOutcome> {
        let collected =
            std::mem::take(&mut *self.collected.lock().unwrap_or_else(|p| p.into_inner()));
        self.plan.outcomes(collected, unfinished)
    }
}

/// What the repository step came to: the commit, and why the push failed if it did.
pub struct Written {
    pub committed: Committed,
    pub push_error: Option<StoreError>,
}

/// Commits the outcomes and pushes, off the async threads (hashing thousands of files takes
/// a while); the lock is released when the store is dropped at the end.
pub async fn write(
    store: Store,
    outcomes: Vec<DeviceOutcome>,
    push: Option<PushTarget>,
) -> Result<Written, CommandError> {
    tokio::task::spawn_blocking(move || {
        let committed = store.commit(outcomes)?;
        let push_error = push.and_then(|target| store.push(&target).err());
        Ok::<_, CommandError>(Written {
            committed,
            push_error,
        })
    })
    .await
    .map_err(|e| CommandError::Internal(format!("the repository writer failed: {e}")))?
}
