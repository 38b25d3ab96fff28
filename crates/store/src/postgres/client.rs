//! A blocking connection over `tokio-postgres`: each connection has a single-thread
//! runtime of its own, driven only while a call waits for its answer (as the `postgres`
//! crate does), and it can also send several statements before reading their answers
//! ([`PgClient::pipeline`]), so that the writes of an ingest cost one round trip
//! between reads instead of one each.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::Poll;

use tokio_postgres::types::ToSql;
use tokio_postgres::{Config, Error, NoTls, Row, Statement, ToStatement};

use crate::Result;

/// The parameters of one statement.
pub(crate) type Params<'a> = [&'a (dyn ToSql + Sync)];

/// One connection. Dropped where the runtime may be dropped (see [`blocking`]).
pub(crate) struct PgClient(Option<(tokio::runtime::Runtime, tokio_postgres::Client)>);

/// Run `f`, which waits on a connection's runtime, where that is allowed.
///
/// Tokio refuses to block on a runtime from a thread that is driving one. Outside any
/// runtime (the writer, a command) `f` runs here. Where a multi-thread runtime is known,
/// `block_in_place` runs it on this thread: directly on the runtime's blocking threads
/// (the server's `spawn_blocking`), and on a worker after handing the worker's other
/// tasks to another thread. Only on a thread that drives a current-thread runtime (an `async` test
/// body) does `f` need a scoped thread of its own, which this thread waits for as it would
/// have waited for the answer.
pub(crate) fn blocking<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Err(_) => f(),
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        Ok(_) => std::thread::scope(|s| match s.spawn(f).join() {
            Ok(v) => v,
            Err(panic) => std::panic::resume_unwind(panic),
        }),
    }
}

impl PgClient {
    /// Connect as `config` says.
    pub(crate) fn connect(config: &Config) -> Result<PgClient> {
        blocking(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let (client, connection) = rt.block_on(config.connect(NoTls))?;
            // The connection's own task: it reads and writes the socket whenever a call
            // blocks on this runtime, and ends when the client is dropped.
            rt.spawn(async move {
                let _ = connection.await;
            });
            Ok(PgClient(Some((rt, client))))
        })
    }

    /// Connect to a URL (tests).
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn connect_url(url: &str) -> Result<PgClient> {
        let config: Config = url
            .parse()
            .map_err(|e: Error| crate::StoreError::Invalid(format!("database URL: {e}")))?;
        Self::connect(&config)
    }

    fn parts(&self) -> (&tokio::runtime::Runtime, &tokio_postgres::Client) {
        let (rt, c) = self.0.as_ref().expect("a connection until dropped");
        (rt, c)
    }

    /// Wait for `f`'s future on this connection.
    fn wait<'c, F, T>(&'c self, f: impl FnOnce(&'c tokio_postgres::Client) -> F + Send) -> T
    where
        F: Future<Output = T> + Send + 'c,
        T: Send,
    {
        let (rt, c) = self.parts();
        blocking(move || rt.block_on(f(c)))
    }

    pub(crate) fn prepare(&self, query: &str) -> std::result::Result<Statement, Error> {
        self.wait(|c| c.prepare(query))
    }

    pub(crate) fn execute<T: ?Sized + ToStatement + Sync>(
        &self,
        query: &T,
        params: &Params<'_>,
    ) -> std::result::Result<u64, Error> {
        self.wait(|c| c.execute(query, params))
    }

    pub(crate) fn query<T: ?Sized + ToStatement + Sync>(
        &self,
        query: &T,
        params: &Params<'_>,
    ) -> std::result::Result<Vec<Row>, Error> {
        self.wait(|c| c.query(query, params))
    }

    pub(crate) fn query_one<T: ?Sized + ToStatement + Sync>(
        &self,
        query: &T,
        params: &Params<'_>,
    ) -> std::result::Result<Row, Error> {
        self.wait(|c| c.query_one(query, params))
    }

    pub(crate) fn query_opt<T: ?Sized + ToStatement + Sync>(
        &self,
        query: &T,
        params: &Params<'_>,
    ) -> std::result::Result<Option<Row>, Error> {
        self.wait(|c| c.query_opt(query, params))
    }

    /// Statements separated by `;`, no parameters (simple protocol).
    pub(crate) fn batch_execute(&self, query: &str) -> std::result::Result<(), Error> {
        self.wait(|c| c.batch_execute(query))
    }

    /// Send `writes` in their order, and then `last` when given, before reading any
    /// answer: one round trip for them all. The first failure is the error, with its
    /// index in `writes` (`writes.len()` for `last`); inside a transaction the
    /// statements after a failure fail too and the transaction is aborted. Without a
    /// failure, what `last` answered.
    pub(crate) fn pipeline(
        &self,
        writes: &[(&Statement, &Params<'_>)],
        last: Option<(&Statement, &Params<'_>, Want)>,
    ) -> std::result::Result<Answer, (usize, Error)> {
        self.wait(|c| async move {
            let mut futures: Vec<Option<Pending<'_>>> = writes
                .iter()
                .map(|(s, p)| Some(ask(c, s, p, Want::Count)))
                .chain(last.map(|(s, p, want)| Some(ask(c, s, p, want))))
                .collect();
            let mut failed: Option<(usize, Error)> = None;
            let mut answer = Answer::Count(0);
            // The first poll of a future sends its request: the first pass polls them
            // all, in order. Answers come back in the same order, so later passes poll
            // from the first unanswered one up to the first still waiting (a pipeline
            // of thousands stays linear).
            let mut first_pass = true;
            let mut done = 0;
            poll_fn(|cx| {
                for (i, slot) in futures.iter_mut().enumerate().skip(done) {
                    let Some(f) = slot.as_mut() else {
                        continue;
                    };
                    let Poll::Ready(r) = f.as_mut().poll(cx) else {
                        if first_pass {
                            continue;
                        }
                        break;
                    };
                    *slot = None;
                    match r {
                        Ok(a) if i == writes.len() => answer = a,
                        Ok(_) => {}
                        Err(e) => {
                            if failed.as_ref().is_none_or(|(j, _)| i < *j) {
                                failed = Some((i, e));
                            }
                        }
                    }
                }
                first_pass = false;
                while done < futures.len() && futures[done].is_none() {
                    done += 1;
                }
                if done < futures.len() {
                    Poll::Pending
                } else {
                    Poll::Ready(())
                }
            })
            .await;
            match failed {
                Some(f) => Err(f),
                None => Ok(answer),
            }
        })
    }
}

type Pending<'f> = Pin<Box<dyn Future<Output = std::result::Result<Answer, Error>> + Send + 'f>>;

/// One statement of a pipeline, not yet sent.
fn ask<'f>(
    c: &'f tokio_postgres::Client,
    s: &'f Statement,
    p: &'f Params<'f>,
    want: Want,
) -> Pending<'f> {
    Box::pin(async move {
        Ok(match want {
            Want::Count => Answer::Count(c.execute(s, p).await?),
            Want::Rows => Answer::Rows(c.query(s, p).await?),
        })
    })
}

/// What the last statement of a pipeline answers.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Want {
    Rows,
    Count,
}

/// The answer of the last statement of a pipeline.
pub(crate) enum Answer {
    Rows(Vec<Row>),
    Count(u64),
}

impl Drop for PgClient {
    fn drop(&mut self) {
        if let Some(parts) = self.0.take() {
            // A runtime may not be dropped on a thread that drives another.
            blocking(move || drop(parts));
        }
    }
}
