package dag

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// In the sample graph (a -> b, c -> d; e; f; g <- d, e, f), a failing
// node stops only its dependants under KeepGoing.
func TestKeepGoing(t *testing.T) {
	cases := []struct {
		fail    string
		panics  bool
		results Results
		skipped []Skip
	}{
		{fail: "b", results: Results{"a": 2, "c": 6, "e": "1", "f": 7},
			skipped: []Skip{{"d", "b"}, {"g", "b"}}},
		{fail: "a", panics: true, results: Results{"e": "1", "f": 7},
			skipped: []Skip{{"b", "a"}, {"c", "a"}, {"d", "a"}, {"g", "a"}}},
		{fail: "g", results: Results{"a": 2, "b": 4, "c": 6, "d": 10, "e": "1", "f": 7}},
	}
	errBoom := errors.New("boom")
	for _, tc := range cases {
		for _, workers := range []int{1, 4} {
			t.Run(tc.fail+"/"+strconv.Itoa(workers), func(t *testing.T) {
				d := mustBuild(t, sampleGraph())
				p, err := d.Plan("g", "a", "c", "e", "f")
				require.NoError(t, err)
				failing := Hooks{Around: func(ctx context.Context, n *Node, _ []any, next Compute) (any, error) {
					if n.Name == tc.fail {
						if tc.panics {
							panic(errBoom)
						}
						return nil, errBoom
					}
					return next(ctx)
				}}
				var mu sync.Mutex
				reasons := map[string]string{}
				ran := &ran{}
				skip := Hooks{SkipNode: func(_ context.Context, n *Node, reason string) {
					mu.Lock()
					reasons[n.Name] = reason
					mu.Unlock()
				}}
				res, err := d.Execute(hangGuard(t), p, map[string]any{"src": 1}, Workers(workers), KeepGoing(), WithHooks(failing, skip, ran.hooks()))
				var pe *PartialError
				require.ErrorAs(t, err, &pe)
				require.Len(t, pe.Failed, 1)
				require.Equal(t, tc.fail, pe.Failed[0].Node)
				require.ErrorIs(t, pe.Failed[0], errBoom)
				require.Equal(t, tc.skipped, pe.Skipped)
				require.Equal(t, tc.results, res)
				want := map[string]string{}
				for _, s := range tc.skipped {
					want[s.Node] = "upstream " + s.Upstream + " failed"
					require.NotContains(t, ran.sorted(), s.Node, "a skipped node never runs")
				}
				require.Equal(t, want, reasons)
				require.Contains(t, err.Error(), "node "+tc.fail+": ")
			})
		}
	}
}

// Without KeepGoing nothing changes: the first failure stops the run.
func TestKeepGoingOffStopsAtFirstFailure(t *testing.T) {
	d := mustBuild(t, sampleGraph())
	p, err := d.Plan("g")
	require.NoError(t, err)
	failing := Hooks{Around: func(ctx context.Context, n *Node, _ []any, next Compute) (any, error) {
		if n.Name == "e" {
			return nil, errors.New("boom")
		}
		return next(ctx)
	}}
	_, err = d.Execute(hangGuard(t), p, map[string]any{"src": 1}, Workers(1), WithHooks(failing))
	var ne *NodeError
	require.ErrorAs(t, err, &ne)
	var pe *PartialError
	require.False(t, errors.As(err, &pe))
}
