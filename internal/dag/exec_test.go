package dag

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// hangGuard bounds tests that would otherwise hang on an engine bug.
func hangGuard(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// ran records which computed nodes the engine called, through hooks.
type ran struct {
	mu    sync.Mutex
	names []string
}

func (r *ran) hooks() Hooks {
	return Hooks{AfterNode: func(_ context.Context, n *Node, _ NodeResult) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.names = append(r.names, n.Name)
	}}
}

func (r *ran) sorted() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := append([]string(nil), r.names...)
	sort.Strings(out)
	return out
}

func TestExecuteSample(t *testing.T) {
	d := mustBuild(t, sampleGraph())
	p, err := d.Plan("g")
	require.NoError(t, err)
	for _, workers := range []int{0, 1, 2, 8} {
		t.Run(strconv.Itoa(workers), func(t *testing.T) {
			res, err := d.Execute(context.Background(), p, map[string]any{"src": 1}, Workers(workers))
			require.NoError(t, err)
			// src=1: a=2 b=4 c=6 d=10 e="1" f=7 g="1017"
			require.Equal(t, Results{"a": 2, "b": 4, "c": 6, "d": 10, "e": "1", "f": 7, "g": "1017"}, res)
		})
	}
}

func TestLazyPlanningRunsOnlyAncestors(t *testing.T) {
	var calls atomic.Int32
	counted := func(ctx context.Context, x int) (int, error) { calls.Add(1); return x + 1, nil }
	g := New()
	Input[int](g, "src", "")
	Add1(g, Spec{Name: "a"}, "src", counted)
	Add1(g, Spec{Name: "b"}, "a", counted)
	Add1(g, Spec{Name: "c"}, "a", counted)
	Add1(g, Spec{Name: "d"}, "c", counted)
	Add1(g, Spec{Name: "other"}, "src", counted)
	d := mustBuild(t, g)

	tests := []struct {
		outputs []string
		ran     []string
	}{
		{[]string{"b"}, []string{"a", "b"}},
		{[]string{"d"}, []string{"a", "c", "d"}},
		{[]string{"other"}, []string{"other"}},
		{[]string{"b", "other"}, []string{"a", "b", "other"}},
		{[]string{"src"}, nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.outputs), func(t *testing.T) {
			calls.Store(0)
			var r ran
			p, err := d.Plan(tt.outputs...)
			require.NoError(t, err)
			res, err := d.Execute(context.Background(), p, map[string]any{"src": 0}, WithHooks(r.hooks()))
			require.NoError(t, err)
			var got []string
			for name := range res {
				got = append(got, name)
			}
			sort.Strings(got)
			require.Equal(t, tt.ran, got, "results")
			require.Equal(t, tt.ran, r.sorted(), "hooks")
			require.Equal(t, int32(len(tt.ran)), calls.Load(), "function calls")
		})
	}
}

func TestIndependentNodesOverlap(t *testing.T) {
	// Each node waits until all n have started: only a concurrent engine
	// gets past the barrier; a sequential one would wait for the guard.
	const n = 4
	var arrived atomic.Int32
	all := make(chan struct{})
	g := New()
	var outs []string
	for i := range n {
		name := fmt.Sprintf("n%d", i)
		outs = append(outs, name)
		Add0(g, Spec{Name: name}, func(ctx context.Context) (int, error) {
			if arrived.Add(1) == n {
				close(all)
			}
			select {
			case <-all:
				return i, nil
			case <-ctx.Done():
				return 0, ctx.Err()
			}
		})
	}
	d := mustBuild(t, g)
	p, err := d.Plan(outs...)
	require.NoError(t, err)
	res, err := d.Execute(hangGuard(t), p, nil, Workers(n))
	require.NoError(t, err)
	require.Len(t, res, n)
}

func TestWorkersBound(t *testing.T) {
	// Nodes run in groups of `workers`; a group's members wait for each
	// other, so the run needs exactly `workers` nodes in flight at once and
	// the counter shows whether more ever were.
	for _, workers := range []int{1, 2, 3} {
		t.Run(strconv.Itoa(workers), func(t *testing.T) {
			const nodes = 12
			var inflight, peak atomic.Int32
			groups := make([]chan struct{}, nodes/workers)
			counts := make([]atomic.Int32, nodes/workers)
			for i := range groups {
				groups[i] = make(chan struct{})
			}
			g := New()
			var outs []string
			for i := range nodes {
				name := fmt.Sprintf("n%02d", i)
				outs = append(outs, name)
				grp := i / workers
				Add0(g, Spec{Name: name}, func(ctx context.Context) (int, error) {
					cur := inflight.Add(1)
					defer inflight.Add(-1)
					for {
						old := peak.Load()
						if cur <= old || peak.CompareAndSwap(old, cur) {
							break
						}
					}
					if counts[grp].Add(1) == int32(workers) {
						close(groups[grp])
					}
					select {
					case <-groups[grp]:
						return i, nil
					case <-ctx.Done():
						return 0, ctx.Err()
					}
				})
			}
			d := mustBuild(t, g)
			p, err := d.Plan(outs...)
			require.NoError(t, err)
			res, err := d.Execute(hangGuard(t), p, nil, Workers(workers))
			require.NoError(t, err)
			require.Len(t, res, nodes)
			require.Equal(t, int32(workers), peak.Load())
		})
	}
}

func TestSameResultsForAnyWorkerCount(t *testing.T) {
	g := New()
	Input[int](g, "seed", "")
	prev := "seed"
	var outs []string
	for i := range 30 {
		name := fmt.Sprintf("n%02d", i)
		dep := "seed"
		if i%3 != 0 {
			dep = prev
		}
		Add1(g, Spec{Name: name}, dep, func(_ context.Context, x int) (int, error) { return x*31 + i, nil })
		prev = name
		outs = append(outs, name)
	}
	d := mustBuild(t, g)
	p, err := d.Plan(outs...)
	require.NoError(t, err)
	want, err := d.Execute(context.Background(), p, map[string]any{"seed": 1}, Workers(1))
	require.NoError(t, err)
	require.Len(t, want, 30)
	for _, w := range []int{2, 4, 16} {
		got, err := d.Execute(context.Background(), p, map[string]any{"seed": 1}, Workers(w))
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
}

func TestWorkersOneFollowsPlanOrder(t *testing.T) {
	d := mustBuild(t, sampleGraph())
	p, err := d.Plan("g")
	require.NoError(t, err)
	var r ran
	_, err = d.Execute(context.Background(), p, map[string]any{"src": 1}, Workers(1), WithHooks(r.hooks()))
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b", "c", "d", "e", "f", "g"}, r.names)
}

// stopGraph: "first" signals it started and then behaves as told; "second"
// depends on it and counts its calls.
func stopGraph(first func(ctx context.Context) (int, error), secondCalls *atomic.Int32) *DAG {
	g := New()
	Add0(g, Spec{Name: "first"}, first)
	Add1(g, Spec{Name: "second"}, "first", func(_ context.Context, x int) (int, error) {
		secondCalls.Add(1)
		return x, nil
	})
	d, err := g.Build()
	if err != nil {
		panic(err)
	}
	return d
}

func TestCancellation(t *testing.T) {
	cause := errors.New("interrupt signal received")
	tests := []struct {
		name     string
		obeys    bool // first returns ctx.Err() instead of a value
		cause    error
		wantMsg  string
		nodeErr  bool
		hasFirst bool
	}{
		{name: "node returns ctx error", obeys: true, wantMsg: "node first: context canceled", nodeErr: true},
		{name: "node ignores cancellation", obeys: false, wantMsg: "run stopped after 1 of 2 nodes: context canceled", hasFirst: true},
		{name: "cause is kept", obeys: false, cause: cause,
			wantMsg: "run stopped after 1 of 2 nodes: context canceled: interrupt signal received", hasFirst: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancelCause(hangGuard(t))
			defer cancel(nil)
			started := make(chan struct{})
			var second atomic.Int32
			d := stopGraph(func(nctx context.Context) (int, error) {
				close(started)
				<-nctx.Done()
				if tt.obeys {
					return 0, nctx.Err()
				}
				return 1, nil
			}, &second)
			go func() {
				<-started
				cancel(tt.cause)
			}()
			p, err := d.Plan("second")
			require.NoError(t, err)
			var afterGraph error
			res, err := d.Execute(ctx, p, nil, WithHooks(Hooks{AfterGraph: func(_ context.Context, _ *Plan, err error) { afterGraph = err }}))
			require.EqualError(t, err, tt.wantMsg)
			require.ErrorIs(t, err, context.Canceled)
			if tt.cause != nil {
				require.ErrorIs(t, err, tt.cause)
			}
			var ne *NodeError
			require.Equal(t, tt.nodeErr, errors.As(err, &ne))
			require.Equal(t, int32(0), second.Load(), "no node starts after cancellation")
			_, has := res["first"]
			require.Equal(t, tt.hasFirst, has)
			require.Equal(t, err, afterGraph)
		})
	}
}

func TestCancelledBeforeStart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var second atomic.Int32
	var first atomic.Int32
	d := stopGraph(func(context.Context) (int, error) { first.Add(1); return 1, nil }, &second)
	p, err := d.Plan("second")
	require.NoError(t, err)
	_, err = d.Execute(ctx, p, nil)
	require.EqualError(t, err, "run stopped after 0 of 2 nodes: context canceled")
	require.Zero(t, first.Load())
	require.Zero(t, second.Load())
}

func TestDeadline(t *testing.T) {
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	d := mustBuild(t, sampleGraph())
	p, err := d.Plan("f")
	require.NoError(t, err)
	_, err = d.Execute(ctx, p, nil)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestFailureStopsRun(t *testing.T) {
	errBoom := errors.New("boom")
	slowStarted := make(chan struct{})
	var slowSaw error
	var later, child atomic.Int32
	g := New()
	Add0(g, Spec{Name: "slow"}, func(ctx context.Context) (int, error) {
		close(slowStarted)
		<-ctx.Done() // released only by the engine cancelling the run
		slowSaw = ctx.Err()
		return 0, ctx.Err()
	})
	Add0(g, Spec{Name: "bad"}, func(ctx context.Context) (int, error) {
		<-slowStarted
		return 0, fmt.Errorf("reading x: %w", errBoom)
	})
	Add0(g, Spec{Name: "later"}, func(context.Context) (int, error) { later.Add(1); return 1, nil })
	Add1(g, Spec{Name: "child"}, "bad", func(_ context.Context, x int) (int, error) { child.Add(1); return x, nil })
	d := mustBuild(t, g)
	p, err := d.Plan("slow", "child", "later")
	require.NoError(t, err)

	var mu sync.Mutex
	nodeErrs := map[string]error{}
	hooks := Hooks{AfterNode: func(_ context.Context, n *Node, r NodeResult) {
		mu.Lock()
		defer mu.Unlock()
		nodeErrs[n.Name] = r.Err
	}}
	res, err := d.Execute(hangGuard(t), p, nil, Workers(2), WithHooks(hooks))
	require.EqualError(t, err, "node bad: reading x: boom")
	var ne *NodeError
	require.ErrorAs(t, err, &ne)
	require.Equal(t, "bad", ne.Node)
	require.ErrorIs(t, err, errBoom)
	require.ErrorIs(t, slowSaw, context.Canceled, "running nodes see a cancelled context")
	require.Zero(t, later.Load(), "no new node starts after a failure")
	require.Zero(t, child.Load())
	require.Empty(t, res)
	require.ErrorIs(t, nodeErrs["bad"], errBoom)
	require.ErrorIs(t, nodeErrs["slow"], context.Canceled)
	require.Len(t, nodeErrs, 2)
}

func TestPanicRecovered(t *testing.T) {
	errInner := errors.New("inner")
	tests := []struct {
		name    string
		hooks   Hooks
		fn      func(context.Context) (int, error)
		wantMsg string
		isInner bool
	}{
		{name: "string panic in function", fn: func(context.Context) (int, error) { panic("kaput") },
			wantMsg: "node p: panic: kaput"},
		{name: "error panic in function", fn: func(context.Context) (int, error) { panic(errInner) },
			wantMsg: "node p: panic: inner", isInner: true},
		{name: "nil map write", fn: func(context.Context) (int, error) {
			var m map[string]int
			//lint:ignore SA5000 the test needs a runtime panic
			m["x"] = 1
			return 0, nil
		}, wantMsg: "node p: panic: assignment to entry in nil map"},
		{name: "panic in BeforeNode", fn: seven,
			hooks:   Hooks{BeforeNode: func(context.Context, *Node) { panic("hook") }},
			wantMsg: "node p: panic: hook"},
		{name: "panic in Around", fn: seven,
			hooks: Hooks{Around: func(context.Context, *Node, []any, Compute) (any, error) {
				panic("around")
			}},
			wantMsg: "node p: panic: around"},
		{name: "panic in AfterNode", fn: seven,
			hooks:   Hooks{AfterNode: func(context.Context, *Node, NodeResult) { panic("after") }},
			wantMsg: "node p: panic: after"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := New()
			Add0(g, Spec{Name: "p"}, tt.fn)
			Add1(g, Spec{Name: "q"}, "p", inc)
			d := mustBuild(t, g)
			p, err := d.Plan("q")
			require.NoError(t, err)
			_, err = d.Execute(context.Background(), p, nil, WithHooks(tt.hooks))
			require.EqualError(t, err, tt.wantMsg)
			var ne *NodeError
			require.ErrorAs(t, err, &ne)
			require.Equal(t, "p", ne.Node)
			var pe *PanicError
			require.ErrorAs(t, err, &pe)
			require.Contains(t, string(pe.Stack), "exec_test.go", "stack points at the panic")
			require.NotContains(t, err.Error(), "goroutine", "no stack in the message")
			require.Equal(t, tt.isInner, errors.Is(err, errInner))
		})
	}
}

func TestAfterNodeSeesPanicAsError(t *testing.T) {
	g := New()
	Add0(g, Spec{Name: "p"}, func(context.Context) (int, error) { panic("x") })
	d := mustBuild(t, g)
	p, _ := d.Plan("p")
	var got NodeResult
	_, err := d.Execute(context.Background(), p, nil, WithHooks(Hooks{
		AfterNode: func(_ context.Context, _ *Node, r NodeResult) { got = r },
	}))
	require.Error(t, err)
	var pe *PanicError
	require.ErrorAs(t, got.Err, &pe)
	require.Equal(t, "x", pe.Value)
	require.Nil(t, pe.Unwrap())
}

// recorder logs every hook call of one hook set, tagged.
type recorder struct {
	mu  sync.Mutex
	log []string
}

func (r *recorder) add(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log = append(r.log, fmt.Sprintf(format, args...))
}

func (r *recorder) hooks(tag string) Hooks {
	return Hooks{
		BeforeGraph: func(_ context.Context, p *Plan) error {
			r.add("%s before-graph %v", tag, p.Outputs)
			return nil
		},
		AfterGraph: func(_ context.Context, _ *Plan, err error) { r.add("%s after-graph %v", tag, err) },
		BeforeNode: func(_ context.Context, n *Node) { r.add("%s before %s", tag, n.Name) },
		AfterNode: func(_ context.Context, n *Node, res NodeResult) {
			r.add("%s after %s %v %v", tag, n.Name, res.Value, res.Err)
		},
		Around: func(ctx context.Context, n *Node, in []any, next Compute) (any, error) {
			r.add("%s around-in %s %v", tag, n.Name, in)
			v, err := next(ctx)
			r.add("%s around-out %s %v", tag, n.Name, v)
			return v, err
		},
	}
}

func TestHooksOrderAndData(t *testing.T) {
	var r recorder
	g := New()
	Input[int](g, "src", "")
	Add1(g, Spec{Name: "a"}, "src", func(_ context.Context, x int) (int, error) {
		r.add("fn a")
		return x + 1, nil
	})
	Add1(g, Spec{Name: "b"}, "a", func(_ context.Context, x int) (string, error) {
		r.add("fn b")
		return "", fmt.Errorf("bad %d", x)
	})
	d := mustBuild(t, g)
	p, err := d.Plan("b")
	require.NoError(t, err)
	_, err = d.Execute(context.Background(), p, map[string]any{"src": 1}, WithHooks(r.hooks("h1")), WithHooks(r.hooks("h2")))
	require.EqualError(t, err, "node b: bad 2")
	require.Equal(t, []string{
		"h1 before-graph [b]",
		"h2 before-graph [b]",
		"h1 before a",
		"h2 before a",
		"h1 around-in a [1]",
		"h2 around-in a [1]",
		"fn a",
		"h2 around-out a 2",
		"h1 around-out a 2",
		"h1 after a 2 <nil>",
		"h2 after a 2 <nil>",
		"h1 before b",
		"h2 before b",
		"h1 around-in b [2]",
		"h2 around-in b [2]",
		"fn b",
		"h2 around-out b ",
		"h1 around-out b ",
		"h1 after b  bad 2",
		"h2 after b  bad 2",
		"h1 after-graph node b: bad 2",
		"h2 after-graph node b: bad 2",
	}, r.log)
}

func TestNodeResultTiming(t *testing.T) {
	d := mustBuild(t, sampleGraph())
	p, _ := d.Plan("a")
	var got NodeResult
	before := time.Now()
	_, err := d.Execute(context.Background(), p, map[string]any{"src": 1}, WithHooks(Hooks{
		AfterNode: func(_ context.Context, _ *Node, r NodeResult) { got = r },
	}))
	require.NoError(t, err)
	require.Equal(t, 2, got.Value)
	require.NoError(t, got.Err)
	require.False(t, got.Start.Before(before))
	require.GreaterOrEqual(t, got.Duration, time.Duration(0))
}

func TestAroundSkipsFunction(t *testing.T) {
	var aCalls atomic.Int32
	g := New()
	Input[int](g, "src", "")
	Add1(g, Spec{Name: "a"}, "src", func(_ context.Context, x int) (int, error) { aCalls.Add(1); return x, nil })
	Add1(g, Spec{Name: "b"}, "a", inc)
	d := mustBuild(t, g)
	p, _ := d.Plan("b")
	var seen []any
	cache := Hooks{Around: func(ctx context.Context, n *Node, in []any, next Compute) (any, error) {
		if n.Name == "a" {
			seen = in
			return 100, nil // a "cache hit": next is never called
		}
		return next(ctx)
	}}
	var after []any
	res, err := d.Execute(context.Background(), p, map[string]any{"src": 1}, Workers(1), WithHooks(cache, Hooks{
		AfterNode: func(_ context.Context, n *Node, r NodeResult) { after = append(after, r.Value) },
	}))
	require.NoError(t, err)
	require.Zero(t, aCalls.Load(), "skipped function not called")
	require.Equal(t, []any{1}, seen)
	require.Equal(t, Results{"a": 100, "b": 101}, res)
	require.Equal(t, []any{100, 101}, after)
}

func TestAroundCanChangeContext(t *testing.T) {
	type key struct{}
	g := New()
	Add0(g, Spec{Name: "a"}, func(ctx context.Context) (string, error) { return ctx.Value(key{}).(string), nil })
	d := mustBuild(t, g)
	p, _ := d.Plan("a")
	res, err := d.Execute(context.Background(), p, nil, WithHooks(Hooks{
		Around: func(ctx context.Context, _ *Node, _ []any, next Compute) (any, error) {
			return next(context.WithValue(ctx, key{}, "from hook"))
		},
	}))
	require.NoError(t, err)
	require.Equal(t, "from hook", res["a"])
}

func TestBeforeGraphErrorAborts(t *testing.T) {
	errNo := errors.New("no lineage")
	var calls atomic.Int32
	g := New()
	Add0(g, Spec{Name: "a"}, func(context.Context) (int, error) { calls.Add(1); return 1, nil })
	d := mustBuild(t, g)
	p, _ := d.Plan("a")
	var r recorder
	var second, afterErr []error
	res, err := d.Execute(context.Background(), p, nil,
		WithHooks(Hooks{
			BeforeGraph: func(context.Context, *Plan) error { return errNo },
			AfterGraph:  func(_ context.Context, _ *Plan, err error) { afterErr = append(afterErr, err) },
		}, Hooks{
			BeforeGraph: func(context.Context, *Plan) error { second = append(second, nil); return nil },
			AfterGraph:  func(_ context.Context, _ *Plan, err error) { afterErr = append(afterErr, err) },
			BeforeNode:  func(_ context.Context, n *Node) { r.add("before %s", n.Name) },
		}))
	require.EqualError(t, err, "before-graph hook: no lineage")
	require.ErrorIs(t, err, errNo)
	require.Empty(t, res)
	require.Zero(t, calls.Load())
	require.Empty(t, second, "later BeforeGraph hooks are not called")
	require.Empty(t, r.log, "no node hooks")
	require.Equal(t, []error{err, err}, afterErr)
}

func TestInputErrors(t *testing.T) {
	g := New()
	Input[int](g, "n", "")
	Input[*int](g, "ptr", "")
	Input[fmt.Stringer](g, "str", "")
	Add3(g, Spec{Name: "use"}, "n", "ptr", "str", func(_ context.Context, n int, p *int, s fmt.Stringer) (string, error) {
		out := strconv.Itoa(n)
		if p != nil {
			out += "+" + strconv.Itoa(*p)
		}
		if s != nil {
			out += "+" + s.String()
		}
		return out, nil
	})
	Add1(g, Spec{Name: "justn"}, "n", inc)
	d := mustBuild(t, g)
	full, _ := d.Plan("use")
	onlyN, _ := d.Plan("justn")
	seven := 7

	tests := []struct {
		name   string
		plan   *Plan
		inputs map[string]any
		want   string // error, or "=" + result of the plan's output
	}{
		{"all given", full, map[string]any{"n": 1, "ptr": &seven, "str": time.Second}, "=1+7+1s"},
		{"nil pointer and interface", full, map[string]any{"n": 1, "ptr": nil, "str": nil}, "=1"},
		{"typed nil pointer", full, map[string]any{"n": 1, "ptr": (*int)(nil), "str": nil}, "=1"},
		{"inputs outside the plan are not needed", onlyN, map[string]any{"n": 1}, "=2"},
		{"missing", full, map[string]any{"n": 1}, "input \"ptr\" is missing: want a value of type *int\ninput \"str\" is missing: want a value of type fmt.Stringer"},
		{"nil map", onlyN, nil, `input "n" is missing: want a value of type int`},
		{"wrong type", onlyN, map[string]any{"n": "1"}, `input "n" has type string: want a value of type int`},
		{"nil value for non-pointer", onlyN, map[string]any{"n": nil}, `input "n" is nil: want a value of type int`},
		{"interface not implemented", full, map[string]any{"n": 1, "ptr": nil, "str": 3}, `input "str" has type int: want a value of type fmt.Stringer`},
		{"unknown input", onlyN, map[string]any{"n": 1, "m": 2}, `input "m" is not an input of this graph (did you mean "n"?)`},
		{"computed node given as input", onlyN, map[string]any{"n": 1, "use": "x"}, `input "use" is not an input of this graph (known: n, ptr, str)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var nodeCalls atomic.Int32
			res, err := d.Execute(context.Background(), tt.plan, tt.inputs, WithHooks(Hooks{
				BeforeGraph: func(context.Context, *Plan) error { nodeCalls.Add(1); return nil },
			}))
			if tt.want[0] == '=' {
				require.NoError(t, err)
				require.Equal(t, tt.want[1:], fmt.Sprint(res[tt.plan.Outputs[0]]))
				return
			}
			require.EqualError(t, err, tt.want)
			var ie *InputError
			require.ErrorAs(t, err, &ie)
			require.Nil(t, res)
			require.Zero(t, nodeCalls.Load(), "nothing runs, not even hooks")
		})
	}
}

func TestInputErrorFields(t *testing.T) {
	d := mustBuild(t, sampleGraph())
	p, _ := d.Plan("a")
	_, err := d.Execute(context.Background(), p, map[string]any{"src": 1.5})
	var ie *InputError
	require.ErrorAs(t, err, &ie)
	require.Equal(t, "src", ie.Name)
	require.Equal(t, reflect.TypeFor[int](), ie.Want)
	require.Equal(t, reflect.TypeFor[float64](), ie.Got)
}

func TestExecuteForeignPlan(t *testing.T) {
	d1 := mustBuild(t, sampleGraph())
	d2 := mustBuild(t, sampleGraph())
	p, _ := d1.Plan("f")
	for _, plan := range []*Plan{nil, p, {Outputs: []string{"f"}}} {
		_, err := d2.Execute(context.Background(), plan, nil)
		require.EqualError(t, err, "execute: the plan was not made by this DAG; use the DAG's Plan method")
	}
}

func TestNodeErrorUnwrap(t *testing.T) {
	inner := errors.New("x")
	err := error(&NodeError{Node: "n", Err: inner})
	require.EqualError(t, err, "node n: x")
	require.ErrorIs(t, err, inner)
	require.Equal(t, "panic: 1", (&PanicError{Value: 1}).Error())
}

func TestConcurrentExecutesShareDAG(t *testing.T) {
	d := mustBuild(t, sampleGraph())
	p, err := d.Plan("g")
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	results := make([]Results, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = d.Execute(context.Background(), p, map[string]any{"src": i})
		}()
	}
	wg.Wait()
	for i := range 8 {
		require.NoError(t, errs[i])
		require.Equal(t, fmt.Sprintf("%d%d7", 5*(i+1), i), results[i]["g"])
	}
}

// TestPanicInGraphHookFailsRun: a panic in BeforeGraph or AfterGraph once
// escaped Execute and ended the process; it must fail the run instead,
// and every AfterGraph hook still runs.
func TestPanicInGraphHookFailsRun(t *testing.T) {
	tests := []struct {
		name     string
		hooks    Hooks
		wantMsg  string
		wantRuns bool // whether node p ran
	}{
		{name: "BeforeGraph", hooks: Hooks{BeforeGraph: func(context.Context, *Plan) error { panic("before") }},
			wantMsg: "before-graph hook: panic: before"},
		{name: "AfterGraph", hooks: Hooks{AfterGraph: func(context.Context, *Plan, error) { panic("after") }},
			wantMsg: "after-graph hook: panic: after", wantRuns: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := New()
			ran := false
			Add0(g, Spec{Name: "p"}, func(context.Context) (int, error) { ran = true; return 7, nil })
			d := mustBuild(t, g)
			p, err := d.Plan("p")
			require.NoError(t, err)
			var afterErr error
			afterCalls := 0
			later := Hooks{AfterGraph: func(_ context.Context, _ *Plan, err error) { afterCalls++; afterErr = err }}
			_, err = d.Execute(context.Background(), p, nil, WithHooks(tt.hooks, later))
			require.EqualError(t, err, tt.wantMsg)
			var pe *PanicError
			require.ErrorAs(t, err, &pe)
			require.Contains(t, string(pe.Stack), "exec_test.go")
			require.Equal(t, tt.wantRuns, ran)
			require.Equal(t, 1, afterCalls, "the other AfterGraph hooks still run")
			if !tt.wantRuns {
				require.ErrorAs(t, afterErr, &pe)
			}
		})
	}
}

// TestPanicErrorRaisedAgainKeepsItsStack: code that recovers a panic in
// a goroutine of its own raises the *PanicError again in the node's
// goroutine; the engine keeps it as it is (not a panic of a panic).
func TestPanicErrorRaisedAgainKeepsItsStack(t *testing.T) {
	g := New()
	orig := &PanicError{Value: "in a worker", Stack: []byte("worker stack")}
	Add0(g, Spec{Name: "p"}, func(context.Context) (int, error) { panic(orig) })
	d := mustBuild(t, g)
	p, _ := d.Plan("p")
	_, err := d.Execute(context.Background(), p, nil)
	require.EqualError(t, err, "node p: panic: in a worker")
	var pe *PanicError
	require.ErrorAs(t, err, &pe)
	require.Same(t, orig, pe)
}
