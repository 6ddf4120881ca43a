package history

import (
	"cmp"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/salesdag/salesdag/internal/lineage"
)

// Status is the state of a recorded run.
type Status string

// Statuses of a run. COMPLETE, FAIL and ABORT are the OpenLineage terminal
// event types; the other two describe a run without one.
const (
	StatusRunning    Status = "RUNNING"    // no terminal event yet, its process is alive
	StatusIncomplete Status = "INCOMPLETE" // no terminal event, and its process is gone
	StatusComplete   Status = "COMPLETE"
	StatusFail       Status = "FAIL"
	StatusAbort      Status = "ABORT"
)

// Terminal reports whether s ends a run.
func (s Status) Terminal() bool {
	return s == StatusComplete || s == StatusFail || s == StatusAbort
}

// ParseStatus accepts a status name in any case, and the usual synonyms
// (failed, aborted, completed, ok, ...).
func ParseStatus(s string) (Status, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "complete", "completed", "ok", "success", "succeeded":
		return StatusComplete, true
	case "fail", "failed", "failure", "error":
		return StatusFail, true
	case "abort", "aborted", "interrupted", "cancelled", "canceled":
		return StatusAbort, true
	case "running", "started", "start":
		return StatusRunning, true
	case "incomplete", "crashed":
		return StatusIncomplete, true
	}
	return "", false
}

// Run is the summary of one recorded run, kept up to date as its events
// are recorded.
type Run struct {
	ID        string    `json:"id"`
	ShortID   string    `json:"short_id,omitempty"` // shortest unique prefix, filled in by queries
	Namespace string    `json:"namespace"`
	Job       string    `json:"job"`
	Status    Status    `json:"status"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end,omitzero"`
	// DurationMS is End - Start in milliseconds, once the run ended.
	DurationMS float64  `json:"duration_ms,omitempty"`
	Inputs     []string `json:"inputs"`  // dataset names ("namespace:name" unless namespace is file)
	Outputs    []string `json:"outputs"` // dataset names written by the run
	Error      string   `json:"error,omitempty"`
	// Warnings are the failed checks of severity warn, as "node: check".
	Warnings []string  `json:"warnings,omitempty"`
	Nodes    []NodeRun `json:"nodes"`
	// Events is how many events are recorded for the run (root and nodes).
	Events int `json:"events"`
	// ColumnLineage is true when some event carries a columnLineage facet.
	ColumnLineage bool `json:"column_lineage,omitempty"`
	// Info is extra information recorded with Recorder.Annotate.
	Info map[string]string `json:"info,omitempty"`
	// Host and PID identify the process that recorded the run, to tell a
	// run in progress from one whose process died.
	Host string `json:"host,omitempty"`
	PID  int    `json:"pid,omitempty"`
}

// Duration is End - Start, or zero while the run has not ended.
func (r *Run) Duration() time.Duration { return span(r.Start, r.End) }

func span(start, end time.Time) time.Duration {
	if end.IsZero() || start.IsZero() {
		return 0
	}
	return end.Sub(start)
}

// Node returns the run of the node called name, if the run ran it.
func (r *Run) Node(name string) (*NodeRun, bool) {
	for i := range r.Nodes {
		if r.Nodes[i].Name == name {
			return &r.Nodes[i], true
		}
	}
	return nil, false
}

// NodeRun is one node's child run.
type NodeRun struct {
	Name       string    `json:"name"`
	RunID      string    `json:"run_id"`
	Status     Status    `json:"status"`
	Start      time.Time `json:"start,omitzero"`
	End        time.Time `json:"end,omitzero"`
	DurationMS float64   `json:"duration_ms,omitempty"`
	RowsIn     *int64    `json:"rows_in,omitempty"`
	RowsOut    *int64    `json:"rows_out,omitempty"` // of the datasets it wrote
	// Rows is how many rows (records) the node produced, written or not.
	Rows  *int64 `json:"rows,omitempty"`
	Error string `json:"error,omitempty"`
}

// Duration is End - Start, or zero while the node has not ended.
func (n *NodeRun) Duration() time.Duration { return span(n.Start, n.End) }

// DatasetName is how a dataset is named in summaries: a file by its path,
// anything else as namespace:name.
func DatasetName(namespace, name string) string {
	if namespace == lineage.FileNamespace || namespace == "" {
		return name
	}
	return namespace + ":" + name
}

// rootOf tells which root run an event belongs to and, for a node's child
// run, the node's name. A child run has a parent facet and is either a
// TASK or named after its parent job ("sales_data_pipeline.<node>"); the
// parent facet of a root run run under an orchestrator names the
// orchestrator's job, which fails both tests.
func rootOf(ev *lineage.RunEvent) (root uuid.UUID, node string) {
	p := ev.Run.Facets.Parent
	if p == nil {
		return ev.Run.RunID, ""
	}
	prefix := p.Job.Name + "."
	task := ev.Job.Facets.JobType != nil && ev.Job.Facets.JobType.JobType == lineage.JobTypeTask
	if !task && !strings.HasPrefix(ev.Job.Name, prefix) {
		return ev.Run.RunID, ""
	}
	id, err := uuid.Parse(p.Run.RunID)
	if err != nil {
		return ev.Run.RunID, ""
	}
	return id, strings.TrimPrefix(ev.Job.Name, prefix)
}

// apply folds one event into the summary. It must give the same result
// whether the events come one per transaction or all at once.
func (r *Run) apply(ev *lineage.RunEvent) {
	r.Events++
	_, node := rootOf(ev)
	t := ev.EventTime.UTC()
	if r.Start.IsZero() {
		// The root START is the run's start; until it is seen, the first
		// event stands in.
		r.Start = t
	}
	if hasColumnLineage(ev) {
		r.ColumnLineage = true
	}
	if node != "" {
		r.applyNode(ev, node, t)
		return
	}
	if r.Job == "" || ev.EventType == lineage.EventStart {
		r.Job, r.Namespace = ev.Job.Name, ev.Job.Namespace
	}
	if ev.EventType == lineage.EventStart {
		r.Start = t
	}
	for _, in := range ev.Inputs {
		r.Inputs = appendUnique(r.Inputs, DatasetName(in.Namespace, in.Name))
	}
	for _, out := range ev.Outputs {
		r.Outputs = appendUnique(r.Outputs, DatasetName(out.Namespace, out.Name))
	}
	if typ := Status(ev.EventType); typ.Terminal() {
		if !r.Status.Terminal() {
			r.Status = typ
			r.End = t
		}
		if f := ev.Run.Facets.ErrorMessage; f != nil {
			r.Error = f.Message
		}
	} else if r.Status == "" {
		r.Status = StatusRunning
	}
	r.DurationMS = ms(r.Duration())
}

func (r *Run) applyNode(ev *lineage.RunEvent, node string, t time.Time) {
	r.Status = cmp.Or(r.Status, StatusRunning)
	id := ev.Run.RunID.String()
	var n *NodeRun
	for i := range r.Nodes {
		if r.Nodes[i].RunID == id {
			n = &r.Nodes[i]
			break
		}
	}
	if n == nil {
		r.Nodes = append(r.Nodes, NodeRun{Name: node, RunID: id, Status: StatusRunning})
		n = &r.Nodes[len(r.Nodes)-1]
	}
	typ := Status(ev.EventType)
	switch {
	case ev.EventType == lineage.EventStart:
		n.Start = t
	case typ.Terminal():
		if !n.Status.Terminal() {
			n.Status = typ
			n.End = t
		}
		if n.Start.IsZero() {
			n.Start = t
		}
	}
	if f := ev.Run.Facets.ErrorMessage; f != nil {
		n.Error = f.Message
	}
	for _, c := range nodeChecks(ev, node) {
		if !c.Success && c.Severity == "warn" {
			r.Warnings = appendUnique(r.Warnings, c.Node+": "+c.Name)
		}
	}
	if rows, ok := inputRows(ev.Inputs); ok {
		n.RowsIn = &rows
	}
	if rows, ok := outputRows(ev.Outputs); ok {
		n.RowsOut = &rows
	}
	if rows, ok := nodeRows(ev); ok {
		n.Rows = &rows
	}
	for _, in := range ev.Inputs {
		// The node that reads an outside dataset (the input file) makes it
		// an input of the run even when the root events do not list it.
		if name := DatasetName(in.Namespace, in.Name); !slices.Contains(r.Outputs, name) && len(r.Inputs) == 0 {
			r.Inputs = appendUnique(r.Inputs, name)
		}
	}
	n.DurationMS = ms(n.Duration())
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func inputRows(ins []lineage.InputDataset) (int64, bool) {
	var sum int64
	found := false
	for _, in := range ins {
		switch {
		case in.InputFacets.InputStatistics != nil && in.InputFacets.InputStatistics.RowCount != nil:
			sum += *in.InputFacets.InputStatistics.RowCount
			found = true
		case in.InputFacets.DataQualityMetrics != nil && in.InputFacets.DataQualityMetrics.RowCount != nil:
			sum += *in.InputFacets.DataQualityMetrics.RowCount
			found = true
		}
	}
	return sum, found
}

// outputRows is the largest row count among a node's outputs: they are
// one table written in several formats, not rows to add up.
func outputRows(outs []lineage.OutputDataset) (int64, bool) {
	var rows int64
	found := false
	for _, o := range outs {
		if s := o.OutputFacets.OutputStatistics; s != nil && s.RowCount != nil {
			rows = max(rows, *s.RowCount)
			found = true
		}
	}
	return rows, found
}

func hasColumnLineage(ev *lineage.RunEvent) bool {
	for _, o := range ev.Outputs {
		if o.Facets.ColumnLineage != nil {
			return true
		}
	}
	return false
}

func appendUnique(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// RowsFacetKey is the custom run facet in which salesdag reports how many
// rows a node produced.
const RowsFacetKey = "salesdag_rows"

// nodeRows reads the salesdag_rows facet of a node run's event.
func nodeRows(ev *lineage.RunEvent) (int64, bool) {
	var f struct {
		Rows *int64 `json:"rows"`
	}
	if !customFacet(ev, RowsFacetKey, &f) || f.Rows == nil {
		return 0, false
	}
	return *f.Rows, true
}

// customFacet decodes the custom run facet key of ev into dst; false when
// the event has none or it has another shape.
func customFacet(ev *lineage.RunEvent, key string, dst any) bool {
	raw, ok := ev.Run.Facets.Custom[key]
	if !ok {
		return false
	}
	b, err := json.Marshal(raw)
	return err == nil && json.Unmarshal(b, dst) == nil
}
