package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/salesdag/salesdag/internal/app"
	"github.com/salesdag/salesdag/internal/checks"
	"github.com/salesdag/salesdag/internal/pipeline"
	"github.com/salesdag/salesdag/internal/units"
)

// screenSummary is what `salesdag run` tells a person at the end: what was read
// and written, node timings, where the lineage went, then one status line
// (PASS, WARN with the failed checks, FAIL) and the next step.
type screenSummary struct {
	res      *app.RunResult
	took     time.Duration // the whole run, lineage delivery included
	session  *lineageSession
	checks   *checks.Runner
	warnings int // warnings logged, besides failed checks
}

// String is the whole summary of a run that wrote its results; runErr is
// nil, or what still failed it (--lineage-strict).
func (s screenSummary) String(runErr error) string {
	var b strings.Builder
	r := s.res
	if fromCache(r) {
		fmt.Fprintf(&b, "salesdag: from cache (%s from %s, kept %s)", units.Plural(r.RowsRead, "row"), r.Source.Name, units.Count(r.RowsKept))
	} else {
		fmt.Fprintf(&b, "salesdag: read %s from %s, kept %s", units.Plural(r.RowsRead, "row"), r.Source.Name, units.Count(r.RowsKept))
	}
	if r.Rejected > 0 {
		fmt.Fprintf(&b, ", rejected %s", units.Count(r.Rejected))
	}
	fmt.Fprintf(&b, "; wrote %s in %s\n", units.Plural(int64(len(r.Written)), "file"), roundDuration(s.took))
	wd, _ := os.Getwd()
	for _, wr := range r.Written {
		path := wr.Path
		if rel, err := filepath.Rel(wd, path); err == nil && !strings.HasPrefix(rel, "..") {
			path = rel
		}
		fmt.Fprintf(&b, "  %-40s %14s %10s\n", path, units.Plural(wr.Rows, "row"), units.Bytes(wr.Bytes))
	}
	if len(r.Tables) > 0 {
		fmt.Fprintf(&b, "  and %s into %s:\n", units.Plural(int64(len(r.Tables)), "table"), r.Tables[0].Location.Where())
		for _, t := range r.Tables {
			fmt.Fprintf(&b, "  %-40s %14s\n", t.Location.TableName(), units.Plural(t.Rows, "row"))
		}
	}
	b.WriteString("  node timings:\n")
	for _, n := range r.Nodes {
		status := ""
		if r.Cache != nil {
			if st, ok := r.Cache.State(n.Node); ok {
				status = "  cache " + string(st.Status)
			}
		}
		fmt.Fprintf(&b, "    %-26s %12s%s\n", n.Node, roundDuration(n.Duration), status)
	}
	if r.Cache != nil {
		fmt.Fprintf(&b, "  cache: %s\n", r.Cache.Summary())
	}
	if s.session != nil && s.session.historyOnly {
		if s.session.history != nil {
			fmt.Fprintf(&b, "lineage: %s in the local history only (set OPENLINEAGE_URL to send them, --lineage console to print them)\n",
				units.Plural(s.session.events.Load(), "event"))
		} else {
			b.WriteString("lineage: not sent and not recorded (set OPENLINEAGE_URL to send, --lineage console to print)\n")
		}
	}
	b.WriteString(s.status(runErr))
	return b.String()
}

// status is the status line and the next step, e.g.
// "PASS  all 32 checks passed\nnext: salesdag lineage show 01a2...\n".
func (s screenSummary) status(runErr error) string {
	var results []checks.Result
	if s.checks != nil {
		results = s.checks.Results()
	}
	var failed []string
	for _, r := range results {
		if !r.Success {
			failed = append(failed, checkText(r))
		}
	}
	var b strings.Builder
	var fe *checks.FailedError
	var ee *exitError
	switch {
	case errors.As(runErr, &ee) && ee.code == exitLineage:
		b.WriteString("FAIL  lineage events not delivered (--lineage-strict); the results were written")
	case runErr != nil && errors.As(runErr, &fe):
		fmt.Fprintf(&b, "FAIL  %d of %s failed", len(failed), units.Plural(int64(len(results)), "check"))
	case runErr != nil:
		b.WriteString("FAIL  the run failed")
	default:
		undelivered := s.session != nil && s.session.report != nil && !s.session.report.OK()
		var parts []string
		if len(failed) > 0 {
			parts = append(parts, fmt.Sprintf("%d of %s failed: %s", len(failed), units.Plural(int64(len(results)), "check"), strings.Join(failed, "; ")))
		}
		if undelivered {
			parts = append(parts, "lineage events not delivered (saved to the outbox)")
		}
		if s.warnings > 0 {
			parts = append(parts, units.Plural(int64(s.warnings), "warning")+" above")
		}
		switch {
		case len(parts) > 0:
			b.WriteString("WARN  " + strings.Join(parts, "; "))
		case len(results) > 0:
			fmt.Fprintf(&b, "PASS  all %s passed", units.Plural(int64(len(results)), "check"))
		default:
			b.WriteString("PASS")
		}
	}
	b.WriteString("\n")
	if s.session != nil && s.session.history != nil && s.session.runID != uuid.Nil {
		fmt.Fprintf(&b, "next: salesdag lineage show %s\n", s.session.runID)
	}
	return b.String()
}

// checkText names a failed check briefly:
// "data_quality_metrics.no_duplicate_rows: duplicate_count expected <= 0, got 1494".
func checkText(r checks.Result) string {
	t := r.Node + "." + r.Name + ": "
	if r.Column != "" {
		t += r.Column + " "
	}
	return t + "expected " + r.Expected + ", got " + r.Actual
}

// fromCache reports whether the input was not read at all: every result
// came from the cache.
func fromCache(r *app.RunResult) bool {
	if r.Cache == nil {
		return false
	}
	p := r.Cache.Plan()
	return !p.Has(pipeline.NodeRaw) || p.IsGiven(pipeline.NodeRaw)
}

// roundDuration keeps three significant digits or so: 712ms, 1.24s, 38µs.
func roundDuration(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return d.Round(100 * time.Millisecond).String()
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= 10*time.Millisecond:
		return d.Round(time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	case d >= 10*time.Microsecond:
		return d.Round(time.Microsecond).String()
	}
	return d.String()
}
