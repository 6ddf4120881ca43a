package dag

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPlanGiven(t *testing.T) {
	// sampleGraph: src -> a -> b,c -> d -> g; src -> e -> g; f -> g.
	d := mustBuild(t, sampleGraph())
	tests := []struct {
		name    string
		outputs []string
		given   [][]string // successive Given calls
		want    []string   // plan nodes
	}{
		{"nothing given", []string{"g"}, [][]string{nil}, []string{"src", "a", "b", "c", "d", "e", "f", "g"}},
		{"ancestors of a given node go", []string{"g"}, [][]string{{"d"}}, []string{"src", "d", "e", "f", "g"}},
		{"an input only given nodes read goes", []string{"g"}, [][]string{{"d", "e"}}, []string{"d", "e", "f", "g"}},
		{"shared ancestor stays", []string{"d"}, [][]string{{"b"}}, []string{"src", "a", "b", "c", "d"}},
		{"given output", []string{"d"}, [][]string{{"d"}}, []string{"d"}},
		{"a given node only given nodes need goes", []string{"b"}, [][]string{{"a", "b"}}, []string{"b"}},
		{"given twice adds up", []string{"g"}, [][]string{{"d"}, {"e"}}, []string{"d", "e", "f", "g"}},
		{"given root", []string{"g"}, [][]string{{"f"}}, []string{"src", "a", "b", "c", "d", "e", "f", "g"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := d.Plan(tt.outputs...)
			require.NoError(t, err)
			var all []string
			for _, names := range tt.given {
				p, err = p.Given(names...)
				require.NoError(t, err)
				all = append(all, names...)
			}
			require.Equal(t, tt.outputs, p.Outputs)
			require.Equal(t, tt.want, planNames(p))
			for _, n := range d.Nodes() {
				require.Equal(t, contains(tt.want, n.Name), p.Has(n.Name), n.Name)
				require.Equal(t, contains(all, n.Name), p.IsGiven(n.Name), n.Name)
			}
		})
	}
}

func TestPlanGivenErrors(t *testing.T) {
	d := mustBuild(t, sampleGraph())
	p, err := d.Plan("b")
	require.NoError(t, err)
	tests := []struct {
		name  string
		given []string
		want  string
	}{
		{"unknown", []string{"bb"}, `unknown node "bb" (did you mean "b"?)`},
		{"input", []string{"src"}, `given node "src" is an input: pass its value to Execute`},
		{"outside the plan", []string{"c"}, `given node "c" is not in the plan for b`},
		{"all reported", []string{"src", "a", "zz"}, "given node \"src\" is an input: pass its value to Execute\n" +
			`unknown node "zz" (known: src, a, b, c, d, e, f, g)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := p.Given(tt.given...)
			require.Nil(t, q)
			require.EqualError(t, err, tt.want)
			require.False(t, p.IsGiven(tt.given[0]), "p is unchanged")
		})
	}
}

func TestExecuteGiven(t *testing.T) {
	// g = join3(d, e, f); d is given, so a, b, c never run.
	var calls atomic.Int32
	g := New()
	Input[int](g, "src", "")
	counted := func(ctx context.Context, x int) (int, error) { calls.Add(1); return inc(ctx, x) }
	Add1(g, Spec{Name: "a"}, "src", counted)
	Add1(g, Spec{Name: "b"}, "a", counted)
	Add1(g, Spec{Name: "d"}, "b", counted)
	Add1(g, Spec{Name: "e"}, "src", itoa)
	Add2(g, Spec{Name: "g"}, "d", "e", func(_ context.Context, d int, e string) (string, error) {
		return fmt.Sprint(d, "/", e), nil
	})
	dg := mustBuild(t, g)
	full, err := dg.Plan("g")
	require.NoError(t, err)
	p, err := full.Given("d")
	require.NoError(t, err)

	var r recorder
	res, err := dg.Execute(context.Background(), p, map[string]any{"src": 1, "d": 100}, WithHooks(r.hooks("h")), Workers(1))
	require.NoError(t, err)
	require.Zero(t, calls.Load(), "nothing upstream of a given node runs")
	require.Equal(t, Results{"d": 100, "e": "1", "g": "100/1"}, res)
	require.Equal(t, []string{
		"h before-graph [g]",
		"h before d", // no Around: nothing runs
		"h after d 100 <nil>",
		"h before e",
		"h around-in e [1]",
		"h around-out e 1",
		"h after e 1 <nil>",
		"h before g",
		"h around-in g [100 1]",
		"h around-out g 100/1",
		"h after g 100/1 <nil>",
		"h after-graph <nil>",
	}, r.log)

	var given []string
	_, err = dg.Execute(context.Background(), p, map[string]any{"src": 1, "d": 5}, WithHooks(Hooks{
		AfterNode: func(_ context.Context, n *Node, res NodeResult) {
			if res.Given {
				given = append(given, n.Name)
				require.Zero(t, res.Duration)
			}
		},
	}), Workers(1))
	require.NoError(t, err)
	require.Equal(t, []string{"d"}, given, "NodeResult.Given marks given nodes only")
}

func TestExecuteGivenInputs(t *testing.T) {
	d := mustBuild(t, sampleGraph())
	full, _ := d.Plan("d")
	givenB, err := full.Given("b")
	require.NoError(t, err)
	givenAD, err := full.Given("a", "d")
	require.NoError(t, err)
	tests := []struct {
		name   string
		plan   *Plan
		inputs map[string]any
		want   string // error, or "=" + the result of d
	}{
		{"given value used", givenB, map[string]any{"src": 1, "b": 100}, "=106"},
		{"value of a given node left out of the plan", givenAD, map[string]any{"a": 1, "d": 42}, "=42"},
		{"given value missing", givenB, map[string]any{"src": 1}, `given node "b" is missing: want a value of type int`},
		{"given value of the wrong type", givenB, map[string]any{"src": 1, "b": "x"}, `given node "b" has type string: want a value of type int`},
		{"given value nil", givenB, map[string]any{"src": 1, "b": nil}, `given node "b" is nil: want a value of type int`},
		{"value for a node that is not given", givenB, map[string]any{"src": 1, "b": 1, "c": 1}, `input "c" is not an input of this graph (known: src)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := d.Execute(context.Background(), tt.plan, tt.inputs)
			if tt.want[0] == '=' {
				require.NoError(t, err)
				require.Equal(t, tt.want[1:], fmt.Sprint(res["d"]))
				return
			}
			require.EqualError(t, err, tt.want)
			var ie *InputError
			require.ErrorAs(t, err, &ie)
		})
	}
}

func TestGivenNodeHookPanicFailsIt(t *testing.T) {
	d := mustBuild(t, sampleGraph())
	full, _ := d.Plan("b")
	p, err := full.Given("b")
	require.NoError(t, err)
	_, err = d.Execute(context.Background(), p, map[string]any{"b": 1}, WithHooks(Hooks{
		AfterNode: func(context.Context, *Node, NodeResult) { panic("hook") },
	}))
	var ne *NodeError
	require.ErrorAs(t, err, &ne)
	require.Equal(t, "b", ne.Node)
	var pe *PanicError
	require.ErrorAs(t, err, &pe)
}
