// Package summary builds the machine-readable record of one `salesdag run`
// (--summary-json): what ran, how long, what was read and written, the
// checks, the cache and lineage delivery. Its JSON form is versioned and
// described by the JSON Schema in docs/schemas/run-summary; CI scripts
// read it instead of scraping stderr. The same record feeds the
// Prometheus metrics (internal/metrics).
package summary

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/salesdag/salesdag/internal/app"
	"github.com/salesdag/salesdag/internal/cache"
	"github.com/salesdag/salesdag/internal/checks"
	"github.com/salesdag/salesdag/internal/fsutil"
	"github.com/salesdag/salesdag/internal/lineage"
	"github.com/salesdag/salesdag/internal/pipeline"
)

// SchemaVersion is the version of the document's layout (semantic
// versioning: a new optional field is a minor change, a removed or
// retyped one a major change). The schema is docs/schemas/run-summary/1-0-0.json.
const SchemaVersion = "1.0.0"

// SchemaURL identifies the schema of this version.
const SchemaURL = "https://github.com/salesdag/salesdag/blob/main/docs/schemas/run-summary/1-0-0.json"

// Run statuses.
const (
	StatusSucceeded    = "succeeded"      // exit 0
	StatusChecksFailed = "checks_failed"  // exit 3: only data-quality checks failed
	StatusFailed       = "failed"         // exit 1 (or 2)
	StatusInterrupted  = "interrupted"    // exit 130 / 143
	StatusLineage      = "lineage_failed" // exit 4: results written, events not delivered (--lineage-strict)
)

// Node statuses.
const (
	NodeSucceeded = "succeeded"
	NodeFailed    = "failed"
	NodeSkipped   = "skipped" // not run because a node it depends on failed (--keep-going)
	NodeNotRun    = "not_run" // not run: the run stopped first, or the cache made it unnecessary
)

// Summary is the run record.
type Summary struct {
	SchemaVersion   string    `json:"schemaVersion"`
	Schema          string    `json:"$schema"`
	RunID           string    `json:"runId"`
	Job             Job       `json:"job"`
	Status          string    `json:"status"`
	ExitCode        int       `json:"exitCode"`
	Error           string    `json:"error,omitempty"`
	StartedAt       time.Time `json:"startedAt"`
	EndedAt         time.Time `json:"endedAt"`
	DurationSeconds float64   `json:"durationSeconds"`
	Nodes           []Node    `json:"nodes"`
	Inputs          []Input   `json:"inputs"`
	Outputs         []Output  `json:"outputs"`
	Quality         *Quality  `json:"quality,omitempty"`
	Checks          []Check   `json:"checks"`
	Cache           *Cache    `json:"cache,omitempty"`
	Lineage         Lineage   `json:"lineage"`
	Warnings        []string  `json:"warnings"`
}

// Job names the pipeline, as in its OpenLineage events.
type Job struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// Node is one computed node of the plan.
type Node struct {
	Name            string  `json:"name"`
	Status          string  `json:"status"`
	DurationSeconds float64 `json:"durationSeconds"`
	Error           string  `json:"error,omitempty"`
	Reason          string  `json:"reason,omitempty"` // why it was skipped
	Cache           string  `json:"cache,omitempty"`  // hit, miss, stored, ... (with --cache)
}

// Input is the input file as read.
type Input struct {
	Path         string `json:"path"` // "" for the embedded sample
	Name         string `json:"name"`
	Bytes        int64  `json:"bytes"`
	SHA256       string `json:"sha256,omitempty"` // unknown for a pipe
	Rows         int64  `json:"rows"`             // data rows read
	RowsKept     int64  `json:"rowsKept"`         // after cleaning
	RowsRejected int64  `json:"rowsRejected"`     // set aside by --on-bad-rows=skip
}

// Output is one written file.
type Output struct {
	Node   string `json:"node"`
	Path   string `json:"path"`
	Format string `json:"format"`
	Rows   int64  `json:"rows"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// Quality is what data_quality_metrics measured, when it ran.
type Quality struct {
	DataLossPercent float64 `json:"dataLossPercent"`
	DuplicateRows   int64   `json:"duplicateRows"`
	NullValues      int64   `json:"nullValues"`
}

// Check is one data-quality check result.
type Check struct {
	Node      string `json:"node"`
	Name      string `json:"name"`
	Assertion string `json:"assertion"`
	Column    string `json:"column,omitempty"`
	Severity  string `json:"severity"` // the check's importance: fail or warn
	Success   bool   `json:"success"`
	Expected  string `json:"expected"`
	Actual    string `json:"actual"`
}

// Cache is the node cache's part in the run (with --cache).
type Cache struct {
	Hits   int            `json:"hits"`
	Misses int            `json:"misses"`
	Counts map[string]int `json:"counts"` // every final status
}

// Lineage is what became of the run's OpenLineage events.
type Lineage struct {
	Enabled   bool   `json:"enabled"`
	Transport string `json:"transport,omitempty"`
	Emitted   int    `json:"emitted"`
	Sent      int    `json:"sent"`
	Queued    int    `json:"queued"` // saved in the outbox for `salesdag lineage flush`
	Failed    int    `json:"failed"` // refused by the backend or lost
	Outbox    string `json:"outbox,omitempty"`
}

// Params is what New builds a summary from.
type Params struct {
	RunID    string
	Job      Job
	Started  time.Time
	Ended    time.Time
	ExitCode int
	Err      error
	Result   *app.RunResult  // nil when the run never started
	Checks   *checks.Runner  // nil: no checks
	Lineage  *lineage.Report // nil: lineage disabled
	Warnings []string
}

// New builds the summary of a finished run. It reads the written files to
// hash them, and the input unless it is a pipe; a file that cannot be read
// is reported as a warning, never as an error.
func New(p Params) *Summary {
	s := &Summary{
		SchemaVersion: SchemaVersion, Schema: SchemaURL,
		RunID: p.RunID, Job: p.Job, ExitCode: p.ExitCode, Status: StatusOf(p.ExitCode),
		StartedAt: p.Started.UTC(), EndedAt: p.Ended.UTC(),
		DurationSeconds: p.Ended.Sub(p.Started).Seconds(),
		Nodes:           []Node{}, Inputs: []Input{}, Outputs: []Output{}, Checks: []Check{},
		Warnings: append([]string{}, p.Warnings...),
	}
	if p.Err != nil {
		s.Error = p.Err.Error()
	}
	if r := p.Result; r != nil {
		s.addNodes(r, r.Skipped)
		s.addInput(r)
		for _, w := range r.Written {
			o := Output{Node: w.Node, Path: w.Path, Format: w.Format, Rows: w.Rows, Bytes: w.Bytes}
			var err error
			if o.SHA256, _, err = hashFile(func() (io.ReadCloser, error) { return os.Open(w.Path) }); err != nil {
				s.Warnings = append(s.Warnings, fmt.Sprintf("summary: hashing %s: %v", filepath.Base(w.Path), err))
			}
			s.Outputs = append(s.Outputs, o)
		}
		if q, ok := r.Results[pipeline.NodeQuality].(pipeline.QualityMetrics); ok {
			s.Quality = &Quality{DataLossPercent: float64(q.DataLossRate), DuplicateRows: q.DuplicateCount, NullValues: q.NullCount}
		}
		if r.Cache != nil {
			c := &Cache{Counts: map[string]int{}}
			for st, n := range r.Cache.Counts() {
				c.Counts[string(st)] = n
				switch st {
				case cache.StatusHit:
					c.Hits += n
				case cache.StatusMiss, cache.StatusCorrupt:
					c.Misses += n
				}
			}
			s.Cache = c
		}
	}
	if p.Checks != nil {
		for _, c := range p.Checks.Results() {
			s.Checks = append(s.Checks, Check{Node: c.Node, Name: c.Name, Assertion: string(c.Assertion), Column: c.Column,
				Severity: string(c.Importance), Success: c.Success, Expected: c.Expected, Actual: c.Actual})
		}
	}
	if rep := p.Lineage; rep != nil {
		s.Lineage = Lineage{Enabled: rep.Transport != "none", Transport: rep.Transport, Emitted: rep.Emitted, Sent: rep.Sent,
			Queued: rep.Outboxed, Failed: rep.Rejected + rep.Lost}
		if rep.Outboxed > 0 {
			s.Lineage.Outbox = rep.OutboxPath
		}
	}
	return s
}

// StatusOf maps an exit code to the run status.
func StatusOf(code int) string {
	switch code {
	case 0:
		return StatusSucceeded
	case 3:
		return StatusChecksFailed
	case 4:
		return StatusLineage
	case 130, 143:
		return StatusInterrupted
	}
	return StatusFailed
}

func (s *Summary) addNodes(r *app.RunResult, skipped map[string]string) {
	if r.Plan == nil {
		return
	}
	timed := map[string]app.NodeTiming{}
	for _, t := range r.Nodes {
		timed[t.Node] = t
	}
	for _, n := range r.Plan.Nodes {
		if n.IsInput {
			continue
		}
		nd := Node{Name: n.Name, Status: NodeNotRun}
		if t, ok := timed[n.Name]; ok {
			nd.DurationSeconds = t.Duration.Seconds()
			nd.Status, nd.Error = NodeSucceeded, t.Err
			if t.Err != "" {
				nd.Status = NodeFailed
			}
		} else if why, ok := skipped[n.Name]; ok {
			nd.Status, nd.Reason = NodeSkipped, why
		}
		if r.Cache != nil {
			if st, ok := r.Cache.State(n.Name); ok {
				nd.Cache = string(st.Status)
			}
		}
		s.Nodes = append(s.Nodes, nd)
	}
}

func (s *Summary) addInput(r *app.RunResult) {
	src := r.Source
	if len(src.Files) > 0 {
		s.addFiles(r)
		return
	}
	if src.Open == nil {
		return // the input could not be opened
	}
	in := Input{Path: src.Path, Name: src.Name, Bytes: src.Size, Rows: r.RowsRead, RowsKept: r.RowsKept, RowsRejected: r.Rejected}
	if !src.Stream {
		sum, n, err := hashFile(src.Open)
		if err != nil {
			s.Warnings = append(s.Warnings, fmt.Sprintf("summary: hashing the input: %v", err))
		} else {
			in.SHA256, in.Bytes = sum, n
		}
	}
	s.Inputs = append(s.Inputs, in)
}

// addFiles lists each file of a multi-file input with its own counts;
// a run served from the cache did not read the files, so their counts
// are unknown (0, with a warning).
func (s *Summary) addFiles(r *app.RunResult) {
	for i, f := range r.Source.Files {
		in := Input{Path: f.Path, Name: f.Name, Bytes: f.Size}
		if i < len(r.Files) {
			st := r.Files[i]
			in.Rows, in.RowsKept, in.RowsRejected = st.Rows, st.Kept, st.Rejected
		}
		if !f.Stream {
			sum, n, err := hashFile(f.Source().Open)
			if err != nil {
				s.Warnings = append(s.Warnings, fmt.Sprintf("summary: hashing the input %s: %v", f.Name, err))
			} else {
				in.SHA256, in.Bytes = sum, n
			}
		}
		s.Inputs = append(s.Inputs, in)
	}
	if r.Files == nil && r.RowsRead > 0 {
		s.Warnings = append(s.Warnings, "summary: the rows of each input file are unknown: the results came from the cache, which read no file")
	}
}

func hashFile(open func() (io.ReadCloser, error)) (string, int64, error) {
	f, err := open()
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// Write writes the summary to path, atomically (a temporary file renamed
// into place), or to stdout as one line for "-".
func (s *Summary) Write(path string, stdout io.Writer) error {
	if path == "-" {
		b, err := json.Marshal(s)
		if err != nil {
			return err
		}
		_, err = stdout.Write(append(b, '\n'))
		return err
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(path, append(b, '\n'))
}

func writeAtomic(path string, data []byte) error {
	_, err := fsutil.WriteFile(path, fsutil.Options{Perm: 0o644, NoSync: true}, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
	return err
}
