package cache

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/dag"
	"github.com/salesdag/salesdag/internal/frame"
)

// env is one cache directory, one input file and the toy graph.
type env struct {
	t        *testing.T
	dir      string
	input    string
	d        *dag.DAG
	factor   int
	progress func()

	mu     sync.Mutex
	events []NodeEvent
}

func newEnv(t *testing.T) *env {
	t.Helper()
	d, err := toyGraph()
	require.NoError(t, err)
	toyCalls()
	toyFail.Store(false)
	e := &env{t: t, dir: filepath.Join(t.TempDir(), "cache"), input: filepath.Join(t.TempDir(), "in.txt"),
		d: d, factor: 1}
	require.NoError(t, os.WriteFile(e.input, []byte("1\n2\n3\n"), 0o644))
	return e
}

func (e *env) options(o Options) Options {
	if o.Version == "" {
		o.Version = "test"
	}
	if o.Codecs == nil {
		o.Codecs = toyCodecs()
	}
	o.OnEvent = func(ev NodeEvent) {
		e.mu.Lock()
		e.events = append(e.events, ev)
		e.mu.Unlock()
	}
	return o
}

func (e *env) store() *Store {
	s, err := Open(e.dir, NoSync())
	require.NoError(e.t, err)
	return s
}

func (e *env) inputs() map[string]any {
	return map[string]any{"source": toyFile{e.input}, "opts": toyOpts{Factor: e.factor, Progress: e.progress}}
}

// run executes outputs through a fresh Cache and returns the results, the
// Run and the node calls.
func (e *env) run(o Options, outputs ...string) (dag.Results, *Run, map[string]int, error) {
	e.t.Helper()
	toyCalls()
	e.mu.Lock()
	e.events = nil
	e.mu.Unlock()
	c := New(e.store(), e.options(o))
	p, err := e.d.Plan(outputs...)
	require.NoError(e.t, err)
	r, err := c.Prepare(context.Background(), e.d, p, e.inputs())
	require.NoError(e.t, err)
	res, err := r.Execute(context.Background(), e.d, e.inputs())
	return res, r, toyCalls(), err
}

func (e *env) statuses(r *Run) map[string]Status {
	out := map[string]Status{}
	for _, s := range r.States() {
		out[s.Node] = s.Status
	}
	return out
}

func (e *env) eventsWith(st Status) []NodeEvent {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []NodeEvent
	for _, ev := range e.events {
		if ev.Status == st {
			out = append(out, ev)
		}
	}
	return out
}

func wantLabel(t *testing.T, res dag.Results, want string) {
	t.Helper()
	require.Equal(t, want, res["label"])
}

func TestHitsAfterFirstRun(t *testing.T) {
	tests := []struct {
		name      string
		outputs   []string
		firstRun  map[string]int
		secondHit []string
		skipped   []string
	}{
		{"leaf output", []string{"label"},
			map[string]int{"rows": 1, "total": 1, "max": 1, "report": 1, "label": 1},
			[]string{"label"}, []string{"rows", "total", "max", "report"}},
		{"several outputs", []string{"total", "label"},
			map[string]int{"rows": 1, "total": 1, "max": 1, "report": 1, "label": 1},
			[]string{"total", "label"}, []string{"rows", "max", "report"}},
		{"output without codec", []string{"max"},
			map[string]int{"rows": 1, "max": 1},
			[]string{"rows"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			res, r, calls, err := e.run(Options{}, tc.outputs...)
			require.NoError(t, err)
			require.Equal(t, tc.firstRun, calls)
			require.Empty(t, r.Loaded())
			for _, o := range tc.outputs {
				require.Contains(t, res, o)
			}
			res2, r2, calls2, err := e.run(Options{}, tc.outputs...)
			require.NoError(t, err)
			require.Equal(t, tc.secondHit, r2.Loaded())
			require.Equal(t, tc.skipped, r2.Skipped())
			for _, n := range tc.secondHit {
				require.Zero(t, calls2[n], "%s must not run", n)
				require.Equal(t, StatusHit, e.statuses(r2)[n])
			}
			for _, o := range tc.outputs {
				require.Equal(t, res[o], res2[o], o)
			}
			for _, n := range tc.skipped {
				require.NotContains(t, res2, n, "skipped placeholders are removed")
			}
		})
	}
}

func TestStatusesAndEvents(t *testing.T) {
	e := newEnv(t)
	_, r, _, err := e.run(Options{}, "label")
	require.NoError(t, err)
	require.Equal(t, map[string]Status{"rows": StatusMiss, "total": StatusMiss, "max": StatusUncacheable,
		"report": StatusMiss, "label": StatusMiss}, e.statuses(r))
	stored := map[string]bool{}
	for _, ev := range e.eventsWith(StatusStored) {
		stored[ev.Node] = true
		require.Positive(t, ev.Bytes)
		require.Len(t, ev.Key, 64)
	}
	require.Equal(t, map[string]bool{"rows": true, "total": true, "report": true, "label": true}, stored)
	st, ok := r.State("max")
	require.True(t, ok)
	require.Contains(t, st.Warning, "no codec for int64")
	require.False(t, st.Stored)
	require.Empty(t, r.Key("max"))
	require.Len(t, r.Key("total"), 64)
	_, ok = r.State("source")
	require.False(t, ok)
	require.Equal(t, "4 miss, 1 uncacheable", r.Summary())

	_, r2, _, err := e.run(Options{}, "label")
	require.NoError(t, err)
	require.Equal(t, "1 hit, 4 skipped", r2.Summary())
	hits := e.eventsWith(StatusHit)
	require.Len(t, hits, 1)
	require.Equal(t, "label", hits[0].Node)
	require.Equal(t, r.Key("label"), hits[0].Key)
}

func TestMissAfterBuildChange(t *testing.T) {
	// Another build of the program (Options.Version stands for its key)
	// shares no entry with this one, and both keep their own.
	e := newEnv(t)
	_, _, _, err := e.run(Options{}, "label")
	require.NoError(t, err)
	res, r, calls, err := e.run(Options{Version: "other build"}, "label")
	require.NoError(t, err)
	require.Equal(t, map[string]int{"rows": 1, "total": 1, "max": 1, "report": 1, "label": 1}, calls)
	require.Empty(t, r.Loaded())
	wantLabel(t, res, "total=6")
	for _, v := range []string{"test", "other build"} {
		_, r, calls, err = e.run(Options{Version: v}, "label")
		require.NoError(t, err)
		require.Empty(t, calls, v)
		require.Equal(t, []string{"label"}, r.Loaded(), v)
	}
}

func TestMissAfterInputChange(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, e *env)
		label  string
	}{
		{"same size, mtime restored", func(t *testing.T, e *env) {
			st, err := os.Stat(e.input)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(e.input, []byte("1\n2\n4\n"), 0o644))
			require.NoError(t, os.Chtimes(e.input, st.ModTime(), st.ModTime()))
			st2, err := os.Stat(e.input)
			require.NoError(t, err)
			require.Equal(t, st.Size(), st2.Size())
			require.Equal(t, st.ModTime(), st2.ModTime())
		}, "total=7"},
		{"file replaced", func(t *testing.T, e *env) {
			tmp := e.input + ".new"
			require.NoError(t, os.WriteFile(tmp, []byte("10\n"), 0o644))
			require.NoError(t, os.Rename(tmp, e.input))
		}, "total=10"},
		{"option changed", func(t *testing.T, e *env) { e.factor = 2 }, "total=12"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			res, _, _, err := e.run(Options{}, "label")
			require.NoError(t, err)
			wantLabel(t, res, "total=6")
			tc.change(t, e)
			res, r, calls, err := e.run(Options{}, "label")
			require.NoError(t, err)
			require.Equal(t, 1, calls["rows"])
			require.Empty(t, r.Loaded())
			wantLabel(t, res, tc.label)
		})
	}
}

func TestOptionCallbacksAreNotPartOfTheKey(t *testing.T) {
	e := newEnv(t)
	_, _, _, err := e.run(Options{}, "label")
	require.NoError(t, err)
	e.progress = func() {}
	_, r, calls, err := e.run(Options{}, "label")
	require.NoError(t, err)
	require.Empty(t, calls)
	require.Equal(t, []string{"label"}, r.Loaded())
}

func TestResumeAfterFailure(t *testing.T) {
	e := newEnv(t)
	toyFail.Store(true)
	_, r, calls, err := e.run(Options{}, "label")
	var ne *dag.NodeError
	require.ErrorAs(t, err, &ne)
	require.Equal(t, "report", ne.Node)
	require.Equal(t, map[string]int{"rows": 1, "total": 1, "max": 1, "report": 1}, calls)
	st, _ := r.State("label")
	require.Empty(t, st.Status, "label never ran")

	toyFail.Store(false)
	res, r, calls, err := e.run(Options{}, "label")
	require.NoError(t, err)
	// Only the failed node and what depends on it run again (plus max,
	// which has no codec and feeds report); rows is loaded for max.
	require.Equal(t, map[string]int{"max": 1, "report": 1, "label": 1}, calls)
	require.Equal(t, []string{"rows", "total"}, r.Loaded())
	wantLabel(t, res, "total=6")
}

func entryFile(t *testing.T, e *env, node string) string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(e.dir, entriesDir, node, "*"+entrySuffix))
	require.NoError(t, err)
	require.Len(t, m, 1)
	return m[0]
}

func TestCorruptEntryIsAMiss(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, path string)
		reason string
	}{
		{"payload byte flipped", func(t *testing.T, p string) { flipByte(t, p, -1) }, "payload checksum mismatch"},
		{"header byte flipped", func(t *testing.T, p string) { flipByte(t, p, prefixLen+3) }, "header checksum mismatch"},
		{"magic damaged", func(t *testing.T, p string) { flipByte(t, p, 0) }, "not a salesdag cache entry"},
		{"truncated payload", func(t *testing.T, p string) { truncateBy(t, p, 1) }, "file has"},
		{"truncated to nothing", func(t *testing.T, p string) { require.NoError(t, os.Truncate(p, 0)) }, "truncated before the header"},
		{"garbage", func(t *testing.T, p string) {
			b := make([]byte, 4096)
			rng := rand.New(rand.NewPCG(3, 4))
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
			require.NoError(t, os.WriteFile(p, b, 0o600))
		}, "not a salesdag cache entry"},
		{"garbage after a good prefix", func(t *testing.T, p string) {
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			for i := prefixLen; i < len(b); i++ {
				b[i] = 'x'
			}
			require.NoError(t, os.WriteFile(p, b, 0o600))
		}, "header checksum mismatch"},
		{"truncated in header", func(t *testing.T, p string) { require.NoError(t, os.Truncate(p, prefixLen+2)) }, "header length out of range"},
		{"extra bytes", func(t *testing.T, p string) {
			f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			require.NoError(t, err)
			_, err = f.Write([]byte("x"))
			require.NoError(t, err)
			require.NoError(t, f.Close())
		}, "file has"},
		{"other node's entry", func(t *testing.T, p string) {
			other, err := filepath.Glob(filepath.Join(filepath.Dir(filepath.Dir(p)), "total", "*"))
			require.NoError(t, err)
			b, err := os.ReadFile(other[0])
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(p, b, 0o600))
		}, `holds node "total"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			_, _, _, err := e.run(Options{}, "label")
			require.NoError(t, err)
			path := entryFile(t, e, "label")
			tc.damage(t, path)
			res, r, calls, err := e.run(Options{}, "label")
			require.NoError(t, err)
			wantLabel(t, res, "total=6")
			require.Equal(t, map[string]int{"label": 1}, calls, "label recomputed from the cached report")
			corrupt := e.eventsWith(StatusCorrupt)
			require.Len(t, corrupt, 1)
			require.Equal(t, "label", corrupt[0].Node)
			require.ErrorContains(t, corrupt[0].Err, tc.reason)
			require.ErrorContains(t, corrupt[0].Err, "damaged entry "+path)
			require.ErrorContains(t, corrupt[0].Err, "removed it; label is computed again")
			st, _ := r.State("label")
			require.Equal(t, StatusMiss, st.Status)
			require.True(t, st.Stored, "the entry is rewritten")
			require.Contains(t, st.Warning, tc.reason)
			// The rewritten entry is good again.
			_, r, calls, err = e.run(Options{}, "label")
			require.NoError(t, err)
			require.Empty(t, calls)
			require.Equal(t, []string{"label"}, r.Loaded())
		})
	}
}

func TestCorruptEntryIsDroppedBeforeTheRun(t *testing.T) {
	// Even a run that never gets to store the node again does not leave
	// the damaged entry behind to warn about on every run.
	e := newEnv(t)
	_, _, _, err := e.run(Options{}, "label")
	require.NoError(t, err)
	path := entryFile(t, e, "label")
	require.NoError(t, os.Truncate(path, 10))
	c := New(e.store(), e.options(Options{}))
	p, err := e.d.Plan("label")
	require.NoError(t, err)
	r, err := c.Prepare(context.Background(), e.d, p, e.inputs())
	require.NoError(t, err)
	require.Equal(t, []string{"label"}, r.Computed())
	require.NoFileExists(t, path)
	require.Len(t, e.eventsWith(StatusCorrupt), 1)
}

func flipByte(t *testing.T, p string, at int) {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	if at < 0 {
		at = len(b) + at
	}
	b[at] ^= 0x40
	require.NoError(t, os.WriteFile(p, b, 0o600))
}

func truncateBy(t *testing.T, p string, n int64) {
	t.Helper()
	st, err := os.Stat(p)
	require.NoError(t, err)
	require.NoError(t, os.Truncate(p, st.Size()-n))
}

func TestCorruptUpstreamEntryIsRecomputed(t *testing.T) {
	// report's entry is damaged and label's is gone: label must be
	// computed, its input report cannot be loaded, so report runs too.
	e := newEnv(t)
	_, _, _, err := e.run(Options{}, "label")
	require.NoError(t, err)
	require.NoError(t, os.Remove(entryFile(t, e, "label")))
	flipByte(t, entryFile(t, e, "report"), -1)
	res, r, calls, err := e.run(Options{}, "label")
	require.NoError(t, err)
	wantLabel(t, res, "total=6")
	require.Equal(t, map[string]int{"report": 1, "label": 1, "max": 1}, calls)
	require.Equal(t, []string{"rows", "total"}, r.Loaded())
}

func TestTypeMismatchIsAMiss(t *testing.T) {
	e := newEnv(t)
	_, r, _, err := e.run(Options{}, "total")
	require.NoError(t, err)
	s := e.store()
	key := r.Key("total")
	tests := []struct {
		name   string
		header Header
		body   []byte
		reason string
	}{
		{"different type in header", Header{Node: "total", Key: key, Type: "x int", Codec: "toysum/v1"}, []byte(`{"total":1}`), "holds a x int"},
		{"different codec", Header{Node: "total", Key: key, Type: typeName(e.nodeOut("total")), Codec: "other/v1"}, []byte(`{}`), "written by codec other/v1"},
		{"payload that does not decode", Header{Node: "total", Key: key, Type: typeName(e.nodeOut("total")), Codec: "toysum/v1"}, []byte(`[1,2]`), "decoding"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Put(tc.header, tc.body)
			require.NoError(t, err)
			res, _, calls, err := e.run(Options{}, "total")
			require.NoError(t, err)
			require.Equal(t, 1, calls["total"])
			require.Equal(t, toySum{Total: 6, N: 3}, res["total"])
			c := e.eventsWith(StatusCorrupt)
			require.Len(t, c, 1)
			require.ErrorContains(t, c[0].Err, tc.reason)
		})
	}
}

func (e *env) nodeOut(name string) reflect.Type {
	n, ok := e.d.Node(name)
	require.True(e.t, ok)
	return n.Out
}

func TestPolicies(t *testing.T) {
	tests := []struct {
		name         string
		policy       map[string]Policy
		def          Policy
		second       map[string]int // calls on the second run
		statuses     map[string]Status
		storedSecond []string
	}{
		{"row-level table disabled: still a full hit", map[string]Policy{"rows": PolicyDisable}, PolicyDefault,
			map[string]int{},
			map[string]Status{"rows": StatusSkipped, "total": StatusSkipped, "max": StatusSkipped, "report": StatusSkipped, "label": StatusHit}, nil},
		{"recompute cascades downstream", map[string]Policy{"total": PolicyRecompute}, PolicyDefault,
			map[string]int{"total": 1, "max": 1, "report": 1, "label": 1},
			map[string]Status{"rows": StatusHit, "total": StatusRecomputed, "max": StatusUncacheable, "report": StatusRecomputed, "label": StatusRecomputed},
			[]string{"total", "report", "label"}},
		{"recompute the leaf", map[string]Policy{"label": PolicyRecompute}, PolicyDefault,
			map[string]int{"label": 1},
			map[string]Status{"rows": StatusSkipped, "total": StatusSkipped, "max": StatusSkipped, "report": StatusHit, "label": StatusRecomputed},
			[]string{"label"}},
		{"disable everything", nil, PolicyDisable,
			map[string]int{"rows": 1, "total": 1, "max": 1, "report": 1, "label": 1},
			map[string]Status{"rows": StatusDisabled, "total": StatusDisabled, "max": StatusDisabled, "report": StatusDisabled, "label": StatusDisabled}, nil},
		{"disabled leaf is computed from cached input", map[string]Policy{"label": PolicyDisable}, PolicyDefault,
			map[string]int{"label": 1},
			map[string]Status{"rows": StatusSkipped, "total": StatusSkipped, "max": StatusSkipped, "report": StatusHit, "label": StatusDisabled}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			o := Options{Policy: tc.policy, Default: tc.def}
			_, _, _, err := e.run(o, "label")
			require.NoError(t, err)
			res, r, calls, err := e.run(o, "label")
			require.NoError(t, err)
			wantLabel(t, res, "total=6")
			require.Equal(t, tc.second, calls)
			require.Equal(t, tc.statuses, e.statuses(r))
			var stored []string
			for _, ev := range e.eventsWith(StatusStored) {
				stored = append(stored, ev.Node)
			}
			sort.Strings(stored)
			want := slices.Clone(tc.storedSecond)
			sort.Strings(want)
			require.Equal(t, want, stored)
		})
	}
}

func TestDisabledNodeIsNeverWritten(t *testing.T) {
	e := newEnv(t)
	_, _, _, err := e.run(Options{Policy: map[string]Policy{"rows": PolicyDisable}}, "label")
	require.NoError(t, err)
	m, err := filepath.Glob(filepath.Join(e.dir, entriesDir, "rows", "*"))
	require.NoError(t, err)
	require.Empty(t, m)
}

func TestInnerHooksDoNotSeeSkippedNodes(t *testing.T) {
	e := newEnv(t)
	_, _, _, err := e.run(Options{}, "label")
	require.NoError(t, err)
	c := New(e.store(), e.options(Options{}))
	p, err := e.d.Plan("label")
	require.NoError(t, err)
	r, err := c.Prepare(context.Background(), e.d, p, e.inputs())
	require.NoError(t, err)
	var mu sync.Mutex
	var before, after []string
	var graph int
	inner := dag.Hooks{
		BeforeGraph: func(context.Context, *dag.Plan) error { graph++; return nil },
		BeforeNode: func(_ context.Context, n *dag.Node) {
			mu.Lock()
			before = append(before, n.Name)
			mu.Unlock()
		},
		AfterNode: func(_ context.Context, n *dag.Node, res dag.NodeResult) {
			mu.Lock()
			after = append(after, n.Name)
			mu.Unlock()
			require.NoError(t, res.Err)
		},
	}
	res, err := r.Execute(context.Background(), e.d, e.inputs(), inner)
	require.NoError(t, err)
	require.Equal(t, 1, graph, "graph hooks pass through")
	require.Equal(t, []string{"label"}, before)
	require.Equal(t, []string{"label"}, after)
	require.Len(t, res, 1)
}

func TestHookPassesThroughUnpreparedNodes(t *testing.T) {
	e := newEnv(t)
	c := New(e.store(), e.options(Options{}))
	small, err := e.d.Plan("total")
	require.NoError(t, err)
	r, err := c.Prepare(context.Background(), e.d, small, e.inputs())
	require.NoError(t, err)
	big, err := e.d.Plan("label")
	require.NoError(t, err)
	res, err := e.d.Execute(context.Background(), big, e.inputs(), dag.WithHooks(r.Hooks()))
	require.NoError(t, err)
	wantLabel(t, res, "total=6")
}

func TestInputWithoutKey(t *testing.T) {
	e := newEnv(t)
	e.input = filepath.Join(t.TempDir(), "missing.txt")
	_, r, _, err := e.run(Options{}, "total")
	require.Error(t, err, "the node itself fails on the missing file")
	errs := e.eventsWith(StatusError)
	require.Len(t, errs, 1)
	require.Equal(t, "source", errs[0].Node)
	st, _ := r.State("rows")
	require.Equal(t, StatusUncacheable, st.Status)
	require.Contains(t, st.Warning, `no key for its input source`)
}

func TestCustomInputKey(t *testing.T) {
	e := newEnv(t)
	calls := 0
	o := Options{InputKey: func(_ context.Context, name string, v any) (string, bool, error) {
		if name != "source" {
			return "", false, nil
		}
		calls++
		return "fixed", true, nil
	}}
	_, _, _, err := e.run(o, "label")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(e.input, []byte("5\n"), 0o644))
	res, _, _, err := e.run(o, "label")
	require.NoError(t, err)
	wantLabel(t, res, "total=6") // the custom key said nothing changed
	require.Equal(t, 2, calls)

	o.InputKey = func(context.Context, string, any) (string, bool, error) { return "", false, errors.New("boom") }
	_, r, _, err := e.run(o, "label")
	require.NoError(t, err)
	st, _ := r.State("rows")
	require.Contains(t, st.Warning, "boom")
}

func TestInputChangedDuringRunIsNotStored(t *testing.T) {
	e := newEnv(t)
	e.progress = func() {
		// Another program rewrites the input while rows reads it.
		require.NoError(t, os.WriteFile(e.input, []byte("7\n8\n9\n"), 0o644))
	}
	_, _, _, err := e.run(Options{}, "label")
	require.NoError(t, err)
	errs := e.eventsWith(StatusError)
	require.NotEmpty(t, errs)
	require.ErrorContains(t, errs[0].Err, "input file changed during the run")
	require.Empty(t, e.eventsWith(StatusStored))
}

func TestStoreFailureIsAWarning(t *testing.T) {
	e := newEnv(t)
	s := e.store()
	// A file where the node's directory should be makes every write fail.
	require.NoError(t, os.WriteFile(filepath.Join(e.dir, entriesDir, "label"), []byte("x"), 0o600))
	c := New(s, e.options(Options{}))
	p, err := e.d.Plan("label")
	require.NoError(t, err)
	r, err := c.Prepare(context.Background(), e.d, p, e.inputs())
	require.NoError(t, err)
	res, err := r.Execute(context.Background(), e.d, e.inputs())
	require.NoError(t, err)
	wantLabel(t, res, "total=6")
	st, _ := r.State("label")
	require.False(t, st.Stored)
	require.Contains(t, st.Warning, "label")
	require.NotEmpty(t, e.eventsWith(StatusError))
}

func TestPrepareErrors(t *testing.T) {
	e := newEnv(t)
	c := New(e.store(), e.options(Options{}))
	_, err := c.Prepare(context.Background(), nil, nil, nil)
	require.Error(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p, err := e.d.Plan("label")
	require.NoError(t, err)
	_, err = c.Prepare(ctx, e.d, p, e.inputs())
	require.ErrorIs(t, err, context.Canceled)
	// A missing input gives no key, no error.
	r, err := c.Prepare(context.Background(), e.d, p, map[string]any{"source": toyFile{e.input}})
	require.NoError(t, err)
	require.Empty(t, r.Key("rows"))
	require.Equal(t, c.Store(), c.store)
}

func TestCancelledWhileLoading(t *testing.T) {
	e := newEnv(t)
	_, _, _, err := e.run(Options{}, "label", "total")
	require.NoError(t, err)
	c := New(e.store(), e.options(Options{InputKey: nil}))
	p, err := e.d.Plan("label", "total")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	r := &Run{c: c, plan: p, nodes: map[string]*nodeRun{}}
	cancel()
	require.ErrorIs(t, r.load(ctx, []*nodeRun{{node: p.Nodes[0]}}), context.Canceled)
}

func TestConcurrentRunsShareACache(t *testing.T) {
	e := newEnv(t)
	const runs = 8
	var wg sync.WaitGroup
	errs := make(chan error, runs*3)
	for i := 0; i < runs; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 3; j++ {
				c := New(e.store(), e.options(Options{}))
				p, err := e.d.Plan("label", "total")
				if err != nil {
					errs <- err
					return
				}
				r, err := c.Prepare(context.Background(), e.d, p, e.inputs())
				if err != nil {
					errs <- err
					return
				}
				res, err := r.Execute(context.Background(), e.d, e.inputs())
				if err != nil {
					errs <- err
					return
				}
				if got := res["label"]; got != "total=6" {
					errs <- errors.New("wrong label: " + got.(string))
				}
				if got := res["total"]; got != (toySum{Total: 6, N: 3}) {
					errs <- errors.New("wrong total")
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Empty(t, e.eventsWith(StatusCorrupt))
	require.Empty(t, e.eventsWith(StatusError))
	entries, err := e.store().List()
	require.NoError(t, err)
	require.Len(t, entries, 4, "one entry per cacheable node, whoever wrote it")
	leftovers, err := filepath.Glob(filepath.Join(e.dir, entriesDir, "*", tmpPrefix+"*"))
	require.NoError(t, err)
	require.Empty(t, leftovers)
}

func TestFrameResultRoundTrip(t *testing.T) {
	e := newEnv(t)
	res, _, _, err := e.run(Options{}, "report")
	require.NoError(t, err)
	res2, r, _, err := e.run(Options{}, "report")
	require.NoError(t, err)
	require.Equal(t, []string{"report"}, r.Loaded())
	require.Equal(t, res["report"].(*frame.Frame), res2["report"].(*frame.Frame))
}

func TestStateDurations(t *testing.T) {
	e := newEnv(t)
	_, r, _, err := e.run(Options{}, "label")
	require.NoError(t, err)
	st, _ := r.State("label")
	require.Less(t, st.Duration, time.Minute)
	require.Positive(t, st.Bytes)
}
