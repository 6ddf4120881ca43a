package app

import (
	"log/slog"

	"github.com/salesdag/salesdag/internal/checks"
	"github.com/salesdag/salesdag/internal/lineage"
	"github.com/salesdag/salesdag/internal/pipeline"
)

// NewChecks returns the runner of the sales nodes' default data-quality
// checks; bad options (--max-data-loss out of 0..100) are a usage error.
// Given as Options.Checks, a failed check of importance fail stops Run
// before it writes, with a *checks.FailedError (exit code 3).
func NewChecks(o pipeline.CheckOptions, log *slog.Logger) (*checks.Runner, error) {
	if err := o.Validate(); err != nil {
		return nil, &UsageError{Err: err}
	}
	return checks.NewRunner(log, pipeline.DefaultChecks(o)...)
}

// ChecksFacetKey is the custom run facet that carries a node's check
// results in its node run events, whether or not the node's result is
// written (the history reads it for nodes without datasets).
const ChecksFacetKey = "salesdag_checks"

// ChecksRunFacet is the salesdag_checks run facet.
type ChecksRunFacet struct {
	lineage.BaseFacet
	Checks []CheckRecord `json:"checks"`
}

// CheckRecord is one check result in the salesdag_checks facet.
type CheckRecord struct {
	checks.Result
	Severity string `json:"severity"`
}

// Severity maps a check's importance to the dataQualityAssertions
// severity: fail -> "error" (blocks the run), warn -> "warn".
func Severity(i checks.Importance) string {
	if i == checks.Fail {
		return "error"
	}
	return "warn"
}

// AssertionsFacet turns check results into a dataQualityAssertions facet;
// nil when there are none.
func AssertionsFacet(results []checks.Result) *lineage.DataQualityAssertionsFacet {
	if len(results) == 0 {
		return nil
	}
	as := make([]lineage.Assertion, len(results))
	for i, r := range results {
		as[i] = lineage.Assertion{
			Assertion: string(r.Assertion), Success: r.Success, Column: r.Column,
			Severity: Severity(r.Importance), Name: r.Name, Description: r.Description,
			Expected: r.Expected, Actual: r.Actual,
		}
	}
	return lineage.NewDataQualityAssertionsFacet(as...)
}

// NewChecksRunFacet wraps results in the salesdag_checks run facet; nil
// when there are none.
func NewChecksRunFacet(results []checks.Result) *ChecksRunFacet {
	if len(results) == 0 {
		return nil
	}
	f := &ChecksRunFacet{BaseFacet: lineage.NewBaseFacet(lineage.CustomFacetSchemaURL("SalesdagChecksRunFacet"))}
	for _, r := range results {
		f.Checks = append(f.Checks, CheckRecord{Result: r, Severity: Severity(r.Importance)})
	}
	return f
}

// CheckNodeEvents returns a callback for LineageOptions.OnNodeEvent: on a
// node run's COMPLETE event it evaluates the node's checks (once; the
// AfterNode hook then reuses them) and adds the results as the
// salesdag_checks run facet. (dataQualityAssertions is an input dataset
// facet in the spec: it carries only the checks about the input file, see
// AddInputChecks.)
func CheckNodeEvents(r *checks.Runner) func(lineage.NodeEvent) {
	return func(ne lineage.NodeEvent) {
		if r == nil || ne.Result == nil || ne.Result.Err != nil || ne.Event == nil {
			return
		}
		res := r.Evaluate(ne.Node.Name, ne.Result.Value)
		if len(res) == 0 {
			return
		}
		ne.Event.Run.Facets.SetCustom(ChecksFacetKey, NewChecksRunFacet(res))
	}
}

// InputCheckNodes are the nodes whose checks are about the input file
// itself (row counts, loss rate, duplicates): their results also go on
// the input dataset, as the dataQualityAssertions input facet.
var InputCheckNodes = []string{pipeline.NodeQuality}

// AddInputChecks adds the results of InputCheckNodes' checks to the input
// dataset of the root run's terminal event.
func AddInputChecks(r *checks.Runner, in *lineage.InputDataset) {
	if r == nil || in == nil {
		return
	}
	var res []checks.Result
	for _, n := range InputCheckNodes {
		if x, ok := r.NodeResults(n); ok {
			res = append(res, x...)
		}
	}
	if f := AssertionsFacet(res); f != nil {
		in.InputFacets.DataQualityAssertions = f
	}
}
