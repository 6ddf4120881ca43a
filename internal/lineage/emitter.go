package lineage

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/salesdag/salesdag/internal/dag"
)

// Defaults of EmitterOptions.
const (
	DefaultGrace          = 30 * time.Second
	DefaultMaxAttempts    = 5
	DefaultInitialBackoff = 200 * time.Millisecond
	DefaultMaxBackoff     = 5 * time.Second
	// DefaultSpillAfter is how long an event may wait for delivery before
	// it (and every event after it) is written to the outbox on disk.
	DefaultSpillAfter = 200 * time.Millisecond
)

// ErrClosed is returned by Emit after Close has begun.
var ErrClosed = errors.New("lineage: emitter is closed")

// Sink takes events. The Tracker emits into a Sink; an Emitter is one, and
// other consumers (a local history store) can be combined with Tee.
type Sink interface {
	Emit(ev *RunEvent) error
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(ev *RunEvent) error

// Emit calls f.
func (f SinkFunc) Emit(ev *RunEvent) error { return f(ev) }

// Tee emits every event to each sink in turn and joins their errors. A
// sink that panics does not keep the event from the others; the first
// panic is raised again once all have had the event.
func Tee(sinks ...Sink) Sink {
	return SinkFunc(func(ev *RunEvent) error {
		var errs []error
		var panicked *dag.PanicError
		for _, s := range sinks {
			if s == nil {
				continue
			}
			if p, err := emitGuarded(s, ev); p != nil {
				if panicked == nil {
					panicked = p
				}
			} else if err != nil {
				errs = append(errs, err)
			}
		}
		if panicked != nil {
			panic(panicked)
		}
		return errors.Join(errs...)
	})
}

func emitGuarded(s Sink, ev *RunEvent) (panicked *dag.PanicError, err error) {
	defer func() {
		if v := recover(); v != nil {
			var ok bool
			if panicked, ok = v.(*dag.PanicError); !ok {
				panicked = &dag.PanicError{Value: v, Stack: debug.Stack()}
			}
		}
	}()
	return nil, s.Emit(ev)
}

// EmitterOptions configure an Emitter. Only Transport is required.
type EmitterOptions struct {
	// Transport delivers the events; the Emitter closes it in Close.
	Transport Transport
	// OutboxDir receives what is undelivered at Close. Empty means no
	// outbox: such events are reported as lost.
	OutboxDir string
	// OutboxName is the outbox file's name without .jsonl; default a
	// time-ordered UUID, so that files sort in the order runs ended.
	OutboxName string
	// Grace bounds Close when its context has no earlier deadline.
	Grace time.Duration
	// MaxAttempts is how often an event is tried, once Close has begun,
	// before the backend counts as down and the rest goes to the outbox.
	// Before Close there is no limit: events wait, in order, while the
	// sender backs off.
	MaxAttempts    int
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	// SpillAfter is how long an event may wait for delivery before it,
	// with every other undelivered event, is appended to the emitter's
	// outbox file (one write, fsynced, in the background: Emit never
	// waits for the disk; checked every SpillAfter/2). Close first does the same for everything
	// undelivered, then leaves in the file exactly what was not delivered.
	// So a process killed at any time (SIGKILL) loses at most the events
	// of the last 1.5 SpillAfter, and none once Close has begun; an event
	// delivered after it was written may be sent again by a later flush
	// if the process is killed before Close ends (at-least-once).
	SpillAfter time.Duration
	// Logf, if set, is told about every failed attempt (debug logging).
	Logf func(format string, args ...any)
	// Prepare, if set, shapes each encoded event before it is queued
	// (Config.Events.Prepare: tags, facets); false drops it (filters).
	Prepare func(event []byte) ([]byte, bool, error)
}

func (o *EmitterOptions) defaults() {
	if o.Transport == nil {
		o.Transport = NoneTransport{}
	}
	o.Grace = positive(o.Grace, DefaultGrace)
	o.MaxAttempts = positive(o.MaxAttempts, DefaultMaxAttempts)
	o.InitialBackoff = positive(o.InitialBackoff, DefaultInitialBackoff)
	o.MaxBackoff = max(positive(o.MaxBackoff, DefaultMaxBackoff), o.InitialBackoff)
	o.OutboxName = cmp.Or(o.OutboxName, NewRunID().String())
	o.SpillAfter = positive(o.SpillAfter, DefaultSpillAfter)
}

// positive is v, or def when v is not above zero (a setting left out).
func positive[T int | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// Emitter delivers events in the background: Emit only encodes and
// queues, so the pipeline never waits for a backend. Each transport (each
// member of a composite) gets its own goroutine and queue and receives the
// events in the order they were emitted.
type Emitter struct {
	opts  EmitterOptions
	lanes []*lane

	mu      sync.Mutex
	closed  bool
	emitted int

	// Outbox writes, serialized by spillMu (taken before mu).
	spillMu   sync.Mutex
	spill     spillState
	spillNext int  // events before this one are on disk or delivered
	finished  bool // Close has settled the outbox: no more writes

	closing    chan struct{} // closed when Close begins
	deadline   time.Time     // end of the grace period, set before closing
	sendCtx    context.Context
	cancelSend context.CancelFunc

	closeOnce sync.Once
	report    Report
}

// NewEmitter starts the background senders.
func NewEmitter(opts EmitterOptions) *Emitter {
	opts.defaults()
	ctx, cancel := context.WithCancel(context.Background())
	e := &Emitter{opts: opts, closing: make(chan struct{}), sendCtx: ctx, cancelSend: cancel}
	for _, t := range leaves(opts.Transport) {
		l := &lane{t: t, wake: make(chan struct{}, 1), done: make(chan struct{})}
		e.lanes = append(e.lanes, l)
		go l.run(e)
	}
	if opts.OutboxDir != "" {
		go e.watch()
	}
	return e
}

// Emit encodes ev now (later changes to ev do not matter) and queues it.
// It never blocks on delivery. It fails only for an event that cannot be
// encoded, or after Close.
func (e *Emitter) Emit(ev *RunEvent) error {
	data, err := Marshal(ev)
	if err != nil {
		return err
	}
	return e.EmitJSON(data)
}

// EmitJSON queues an already encoded event.
func (e *Emitter) EmitJSON(data []byte) error {
	if e.opts.Prepare != nil {
		out, keep, err := e.opts.Prepare(data)
		if err != nil || !keep {
			return err
		}
		data = out
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	it := &item{seq: e.emitted, data: data, at: time.Now()}
	e.emitted++
	// Under e.mu, so every lane sees the same order.
	for _, l := range e.lanes {
		l.push(it)
	}
	return nil
}

// watch writes the undelivered events to the outbox once the oldest of
// those not on disk yet has waited SpillAfter; it checks every half
// SpillAfter until Close begins (Close writes everything itself).
func (e *Emitter) watch() {
	t := time.NewTicker(max(e.opts.SpillAfter/2, time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-e.closing:
			return
		case <-t.C:
		}
		if err := e.spillLagging(); err != nil {
			// A bug: stop spilling early; Close still saves what is left.
			e.logf("lineage: %v", err)
			return
		}
	}
}

// spillLagging writes the undelivered events to the outbox once the oldest
// of them has waited SpillAfter. A panic is returned as an error.
func (e *Emitter) spillLagging() (err error) {
	e.spillMu.Lock()
	defer e.spillMu.Unlock()
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("saving events to the outbox panicked (this is a bug in salesdag: please report it): %v", v)
		}
	}()
	e.mu.Lock()
	waiting := e.undeliveredFrom(e.spillNext)
	e.mu.Unlock()
	if len(waiting) > 0 && time.Since(waiting[0].at) >= e.opts.SpillAfter {
		e.spillNew()
	}
	return nil
}

// spillNew appends to the emitter's outbox file every undelivered event
// that is not there yet. e.spillMu is held.
func (e *Emitter) spillNew() {
	if e.finished || e.opts.OutboxDir == "" {
		return
	}
	e.mu.Lock()
	items := e.undeliveredFrom(e.spillNext)
	next := e.emitted
	e.mu.Unlock()
	if len(items) > 0 {
		if err := e.spill.add(e.opts.OutboxDir, e.opts.OutboxName, lines(items)); err != nil {
			// Not advancing spillNext: the next try writes these too.
			e.logf("lineage: cannot save undelivered events to the outbox yet: %v", err)
			return
		}
	}
	e.spillNext = next
}

// undeliveredFrom returns, in order, the events from seq from on that
// some lane has not delivered (queued or refused). Queues and refused
// lists are in emit order, so only their tails are looked at. Lane locks
// are taken after e.mu, as in EmitJSON.
func (e *Emitter) undeliveredFrom(from int) []*item {
	tail := func(items []*item) []*item {
		return items[sort.Search(len(items), func(i int) bool { return items[i].seq >= from }):]
	}
	missed := map[int]*item{}
	for _, l := range e.lanes {
		l.mu.Lock()
		for _, list := range [][]*item{l.queue, l.rejected} {
			for _, it := range tail(list) {
				missed[it.seq] = it
			}
		}
		l.mu.Unlock()
	}
	return slices.SortedFunc(maps.Values(missed), func(a, b *item) int { return a.seq - b.seq })
}

func lines(items []*item) [][]byte {
	out := make([][]byte, len(items))
	for i, it := range items {
		out[i] = it.data
	}
	return out
}

func (e *Emitter) logf(format string, args ...any) {
	if e.opts.Logf != nil {
		e.opts.Logf(format, args...)
	}
}

// Persist waits up to wait for delivery to catch up, then writes every
// event still undelivered to the outbox, durably, so that nothing is lost
// if the process is killed from then on. Close does the same when it
// begins; calling Persist first lets a caller put it before other work
// (recording the run's end in a history, say).
func (e *Emitter) Persist(wait time.Duration) {
	deadline := time.Now().Add(wait)
	for e.behind() && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	e.spillMu.Lock()
	e.spillNew()
	e.spillMu.Unlock()
}

// behind reports whether some event is not delivered yet.
func (e *Emitter) behind() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, l := range e.lanes {
		l.mu.Lock()
		n := len(l.queue) + len(l.rejected)
		l.mu.Unlock()
		if n > 0 {
			return true
		}
	}
	return false
}

// Close stops taking events and gives delivery until ctx's deadline or the
// Grace period, whichever comes first (cancelling ctx cuts it short, e.g.
// on a second interrupt). What is still undelivered then, and what the
// backend refused, is appended to the outbox. Close closes the transport
// and returns the delivery report; later calls return the same report.
func (e *Emitter) Close(ctx context.Context) Report {
	e.closeOnce.Do(func() { e.report = e.close(ctx) })
	return e.report
}

func (e *Emitter) close(ctx context.Context) Report {
	start := time.Now()
	deadline := start.Add(e.opts.Grace)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	e.mu.Lock()
	e.closed = true
	emitted := e.emitted
	e.deadline = deadline
	e.mu.Unlock()
	// Whatever is not delivered yet is made durable before the grace
	// period starts: a SIGKILL during it loses nothing.
	e.spillMu.Lock()
	e.spillNew()
	e.spillMu.Unlock()

	timer := time.AfterFunc(time.Until(deadline), e.cancelSend)
	stop := context.AfterFunc(ctx, e.cancelSend)
	close(e.closing)
	for _, l := range e.lanes {
		<-l.done
	}
	timer.Stop()
	stop()
	timedOut := e.sendCtx.Err() != nil
	cut := timedOut && ctx.Err() != nil && time.Now().Before(deadline)
	e.cancelSend()

	r := Report{
		Transport: e.opts.Transport.String(),
		Emitted:   emitted,
		TimedOut:  timedOut,
		Cut:       cut,
	}
	// An event is delivered when every lane delivered it; anything else
	// goes to the outbox once, however many lanes missed it.
	rejected := map[int]bool{}
	for _, l := range e.lanes {
		l.mu.Lock()
		for _, it := range l.rejected {
			rejected[it.seq] = true
		}
		r.FirstError = cmp.Or(r.FirstError, l.firstErr)
		l.mu.Unlock()
	}
	e.spillMu.Lock()
	e.finished = true
	e.mu.Lock()
	items := e.undeliveredFrom(0)
	e.mu.Unlock()
	r.Rejected = len(rejected)
	r.Sent = emitted - len(items)
	switch {
	case e.opts.OutboxDir == "":
		r.Lost = len(items)
	default:
		// The outbox file ends up holding exactly the undelivered events.
		path, err := e.spill.settle(e.opts.OutboxDir, e.opts.OutboxName, lines(items))
		switch {
		case err != nil:
			r.Lost = len(items)
			r.OutboxError = err
		case len(items) > 0:
			r.Outboxed = len(items)
			r.OutboxPath = path
		}
	}
	e.spillMu.Unlock()
	r.FirstError = cmp.Or(r.FirstError, e.opts.Transport.Close())
	r.Elapsed = time.Since(start)
	return r
}

// Report says what happened to the events of one Emitter.
type Report struct {
	Transport   string
	Emitted     int
	Sent        int // delivered by every transport
	Rejected    int // refused by a backend for good (a 4xx other than 408/429)
	Outboxed    int // saved to OutboxPath for a later Flush
	Lost        int // neither delivered nor saved
	OutboxPath  string
	OutboxError error // why saving failed
	FirstError  error // the first delivery error, for the message
	TimedOut    bool  // delivery ended before everything was sent
	Cut         bool  // ... because Close's context ended it early (a signal)
	Elapsed     time.Duration
}

// OK reports whether every event was delivered.
func (r Report) OK() bool { return r.Sent == r.Emitted }

// Warning is the one-line message for a report that is not OK ("" when it
// is). It never contains credentials.
func (r Report) Warning() string {
	if r.OK() {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "lineage: %d of %d events not delivered to %s", r.Emitted-r.Sent, r.Emitted, r.Transport)
	var why []string
	if r.Rejected > 0 {
		why = append(why, fmt.Sprintf("%d refused", r.Rejected))
	}
	switch {
	case r.Cut:
		why = append(why, "delivery stopped early")
	case r.TimedOut:
		why = append(why, "grace period ran out")
	}
	if r.FirstError != nil {
		why = append(why, "first error: "+oneLine(r.FirstError.Error()))
	}
	if len(why) > 0 {
		b.WriteString(" (" + strings.Join(why, "; ") + ")")
	}
	if r.Outboxed > 0 {
		fmt.Fprintf(&b, "; saved to %s, re-send with `salesdag lineage flush`", r.OutboxPath)
	}
	if r.Lost > 0 {
		fmt.Fprintf(&b, "; %d lost", r.Lost)
		if r.OutboxError != nil {
			b.WriteString(" (outbox: " + oneLine(r.OutboxError.Error()) + ")")
		} else {
			b.WriteString(" (no outbox configured)")
		}
	}
	return b.String()
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", "; ")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// ---- one sender per transport ----

type item struct {
	seq  int
	data []byte
	at   time.Time // when it was emitted
}

type lane struct {
	t    Transport
	wake chan struct{}
	done chan struct{}

	mu       sync.Mutex
	queue    []*item // head is the event being delivered
	rejected []*item
	firstErr error
}

func (l *lane) push(it *item) {
	l.mu.Lock()
	l.queue = append(l.queue, it)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// head waits for the next event; false once Close has begun and nothing
// is left.
func (l *lane) head(e *Emitter) (*item, bool) {
	for {
		l.mu.Lock()
		if len(l.queue) > 0 {
			it := l.queue[0]
			l.mu.Unlock()
			return it, true
		}
		l.mu.Unlock()
		select {
		case <-l.wake:
		case <-e.closing:
			l.mu.Lock()
			empty := len(l.queue) == 0
			l.mu.Unlock()
			if empty {
				return nil, false
			}
		}
	}
}

func (l *lane) pop(rejected bool) {
	l.mu.Lock()
	if rejected {
		l.rejected = append(l.rejected, l.queue[0])
	}
	l.queue[0] = nil
	l.queue = l.queue[1:]
	l.mu.Unlock()
}

func (l *lane) noteErr(err error) {
	l.mu.Lock()
	if l.firstErr == nil {
		l.firstErr = err
	}
	l.mu.Unlock()
}

func (e *Emitter) isClosing() bool {
	select {
	case <-e.closing:
		return true
	default:
		return false
	}
}

// run delivers the queue head first, retrying it until it is delivered,
// refused, or the backend counts as down after Close; whatever is left in
// the queue when run returns goes to the outbox.
func (l *lane) run(e *Emitter) {
	defer close(l.done)
	attempts, closingAttempts := 0, 0
	for {
		it, ok := l.head(e)
		if !ok {
			return
		}
		if e.sendCtx.Err() != nil {
			return
		}
		closing := e.isClosing()
		err := sendGuarded(e.sendCtx, l.t, it.data)
		if pe, ok := err.(*transportPanic); ok {
			// A bug, not a backend problem: stop this lane; what it has
			// not delivered goes to the outbox like any undelivered event.
			l.noteErr(pe)
			e.logf("lineage: %v", pe)
			return
		}
		if err == nil {
			l.pop(false)
			attempts, closingAttempts = 0, 0
			continue
		}
		if e.sendCtx.Err() != nil {
			return // grace ran out mid-request: the event stays queued
		}
		l.noteErr(err)
		if !retryable(err) {
			e.logf("lineage: %v; not retried", err)
			l.pop(true)
			attempts, closingAttempts = 0, 0
			continue
		}
		attempts++
		if closing {
			closingAttempts++
		}
		if closingAttempts > 0 && attempts >= e.opts.MaxAttempts {
			e.logf("lineage: %v; giving up after %d attempts", err, attempts)
			return
		}
		wait := backoff(attempts, e.opts.InitialBackoff, e.opts.MaxBackoff)
		ra := retryAfter(err)
		if ra > 0 {
			wait = ra
		}
		e.logf("lineage: %v; attempt %d, retrying in %s", err, attempts, wait.Round(time.Millisecond))
		if !e.sleep(time.Now().Add(wait), ra > 0) {
			e.logf("lineage: the grace period ends before the next attempt; the rest goes to the outbox")
			return
		}
	}
}

// transportPanic is a panic inside a transport's Send, turned into an
// error so that a bug in delivery never takes the process down.
type transportPanic struct{ v any }

func (p *transportPanic) Error() string {
	return fmt.Sprintf("the transport panicked (this is a bug in salesdag: please report it): %v", p.v)
}

func sendGuarded(ctx context.Context, t Transport, data []byte) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &transportPanic{v: v}
		}
	}()
	return t.Send(ctx, data)
}

// sleep waits until until; false when the grace period ends first, or
// would end before until. Before Close, the start of Close also ends a
// backoff, so the last attempts happen at once rather than after a long
// wait; a server's Retry-After (honour) is kept, but only within the
// grace period: when it ends later, sleep gives up at once.
func (e *Emitter) sleep(until time.Time, honour bool) bool {
	closing := e.closing
	if e.isClosing() {
		if until.After(e.deadline) {
			return false
		}
		closing = nil
	}
	t := time.NewTimer(time.Until(until))
	defer t.Stop()
	for {
		select {
		case <-t.C:
			return true
		case <-closing:
			if e.sendCtx.Err() != nil || until.After(e.deadline) {
				return false
			}
			if !honour {
				return true
			}
			closing = nil // keep waiting for the server's Retry-After
		case <-e.sendCtx.Done():
			return false
		}
	}
}

// backoff is exponential with jitter: a random wait in [d/2, d] where d
// doubles per attempt up to max, so that many clients do not retry in step.
func backoff(attempt int, initial, maxWait time.Duration) time.Duration {
	d := initial
	for i := 1; i < attempt && d < maxWait; i++ {
		d *= 2
	}
	d = min(d, maxWait)
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(half)+1))
}
