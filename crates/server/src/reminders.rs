//! Reminders in the server (issue 18): the periodic scan that makes notices
//! (`service::reminders`), and the worker that drains the delivery queue through the
//! channels the operator configured (`notify`), both started by [`crate::serve`].

use std::sync::Arc;

use service::reminders::{ScanStats, Sources};
use store::Store;

use crate::App;

/// The event sources beyond the dossiers (vaccination forecast, chronic registers).
pub fn sources() -> Sources {
    Sources::programmes()
}

/// Scan every person once now, queueing for the channels of `settings`.
pub fn scan_all(store: Arc<dyn Store>, settings: &notify::Settings) -> service::Result<ScanStats> {
    let svc = service::Service::new(store);
    let names = settings.channel_names();
    svc.scan_all(crate::vn_now(), store::now_ms(), &sources(), &names)
}

/// Start the scan (every `scan_interval`) and the delivery worker (when a channel is
/// configured). The handles are aborted when the server stops.
pub(crate) fn spawn(app: Arc<App>) -> Vec<tokio::task::JoinHandle<()>> {
    let mut out = Vec::new();
    let settings = app.config.notify.clone();
    if let Some(every) = settings.scan_interval() {
        let app = app.clone();
        let settings = settings.clone();
        out.push(tokio::spawn(async move {
            loop {
                let (store, s) = (app.store.clone(), settings.clone());
                match tokio::task::spawn_blocking(move || scan_all(store, &s)).await {
                    Ok(Ok(st)) => tracing::info!(
                        persons = st.persons,
                        notices = st.notices,
                        "reminders scanned"
                    ),
                    Ok(Err(e)) => tracing::error!(error = %e, "reminder scan failed"),
                    Err(e) => tracing::error!(error = %e, "reminder scan failed"),
                }
                tokio::time::sleep(every).await;
            }
        }));
    }
    match settings.channels() {
        Ok(channels) if !channels.is_empty() => {
            let poll = std::time::Duration::from_secs(settings.poll_secs.unwrap_or(5).max(1));
            let worker = notify::Worker::new(app.store.clone(), channels, &settings);
            tracing::info!(owner = worker.owner(), "notification worker started");
            out.push(tokio::spawn(worker.run(poll)));
        }
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "notification channels not started"),
    }
    out
}
