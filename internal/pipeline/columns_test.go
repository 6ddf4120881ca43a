package pipeline

import (
	"context"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/columns"
	"github.com/salesdag/salesdag/internal/dag"
	"github.com/salesdag/salesdag/internal/output"
)

// allNodes are the eight computed nodes.
var allNodes = []string{NodeRaw, NodeCleaned, NodeDaily, NodeQuality, NodeEnriched, NodeWeekly, NodeTrend, NodeTop}

func buildDAG(t *testing.T) *dag.DAG {
	t.Helper()
	g := dag.New()
	Register(g)
	d, err := g.Build()
	require.NoError(t, err)
	return d
}

// executeAll runs every node through the engine and returns the results.
func executeAll(t *testing.T, src Source, opts Options, hooks ...dag.Hooks) dag.Results {
	t.Helper()
	d := buildDAG(t)
	p, err := d.Plan(allNodes...)
	require.NoError(t, err)
	res, err := d.Execute(context.Background(), p, map[string]any{InputSource: src, InputOptions: opts}, dag.WithHooks(hooks...))
	require.NoError(t, err)
	return res
}

func catalog(t *testing.T) *columns.Catalog {
	t.Helper()
	c, err := Columns()
	require.NoError(t, err)
	return c
}

// TestColumnDeclarationsSound: every node of the graph is declared, and
// every declared input column exists in a dependency of the node (the
// catalog itself checks that the column exists there).
func TestColumnDeclarationsSound(t *testing.T) {
	c := catalog(t)
	d := buildDAG(t)
	var computed []string
	for _, n := range d.Nodes() {
		if !n.IsInput {
			computed = append(computed, n.Name)
		}
	}
	var declared []string
	for _, n := range columnDecls {
		declared = append(declared, n.Name)
	}
	require.ElementsMatch(t, computed, declared, "one declaration per node")
	require.NoError(t, c.CheckDeps(func(name string) ([]string, bool) {
		n, ok := d.Node(name)
		if !ok {
			return nil, false
		}
		return n.Deps, true
	}))
	cols, ok := c.Columns(InputSource)
	require.True(t, ok)
	require.Equal(t, ColumnNames[:], cols, "the input's columns are the required ones")
}

// TestColumnDeclarationsComplete compares the declared columns of every
// node with the schema of its real result, in both bad-row modes (skip
// mode adds rejected_record_count).
func TestColumnDeclarationsComplete(t *testing.T) {
	c := catalog(t)
	for _, policy := range []BadRowPolicy{FailOnBadRows, SkipBadRows} {
		t.Run(policy.String(), func(t *testing.T) {
			res := executeAll(t, SampleSource(), Options{OnBadRows: policy})
			for _, node := range allNodes {
				schema := output.SchemaOf(res[node])
				require.NotEmpty(t, schema, node)
				var names []string
				for _, f := range schema {
					names = append(names, f.Name)
				}
				declared, _ := c.Columns(node)
				if node == NodeQuality && policy == FailOnBadRows {
					// The schema follows the file, which has no
					// rejected_record_count without skip mode.
					require.NotContains(t, names, "rejected_record_count")
					require.Equal(t, declared[:len(declared)-1], names)
					require.Equal(t, "rejected_record_count", declared[len(declared)-1])
					continue
				}
				require.NoError(t, c.CheckColumns(node, names))
				require.Equal(t, names, declared, "%s: declared in result order", node)
			}
		})
	}
}

// short renders a dep as "column DIRECT [INDIRECT...]" with node names.
func short(d columns.Dep) string {
	s := d.Column
	if d.Direct != nil {
		s += " " + string(d.Direct.Subtype)
	}
	for _, st := range d.Indirect {
		s += " " + st.Node + "/" + string(st.Subtype)
	}
	return s
}

func TestResolvedExamples(t *testing.T) {
	c := catalog(t)
	const (
		rawF   = NodeRaw + "/FILTER"
		cleanF = NodeCleaned + "/FILTER"
		dailyG = NodeDaily + "/GROUP_BY"
		dailyS = NodeDaily + "/SORT"
		weekG  = NodeWeekly + "/GROUP_BY"
		weekS  = NodeWeekly + "/SORT"
	)
	tests := []struct {
		node, col string
		want      []string
	}{
		// The example: weekly_total <- amount (AGGREGATION),
		// grouped by date, the cleaning filter on all four columns.
		{NodeWeekly, "weekly_total", []string{
			"date " + rawF + " " + cleanF + " " + dailyG + " " + dailyS + " " + weekG + " " + weekS,
			"product_id " + rawF + " " + cleanF,
			"amount AGGREGATION " + rawF + " " + cleanF,
			"customer_id " + rawF + " " + cleanF,
		}},
		{NodeDaily, "date", []string{
			"date IDENTITY " + rawF + " " + cleanF + " " + dailyG + " " + dailyS,
			"product_id " + rawF + " " + cleanF,
			"amount " + rawF + " " + cleanF,
			"customer_id " + rawF + " " + cleanF,
		}},
		{NodeEnriched, "total_amount_change", []string{
			"date " + rawF + " " + cleanF + " " + dailyG + " " + dailyS + " " + NodeEnriched + "/WINDOW",
			"product_id " + rawF + " " + cleanF,
			"amount AGGREGATION " + rawF + " " + cleanF,
			"customer_id " + rawF + " " + cleanF,
		}},
		{NodeTrend, "max_sales_date", []string{
			"date IDENTITY " + rawF + " " + cleanF + " " + dailyG + " " + dailyS,
			"product_id " + rawF + " " + cleanF,
			"amount " + rawF + " " + cleanF + " " + NodeTrend + "/SORT",
			"customer_id " + rawF + " " + cleanF,
		}},
		{NodeQuality, "raw_record_count", []string{
			"date AGGREGATION " + rawF,
			"product_id AGGREGATION " + rawF,
			"amount AGGREGATION " + rawF,
			"customer_id AGGREGATION " + rawF,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.node+"."+tt.col, func(t *testing.T) {
			f, ok := c.ResolveColumn(tt.node, tt.col)
			require.True(t, ok)
			var got []string
			for _, d := range f.Deps {
				got = append(got, short(d))
			}
			require.Equal(t, tt.want, got)
		})
	}
	r, ok := c.Resolve(NodeWeekly)
	require.True(t, ok)
	var ds []string
	for _, d := range r.Dataset {
		ds = append(ds, short(d))
	}
	require.Equal(t, []string{
		"date " + rawF + " " + cleanF + " " + dailyG + " " + dailyS + " " + weekG + " " + weekS,
		"product_id " + rawF + " " + cleanF,
		"amount " + rawF + " " + cleanF,
		"customer_id " + rawF + " " + cleanF,
	}, ds)
}

// TestCustomerIDNeverFlowsToOutputs: customer_id is personal data. In
// every result the pipeline writes by default, it may only shape rows
// (INDIRECT) or be counted (masked), never be copied or transformed.
func TestCustomerIDNeverFlowsToOutputs(t *testing.T) {
	c := catalog(t)
	for _, node := range DefaultOutputs {
		r, ok := c.Resolve(node)
		require.True(t, ok)
		for _, f := range r.Fields {
			d, ok := f.Dep(InputSource, "customer_id")
			if !ok || d.Direct == nil {
				continue
			}
			require.True(t, d.Direct.Masking, "%s.%s carries customer_id unmasked", node, f.Name)
		}
	}
	// Only the row-level nodes carry it as is.
	for _, node := range []string{NodeRaw, NodeCleaned} {
		f, ok := c.ResolveColumn(node, "customer_id")
		require.True(t, ok)
		require.Equal(t, columns.Identity, f.Deps[slices.IndexFunc(f.Deps, func(d columns.Dep) bool { return d.Column == "customer_id" })].Direct.Subtype)
	}
}
