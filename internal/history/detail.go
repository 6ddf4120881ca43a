package history

import (
	"cmp"
	"path"
	"strings"

	"github.com/google/uuid"

	"github.com/salesdag/salesdag/internal/lineage"
)

// Detail is everything `lineage show` prints about one run, derived from
// its recorded events.
type Detail struct {
	Run
	Datasets []DatasetInfo `json:"datasets"`
	Checks   []Check       `json:"checks"`
}

// DatasetInfo is a dataset the run read or wrote.
type DatasetInfo struct {
	Role      string  `json:"role"` // "input" or "output"
	Namespace string  `json:"namespace"`
	Name      string  `json:"name"`
	Node      string  `json:"node,omitempty"` // node that read or wrote it, when known
	Rows      *int64  `json:"rows,omitempty"`
	Bytes     *int64  `json:"bytes,omitempty"`
	Fields    []Field `json:"fields,omitempty"`
}

// Field is one column of a dataset's schema.
type Field struct {
	Name string `json:"name"`
	Type string `json:"type,omitempty"`
}

// Check is one data-quality check's result.
type Check struct {
	// Dataset the check was reported on; "" when only the node's run
	// carries it (a result that is not written).
	Dataset     string `json:"dataset"`
	Node        string `json:"node,omitempty"`
	Name        string `json:"name"`
	Assertion   string `json:"assertion"`
	Column      string `json:"column,omitempty"`
	Success     bool   `json:"success"`
	Severity    string `json:"severity,omitempty"`
	Expected    string `json:"expected,omitempty"`
	Actual      string `json:"actual,omitempty"`
	Description string `json:"description,omitempty"`
}

// Detail returns the summary of run id with its datasets and checks.
func (s *Store) Detail(id uuid.UUID) (*Detail, error) {
	r, err := s.Get(id)
	if err != nil {
		return nil, err
	}
	evs, err := s.Events(id)
	if err != nil {
		return nil, err
	}
	return buildDetail(r, evs), nil
}

// datasetIndex attributes datasets to nodes: a node event's datasets to
// its node, and a run output to the node it is named after
// ("<dir>/weekly_aggregation.csv" -> weekly_aggregation).
type datasetIndex struct {
	nodes   map[string]bool
	writer  map[string]string // dataset key -> node that wrote it
	readers map[string]string // dataset key -> first node that read it
}

func dsKey(ns, name string) string { return ns + "\x00" + name }

func newDatasetIndex(r *Run, evs []*lineage.RunEvent) *datasetIndex {
	ix := &datasetIndex{nodes: map[string]bool{}, writer: map[string]string{}, readers: map[string]string{}}
	for _, n := range r.Nodes {
		ix.nodes[n.Name] = true
	}
	for _, ev := range evs {
		_, node := rootOf(ev)
		if node == "" {
			continue
		}
		ix.nodes[node] = true
		for _, o := range ev.Outputs {
			ix.writer[dsKey(o.Namespace, o.Name)] = node
		}
		for _, in := range ev.Inputs {
			k := dsKey(in.Namespace, in.Name)
			if _, ok := ix.readers[k]; !ok {
				ix.readers[k] = node
			}
		}
	}
	return ix
}

// writerOf returns the node that wrote a dataset, "" for an outside one.
func (ix *datasetIndex) writerOf(ns, name string) string {
	if n, ok := ix.writer[dsKey(ns, name)]; ok {
		return n
	}
	if base := stem(name); ix.nodes[base] {
		return base
	}
	return ""
}

// stem is a file's name up to its first dot: "out/weekly.csv" -> "weekly".
func stem(name string) string {
	base := path.Base(name)
	if i := strings.IndexByte(base, '.'); i > 0 {
		return base[:i]
	}
	return base
}

func buildDetail(r *Run, evs []*lineage.RunEvent) *Detail {
	d := &Detail{Run: *r, Datasets: []DatasetInfo{}, Checks: []Check{}}
	ix := newDatasetIndex(r, evs)
	dsAt := map[string]int{}
	upsert := func(role, ns, name, node string) *DatasetInfo {
		k := role + "\x00" + dsKey(ns, name)
		i, ok := dsAt[k]
		if !ok {
			i = len(d.Datasets)
			dsAt[k] = i
			d.Datasets = append(d.Datasets, DatasetInfo{Role: role, Namespace: ns, Name: name})
		}
		ds := &d.Datasets[i]
		if node != "" {
			ds.Node = node
		}
		return ds
	}
	// Checks: the salesdag_checks run facet of a node's run names the
	// node for certain; the same results also travel as
	// dataQualityAssertions on the datasets (every file written, and the
	// input for the checks about it), which only add where they were
	// attached.
	checkAt := map[string]int{}
	checkKey := func(c Check) string { return c.Name + "\x00" + c.Assertion + "\x00" + c.Column }
	for _, ev := range evs {
		_, node := rootOf(ev)
		for _, c := range nodeChecks(ev, node) {
			k := c.Node + "\x00" + checkKey(c)
			if i, ok := checkAt[k]; ok {
				d.Checks[i] = c
				continue
			}
			checkAt[k] = len(d.Checks)
			d.Checks = append(d.Checks, c)
		}
	}
	fromFacet := len(d.Checks)
	// sure: node wrote the dataset (an output); an input's reader is not
	// necessarily the node whose checks are about it.
	addChecks := func(ds *DatasetInfo, node string, sure bool, facets ...*lineage.DataQualityAssertionsFacet) {
		for _, f := range facets {
			if f == nil {
				continue
			}
			for _, a := range f.Assertions {
				c := Check{
					Dataset: DatasetName(ds.Namespace, ds.Name), Node: node, Name: cmp.Or(a.Name, a.Assertion), Assertion: a.Assertion,
					Column: a.Column, Success: a.Success, Severity: a.Severity, Expected: a.Expected,
					Actual: a.Actual, Description: a.Description,
				}
				known := -1
				for i := 0; i < fromFacet; i++ {
					if checkKey(d.Checks[i]) != checkKey(c) {
						continue
					}
					if d.Checks[i].Node == node {
						known = i
						break
					}
					if !sure && known < 0 && d.Checks[i].Dataset == "" {
						known = i
					}
				}
				if known >= 0 {
					d.Checks[known].Dataset = cmp.Or(d.Checks[known].Dataset, c.Dataset)
					continue
				}
				k := c.Dataset + "\x00" + checkKey(c)
				if i, ok := checkAt[k]; ok {
					c.Node = cmp.Or(c.Node, d.Checks[i].Node)
					d.Checks[i] = c
					continue
				}
				checkAt[k] = len(d.Checks)
				d.Checks = append(d.Checks, c)
			}
		}
	}
	for _, ev := range evs {
		_, node := rootOf(ev)
		for _, in := range ev.Inputs {
			reader := cmp.Or(node, ix.readers[dsKey(in.Namespace, in.Name)])
			ds := upsert("input", in.Namespace, in.Name, reader)
			if st := in.InputFacets.InputStatistics; st != nil {
				ds.Rows, ds.Bytes = cmp.Or(st.RowCount, ds.Rows), cmp.Or(st.Size, ds.Bytes)
			}
			if m := in.InputFacets.DataQualityMetrics; m != nil {
				ds.Rows, ds.Bytes = cmp.Or(ds.Rows, m.RowCount), cmp.Or(ds.Bytes, m.Bytes)
			}
			setFields(ds, in.Facets.Schema)
			addChecks(ds, reader, false, in.InputFacets.DataQualityAssertions, in.Facets.DataQualityAssertions)
		}
		for _, o := range ev.Outputs {
			writer := cmp.Or(node, ix.writerOf(o.Namespace, o.Name))
			ds := upsert("output", o.Namespace, o.Name, writer)
			if st := o.OutputFacets.OutputStatistics; st != nil {
				ds.Rows, ds.Bytes = cmp.Or(st.RowCount, ds.Rows), cmp.Or(st.Size, ds.Bytes)
			}
			setFields(ds, o.Facets.Schema)
			addChecks(ds, writer, writer != "", o.Facets.DataQualityAssertions)
		}
	}
	// Nodes whose events carry no datasets still get the row count of the
	// file written from their result.
	for i := range d.Nodes {
		n := &d.Nodes[i]
		if n.RowsOut != nil {
			continue
		}
		for _, ds := range d.Datasets {
			if ds.Role == "output" && ds.Node == n.Name && ds.Rows != nil {
				rows := *ds.Rows
				n.RowsOut = &rows
				break
			}
		}
	}
	return d
}

func setFields(ds *DatasetInfo, s *lineage.SchemaDatasetFacet) {
	if s == nil || len(s.Fields) == 0 {
		return
	}
	ds.Fields = ds.Fields[:0]
	for _, f := range s.Fields {
		ds.Fields = append(ds.Fields, Field{Name: f.Name, Type: f.Type})
	}
}

// NodeChecks counts the checks attributed to node: how many ran and how
// many failed.
func (d *Detail) NodeChecks(node string) (total, failed int) {
	for _, c := range d.Checks {
		if c.Node == node {
			total++
			if !c.Success {
				failed++
			}
		}
	}
	return total, failed
}

// ChecksFacetKey is the custom run facet in which salesdag reports the
// results of a node's data-quality checks on the node's run.
const ChecksFacetKey = "salesdag_checks"

// nodeChecks reads the salesdag_checks facet of a node run's event.
func nodeChecks(ev *lineage.RunEvent, node string) []Check {
	var f struct {
		Checks []struct {
			Check
			Importance string `json:"importance"`
		} `json:"checks"`
	}
	if node == "" || !customFacet(ev, ChecksFacetKey, &f) {
		return nil // none, or a facet of another shape: not ours to read
	}
	out := make([]Check, 0, len(f.Checks))
	for _, c := range f.Checks {
		// The facet names no dataset: the node's run carries it.
		c.Dataset, c.Node, c.Name = "", cmp.Or(c.Node, node), cmp.Or(c.Name, c.Assertion)
		c.Severity = cmp.Or(c.Severity, c.Importance)
		out = append(out, c.Check)
	}
	return out
}
