package cache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/salesdag/salesdag/internal/dag"
)

// NodeEvent reports one thing the cache did for a node. Events come from
// Prepare (corrupt entries, input problems) and from the nodes' execution.
type NodeEvent struct {
	Node     string
	Status   Status
	Key      string        // the entry key (may be empty when there is none)
	Bytes    int64         // entry size, for hit and stored
	Duration time.Duration // load time for hit, encode+write time for stored
	Err      error         // why, for corrupt, error and uncacheable
}

// Options configure a Cache. The zero value caches nothing: a node is
// cached only when Codecs has a codec for its result type.
type Options struct {
	// Codecs store the results of their types; a later codec for the same
	// type replaces an earlier one.
	Codecs []Codec
	// Policy per node name; nodes not listed get Default.
	Policy  map[string]Policy
	Default Policy
	// InputKey, when set, is asked first for each graph input's key; ok
	// false falls back to ContentSource, then ValueKey.
	InputKey func(ctx context.Context, name string, v any) (key string, ok bool, err error)
	// OnEvent receives every event; it may be called from several
	// goroutines at once.
	OnEvent func(NodeEvent)
	// Version replaces the key of the running executable
	// (Store.BuildVersion) as the code part of every key. Tests use it to
	// stand for builds of different code.
	Version string
	// Workers bounds parallel loads in Prepare (default GOMAXPROCS).
	Workers int
	// Input names the input the runs read (a path); it is stored in each
	// entry's header for `salesdag cache ls` and plays no part in keys.
	Input string
}

// Cache computes keys and serves and stores node results. It is safe for
// concurrent use; each run gets its own Run from Prepare.
type Cache struct {
	store  *Store
	opts   Options
	codecs map[reflect.Type]*Codec
}

// New returns a cache backed by store.
func New(store *Store, opts Options) *Cache {
	c := &Cache{store: store, opts: opts, codecs: map[reflect.Type]*Codec{}}
	if c.opts.Workers < 1 {
		c.opts.Workers = runtime.GOMAXPROCS(0)
	}
	for i := range opts.Codecs {
		c.codecs[opts.Codecs[i].Type] = &opts.Codecs[i]
	}
	return c
}

// Store returns the cache's store.
func (c *Cache) Store() *Store { return c.store }

func (c *Cache) emit(e NodeEvent) {
	if c.opts.OnEvent != nil {
		c.opts.OnEvent(e)
	}
}

func (c *Cache) policy(name string) Policy {
	if p, ok := c.opts.Policy[name]; ok {
		return p
	}
	return c.opts.Default
}

// version returns the code part of the keys: Options.Version or the
// running executable's key.
func (c *Cache) version(ctx context.Context) (string, error) {
	if c.opts.Version != "" {
		return c.opts.Version, nil
	}
	return c.store.buildVersion(ctx, func(err error) {
		c.emit(NodeEvent{Status: StatusCorrupt, Err: err})
	})
}

// nodeRun is the cache's state for one node of one run.
type nodeRun struct {
	node     *dag.Node
	policy   Policy
	codec    *Codec
	flow     string // key that dependents build on ("" = unknown)
	key      string // entry key ("" = not storable)
	why      error  // why there is no key or no codec
	forced   bool   // recompute: this node or an ancestor has PolicyRecompute
	has      int8   // entry file exists: 0 unknown, 1 yes, -1 no
	loadErr  bool   // loading failed: compute instead
	value    any    // the loaded result (nil = not loaded)
	loadTime time.Duration
	bytes    int64

	mu    sync.Mutex
	state NodeState
}

// NodeState is the outcome for one node, for the run summary, logs and the
// salesdag_cache lineage facet.
type NodeState struct {
	Node     string        `json:"node"`
	Status   Status        `json:"status"` // hit, miss, recomputed, disabled, uncacheable, skipped; "" if not reached
	Policy   string        `json:"policy"`
	Key      string        `json:"key,omitempty"`
	Stored   bool          `json:"stored"`
	Bytes    int64         `json:"bytes,omitempty"`
	Duration time.Duration `json:"duration_ns,omitempty"` // load (hit) or store time
	Warning  string        `json:"warning,omitempty"`
}

// RunFacet is the content of the salesdag_cache custom run facet that
// lineage attaches to each node run (lineage adds _producer and
// _schemaURL).
type RunFacet struct {
	Status     string  `json:"status"`
	Policy     string  `json:"policy"`
	Key        string  `json:"key,omitempty"`
	Stored     bool    `json:"stored"`
	Bytes      int64   `json:"bytes,omitempty"`
	DurationMs float64 `json:"durationMs,omitempty"`
	Warning    string  `json:"warning,omitempty"`
}

// Facet returns the state as a lineage run facet.
func (s NodeState) Facet() RunFacet {
	return RunFacet{Status: string(s.Status), Policy: s.Policy, Key: s.Key, Stored: s.Stored, Bytes: s.Bytes,
		DurationMs: float64(s.Duration.Microseconds()) / 1000, Warning: s.Warning}
}

// Run is the cache's part in one execution, made by Prepare.
type Run struct {
	c       *Cache
	version string    // code part of the keys ("" = unknown: nothing is cached)
	noBuild error     // why version is unknown
	plan    *dag.Plan // with the nodes served from the cache given
	order   []*nodeRun
	nodes   map[string]*nodeRun
	stamps  []FileStamp
}

// Prepare computes the keys of every node of p (hashing inputs, not
// running anything), loads the cached results the run can use, and makes
// the plan to execute: p with those nodes given (Plan, Given), so that
// nodes only they need do not run (they are "skipped"). Cache trouble never
// fails a run: it becomes a miss, reported through OnEvent. Only a
// cancelled ctx is an error.
func (c *Cache) Prepare(ctx context.Context, d *dag.DAG, p *dag.Plan, inputs map[string]any) (*Run, error) {
	if p == nil || d == nil || c.store == nil {
		return nil, errors.New("cache: Prepare needs a store, the DAG and a plan made from it")
	}
	r := &Run{c: c, nodes: map[string]*nodeRun{}}
	if r.version, r.noBuild = c.version(ctx); r.noBuild != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		r.noBuild = fmt.Errorf("cache: cannot tell which build of the program this is, so nothing is cached: %w", r.noBuild)
		c.emit(NodeEvent{Status: StatusError, Err: r.noBuild})
	}
	for _, n := range p.Nodes {
		nr := &nodeRun{node: n, policy: c.policy(n.Name)}
		nr.state = NodeState{Node: n.Name, Policy: nr.policy.String()}
		r.nodes[n.Name] = nr
		r.order = append(r.order, nr)
		if n.IsInput {
			if err := r.keyInput(ctx, nr, inputs); err != nil {
				return nil, err
			}
			continue
		}
		r.keyNode(nr)
	}
	if err := r.decide(ctx, p); err != nil {
		return nil, err
	}
	for _, nr := range r.order {
		if !nr.node.IsInput && !r.plan.Has(nr.node.Name) {
			nr.state.Status = StatusSkipped
			c.emit(NodeEvent{Node: nr.node.Name, Status: StatusSkipped, Key: nr.key})
		}
	}
	return r, nil
}

func (r *Run) keyInput(ctx context.Context, nr *nodeRun, inputs map[string]any) error {
	v, ok := inputs[nr.node.Name]
	if !ok {
		nr.why = fmt.Errorf("input %q was not given", nr.node.Name)
		return nil
	}
	k, stamps, err := r.c.inputKey(ctx, nr.node.Name, v)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		nr.why = fmt.Errorf("input %q has no cache key: %w", nr.node.Name, err)
		r.c.emit(NodeEvent{Node: nr.node.Name, Status: StatusError, Err: nr.why})
		return nil
	}
	r.stamps = append(r.stamps, stamps...)
	nr.flow = hashStrings("input", nr.node.Name, nr.node.Out.String(), k)
	return nil
}

func (r *Run) keyNode(nr *nodeRun) {
	n := nr.node
	for _, dep := range n.Deps {
		if d := r.nodes[dep]; d.flow == "" {
			nr.why = fmt.Errorf("no key for its input %s: %w", dep, d.why)
			return
		}
	}
	if r.noBuild != nil {
		nr.why = r.noBuild
		return
	}
	if r.c.policy(n.Name) == PolicyRecompute {
		nr.forced = true
	}
	parts := []string{"node", r.version, n.Name, typeName(n.Out)}
	for _, dep := range n.Deps {
		d := r.nodes[dep]
		parts = append(parts, dep, d.flow)
		if d.forced {
			nr.forced = true
		}
	}
	nr.flow = hashStrings(parts...)
	nr.codec = r.c.codecs[n.Out]
	if nr.codec == nil {
		nr.why = fmt.Errorf("no codec for %s (add one to cache.Options.Codecs)", n.Out)
		return
	}
	// The codec is part of the entry's key but not of the flow key: how a
	// result is stored does not change the results built on it.
	nr.key = hashStrings("entry", nr.flow, nr.codec.ID)
	nr.state.Key = nr.key
}

func typeName(t reflect.Type) string {
	if t == nil {
		return "<nil>"
	}
	return t.PkgPath() + " " + t.String()
}

func hashStrings(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s\n", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (nr *nodeRun) readable() bool {
	return nr.key != "" && nr.policy == PolicyDefault && !nr.forced && !nr.loadErr
}

func (nr *nodeRun) writable() bool {
	return nr.key != "" && nr.policy != PolicyDisable
}

// decide makes the plan: every node with a usable entry is offered to
// the plan as given, the engine keeps those the outputs need (a given node
// hides its ancestors), and their entries are loaded. Entries that fail to
// load become computations, and the plan is made again.
func (r *Run) decide(ctx context.Context, p *dag.Plan) error {
	for {
		var usable []string
		for _, nr := range r.order {
			if !nr.node.IsInput && (nr.value != nil || (nr.readable() && r.exists(nr))) {
				usable = append(usable, nr.node.Name)
			}
		}
		q, err := p.Given(usable...)
		if err != nil {
			return err
		}
		var toLoad []*nodeRun
		for _, nr := range r.order {
			if q.Has(nr.node.Name) && q.IsGiven(nr.node.Name) && nr.value == nil {
				toLoad = append(toLoad, nr)
			}
		}
		if len(toLoad) == 0 {
			r.plan = q
			return nil
		}
		if err := r.load(ctx, toLoad); err != nil {
			return err
		}
	}
}

func (r *Run) exists(nr *nodeRun) bool {
	if nr.has == 0 {
		nr.has = -1
		if r.c.store.Has(nr.node.Name, nr.key) {
			nr.has = 1
		}
	}
	return nr.has == 1
}

// load reads entries in parallel; a failure marks the node for computing.
func (r *Run) load(ctx context.Context, nrs []*nodeRun) error {
	sem := make(chan struct{}, r.c.opts.Workers)
	var wg sync.WaitGroup
	for _, nr := range nrs {
		if err := ctx.Err(); err != nil {
			wg.Wait()
			return err
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			r.loadOne(nr)
		}()
	}
	wg.Wait()
	return ctx.Err()
}

func (r *Run) loadOne(nr *nodeRun) {
	start := time.Now()
	name := nr.node.Name
	h, payload, err := r.c.store.Get(name, nr.key)
	if err == nil {
		switch {
		case h.Type != typeName(nr.node.Out):
			err = &CorruptError{r.c.store.entryPath(name, nr.key), fmt.Sprintf("holds a %s, want %s", h.Type, typeName(nr.node.Out))}
		case h.Codec != nr.codec.ID:
			err = &CorruptError{r.c.store.entryPath(name, nr.key), fmt.Sprintf("written by codec %s, want %s", h.Codec, nr.codec.ID)}
		default:
			var v any
			if v, err = nr.codec.decode(payload); err == nil {
				nr.value, nr.bytes, nr.loadTime = v, int64(len(payload)), time.Since(start)
				return
			}
			err = &CorruptError{r.c.store.entryPath(name, nr.key), "decoding: " + err.Error()}
		}
	}
	nr.loadErr = true
	var ce *CorruptError
	switch {
	case errors.Is(err, ErrNotFound): // pruned since we looked: a plain miss
	case errors.As(err, &ce):
		// Drop it, so that it cannot cost a warning again even if this run
		// ends before the node's new result is stored.
		action := "removed it"
		if rmErr := os.Remove(ce.Path); rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist) {
			action = "could not remove it (" + rmErr.Error() + ")"
		}
		err = fmt.Errorf("%w: %s; %s is computed again", err, action, name)
		nr.setWarning(err.Error())
		r.c.emit(NodeEvent{Node: name, Status: StatusCorrupt, Key: nr.key, Err: err})
	default:
		nr.setWarning(err.Error())
		r.c.emit(NodeEvent{Node: name, Status: StatusError, Key: nr.key, Err: err})
	}
}

func (s *Store) entryPath(node, key string) string {
	p, err := s.path(node, key)
	if err != nil {
		return node + "/" + key
	}
	return p
}

func (nr *nodeRun) setWarning(w string) {
	nr.mu.Lock()
	defer nr.mu.Unlock()
	if nr.state.Warning == "" {
		nr.state.Warning = w
	} else {
		nr.state.Warning += "; " + w
	}
}

func (nr *nodeRun) setState(f func(*NodeState)) {
	nr.mu.Lock()
	f(&nr.state)
	nr.mu.Unlock()
}

// Plan returns the plan to execute: Prepare's plan with the nodes served
// from the cache given.
func (r *Run) Plan() *dag.Plan { return r.plan }

// Given returns the results loaded from the cache, by node name: the
// values of the plan's given nodes, to pass to Execute with its inputs.
func (r *Run) Given() map[string]any {
	out := map[string]any{}
	for _, nr := range r.order {
		if nr.value != nil && r.plan.IsGiven(nr.node.Name) {
			out[nr.node.Name] = nr.value
		}
	}
	return out
}

// Hooks returns the cache's hook for Execute: it records each node's
// outcome and stores computed results. Pass it before other hooks, so that
// their AfterNode (lineage's facet) sees the node's final cache state.
func (r *Run) Hooks() dag.Hooks { return dag.Hooks{AfterNode: r.afterNode} }

func (r *Run) afterNode(_ context.Context, n *dag.Node, res dag.NodeResult) {
	nr := r.nodes[n.Name]
	if nr == nil { // not in the prepared plan
		return
	}
	if res.Given && nr.value != nil {
		nr.setState(func(s *NodeState) {
			s.Status, s.Bytes, s.Duration = StatusHit, nr.bytes, nr.loadTime
		})
		r.c.emit(NodeEvent{Node: n.Name, Status: StatusHit, Key: nr.key, Bytes: nr.bytes, Duration: nr.loadTime})
		return
	}
	st := StatusMiss
	var why error
	switch {
	case nr.policy == PolicyDisable:
		st = StatusDisabled
	case nr.key == "":
		st, why = StatusUncacheable, nr.why
	case nr.forced:
		st = StatusRecomputed
	}
	nr.setState(func(s *NodeState) { s.Status = st })
	if why != nil {
		nr.setWarning(why.Error())
	}
	r.c.emit(NodeEvent{Node: n.Name, Status: st, Key: nr.key, Err: why})
	if res.Err == nil && nr.writable() {
		r.save(nr, res.Value)
	}
}

// save encodes and writes a computed result; failures are warnings.
func (r *Run) save(nr *nodeRun, v any) {
	start := time.Now()
	name := nr.node.Name
	fail := func(err error) {
		nr.setWarning(err.Error())
		r.c.emit(NodeEvent{Node: name, Status: StatusError, Key: nr.key, Err: err})
	}
	if !r.inputsUnchanged() {
		fail(errors.New("cache: an input file changed during the run; results of this run are not stored"))
		return
	}
	payload, err := nr.codec.encode(v)
	if err != nil {
		fail(fmt.Errorf("cache: encoding the result of %s: %w", name, err))
		return
	}
	n, err := r.c.store.Put(Header{Node: name, Key: nr.key, Type: typeName(nr.node.Out), Codec: nr.codec.ID, Input: r.c.opts.Input}, payload)
	if err != nil {
		fail(err)
		return
	}
	d := time.Since(start)
	nr.setState(func(s *NodeState) { s.Stored, s.Bytes, s.Duration = true, n, d })
	r.c.emit(NodeEvent{Node: name, Status: StatusStored, Key: nr.key, Bytes: n, Duration: d})
}

// inputsUnchanged re-checks the input files' stat identity before each
// store (one stat per file): the files were hashed before the run, and
// results computed from changed content must not be filed under the old
// key.
func (r *Run) inputsUnchanged() bool {
	for _, s := range r.stamps {
		if s.Changed() {
			return false
		}
	}
	return true
}

// States returns the outcome of every computed node of the plan, in plan
// order. Call it after Execute.
func (r *Run) States() []NodeState {
	var out []NodeState
	for _, nr := range r.order {
		if nr.node.IsInput {
			continue
		}
		nr.mu.Lock()
		out = append(out, nr.state)
		nr.mu.Unlock()
	}
	return out
}

// State returns the outcome for one node.
func (r *Run) State(node string) (NodeState, bool) {
	nr := r.nodes[node]
	if nr == nil || nr.node.IsInput {
		return NodeState{}, false
	}
	nr.mu.Lock()
	defer nr.mu.Unlock()
	return nr.state, true
}

// Key returns the entry key of a node ("" when it has none).
func (r *Run) Key(node string) string {
	if nr := r.nodes[node]; nr != nil {
		return nr.key
	}
	return ""
}

// Counts tallies final statuses, e.g. for "cache: 5 hit, 1 miss".
func (r *Run) Counts() map[Status]int {
	out := map[Status]int{}
	for _, s := range r.States() {
		if s.Status != "" {
			out[s.Status]++
		}
	}
	return out
}

// Summary formats Counts as "6 hit, 1 miss, 1 skipped" (statuses sorted).
func (r *Run) Summary() string {
	counts := r.Counts()
	keys := make([]string, 0, len(counts))
	for s := range counts {
		keys = append(keys, string(s))
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d %s", counts[Status(k)], k)
	}
	return strings.Join(parts, ", ")
}
