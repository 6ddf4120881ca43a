package lineage

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/salesdag/salesdag/internal/dag"
)

// DefaultJobName is the root job of a salesdag run.
const DefaultJobName = "sales_data_pipeline"

// Outcome is how a run ended.
type Outcome int

// Outcomes of a run.
const (
	Completed Outcome = iota // COMPLETE
	Failed                   // FAIL
	Aborted                  // ABORT: interrupted by a signal or cancelled
)

// EventType is the terminal event type of the outcome.
func (o Outcome) EventType() EventType {
	switch o {
	case Failed:
		return EventFail
	case Aborted:
		return EventAbort
	}
	return EventComplete
}

// OutcomeOf maps a run's error to its outcome: nil completes, a cancelled
// context aborts, anything else fails.
func OutcomeOf(err error) Outcome {
	switch {
	case err == nil:
		return Completed
	case errors.Is(err, context.Canceled):
		return Aborted
	}
	return Failed
}

// NodeEvent is handed to TrackerConfig.OnNodeEvent before a node's event
// goes out, so that the app can add datasets and facets.
type NodeEvent struct {
	Node   *dag.Node
	Result *dag.NodeResult // nil for START
	Event  *RunEvent       // change in place
}

// TrackerConfig configures a Tracker. Only Sink is required.
type TrackerConfig struct {
	Sink      Sink   // usually an *Emitter
	Namespace string // job namespace; default DefaultNamespace
	JobName   string // root job name; default DefaultJobName
	// Parent is the orchestrator run that started this one (ParentFromEnv).
	Parent *ParentContext
	// Version of salesdag, for the processing_engine facet.
	Version string
	// RunID of the root run; default a fresh UUIDv7.
	RunID uuid.UUID
	// Inputs are the root run's input datasets (SetInputs changes them).
	Inputs []InputDataset
	// Description documents the root job.
	Description string
	// OnNodeEvent, if set, may add datasets and facets to node events. It
	// is called from the goroutine running the node.
	OnNodeEvent func(NodeEvent)
	// OnRootEvent, if set, may add facets to the root run's events (START
	// and the terminal event) before they go out.
	OnRootEvent func(*RunEvent)
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

// Tracker records one salesdag run: a root run, started before the first
// node, and one child run per executed node. Plug it into the engine with
// Hooks, and end it with Finish once outputs are written. Lineage never
// fails the run: emit errors are kept for Err, not returned to the engine.
type Tracker struct {
	cfg  TrackerConfig
	root RunRef

	mu       sync.Mutex
	started  bool
	finished bool
	inputs   []InputDataset
	open     map[string]uuid.UUID // node -> run id of its running child run
	nodeRuns map[string]uuid.UUID // every node run started, for RunIDOf
	err      error
}

// NewTracker returns a tracker; it emits nothing until the graph starts.
func NewTracker(cfg TrackerConfig) (*Tracker, error) {
	if cfg.Sink == nil {
		return nil, errors.New("lineage: a tracker needs a Sink (an Emitter)")
	}
	cfg.Namespace = cmp.Or(cfg.Namespace, DefaultNamespace)
	cfg.JobName = cmp.Or(cfg.JobName, DefaultJobName)
	if cfg.RunID == uuid.Nil {
		cfg.RunID = NewRunID()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Tracker{
		cfg:      cfg,
		root:     RunRef{Namespace: cfg.Namespace, Name: cfg.JobName, RunID: cfg.RunID},
		inputs:   cfg.Inputs,
		open:     map[string]uuid.UUID{},
		nodeRuns: map[string]uuid.UUID{},
	}, nil
}

// RunID is the root run's id.
func (t *Tracker) RunID() uuid.UUID { return t.root.RunID }

// Err returns the first error met while emitting (an event that could not
// be encoded, an emitter already closed), for the app to log.
func (t *Tracker) Err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}

// SetInputs replaces the root run's input datasets (for example with the
// measured input once it has been read); they go into START if it has not
// been emitted yet, and into the terminal event.
func (t *Tracker) SetInputs(inputs ...InputDataset) {
	t.mu.Lock()
	t.inputs = inputs
	t.mu.Unlock()
}

// Hooks returns the dag hooks that emit the events. They are safe for
// concurrent use and never return an error to the engine.
func (t *Tracker) Hooks() dag.Hooks {
	return dag.Hooks{
		BeforeGraph: func(ctx context.Context, _ *dag.Plan) error {
			t.Start(ctx)
			return nil
		},
		BeforeNode: t.beforeNode,
		AfterNode:  t.afterNode,
		SkipNode:   t.skipNode,
	}
}

// Start emits the root START, once; the BeforeGraph hook calls it, and
// Finish does if nothing did (a run that failed before its graph).
func (t *Tracker) Start(context.Context) {
	t.mu.Lock()
	if t.started {
		t.mu.Unlock()
		return
	}
	t.started = true
	ev := t.rootEvent(EventStart, t.inputs, nil)
	t.mu.Unlock()
	t.enrichRoot(ev)
	t.emit(ev)
}

// Finish emits the root run's terminal event: COMPLETE, FAIL (with the
// errorMessage of err) or ABORT (with err's message when given). Node runs
// still open are aborted first. inputs, when non-nil, replace those set
// before; outputs are the datasets written. Finish emits START first if
// the graph never started. It returns the first emit error of the run; a
// second Finish is an error and emits nothing.
func (t *Tracker) Finish(ctx context.Context, outcome Outcome, err error, inputs []InputDataset, outputs []OutputDataset) error {
	t.Start(ctx)
	t.mu.Lock()
	if t.finished {
		t.mu.Unlock()
		return fmt.Errorf("lineage: run %s already finished", t.root.RunID)
	}
	t.finished = true
	if inputs != nil {
		t.inputs = inputs
	}
	open := slices.Collect(maps.Keys(t.open))
	t.mu.Unlock()

	for _, n := range open {
		t.endNode(&dag.Node{Name: n}, nil, EventAbort, errors.New("the run ended before this node finished"))
	}

	t.mu.Lock()
	ev := t.rootEvent(outcome.EventType(), t.inputs, outputs)
	t.mu.Unlock()
	if err != nil && outcome != Completed {
		ev.Run.Facets.ErrorMessage = NewErrorMessageRunFacet(err)
	} else if outcome == Failed {
		ev.Run.Facets.ErrorMessage = NewErrorMessageRunFacet(errors.New("the run failed"))
	}
	t.enrichRoot(ev)
	t.emit(ev)
	return t.Err()
}

// rootEvent builds a root event; t.mu is held.
func (t *Tracker) rootEvent(typ EventType, inputs []InputDataset, outputs []OutputDataset) *RunEvent {
	run := Run{RunID: t.root.RunID}
	run.Facets.ProcessingEngine = NewProcessingEngineRunFacet(t.cfg.Version)
	if p := t.cfg.Parent; p != nil {
		run.Facets.Parent = NewParentRunFacet(p.Parent, p.Root)
	}
	job := Job{Namespace: t.root.Namespace, Name: t.root.Name}
	job.Facets.JobType = NewJobTypeJobFacet(JobTypeDAG)
	job.Facets.Documentation = NewDocumentationJobFacet(t.cfg.Description)
	ev := NewRunEvent(typ, run, job)
	ev.EventTime = t.cfg.Now().UTC()
	ev.Inputs = append([]InputDataset(nil), inputs...)
	ev.Outputs = append([]OutputDataset(nil), outputs...)
	return ev
}

// ultimateRoot is the root of the whole chain: the orchestrator's root,
// else the orchestrator's run, else this run.
func (t *Tracker) ultimateRoot() RunRef {
	if p := t.cfg.Parent; p != nil {
		if p.Root != nil {
			return *p.Root
		}
		return p.Parent
	}
	return t.root
}

func (t *Tracker) nodeEvent(n *dag.Node, id uuid.UUID, typ EventType) *RunEvent {
	root := t.ultimateRoot()
	run := Run{RunID: id}
	run.Facets.Parent = NewParentRunFacet(t.root, &root)
	run.Facets.ProcessingEngine = NewProcessingEngineRunFacet(t.cfg.Version)
	job := Job{Namespace: t.root.Namespace, Name: t.root.Name + "." + n.Name}
	job.Facets.JobType = NewJobTypeJobFacet(JobTypeTask)
	job.Facets.Documentation = NewDocumentationJobFacet(n.Doc)
	ev := NewRunEvent(typ, run, job)
	ev.EventTime = t.cfg.Now().UTC()
	return ev
}

func (t *Tracker) beforeNode(_ context.Context, n *dag.Node) {
	id := NewRunID()
	t.mu.Lock()
	t.open[n.Name] = id
	t.nodeRuns[n.Name] = id
	t.mu.Unlock()
	ev := t.nodeEvent(n, id, EventStart)
	t.enrich(NodeEvent{Node: n, Event: ev})
	t.emit(ev)
}

func (t *Tracker) afterNode(ctx context.Context, n *dag.Node, r dag.NodeResult) {
	typ := EventComplete
	switch {
	case r.Err == nil:
	case ctx.Err() != nil && (errors.Is(r.Err, context.Canceled) || errors.Is(r.Err, context.DeadlineExceeded)):
		// Stopped because another node failed or the run was interrupted:
		// this node did not fail by itself.
		typ = EventAbort
	default:
		typ = EventFail
	}
	t.endNode(n, &r, typ, r.Err)
}

// skipNode records a node that a --keep-going run did not run because a
// node it depends on failed: its run is started and aborted at once, with
// the reason as the errorMessage ("upstream X failed").
func (t *Tracker) skipNode(_ context.Context, n *dag.Node, reason string) {
	t.endNode(n, nil, EventAbort, errors.New("skipped: "+reason))
}

func (t *Tracker) endNode(n *dag.Node, r *dag.NodeResult, typ EventType, err error) {
	t.mu.Lock()
	id, ok := t.open[n.Name]
	delete(t.open, n.Name)
	t.mu.Unlock()
	if !ok {
		// AfterNode without BeforeNode (or after Finish aborted it): start
		// the run now so that it still has a START.
		id = NewRunID()
		t.mu.Lock()
		t.nodeRuns[n.Name] = id
		t.mu.Unlock()
		t.emit(t.nodeEvent(n, id, EventStart))
	}
	ev := t.nodeEvent(n, id, typ)
	if err != nil && typ != EventComplete {
		ev.Run.Facets.ErrorMessage = NewErrorMessageRunFacet(err)
	}
	if r != nil {
		t.enrich(NodeEvent{Node: n, Result: r, Event: ev})
	}
	t.emit(ev)
}

func (t *Tracker) enrich(ne NodeEvent) {
	if t.cfg.OnNodeEvent == nil {
		return
	}
	defer func() {
		// The engine fails a node whose hook panics; a broken enricher must
		// cost the event its extras, not the run.
		if p := recover(); p != nil {
			t.noteErr(fmt.Errorf("lineage: OnNodeEvent for node %s panicked: %v", ne.Node.Name, p))
		}
	}()
	t.cfg.OnNodeEvent(ne)
}

func (t *Tracker) enrichRoot(ev *RunEvent) {
	if t.cfg.OnRootEvent == nil {
		return
	}
	defer func() {
		if p := recover(); p != nil {
			t.noteErr(fmt.Errorf("lineage: OnRootEvent panicked: %v", p))
		}
	}()
	t.cfg.OnRootEvent(ev)
}

func (t *Tracker) emit(ev *RunEvent) {
	if err := t.cfg.Sink.Emit(ev); err != nil {
		t.noteErr(fmt.Errorf("lineage: %s event for %s: %w", ev.EventType, ev.Job.Name, err))
	}
}

func (t *Tracker) noteErr(err error) {
	t.mu.Lock()
	if t.err == nil {
		t.err = err
	}
	t.mu.Unlock()
}
