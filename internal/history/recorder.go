package history

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/salesdag/salesdag/internal/lineage"
)

// Defaults of RecorderOptions.
const (
	DefaultLockTimeout = 100 * time.Millisecond
	DefaultMaxBackoff  = 500 * time.Millisecond
	// DefaultCloseTimeout bounds Close when its context has no deadline.
	DefaultCloseTimeout = 10 * time.Second
	// maxBatch bounds one transaction, so that the file lock is never held
	// long even after a backlog.
	maxBatch = 512
)

// ErrRecorderClosed is returned by Emit and Annotate after Close.
var ErrRecorderClosed = errors.New("history: recorder is closed")

// RecorderOptions tune a Recorder; the zero value is fine.
type RecorderOptions struct {
	// LockTimeout is how long one attempt waits for bbolt's file lock,
	// which a reader (a `salesdag lineage` query) may hold for a moment,
	// before backing off and trying again. Other writers are waited for
	// in the kernel, for as long as the recorder's context allows.
	LockTimeout time.Duration
	// MaxBackoff caps the wait between attempts.
	MaxBackoff time.Duration
	// Logf, if set, is told about failed attempts (debug logging).
	Logf func(format string, args ...any)
}

// Recorder is a lineage.Sink that records every event it is given in the
// history store. Emit only encodes and queues; a background goroutine
// writes what is queued in one short transaction at a time. Use it next to
// the emitter: lineage.Tee(emitter, recorder). Close it at the end of the
// run (after the tracker's Finish) to wait for the last events. A nil
// *Recorder records nothing, so a failed OpenRecorder need not be special-
// cased.
type Recorder struct {
	path string
	opts RecorderOptions
	host string
	pid  int

	mu        sync.Mutex
	queue     []item
	queued    int // items ever queued
	committed int // items ever committed
	closed    bool
	lastErr   error
	dropped   int           // items given up on
	broken    error         // why the store stopped taking writes
	warnings  []string      // damaged state that was dealt with (Warnings)
	checked   bool          // the store passed the full check (writer only)
	changed   chan struct{} // closed and replaced whenever committed grows or the writer stops

	wake    chan struct{}
	closing chan struct{}
	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{}

	closeOnce sync.Once
	closeErr  error
}

// OpenRecorder checks that the store at path can be
// created and written, then starts the background writer. An error here
// means history cannot be recorded; the run itself can go on without it.
func OpenRecorder(path string, opts RecorderOptions) (*Recorder, error) {
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = DefaultLockTimeout
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	host, _ := os.Hostname()
	r := &Recorder{
		path: path, opts: opts, host: host, pid: os.Getpid(),
		changed: make(chan struct{}),
		wake:    make(chan struct{}, 1),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	// Create the store now, so that a bad location is reported before the
	// run rather than lost in the background. Another process writing
	// only delays this; wait for it a little longer than a normal batch.
	ctx, cancel := context.WithTimeout(r.ctx, 5*time.Second)
	defer cancel()
	if err := r.writeWithRetry(ctx, nil, 1); err != nil {
		r.cancel()
		return nil, err
	}
	go r.loop()
	return r, nil
}

// Emit records ev (a lineage.Sink). It encodes the event now and returns
// without waiting for the disk.
func (r *Recorder) Emit(ev *lineage.RunEvent) error {
	if r == nil {
		return nil // no history (OpenRecorder failed): nothing to record
	}
	data, err := lineage.Marshal(ev)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	return r.push(item{data: data})
}

// Annotate records extra information about a root run that its events do
// not carry (for example the output directory); it shows in Run.Info.
func (r *Recorder) Annotate(run uuid.UUID, key, value string) error {
	if r == nil {
		return nil
	}
	return r.push(item{run: run, key: key, val: value})
}

func (r *Recorder) push(it item) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return ErrRecorderClosed
	}
	r.queued++
	if r.broken != nil {
		r.dropped++
		r.mu.Unlock()
		return nil
	}
	r.queue = append(r.queue, it)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
	return nil
}

// Sync waits until everything queued before the call is committed to disk,
// or ctx ends. It fails if the store has stopped taking writes.
func (r *Recorder) Sync(ctx context.Context) error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	target := r.queued
	r.mu.Unlock()
	for {
		r.mu.Lock()
		settled := r.committed+r.dropped >= target
		changed, broken, dropped := r.changed, r.broken, r.dropped
		r.mu.Unlock()
		if settled {
			if broken != nil {
				return fmt.Errorf("history: %d event(s) not recorded in %s: %w", dropped, r.path, broken)
			}
			return nil
		}
		select {
		case <-changed:
		case <-r.done:
			r.mu.Lock()
			settled = r.committed+r.dropped >= target
			lastErr := r.lastErr
			r.mu.Unlock()
			if !settled {
				return r.pendingErr(lastErr)
			}
		case <-ctx.Done():
			return r.pendingErr(ctx.Err())
		}
	}
}

// Close stops taking events and waits for the queued ones to be written
// until ctx ends (DefaultCloseTimeout when ctx has no deadline). It
// returns an error saying how many events were not recorded, if any.
func (r *Recorder) Close(ctx context.Context) error {
	if r == nil {
		return nil
	}
	r.closeOnce.Do(func() {
		r.mu.Lock()
		r.closed = true
		r.mu.Unlock()
		close(r.closing)
		if _, ok := ctx.Deadline(); !ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, DefaultCloseTimeout)
			defer cancel()
		}
		stop := context.AfterFunc(ctx, r.cancel)
		<-r.done
		stop()
		r.cancel()
		r.mu.Lock()
		left, lastErr := len(r.queue)+r.dropped, r.lastErr
		if r.broken != nil {
			lastErr = r.broken
		}
		r.mu.Unlock()
		if left > 0 {
			r.closeErr = fmt.Errorf("history: %d event(s) not recorded in %s: %w", left, r.path, cmp.Or(lastErr, ctx.Err()))
		}
	})
	return r.closeErr
}

func (r *Recorder) pendingErr(cause error) error {
	r.mu.Lock()
	left := len(r.queue)
	r.mu.Unlock()
	return fmt.Errorf("history: %d event(s) not yet recorded in %s: %w", left, r.path, cmp.Or(cause, errors.New("the recorder stopped")))
}

// loop is the background writer: it commits whatever is queued, in order,
// and retries a failed batch until it succeeds or Close gives up.
func (r *Recorder) loop() {
	defer close(r.done)
	defer r.notify()
	defer func() {
		// A bug in the writer must not take the run down: what is not
		// recorded is dropped and reported by Sync and Close.
		if v := recover(); v != nil {
			r.mu.Lock()
			r.dropped += len(r.queue)
			r.queue = nil
			r.broken = fmt.Errorf("the history writer panicked (this is a bug in salesdag: please report it): %v", v)
			r.mu.Unlock()
		}
	}()
	for {
		r.mu.Lock()
		n := min(len(r.queue), maxBatch)
		batch := r.queue[:n:n]
		r.mu.Unlock()
		if n == 0 {
			select {
			case <-r.wake:
				continue
			case <-r.closing:
				r.mu.Lock()
				empty := len(r.queue) == 0
				r.mu.Unlock()
				if empty {
					return
				}
				continue
			}
		}
		err := r.writeWithRetry(r.ctx, batch, maxFailures)
		if err != nil && r.ctx.Err() != nil {
			return // Close gave up; the queue is reported there
		}
		r.mu.Lock()
		r.queue = r.queue[n:]
		if err != nil {
			// The store keeps failing for a reason other than a busy lock
			// (disk full, permissions): drop the batch rather than hold the
			// end of the run hostage; Close reports the loss.
			r.dropped += n
			r.broken = err
		} else {
			r.committed += n
		}
		r.mu.Unlock()
		r.notify()
	}
}

func (r *Recorder) notify() {
	r.mu.Lock()
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

// maxFailures is how often a batch is tried when the failure is not a
// busy lock.
const maxFailures = 4

// writeWithRetry writes batch, retrying with exponential backoff and
// jitter while another process holds the store (until ctx ends), and up
// to maxOther times for any other failure.
func (r *Recorder) writeWithRetry(ctx context.Context, batch []item, maxOther int) error {
	wait := r.opts.LockTimeout / 2
	other := 0
	for attempt := 1; ; attempt++ {
		err := r.write(ctx, batch)
		if err == nil {
			r.mu.Lock()
			r.lastErr = nil
			r.mu.Unlock()
			return nil
		}
		r.mu.Lock()
		r.lastErr = err
		r.mu.Unlock()
		if r.opts.Logf != nil {
			r.opts.Logf("history: attempt %d: %v", attempt, err)
		}
		if !isLockTimeout(err) {
			if other++; other >= maxOther {
				return err
			}
		}
		d := wait/2 + time.Duration(rand.Int64N(int64(wait/2)+1))
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return err
		}
		wait = min(wait*2, r.opts.MaxBackoff)
	}
}

func (r *Recorder) write(ctx context.Context, batch []item) error {
	unlock := lockPath(r.path)
	defer unlock()
	if err := os.MkdirAll(filepath.Dir(r.path), 0o755); err != nil {
		return fmt.Errorf("history: create directory for %s: %w", r.path, err)
	}
	unlockFile, err := lockFile(ctx, r.path)
	if err != nil {
		return err
	}
	defer unlockFile()
	// The full check of the store is paid by the first batch of events,
	// in the background, not by OpenRecorder before the run.
	return r.writeLocked(batch, batch != nil && !r.checked)
}

// writeLocked writes batch under the writers' lock, after the full check
// of the store (see guard.go) when full, else the cheap one. A damaged store is moved aside and the batch written to a
// new one; a panic inside bbolt on a store that passed its check on
// open leads to the full check, and to the same if that fails.
func (r *Recorder) writeLocked(batch []item, full bool) error {
	for attempt := 0; ; attempt++ {
		db, fi, err := openWriteChecked(r.path, r.opts.LockTimeout, full)
		if ce := (*CorruptError)(nil); errors.As(err, &ce) && attempt < 2 {
			to, merr := moveAside(r.path, fi)
			if merr != nil {
				return fmt.Errorf("%w; %w", err, merr)
			}
			r.warn(movedWarning(ce, to))
			continue
		}
		if err != nil {
			return err
		}
		r.checked = r.checked || full
		if batch == nil && fi != nil && fi.Size() > 0 {
			// OpenRecorder on an existing store: opening it for writing is
			// the test, with its layout version. Nothing is committed to a
			// store before its full check, so a damaged one is moved aside
			// as it was.
			err := guard(func() error { return db.View(checkLayout) })
			return cmp.Or(err, guard(db.Close))
		}
		werr := guard(func() error { return writeBatch(db, batch, r.host, r.pid) })
		var pe panicError
		if errors.As(werr, &pe) {
			closeDB(db)
			if attempt < 2 && !full {
				full = true // is it the file, or salesdag?
				continue
			}
			return fmt.Errorf("history: write %d event(s) to %s: %w", len(batch), r.path, werr)
		}
		if cerr := guard(db.Close); cerr != nil && werr == nil {
			werr = fmt.Errorf("history: close %s: %w", r.path, cerr)
		}
		if werr != nil {
			return fmt.Errorf("history: write %d event(s) to %s: %w", len(batch), r.path, werr)
		}
		return nil
	}
}

func (r *Recorder) warn(msg string) {
	r.mu.Lock()
	r.warnings = append(r.warnings, msg)
	r.mu.Unlock()
	if r.opts.Logf != nil {
		r.opts.Logf("%s", msg)
	}
}

// Warnings returns what the recorder did about damaged local state (a
// store moved aside), one line each, for the user.
func (r *Recorder) Warnings() []string {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.warnings...)
}
