package dag

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func planNames(p *Plan) []string {
	var out []string
	for _, n := range p.Nodes {
		out = append(out, n.Name)
	}
	return out
}

func TestPlan(t *testing.T) {
	d := mustBuild(t, sampleGraph())
	tests := []struct {
		outputs     []string
		wantOutputs []string
		wantNodes   []string
	}{
		{[]string{"b"}, []string{"b"}, []string{"src", "a", "b"}},
		{[]string{"d"}, []string{"d"}, []string{"src", "a", "b", "c", "d"}},
		{[]string{"e", "b", "e", "b"}, []string{"e", "b"}, []string{"src", "a", "b", "e"}},
		{[]string{"f"}, []string{"f"}, []string{"f"}},
		{[]string{"src"}, []string{"src"}, []string{"src"}},
		{[]string{"g"}, []string{"g"}, []string{"src", "a", "b", "c", "d", "e", "f", "g"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.outputs), func(t *testing.T) {
			p, err := d.Plan(tt.outputs...)
			require.NoError(t, err)
			require.Equal(t, tt.wantOutputs, p.Outputs)
			require.Equal(t, tt.wantNodes, planNames(p))
			for _, n := range d.Nodes() {
				require.Equal(t, contains(tt.wantNodes, n.Name), p.Has(n.Name), n.Name)
			}
			require.False(t, p.Has("nope"))
		})
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func TestPlanErrors(t *testing.T) {
	g := New()
	Input[int](g, "source", "")
	for _, name := range []string{"daily_sales_summary", "trend_analysis", "weekly_aggregation", "top_performing_days"} {
		Add1(g, Spec{Name: name}, "source", inc)
	}
	d := mustBuild(t, g)
	tests := []struct {
		name    string
		outputs []string
		want    string
		sugg    [][]string
	}{
		{"none", nil, "plan: no outputs requested; name at least one node", nil},
		{"typo", []string{"trend_analyss"}, `unknown output "trend_analyss" (did you mean "trend_analysis"?)`,
			[][]string{{"trend_analysis"}}},
		{"case", []string{"Trend_Analysis"}, `unknown output "Trend_Analysis" (did you mean "trend_analysis"?)`,
			[][]string{{"trend_analysis"}}},
		{"partial", []string{"weekly"}, `unknown output "weekly" (did you mean "weekly_aggregation"?)`,
			[][]string{{"weekly_aggregation"}}},
		{"several matches", []string{"a"}, `unknown output "a" (known: daily_sales_summary, trend_analysis, weekly_aggregation, top_performing_days)`,
			[][]string{nil}},
		{"two unknowns, one valid", []string{"dialy_sales_summary", "trend_analysis", "top"},
			"unknown output \"dialy_sales_summary\" (did you mean \"daily_sales_summary\"?)\n" +
				`unknown output "top" (did you mean "top_performing_days"?)`,
			[][]string{{"daily_sales_summary"}, {"top_performing_days"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := d.Plan(tt.outputs...)
			require.Nil(t, p)
			require.EqualError(t, err, tt.want)
			if tt.sugg == nil {
				return
			}
			var got [][]string
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				for _, e := range j.Unwrap() {
					got = append(got, e.(*UnknownNodeError).Suggestions)
				}
			}
			require.Equal(t, tt.sugg, got)
		})
	}
}

func TestSuggest(t *testing.T) {
	known := []string{"raw_sales_data", "cleaned_sales_data", "daily_sales_summary", "trend_analysis", "x"}
	tests := []struct {
		name string
		want []string
	}{
		{"trend_analyss", []string{"trend_analysis"}},
		{"raw_sale_data", []string{"raw_sales_data"}},
		{"sales_data", []string{"raw_sales_data", "cleaned_sales_data"}},
		{"y", []string{"x"}},
		{"zzzz", nil},
		{"", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, suggest(tt.name, known))
		})
	}
}

func TestHintListsAtMostTwelveNames(t *testing.T) {
	var known []string
	for i := range 15 {
		known = append(known, fmt.Sprintf("node%02d", i))
	}
	require.Equal(t, " (known: node00, node01, node02, node03, node04, node05, node06, node07, node08, node09, node10, node11, ...)",
		hint("zzzzzzzz", known))
	require.Equal(t, "", hint("zzz", nil))
	require.Equal(t, ` (did you mean "node01", "node02" or "node03"?)`, hint("node0", known[1:4]))
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"abc", "", 3},
		{"", "abc", 3},
		{"kitten", "sitting", 3},
		{"trend_analyss", "trend_analysis", 1},
		{"héllo", "hello", 1},
		{"cuont", "count", 1},
		{"ab", "ba", 1},
		{"abc", "ca", 3},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, editDistance(tt.a, tt.b), "%q %q", tt.a, tt.b)
	}
}

func TestQueries(t *testing.T) {
	d := mustBuild(t, sampleGraph())
	tests := []struct {
		node       string
		upstream   []string
		downstream []string
		dependents []string
	}{
		{"src", []string{}, []string{"a", "b", "c", "d", "e", "g"}, []string{"a", "e"}},
		{"a", []string{"src"}, []string{"b", "c", "d", "g"}, []string{"b", "c"}},
		{"d", []string{"src", "a", "b", "c"}, []string{"g"}, []string{"g"}},
		{"f", []string{}, []string{"g"}, []string{"g"}},
		{"g", []string{"src", "a", "b", "c", "d", "e", "f"}, []string{}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.node, func(t *testing.T) {
			up, err := d.Upstream(tt.node)
			require.NoError(t, err)
			require.Equal(t, tt.upstream, up)
			down, err := d.Downstream(tt.node)
			require.NoError(t, err)
			require.Equal(t, tt.downstream, down)
			require.Equal(t, tt.dependents, d.Dependents(tt.node))
		})
	}
	require.Nil(t, d.Dependents("nope"))
	_, err := d.Upstream("bb")
	require.EqualError(t, err, `unknown node "bb" (did you mean "b"?)`)
	_, err = d.Downstream("zzz")
	require.EqualError(t, err, `unknown node "zzz" (known: src, a, b, c, d, e, f, g)`)
	var une *UnknownNodeError
	require.ErrorAs(t, err, &une)
	require.Equal(t, "zzz", une.Name)
	require.Equal(t, "node", une.Role)
}

func TestDependentsAreDistinct(t *testing.T) {
	g := New()
	Add0(g, Spec{Name: "x"}, seven)
	Add2(g, Spec{Name: "twice"}, "x", "x", sum)
	d := mustBuild(t, g)
	require.Equal(t, []string{"twice"}, d.Dependents("x"))
	p, err := d.Plan("twice")
	require.NoError(t, err)
	res, err := d.Execute(context.Background(), p, nil)
	require.NoError(t, err)
	require.Equal(t, 14, res["twice"])
}

func TestPath(t *testing.T) {
	d := mustBuild(t, sampleGraph())
	tests := []struct {
		from, to string
		want     []string
		err      string
	}{
		{from: "src", to: "g", want: []string{"src", "e", "g"}},
		{from: "a", to: "d", want: []string{"a", "b", "d"}},
		{from: "c", to: "g", want: []string{"c", "d", "g"}},
		{from: "f", to: "f", want: []string{"f"}},
		{from: "g", to: "src", err: `no path from "g" to "src": "g" is downstream of "src"; swap the two names`},
		{from: "b", to: "c", err: `no path from "b" to "c": neither depends on the other`},
		{from: "srcc", to: "g", err: `unknown node "srcc" (did you mean "src"?)`},
		{from: "src", to: "gg", err: `unknown node "gg" (did you mean "g"?)`},
	}
	for _, tt := range tests {
		t.Run(tt.from+"->"+tt.to, func(t *testing.T) {
			got, err := d.Path(tt.from, tt.to)
			if tt.err != "" {
				require.EqualError(t, err, tt.err)
				require.Nil(t, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}
