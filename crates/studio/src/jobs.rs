//! One worker thread owns the model and serves a bounded queue of jobs in turn.
//!
//! Generation is blocking and CPU-bound, and a model is large: one thread holds it and takes
//! jobs one at a time, so requests from several tabs wait their turn instead of competing.
//! A job tells the page what happens through its events (its place in the queue, notes as
//! they are written, each finished candidate, the end), which the page reads as server-sent
//! events or by polling. A job's log holds the few events that matter plus only the latest
//! preview of the notes, so its memory stays small however long the piece.

use std::collections::{HashMap, VecDeque};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use midigpt_compose::{Defaults, PromptFit};
use midigpt_midi::Score;
use serde::Serialize;
use serde_json::{json, Value};
use tokio::sync::watch;

use crate::request::Work;
use crate::StudioError;

/// The model being served, for the page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelInfo {
    /// What to call it: "the built-in POP909 model" or the folder's name.
    pub name: String,
    /// Its tokenizer in a few words ("REMI+").
    pub tokenizer: String,
    /// Token ids.
    pub vocab_size: usize,
    /// Parameters.
    pub parameters: usize,
    /// Layers, width and context length.
    pub layers: usize,
    /// Embedding width.
    pub width: usize,
    /// Tokens of context.
    pub context: usize,
    /// The controls its tokenizer can express: `instruments`, `tempo`, `time_signature`,
    /// `bars`.
    pub controls: Vec<&'static str>,
    /// The metres it knows ("4/4", "3/4", ...).
    pub metres: Vec<String>,
    /// Why it cannot regenerate bars or add a track (no infill tokens, BPE); none when it
    /// can.
    pub cannot_fill: Option<String>,
    /// What a request leaves out becomes (the same on the command line).
    pub defaults: Defaults,
    /// The instruments its training data had (none known: `None`); the page marks the
    /// others as never heard.
    pub instruments: Option<Vec<KnownInstrument>>,
    /// This server's run, different at every start: score ids count from 1 again after a
    /// restart, so a page keeps its history only within one.
    pub session: String,
    /// How uploads are relabelled for it (programs by track name, a placeholder metre).
    #[serde(skip)]
    pub prompt_fit: PromptFit,
}

/// An instrument a model learnt from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KnownInstrument {
    /// GM program, -1 for drums.
    pub program: i16,
    /// Its General MIDI name.
    pub name: String,
}

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Waiting its turn.
    Queued,
    /// The model is writing it.
    Running,
    /// Every candidate is made.
    Done,
    /// Every candidate is made, and at least one has a warning (the model lost its way,
    /// ran out of tokens, or wrote no note): see each candidate's `warning`.
    Warned,
    /// Stopped by its user (the candidates made before stay).
    Cancelled,
    /// The model could not do it (the error says why).
    Failed,
}

impl Status {
    fn finished(self) -> bool {
        matches!(
            self,
            Status::Done | Status::Warned | Status::Cancelled | Status::Failed
        )
    }
}

/// What a job has come to so far.
#[derive(Debug, Clone)]
pub struct Log {
    /// Its status.
    pub status: Status,
    /// Events in order: `place`, `start`, `candidate`, `end`.
    pub events: Vec<Value>,
    /// The latest notes of the candidate being written.
    pub preview: Option<Value>,
    /// Previews so far.
    pub previews: u64,
}

/// A generation job: what it asks, and what it has come to.
pub struct Job {
    /// Its id.
    pub id: u64,
    /// The compose layer's request for its first candidate (the worker varies the seed).
    pub work: Work,
    /// How many candidates.
    pub candidates: usize,
    /// The bar the new music starts at.
    pub cut_bar: usize,
    /// The score it continues or fills (none: a new piece), and its name.
    pub original: Option<(Arc<Score>, String)>,
    cancel: AtomicBool,
    log: Mutex<Log>,
    changed: watch::Sender<u64>,
}

impl Job {
    /// A queued job.
    pub fn new(
        id: u64,
        work: Work,
        candidates: usize,
        cut_bar: usize,
        original: Option<(Arc<Score>, String)>,
    ) -> Job {
        Job {
            id,
            work,
            candidates,
            cut_bar,
            original,
            cancel: AtomicBool::new(false),
            log: Mutex::new(Log {
                status: Status::Queued,
                events: Vec::new(),
                preview: None,
                previews: 0,
            }),
            changed: watch::channel(0).0,
        }
    }

    /// Whether its user asked it to stop.
    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// Whether it has come to an end.
    pub fn finished(&self) -> bool {
        self.locked_log().status.finished()
    }

    /// A copy of its log.
    pub fn log(&self) -> Log {
        self.locked_log().clone()
    }

    /// What a reader who has seen `seen` events and preview number `preview` reads next:
    /// the next event, else a newer preview (with the counts after it); `None` when there
    /// is nothing new. `finished` says whether nothing will ever come.
    pub fn next(&self, seen: usize, preview: u64) -> (Option<(Value, usize, u64)>, bool) {
        let log = self.locked_log();
        if let Some(event) = log.events.get(seen) {
            return (Some((event.clone(), seen + 1, preview)), false);
        }
        match &log.preview {
            Some(value) if log.previews > preview => {
                (Some((value.clone(), seen, log.previews)), false)
            }
            _ => (None, log.status.finished()),
        }
    }

    /// A receiver woken at every change of the log.
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// The log, also after a panic while it was held (the job is then marked failed).
    fn locked_log(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn update(&self, f: impl FnOnce(&mut Log)) {
        f(&mut self.locked_log());
        self.changed.send_modify(|n| *n += 1);
    }

    /// Adds an event `{"type": kind, ...fields}`.
    pub fn event(&self, kind: &str, mut fields: Value) {
        fields["type"] = kind.into();
        self.update(|log| {
            // A finished candidate replaces its preview.
            if kind == "candidate" {
                log.preview = None;
            }
            log.events.push(fields)
        });
    }

    /// Replaces the preview of the notes being written.
    pub fn preview(&self, mut fields: Value) {
        fields["type"] = "notes".into();
        self.update(|log| {
            log.previews += 1;
            log.preview = Some(fields);
        });
    }

    /// Sets its status; a final one also ends the log with an `end` event.
    pub fn set(&self, status: Status, error: Option<String>) {
        self.update(|log| {
            if log.status.finished() {
                return;
            }
            log.status = status;
            if status == Status::Running {
                log.events.push(json!({"type": "start"}));
            }
            if status.finished() {
                log.preview = None;
                let mut end = json!({"type": "end", "status": status});
                if let Some(error) = error {
                    end["error"] = error.into();
                }
                log.events.push(end);
            }
        });
    }
}

struct Queue {
    waiting: VecDeque<Arc<Job>>,
    running: Option<Arc<Job>>,
    stop: bool,
}

/// The queue, the jobs by id, and the worker.
pub struct Jobs {
    queue: Mutex<Queue>,
    wake: Condvar,
    all: Mutex<HashMap<u64, Arc<Job>>>,
    next: AtomicU64,
    max_queue: usize,
    worker: Mutex<Option<JoinHandle<()>>>,
}

/// Finished jobs kept for their pages to read (the oldest go first).
const KEEP_FINISHED: usize = 64;

impl Jobs {
    /// An empty queue that holds at most `max_queue` waiting jobs.
    pub fn new(max_queue: usize) -> Jobs {
        Jobs {
            queue: Mutex::new(Queue {
                waiting: VecDeque::new(),
                running: None,
                stop: false,
            }),
            wake: Condvar::new(),
            all: Mutex::new(HashMap::new()),
            next: AtomicU64::new(1),
            max_queue,
            worker: Mutex::new(None),
        }
    }

    /// The id the next job gets.
    pub fn next_id(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed)
    }

    /// Queues `job`, or refuses it when the queue is full; returns how many jobs are ahead.
    pub fn submit(&self, job: Arc<Job>) -> Result<usize, StudioError> {
        let mut queue = self.queue.lock().expect("queue lock");
        if queue.stop {
            return Err(StudioError::Internal("the studio is stopping".into()));
        }
        if queue.waiting.len() >= self.max_queue {
            return Err(StudioError::QueueFull {
                waiting: queue.waiting.len(),
            });
        }
        let ahead = queue.waiting.len() + usize::from(queue.running.is_some());
        job.event("place", json!({ "ahead": ahead }));
        queue.waiting.push_back(job.clone());
        self.remember(job);
        self.wake.notify_one();
        Ok(ahead)
    }

    fn remember(&self, job: Arc<Job>) {
        let mut all = self.all.lock().expect("jobs lock");
        all.insert(job.id, job);
        let mut finished: Vec<u64> = (all.iter())
            .filter(|(_, j)| j.finished())
            .map(|(&id, _)| id)
            .collect();
        if finished.len() > KEEP_FINISHED {
            finished.sort_unstable();
            for id in &finished[..finished.len() - KEEP_FINISHED] {
                all.remove(id);
            }
        }
    }

    /// The job `id`.
    pub fn get(&self, id: u64) -> Result<Arc<Job>, StudioError> {
        let all = self.all.lock().expect("jobs lock");
        all.get(&id)
            .cloned()
            .ok_or_else(|| StudioError::NotFound(format!("no job {id} here")))
    }

    /// Jobs ahead of `job` (0: it is being written or finished).
    pub fn ahead(&self, job: &Job) -> usize {
        let queue = self.queue.lock().expect("queue lock");
        match queue.waiting.iter().position(|j| j.id == job.id) {
            Some(i) => i + usize::from(queue.running.is_some()),
            None => 0,
        }
    }

    /// Stops `job`: a waiting one leaves the queue, a running one stops at its next token.
    pub fn cancel(&self, job: &Arc<Job>) {
        job.cancel.store(true, Ordering::Relaxed);
        let mut queue = self.queue.lock().expect("queue lock");
        if let Some(i) = queue.waiting.iter().position(|j| j.id == job.id) {
            queue.waiting.remove(i);
            job.set(Status::Cancelled, None);
            tell_places(&queue);
        }
    }

    /// Runs jobs on this thread with `run` until [`Jobs::shutdown`].
    pub fn work(&self, mut run: impl FnMut(&Job)) {
        loop {
            let job = {
                let mut queue = self.queue.lock().expect("queue lock");
                loop {
                    if queue.stop {
                        return;
                    }
                    if let Some(job) = queue.waiting.pop_front() {
                        queue.running = Some(job.clone());
                        tell_places(&queue);
                        break job;
                    }
                    queue = self.wake.wait(queue).expect("queue lock");
                }
            };
            job.set(Status::Running, None);
            // A bug met by one job fails that job, not the studio: the next one runs.
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| run(&job))) {
                let what = (panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                let error = format!("the model worker failed on this request ({what})");
                job.set(Status::Failed, Some(error));
            }
            self.queue.lock().expect("queue lock").running = None;
        }
    }

    /// Keeps the worker's handle, to wait for it at shutdown.
    pub fn set_worker(&self, handle: JoinHandle<()>) {
        *self.worker.lock().expect("worker lock") = Some(handle);
    }

    /// Cancels every job, stops the worker and waits for it (it stops at its next token).
    pub fn shutdown(&self) {
        {
            let mut queue = self.queue.lock().expect("queue lock");
            queue.stop = true;
            for job in queue.waiting.drain(..) {
                job.cancel.store(true, Ordering::Relaxed);
                job.set(Status::Cancelled, None);
            }
            if let Some(job) = &queue.running {
                job.cancel.store(true, Ordering::Relaxed);
            }
            self.wake.notify_all();
        }
        let handle = self.worker.lock().expect("worker lock").take();
        if let Some(handle) = handle {
            if handle.thread().id() != std::thread::current().id() {
                let _ = handle.join();
            }
        }
    }
}

/// Tells every waiting job how many are ahead of it now.
fn tell_places(queue: &Queue) {
    let running = usize::from(queue.running.is_some());
    for (i, job) in queue.waiting.iter().enumerate() {
        job.event("place", json!({ "ahead": i + running }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_that_panics_fails_and_the_next_one_runs() {
        let jobs = Arc::new(Jobs::new(4));
        let job = |id| {
            let work = Work::Continue(midigpt_compose::Request::default());
            Arc::new(Job::new(id, work, 1, 0, None))
        };
        let (first, second) = (job(1), job(2));
        jobs.submit(first.clone()).unwrap();
        jobs.submit(second.clone()).unwrap();
        let worker = jobs.clone();
        let handle = std::thread::spawn(move || {
            worker.work(|job| {
                if job.id == 1 {
                    // Inside the log's lock, the worst place: it is poisoned.
                    job.update(|_| panic!("injected"));
                }
                job.set(Status::Done, None);
            })
        });
        while !second.finished() {
            std::thread::yield_now();
        }
        jobs.shutdown();
        handle.join().unwrap();
        let log = first.log();
        assert_eq!(log.status, Status::Failed);
        let end = log.events.last().unwrap();
        assert!(end["error"].as_str().unwrap().contains("injected"), "{end}");
        assert_eq!(second.log().status, Status::Done);
    }
}
